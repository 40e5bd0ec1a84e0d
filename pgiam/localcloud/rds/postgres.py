"""Real PostgreSQL servers for the local RDS: one data directory and one postmaster per DB cluster
(or standalone DB instance), started from a template made once per daemon.

``initdb`` takes about a second here, so it runs once: :class:`Template` initialises a cluster as
the ``postgres`` user (``initdb``/``postgres`` refuse root; when the local cloud does not run as
root they run as its own user). Each :class:`PostgresServer` then copies it (``cp -a``,
ownership kept), writes its certificate, settings and ``pg_hba.conf`` (see :mod:`.hba`), starts a
postmaster and creates what every RDS database has (``rds_superuser`` and ``rds_iam``, both
NOLOGIN), the master user and the initial database as RDS does: the master user is not a
superuser but has CREATEROLE and CREATEDB and is a member of ``rds_superuser``.

Data directories live in the system temp directory, not in the state directory, because the
``postgres`` user must be able to reach them (a state directory under a private parent, as
pytest's are, is not reachable). Each is recorded with its postmaster in the local cloud's
process registry, so ``pgiam localcloud down`` stops the server and removes the directory even
after the daemon died. Every server has its own Unix socket directory (0700), through which only
the local cloud's user reaches ``rdsadmin`` (peer authentication).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import psycopg2
from psycopg2 import sql

from pgiam.errors import PgiamError
from pgiam.localcloud.rds.hba import (
    ADMIN_ROLE,
    IAM_ROLE,
    SUPERUSER_ROLE,
    AccessRules,
    render_pg_hba,
    render_pg_ident,
    render_settings,
)

SERVER_USER = "postgres"
START_TIMEOUT = 30.0
STOP_GRACE_SECONDS = 5.0
SETTINGS_FILE = "pgiam-rds.conf"
LDAP_CA_FILE = "ldap-ca.pem"  # the checker's pinned certificate, the only one its libldap trusts
# Predefined roles that reach the server's files and programs (hence the OS user that runs every
# local server, hence every other database of the local cloud). RDS never lets rds_superuser hold
# them; PostgreSQL 15 lets any CREATEROLE role (the master user) grant them to itself. Marking them
# rolsuper (they stay NOLOGIN; role attributes are not inherited) makes granting them need a
# superuser ("must be superuser to alter superusers"); ALTER ROLE refuses reserved roles, so the
# catalog row is updated directly, as rdsadmin.
SERVER_ACCESS_ROLES = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files")
RDS_ROLES_SQL = (
    f"CREATE ROLE {SUPERUSER_ROLE} NOLOGIN",
    f"CREATE ROLE {IAM_ROLE} NOLOGIN",
    f"GRANT pg_monitor, pg_signal_backend, pg_checkpoint TO {SUPERUSER_ROLE}",
    "UPDATE pg_catalog.pg_authid SET rolsuper = true WHERE rolname IN ("
    + ", ".join(f"'{role}'" for role in SERVER_ACCESS_ROLES) + ")",
)
LOOPBACK_V4 = "127.0.0.1"
LOOPBACK_V6 = "::1"


class PostgresError(PgiamError):
    """A local PostgreSQL server could not be prepared, started or stopped."""


class ProcessRecorder(Protocol):
    """The part of the local cloud's process registry a server uses."""

    def register(self, name: str, pid: int, *, stop_signal: int = ..., kill_group: bool = ...,
                 paths: Sequence[str | os.PathLike[str]] = ..., grace_seconds: float = ...) -> Any: ...

    def unregister(self, name: str) -> None: ...

    def stop(self, name: str, *, grace_seconds: float | None = None) -> bool: ...


def find_bin_dir() -> Path:
    """The newest Debian PostgreSQL server binaries (``/usr/lib/postgresql/<major>/bin``), else
    the directory ``pg_config --bindir`` names."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                     check=False).stdout.strip())
        if (bindir / "postgres").is_file() and (bindir / "initdb").is_file():
            return bindir
    raise PostgresError("PostgreSQL server binaries (initdb, postgres) are not installed; "
                        "run `make postgres` (Debian: apt-get install postgresql)")


@dataclass(frozen=True)
class ServerUser:
    """The OS user that runs ``initdb`` and ``postgres``, and the users allowed to act as
    ``rdsadmin`` through the private socket."""

    name: str
    uid: int
    gid: int

    @classmethod
    def current(cls) -> ServerUser:
        entry = pwd.getpwuid(os.geteuid())
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid)

    @classmethod
    def for_servers(cls) -> ServerUser:
        if os.geteuid() != 0:
            return cls.current()
        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise PostgresError(f"running as root needs the {SERVER_USER!r} system user, which Debian's "
                                "postgresql package creates; run `make postgres`") from None
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid)

    @property
    def switches(self) -> bool:
        return self.uid != os.geteuid()

    def popen_options(self) -> dict[str, Any]:
        if not self.switches:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path, mode: int = 0o700) -> None:
        if self.switches:
            os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)

    def write_private(self, path: Path, data: bytes) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        self.own(path, 0o600)

    def admin_os_users(self) -> tuple[str, ...]:
        """Who may connect as ``rdsadmin``: this process's user (the local cloud)."""
        return (pwd.getpwuid(os.geteuid()).pw_name,)


def loopback_addresses() -> tuple[str, ...]:
    """127.0.0.1, and ::1 when this host has IPv6 loopback (``localhost`` may resolve to it)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK_V6, 0))
        return (LOOPBACK_V4, LOOPBACK_V6)
    return (LOOPBACK_V4,)


def free_port(addresses: Sequence[str]) -> int:
    """A port free on every address right now (the server binds it a moment later; a lost race
    shows as a start failure, and the caller tries another port)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as first:
            first.bind((addresses[0], 0))
            port = first.getsockname()[1]
            try:
                for address in addresses[1:]:
                    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as other:
                        other.bind((address, port))
            except OSError:
                continue
            return int(port)
    raise PostgresError("no free loopback port found")


def _run(argv: Sequence[str], user: ServerUser, *, recorder: ProcessRecorder, record: str,
         paths: Sequence[Path], timeout: float = 120.0) -> None:
    """Run a helper to completion, recorded (with the paths it fills) while it runs."""
    process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True, **user.popen_options())
    try:
        recorder.register(record, process.pid, paths=[os.fspath(p) for p in paths])
    except ProcessLookupError:
        pass  # already finished: nothing to record
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise PostgresError(f"{Path(argv[0]).name} did not finish within {timeout:.0f} s") from None
    if process.returncode != 0:
        text = output.decode("utf-8", errors="replace").strip()[-2000:]
        raise PostgresError(f"{Path(argv[0]).name} failed (exit {process.returncode}): {text}")


def _wait_ready(process: subprocess.Popen, data_dir: Path, log_file: Path, timeout: float) -> None:
    """Until ``postmaster.pid`` says ``ready`` (line 8), or the postmaster exits."""
    deadline = time.monotonic() + timeout
    pid_file = data_dir / "postmaster.pid"
    delay = 0.005
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PostgresError(f"postgres exited with status {process.returncode}: {_tail(log_file)}")
        with contextlib.suppress(FileNotFoundError):
            lines = pid_file.read_text(encoding="utf-8", errors="replace").splitlines()
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    raise PostgresError(f"postgres was not ready within {timeout:.0f} s: {_tail(log_file)}")


def _tail(path: Path, limit: int = 1500) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()[-limit:]
    except FileNotFoundError:
        return "(no log)"


def _admin_connection(socket_dir: Path, port: int) -> Any:
    return psycopg2.connect(host=str(socket_dir), port=port, user=ADMIN_ROLE, dbname="postgres",
                            connect_timeout=10)


@contextlib.contextmanager
def admin_session(socket_dir: Path, port: int) -> Iterator[Any]:
    """An autocommit cursor as ``rdsadmin`` through the private socket."""
    connection = _admin_connection(socket_dir, port)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def _set_password(cursor: Any, role: str, password: str) -> None:
    """Store a SCRAM verifier computed by libpq (SASLprep included): the password itself never
    reaches the server, so no server log can show it."""
    verifier = psycopg2.extensions.encrypt_password(password, role, cursor.connection, "scram-sha-256")
    cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(role)), (verifier,))


def server_environment(home: Path, ldap_ca_file: str | None = None) -> dict[str, str]:
    """A clean environment for the postmaster. Every backend initialises libldap for its LDAP
    bind, and by default that loads all of Cyrus SASL's plugins (about ten shared objects and
    libdb); a simple bind needs none of it: ``SASL_PATH`` points at an empty directory.

    With ``ldap_ca_file`` (the checker speaks ``ldaps``, see :mod:`.hba`; the file is the
    checker's pinned certificate, :mod:`.checker_tls`), libldap verifies the checker's certificate
    against it only: ``LDAPTLS_CACERT``, an empty ``LDAPTLS_CACERTDIR``
    and ``LDAPTLS_REQCERT=demand`` (the environment overrides ldap.conf and ldaprc, which libldap
    reads first). ``LDAPTLS_CIPHER_SUITE`` (a GnuTLS priority string) offers only X25519 for the
    key exchange: by default GnuTLS computes a P-256 key share too in every ClientHello, which the
    checker (OpenSSL, preferring X25519) never uses; it was a measurable part of each login's CPU.
    Without it, ``LDAPNOINIT`` skips those files."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC",
           "HOME": str(home), "SASL_PATH": str(home / "no-sasl-plugins")}
    if ldap_ca_file is None:
        env["LDAPNOINIT"] = "1"
    else:
        env.update({"LDAPTLS_CACERT": ldap_ca_file, "LDAPTLS_CACERTDIR": str(home / "no-sasl-plugins"),
                    "LDAPTLS_REQCERT": "demand", "LDAPTLS_CIPHER_SUITE": "NORMAL:-GROUP-ALL:+GROUP-X25519"})
    return env


def _start_postmaster(bin_dir: Path, data_dir: Path, log_file: Path, user: ServerUser,
                      ldap_ca_file: str | None = None) -> subprocess.Popen:
    home = log_file.parent
    (home / "no-sasl-plugins").mkdir(exist_ok=True)
    with open(log_file, "ab") as log:
        if user.switches:
            os.chown(log_file, user.uid, user.gid)
        return subprocess.Popen([str(bin_dir / "postgres"), "-D", str(data_dir)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=server_environment(home, ldap_ca_file),
                                start_new_session=True, **user.popen_options())


def _stop_postmaster(process: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # fast shutdown: disconnect clients, checkpoint, exit
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def server_version(bin_dir: Path) -> str:
    """The server's version as ``postgres --version`` prints it (e.g. ``15.14``)."""
    output = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True,
                            check=False, timeout=30).stdout
    match = re.search(r"(\d+(?:\.\d+)*)", output)
    return match.group(1) if match else "unknown"


@dataclass
class Template:
    """A data directory initialised once and copied for every server."""

    bin_dir: Path
    user: ServerUser
    data_dir: Path

    @classmethod
    def build(cls, destination: Path, recorder: ProcessRecorder, *, bin_dir: Path | None = None,
              user: ServerUser | None = None) -> Template:
        """``initdb`` into a fresh temp directory the server user owns, then move the data
        directory to ``destination`` (which must not exist). RDS's roles are created per server
        (a few milliseconds), which spares the template a start and a stop."""
        bin_dir = bin_dir or find_bin_dir()
        user = user or ServerUser.for_servers()
        work = Path(tempfile.mkdtemp(prefix="pgiam-rds-template-"))
        record = "rds-template"
        try:
            user.own(work)
            data_dir = work / "data"
            _run([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", ADMIN_ROLE, "-A", "reject",
                  "--no-sync", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"],
                 user, recorder=recorder, record=record, paths=[work])
            with open(data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(f"\ninclude_if_exists = '{SETTINGS_FILE}'\n")
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(destination, ignore_errors=True)
            shutil.move(str(data_dir), str(destination))
        finally:
            recorder.unregister(record)
            shutil.rmtree(work, ignore_errors=True)
        return cls(bin_dir, user, destination)


@dataclass(frozen=True)
class ServerSpec:
    """One RDS database's server: its name in the process registry, the master user, the initial
    database (None: only ``postgres``), the resource id IAM policies name and the TLS pair."""

    name: str
    master_username: str
    master_password: str | None = field(repr=False)
    database_name: str | None
    resource_id: str
    certificate_pem: bytes = field(repr=False)
    private_key_pem: bytes = field(repr=False)


_RECORD_NAME = re.compile(r"[^A-Za-z0-9_.-]")
# Where a server listens: () -> (loopback addresses, port), asked again after a lost bind.
Placement = Callable[[], tuple[Sequence[str], int]]


class PostgresServer:
    """A running postmaster made from the template for one :class:`ServerSpec`."""

    def __init__(self, spec: ServerSpec, template: Template, recorder: ProcessRecorder, *,
                 ldap_host: str, ldap_port: int, placement: Placement | None = None,
                 client_networks: Sequence[str] | None = None, ldap_ca_file: str | None = None) -> None:
        self.spec = spec
        self.template = template
        self.recorder = recorder
        self.ldap_host = ldap_host
        self.ldap_port = ldap_port
        self.ldap_ca_file = ldap_ca_file  # the checker speaks ldaps, verified against this CA
        self.placement = placement
        self.addresses = loopback_addresses()
        # Who may connect (pg_hba.conf): the listen addresses by default; a server on endpoint
        # addresses is reached from 127.0.0.1 (the kernel's source for any 127/8 destination).
        self.client_networks = tuple(client_networks) if client_networks else None
        self.record = "rds-" + _RECORD_NAME.sub("-", spec.name)[:100]
        self.port = 0
        self.base: Path | None = None
        self.process: subprocess.Popen | None = None

    @property
    def data_dir(self) -> Path:
        assert self.base is not None
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.base is not None
        return self.base / "socket"

    @property
    def log_file(self) -> Path:
        assert self.base is not None
        return self.base / "postgres.log"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, attempts: int = 3) -> None:
        """Copy the template, configure, start, create the master user and database."""
        user = self.template.user
        self.base = Path(tempfile.mkdtemp(prefix=f"pgiam-rds-{self.record[4:40]}-"))
        try:
            user.own(self.base)
            _run(["cp", "-a", str(self.template.data_dir), str(self.data_dir)], ServerUser.current(),
                 recorder=self.recorder, record=self.record, paths=[self.base])
            self.socket_dir.mkdir()
            user.own(self.socket_dir)
            self._write_files()
            for attempt in range(attempts):
                if self.placement is not None:
                    self.addresses, self.port = self.placement()
                else:
                    self.port = free_port(self.addresses)
                self._write_settings()
                try:
                    self._start_postmaster()
                    break
                except PostgresError:
                    if attempt == attempts - 1 or "could not bind" not in _tail(self.log_file):
                        raise
            self._create_master()
        except BaseException:
            self.stop()
            raise

    def _write_files(self) -> None:
        user = self.template.user
        user.write_private(self.data_dir / "server.crt", self.spec.certificate_pem)
        user.write_private(self.data_dir / "server.key", self.spec.private_key_pem)
        rules = AccessRules(addresses=self.client_networks or self.addresses, ldap_host=self.ldap_host, ldap_port=self.ldap_port,
                            resource_id=self.spec.resource_id, admin_os_users=user.admin_os_users(),
                            ldap_tls=self.ldap_ca_file is not None)
        user.write_private(self.data_dir / "pg_hba.conf", render_pg_hba(rules).encode("utf-8"))
        user.write_private(self.data_dir / "pg_ident.conf",
                           render_pg_ident(rules.admin_os_users).encode("utf-8"))
        if self.ldap_ca_file is not None:
            # the server user reads the CA from its own directory: the state directory's copy may
            # sit under a private parent (/root, pytest's tmp_path) it cannot traverse
            user.write_private(self.data_dir / LDAP_CA_FILE, Path(self.ldap_ca_file).read_bytes())

    def _write_settings(self) -> None:
        text = render_settings(port=self.port, addresses=self.addresses, socket_dir=str(self.socket_dir))
        self.template.user.write_private(self.data_dir / SETTINGS_FILE, text.encode("utf-8"))

    def _start_postmaster(self) -> None:
        self.process = _start_postmaster(self.template.bin_dir, self.data_dir, self.log_file,
                                         self.template.user,
                                         None if self.ldap_ca_file is None else str(self.data_dir / LDAP_CA_FILE))
        self.recorder.register(self.record, self.process.pid, stop_signal=signal.SIGINT, kill_group=True,
                               paths=[self.base], grace_seconds=STOP_GRACE_SECONDS)
        try:
            _wait_ready(self.process, self.data_dir, self.log_file, START_TIMEOUT)
        except PostgresError:
            _stop_postmaster(self.process)
            self.process = None
            raise

    def admin(self) -> contextlib.AbstractContextManager[Any]:
        """An autocommit cursor as ``rdsadmin`` (a superuser) through the private socket."""
        return admin_session(self.socket_dir, self.port)

    def _create_master(self) -> None:
        spec = self.spec
        master = sql.Identifier(spec.master_username)
        with self.admin() as cursor:
            for statement in RDS_ROLES_SQL:
                cursor.execute(statement)
            cursor.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB IN ROLE {}").format(
                master, sql.Identifier(SUPERUSER_ROLE)))
            if spec.master_password:
                _set_password(cursor, spec.master_username, spec.master_password)
            if spec.database_name:
                cursor.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(spec.database_name), master))

    def set_master_password(self, password: str) -> None:
        with self.admin() as cursor:
            _set_password(cursor, self.spec.master_username, password)

    def request_stop(self) -> None:
        """Ask the postmaster for a fast shutdown without waiting (see :meth:`stop`)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def stop(self) -> None:
        """Stop the postmaster (fast shutdown) and remove the data. Idempotent."""
        if self.process is not None:
            _stop_postmaster(self.process)
            self.process = None
        self.recorder.stop(self.record, grace_seconds=STOP_GRACE_SECONDS)
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
