"""The daemon's watchdog: ``python -m pgiam.localcloud.watchdog --state-dir DIR --daemon-pid N``,
started by the daemon in a session of its own with the read end of a pipe as its stdin. The
daemon holds the only write end and never writes, so the read returns end-of-file exactly when
the daemon is gone, however it went (``kill -9`` included: the kernel closes its descriptors).
Then the watchdog stops every process recorded in ``DIR/processes/`` (the database servers) and
exits: a server must never outlive the checker that its ``pg_hba.conf`` trusts.

Why a pipe and not ``PR_SET_PDEATHSIG`` on each server: the parent-death signal follows the
*thread* that forked (the daemon starts servers from request threads that end), and the kernel
clears it when the child changes its user (servers run as ``postgres``).

Light on imports (no moto, no boto3): it starts while the daemon is still starting.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from pgiam.localcloud.processes import ProcessRegistry, signal_record
from pgiam.localcloud.statedir import StateDir

log = logging.getLogger("pgiam.localcloud.watchdog")


def wait_for_eof(fd: int = 0) -> None:
    """Block until every write end of the pipe on ``fd`` is closed."""
    while True:
        try:
            if not os.read(fd, 4096):
                return
        except InterruptedError:
            continue
        except OSError:
            return


def stop_orphans(state: StateDir) -> list[str]:
    """Stop every recorded process that still runs: all stop signals first (the servers shut
    down in parallel and stop accepting logins at once), then each is waited for and removed."""
    registry = ProcessRegistry(state.processes_dir)
    records = [record for record in registry.records() if record.is_running()]
    for record in records:
        signal_record(record, record.stop_signal)
    return [record.name for record in registry.stop_all()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pgiam.localcloud.watchdog")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--daemon-pid", type=int, required=True)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    wait_for_eof(0)
    state = StateDir(args.state_dir)
    if not state.processes_dir.is_dir():
        return 0  # `down` already removed the state directory
    stopped = stop_orphans(state)
    if stopped and state.path.is_dir():
        try:
            handler = logging.FileHandler(state.log_file, encoding="utf-8")
        except OSError:
            return 0
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.warning("the daemon (pid %d) is gone; stopped what it left running: %s", args.daemon_pid,
                    ", ".join(stopped))
        handler.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
