"""The local cloud's daemon: ``python -m pgiam.localcloud.daemon --state-dir DIR --ready-fd N``,
started by ``pgiam localcloud up`` in its own session. It binds its servers, starts the
extensions, writes ``state.json``, reports the same JSON on the ready pipe, and serves until
SIGTERM or SIGINT; then stops the extensions (reverse order) and its servers.

On a failure before ready it writes ``{"error": ...}`` on the pipe, logs the traceback and exits 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from pgiam.localcloud.assume_role import StrictAssumeRole
from pgiam.localcloud.ca import load_or_create
from pgiam.localcloud.caller_authz import KnownCallerAuthorizer
from pgiam.localcloud.extensions import EXTENSION_MODULES, Cloud, Extension, load_extensions
from pgiam.localcloud.gateway import Gateway, HandlerRegistry
from pgiam.localcloud.iam_handlers import OidcClientIdHandlers, TrustPrincipalHandlers, UserBoundaryHandlers
from pgiam.localcloud.identity import DEFAULT_ACCOUNT_ID, IdentityDirectory, MotoCredentialIssuer
from pgiam.localcloud.jwks import HttpsKeySource
from pgiam.localcloud.oidc import (
    ServiceAccountIssuer,
    issuer_url,
    load_private_key,
    new_issuer_id,
    new_signing_key,
    private_key_pem,
    without_scheme,
)
from pgiam.localcloud.oidc_server import OidcApp
from pgiam.localcloud.processes import ProcessRegistry
from pgiam.localcloud.serviceaccounts import DEFAULT_AUDIENCE
from pgiam.localcloud.servers import LOOPBACK, LoopbackServer, tls_server_context
from pgiam.localcloud.statedir import StateDir, write_json, write_secret
from pgiam.localcloud.sts import StrictSts
from pgiam.localcloud.sts_handler import ACTION as WEB_IDENTITY_ACTION
from pgiam.localcloud.sts_handler import (
    ASSUME_ROLE,
    ASSUME_ROLE_WITH_SAML,
    AssumeRoleHandler,
    AssumeRoleWithWebIdentityHandler,
    Authenticator,
    IdentityCallerPolicies,
    refuse_saml,
    seal_moto_role_credentials,
)

log = logging.getLogger("pgiam.localcloud.daemon")
PARTITION = "aws"
ISSUER_HOST = "localhost"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pgiam.localcloud.daemon")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--ready-fd", type=int, required=True)
    parser.add_argument("--extension", action="append", default=[])
    parser.add_argument("--accept-unknown-keys", action="store_true")
    return parser.parse_args(argv)


def configure_logging(state: StateDir) -> None:
    handler = logging.FileHandler(state.log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def signing_issuer(state: StateDir, port: int) -> ServiceAccountIssuer:
    if state.signing_key.is_file():
        key = load_private_key(state.signing_key.read_bytes())
    else:
        key = new_signing_key()
        write_secret(state.signing_key, private_key_pem(key))
    return ServiceAccountIssuer(issuer_url(ISSUER_HOST, port, new_issuer_id()), key)


class Daemon:
    def __init__(self, state: StateDir, region: str, extension_modules: Sequence[str], *,
                 accept_unknown_keys: bool = False) -> None:
        self.state = state
        self.accept_unknown_keys = accept_unknown_keys
        self.region = region
        self.extension_modules = tuple(extension_modules)
        self.stop_requested = threading.Event()
        self.watchdog_pid: int | None = None
        self.servers: list[LoopbackServer] = []
        self.started: list[Extension] = []

    def build(self) -> dict[str, Any]:
        """Everything up to serving; returns the ``up`` JSON."""
        started_at = time.time()
        ca = load_or_create(self.state.ca_cert, self.state.ca_key)

        oidc_server = LoopbackServer(None)
        self.servers.append(oidc_server)
        issuer = signing_issuer(self.state, oidc_server.bound_port)
        cert_pem, key_pem = ca.issue_server_certificate([ISSUER_HOST], [LOOPBACK, "::1"])
        self.state.oidc_cert.write_bytes(cert_pem)
        write_secret(self.state.oidc_key, key_pem)
        oidc_server.app = OidcApp(issuer)
        oidc_server.tls_context = tls_server_context(str(self.state.oidc_cert), str(self.state.oidc_key))

        # AWS-managed policies (arn:aws:iam::aws:policy/...) exist in every account on AWS and
        # team programs attach them (EKS cluster and node roles); moto has them only when asked.
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        registry = HandlerRegistry()
        moto_app = DomainDispatcherApplication(create_backend_app)
        identity = IdentityDirectory(DEFAULT_ACCOUNT_ID, PARTITION, self.region)
        admin_key_id, admin_secret = identity.create_administrator()
        authenticator = Authenticator(identity)
        authorizer = KnownCallerAuthorizer(identity, authenticator, accept_unknown_keys=self.accept_unknown_keys)
        if self.accept_unknown_keys:
            log.warning("--accept-unknown-keys: unsigned calls and access keys this cloud never issued act "
                        "as its administrator (moto's way); AWS refuses them")
        aws_server = LoopbackServer(Gateway(moto_app, registry, self.region, authorizer=authorizer))
        self.servers.append(aws_server)
        endpoint_url = f"http://{LOOPBACK}:{aws_server.bound_port}"

        trust = ssl.create_default_context(cafile=str(self.state.ca_cert))
        issuer_of_credentials = MotoCredentialIssuer(identity)
        sts = StrictSts(identity, HttpsKeySource(trust), issuer_of_credentials, account_id=DEFAULT_ACCOUNT_ID)
        registry.register("sts", WEB_IDENTITY_ACTION, AssumeRoleWithWebIdentityHandler(sts))
        assume_role = StrictAssumeRole(identity, IdentityCallerPolicies(identity), issuer_of_credentials,
                                       account_id=DEFAULT_ACCOUNT_ID)
        registry.register("sts", ASSUME_ROLE, AssumeRoleHandler(assume_role, authenticator))
        registry.register("sts", ASSUME_ROLE_WITH_SAML, refuse_saml)
        UserBoundaryHandlers(identity).register(registry)
        OidcClientIdHandlers(identity).register(registry)
        TrustPrincipalHandlers(identity).register(registry)
        seal_moto_role_credentials()

        cloud = Cloud(region=self.region, account_id=DEFAULT_ACCOUNT_ID, partition=PARTITION,
                      endpoint_url=endpoint_url, issuer=issuer.issuer, state=self.state, ca=ca,
                      gateway=registry, identity=identity,
                      processes=ProcessRegistry(self.state.processes_dir))
        for server, name in ((oidc_server, "oidc"), (aws_server, "aws")):
            server.start(f"localcloud-{name}")
        extension_info: dict[str, Any] = {}
        for extension in load_extensions(self.extension_modules):
            log.info("starting extension %s", extension.name)
            extension.start(cloud)
            self.started.append(extension)
            extension_info[extension.name] = dict(extension.info())

        info = {
            "region": self.region,
            "account_id": DEFAULT_ACCOUNT_ID,
            "partition": PARTITION,
            "endpoint_url": endpoint_url,
            "oidc": {
                "issuer": issuer.issuer,
                "issuer_host_path": without_scheme(issuer.issuer),
                "jwks_uri": issuer.jwks_uri,
                "discovery_url": f"{issuer.issuer}/.well-known/openid-configuration",
                "kid": issuer.kid,
                "audience": DEFAULT_AUDIENCE,
                "thumbprint": ca.sha1_thumbprint,
            },
            "ca_bundle": str(self.state.ca_cert),
            "pid": os.getpid(),
            "watchdog_pid": self.watchdog_pid,
            "state_dir": str(self.state.path),
            "log": str(self.state.log_file),
            "extensions": extension_info,
            "admin": {"access_key_id": admin_key_id, "secret_access_key": admin_secret},
            "accept_unknown_keys": self.accept_unknown_keys,
        }
        write_json(self.state.state_file, info, mode=0o600)  # the administrator's secret
        log.info("serving: endpoint %s, issuer %s (%.0f ms)", endpoint_url, issuer.issuer,
                 (time.time() - started_at) * 1000)
        return info

    def shutdown(self) -> None:
        for extension in reversed(self.started):
            try:
                extension.stop()
            except Exception:
                log.exception("extension %s failed to stop", extension.name)
        self.started.clear()
        for server in self.servers:
            try:
                server.stop()
            except Exception:
                log.exception("server failed to stop")
        self.servers.clear()
        try:
            self.state.state_file.unlink()
        except FileNotFoundError:
            pass
        log.info("stopped")


def spawn_watchdog(state: StateDir) -> tuple[subprocess.Popen, int]:
    """Start :mod:`pgiam.localcloud.watchdog` on a pipe whose only write end this process keeps
    (open until it exits, never written): when the daemon dies, however, the watchdog stops the
    database servers. Its own session, so a SIGKILL of the daemon's process group spares it.
    Returns the process and the write end."""
    read_fd, write_fd = os.pipe()  # both close-on-exec: no server inherits the write end
    try:
        with open(state.log_file, "ab") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "pgiam.localcloud.watchdog", "--state-dir", str(state.path),
                 "--daemon-pid", str(os.getpid())],
                stdin=read_fd, stdout=subprocess.DEVNULL, stderr=log_file, start_new_session=True,
                close_fds=True)
    except BaseException:
        os.close(write_fd)
        raise
    finally:
        os.close(read_fd)
    return process, write_fd


def start_watchdog(state: StateDir, stopping: threading.Event) -> subprocess.Popen:
    """The watchdog, and a thread that starts a new one whenever it exits while the daemon runs
    (killed by someone: the servers must not be left without one)."""
    process, write_fd = spawn_watchdog(state)

    def keep_watching() -> None:
        current, pipe = process, write_fd
        while True:
            code = current.wait()
            if stopping.is_set():
                return
            log.error("the watchdog (pid %d) exited with status %s; starting another", current.pid, code)
            os.close(pipe)
            try:
                current, pipe = spawn_watchdog(state)
            except OSError:
                log.exception("no watchdog: database servers would outlive a crash of this daemon")
                return
            log.info("watchdog restarted (pid %d)", current.pid)

    threading.Thread(target=keep_watching, name="watchdog-keeper", daemon=True).start()
    return process



def report(fd: int, data: dict[str, Any]) -> None:
    """Answer ``up`` on the ready pipe; if ``up`` is gone (interrupted), it stops us itself."""
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as pipe:
            pipe.write(json.dumps(data) + "\n")
    except BrokenPipeError:
        log.warning("up no longer waits for the answer")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    state = StateDir(args.state_dir)
    configure_logging(state)
    daemon = Daemon(state, args.region, EXTENSION_MODULES + tuple(args.extension),
                    accept_unknown_keys=args.accept_unknown_keys)
    signal.signal(signal.SIGTERM, lambda *_: daemon.stop_requested.set())
    signal.signal(signal.SIGINT, lambda *_: daemon.stop_requested.set())
    log.info("starting (pid %d, region %s)", os.getpid(), args.region)
    try:
        daemon.watchdog_pid = start_watchdog(state, daemon.stop_requested).pid
        info = daemon.build()
    except Exception as exc:
        log.exception("startup failed")
        daemon.shutdown()
        report(args.ready_fd, {"error": f"{type(exc).__name__}: {exc}"})
        return 1
    report(args.ready_fd, info)
    while not daemon.stop_requested.wait(1.0):
        pass
    log.info("stop requested")
    daemon.shutdown()
    return 0


def run() -> None:
    """Exit without the interpreter's teardown of moto's modules (a few hundred ms that ``down``
    would wait for); everything the daemon owns is stopped and its log flushed by then."""
    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
