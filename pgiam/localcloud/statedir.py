"""The state directory of one local cloud: where each file lives, who may read it, and the lock
that serialises ``up`` and ``down`` on it.

A directory becomes a state directory when ``up`` writes the marker file into it; ``down`` removes
only a directory that carries the marker, so a mistyped ``--state-dir ~`` never deletes a home.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pgiam.errors import PgiamError

MARKER = ".pgiam-localcloud"
# other users (the postgres user that runs the RDS side's servers) may traverse, not list
DIRECTORY_MODE = 0o711
SECRET_MODE = 0o600


class StateDirError(PgiamError):
    """The state directory cannot be used as asked."""


class StateDir:
    """Paths inside one state directory. Creating the object touches nothing on disk."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(os.path.abspath(os.fspath(path)))

    marker = property(lambda self: self.path / MARKER)
    state_file = property(lambda self: self.path / "state.json")
    daemon_file = property(lambda self: self.path / "daemon.json")
    log_file = property(lambda self: self.path / "daemon.log")
    ca_cert = property(lambda self: self.path / "ca.pem")
    ca_key = property(lambda self: self.path / "ca-key.pem")
    signing_key = property(lambda self: self.path / "oidc-signing-key.pem")
    oidc_cert = property(lambda self: self.path / "oidc-server.pem")
    oidc_key = property(lambda self: self.path / "oidc-server-key.pem")
    processes_dir = property(lambda self: self.path / "processes")

    def exists(self) -> bool:
        return self.path.is_dir()

    def is_state_dir(self) -> bool:
        return self.marker.is_file()

    def check_owner(self) -> None:
        """Refuse a directory another user owns: its records name processes to signal and paths
        to remove, which ``down`` acts on with this process's rights (root, here)."""
        try:
            owner = os.stat(self.path).st_uid
        except FileNotFoundError:
            return
        if owner != os.geteuid():
            raise StateDirError(f"--state-dir {self.path} belongs to uid {owner}, not to this user "
                                f"(uid {os.geteuid()}); give a directory of your own")

    def prepare(self) -> None:
        """Create the directory (and parents) or adopt an existing empty one, then mark it."""
        if self.path.exists() and not self.path.is_dir():
            raise StateDirError(f"--state-dir {self.path} exists and is not a directory")
        self.check_owner()
        if self.path.is_dir() and not self.is_state_dir():
            leftovers = sorted(p.name for p in self.path.iterdir())
            # a concurrent `up` may have marked the directory between the two looks
            if leftovers and not self.is_state_dir():
                raise StateDirError(
                    f"--state-dir {self.path} is not empty and is not a local cloud state directory "
                    f"(found {', '.join(leftovers[:5])}{', ...' if len(leftovers) > 5 else ''}); "
                    "give an empty or new directory")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            os.chmod(self.path, DIRECTORY_MODE)
            self.marker.touch()
            self.processes_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise StateDirError(f"cannot create state directory {self.path}: {exc.strerror}") from exc

    def clear(self) -> None:
        """Remove everything but the marker (a stale cloud's files) ."""
        for child in self.path.iterdir():
            if child.name == MARKER:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        self.processes_dir.mkdir(exist_ok=True)

    def remove(self) -> None:
        if self.exists():
            shutil.rmtree(self.path)

    def directory(self, name: str) -> Path:
        path = self.path / name
        path.mkdir(exist_ok=True)
        return path

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock on the directory itself for the duration (``up``/``down``)."""
        while True:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # a concurrent ``down`` may have removed the directory while we waited
                if self.path.is_dir() and os.path.samestat(os.fstat(fd), os.stat(self.path)):
                    yield
                    return
            finally:
                os.close(fd)
            if not self.path.is_dir():
                raise StateDirError(f"state directory {self.path} was removed while waiting for it")


def write_json(path: Path, data: Mapping[str, Any], *, mode: int = 0o644) -> None:
    """Write atomically: readers see the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    """The object in ``path``, or None if the file is missing or not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_secret(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only, from the first byte on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, SECRET_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, SECRET_MODE)
