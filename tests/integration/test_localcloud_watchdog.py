"""The daemon's watchdog (``pgiam.localcloud.watchdog``) on its own: it stops every recorded
process exactly when the last write end of its pipe closes, and not before."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from pgiam.localcloud.processes import ProcessRegistry, process_state
from pgiam.localcloud.statedir import StateDir


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_state(pid) in (None, "Z"):
            return True
        time.sleep(0.05)
    return False


def test_the_watchdog_stops_recorded_processes_when_its_pipe_closes(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.processes_dir.mkdir()
    sleeper = subprocess.Popen(["sleep", "120"], start_new_session=True)
    data = tmp_path / "server-data"
    data.mkdir()
    ProcessRegistry(state.processes_dir).register("rds-cluster-x", sleeper.pid, kill_group=True, paths=[data],
                                                  grace_seconds=5)
    read_fd, write_fd = os.pipe()
    watchdog = subprocess.Popen([sys.executable, "-m", "pgiam.localcloud.watchdog", "--state-dir", str(tmp_path),
                                 "--daemon-pid", str(os.getpid())], stdin=read_fd)
    os.close(read_fd)
    try:
        time.sleep(0.5)
        assert sleeper.poll() is None and watchdog.poll() is None  # control: nothing stops while the pipe is open
        os.close(write_fd)
        assert watchdog.wait(timeout=15) == 0
        sleeper.wait(timeout=5)
        assert gone(sleeper.pid) and not data.exists()
        assert list(state.processes_dir.iterdir()) == []
        assert "stopped what it left running: rds-cluster-x" in state.log_file.read_text()
    finally:
        for process in (sleeper, watchdog):
            if process.poll() is None:
                process.kill()
