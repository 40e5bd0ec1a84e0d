"""``pgiam localcloud up/down/status`` as a user runs them: one JSON object, idempotent ``up`` and
``down``, clouds side by side, stale state, extensions' processes, and clear errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pgiam.localcloud.client import LocalCloud
from pgiam.localcloud.processes import process_start_time

HERE = Path(__file__).resolve().parent


def pgiam(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgiam", "localcloud", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def port_of(url: str) -> int:
    return int(url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    state = Path(f"/proc/{pid}/stat")
    return state.exists() and state.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not alive(pid)


@pytest.fixture
def state_dir(localcloud_base_dir: Path, unique_name) -> Any:
    path = localcloud_base_dir / unique_name("cli")
    yield path
    pgiam("down", "--state-dir", str(path))


def test_up_prints_one_json_object_and_up_again_prints_the_same(state_dir: Path) -> None:
    first = pgiam("up", "--state-dir", str(state_dir))
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert len(lines) == 1
    info = json.loads(lines[0])
    assert info["region"] == "us-east-1" and info["account_id"] == "123456789012"
    assert info["endpoint_url"].startswith("http://127.0.0.1:")
    assert info["oidc"]["issuer"].startswith("https://localhost:")
    assert info["state_dir"] == str(state_dir) and Path(info["ca_bundle"]).is_file()
    again = pgiam("up", "--state-dir", str(state_dir))
    assert again.returncode == 0 and again.stdout == first.stdout
    status = pgiam("status", "--state-dir", str(state_dir))
    assert status.returncode == 0 and json.loads(status.stdout) == info


def test_state_files_holding_keys_are_private(state_dir: Path) -> None:
    info = json.loads(pgiam("up", "--state-dir", str(state_dir)).stdout)
    for name in ("ca-key.pem", "oidc-signing-key.pem", "oidc-server-key.pem"):
        assert (state_dir / name).stat().st_mode & 0o777 == 0o600, name
    assert Path(info["ca_bundle"]).stat().st_mode & 0o077 == 0o044
    assert state_dir.stat().st_mode & 0o777 == 0o711


def test_two_state_dirs_run_side_by_side(localcloud_factory) -> None:
    first, second = localcloud_factory(), localcloud_factory(region="eu-west-1")
    assert first.pid != second.pid
    ports = {port_of(c.endpoint_url) for c in (first, second)} | {port_of(c.issuer) for c in (first, second)}
    assert len(ports) == 4
    assert first.issuer != second.issuer and second.region == "eu-west-1"
    first.client("iam").create_role(RoleName="only-in-first", AssumeRolePolicyDocument="{}")
    assert [r["RoleName"] for r in first.client("iam").list_roles()["Roles"]] == ["only-in-first"]
    assert second.client("iam").list_roles()["Roles"] == []


def test_down_leaves_no_process_port_or_directory_behind(localcloud_base_dir: Path, unique_name,
                                                         monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    state_dir = localcloud_base_dir / unique_name("down")
    cloud = LocalCloud.up(state_dir, extensions=["localcloud_probe_extension"])
    child = cloud.info["extensions"]["probe"]["child_pid"]
    ports = [port_of(cloud.endpoint_url), port_of(cloud.issuer)]
    assert alive(cloud.pid) and alive(child) and all(listening(p) for p in ports)

    result = pgiam("down", "--state-dir", str(state_dir))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stopped"] == ["daemon"]
    assert wait_dead(cloud.pid) and wait_dead(child)
    assert not any(listening(p) for p in ports)
    assert not state_dir.exists()
    again = pgiam("down", "--state-dir", str(state_dir))
    assert (again.returncode, json.loads(again.stdout)["stopped"]) == (0, [])


def test_an_extension_intercepts_an_action_and_rewrites_motos_answer(localcloud_factory, monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    cloud = localcloud_factory(extensions=["localcloud_probe_extension"])
    iam = cloud.client("iam")
    iam.create_account_alias(AccountAlias="real-alias")
    assert iam.list_account_aliases()["AccountAliases"] == ["pgiam-probe-extension", "real-alias"]


def test_down_after_a_daemon_crash_stops_what_its_extensions_recorded(localcloud_base_dir: Path, unique_name,
                                                                      monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    state_dir = localcloud_base_dir / unique_name("crash")
    cloud = LocalCloud.up(state_dir, extensions=["localcloud_probe_extension"])
    child = cloud.info["extensions"]["probe"]["child_pid"]
    watchdog = cloud.info["watchdog_pid"]
    os.kill(watchdog, signal.SIGSTOP)  # frozen (a killed one is restarted): the child outlives the daemon
    try:
        os.kill(cloud.pid, signal.SIGKILL)
        assert wait_dead(cloud.pid)
        assert alive(child)  # in a session of its own: the crash did not take it along
        result = pgiam("down", "--state-dir", str(state_dir))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["stopped"] == ["probe-sleeper"]
        assert wait_dead(child)
        assert not state_dir.exists()
    finally:
        os.kill(watchdog, signal.SIGKILL)


def test_up_on_a_stale_state_dir_cleans_it_and_starts_afresh(localcloud_factory) -> None:
    cloud = localcloud_factory()
    os.kill(cloud.pid, signal.SIGKILL)
    assert wait_dead(cloud.pid)
    status = pgiam("status", "--state-dir", str(cloud.state_dir))
    assert status.returncode != 0 and "is not running" in status.stderr
    restarted = LocalCloud.up(cloud.state_dir)
    assert restarted.pid != cloud.pid and process_start_time(restarted.pid) is not None
    assert restarted.client("sts").get_caller_identity()["Account"] == "123456789012"


def test_a_failing_extension_fails_up_clearly_and_leaves_nothing_running(state_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    result = pgiam("up", "--state-dir", str(state_dir), "--extension", "localcloud_broken_extension", env=env)
    assert result.returncode == 1 and result.stdout == ""
    assert "the probe database refused to initialise" in result.stderr
    assert str(state_dir / "daemon.log") in result.stderr
    assert "Traceback" not in result.stderr
    pid = json.loads((state_dir / "daemon.json").read_text())["pid"]
    assert wait_dead(pid)


def test_a_missing_extension_module_fails_up(state_dir: Path) -> None:
    result = pgiam("up", "--state-dir", str(state_dir), "--extension", "no_such_extension_module")
    assert result.returncode == 1
    assert "no_such_extension_module cannot be imported" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("up",), "the following arguments are required: --state-dir"),
    (("up", "--state-dir", "{state}", "--region", "moon-base"), "is not an AWS region name"),
    (("sa-token", "--state-dir", "{missing}", "--namespace", "demo", "--service-account", "app"),
     "no such directory"),
    (("status", "--state-dir", "{missing}"), "no such directory"),
    (("down", "--state-dir", "{foreign}"), "is not a local cloud state directory"),
    (("up", "--state-dir", "{foreign}"), "is not empty and is not a local cloud state directory"),
    (("up", "--state-dir", "{file}"), "exists and is not a directory"),
])
def test_cli_errors_are_clear_and_exit_non_zero(tmp_path: Path, args: tuple, message: str) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    (tmp_path / "file").write_text("")
    paths = {"state": str(tmp_path / "state"), "missing": str(tmp_path / "missing"),
             "foreign": str(foreign), "file": str(tmp_path / "file")}
    result = pgiam(*(a.format(**paths) for a in args))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert (foreign / "precious.txt").read_text() == "keep me"
    assert not (tmp_path / "state" / "daemon.json").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another user")
@pytest.mark.parametrize("command", ["up", "down"])
def test_a_state_dir_owned_by_another_user_is_refused(tmp_path: Path, command: str) -> None:
    """A state directory's records name processes to signal and paths to remove: one that another
    user owns (and could fill with records) is never acted on."""
    foreign = tmp_path / "theirs"
    foreign.mkdir()
    (foreign / ".pgiam-localcloud").touch()
    (foreign / "processes").mkdir()
    os.chown(foreign, 65534, 65534)
    result = pgiam(command, "--state-dir", str(foreign))
    assert result.returncode == 2 and "belongs to uid 65534" in result.stderr
    assert sorted(p.name for p in foreign.iterdir()) == [".pgiam-localcloud", "processes"]


@pytest.mark.parametrize(("args", "message"), [
    (("--namespace", "Demo"), "--namespace: 'Demo' is not a DNS-1123 label"),
    (("--namespace", "a" * 64), "--namespace: "),
    (("--service-account", "app_1"), "--service-account: 'app_1' is not a DNS-1123 subdomain"),
    (("--ttl", "60"), "--ttl: 60 s is less than Kubernetes' minimum of 600 s"),
    (("--ttl", str(2**32 + 1)), "--ttl: "),
    (("--audience", ""), "--audience: must not be empty"),
    (("--audience", "two words"), "--audience: "),
    (("--pod", "Pod!"), "--pod: "),
    (("--ttl", "soon"), "invalid int value: 'soon'"),
])
def test_sa_token_refuses_what_kubernetes_refuses(localcloud: LocalCloud, args: tuple, message: str) -> None:
    defaults = {"--namespace": "demo", "--service-account": "demo-app"}
    defaults.update(dict(zip(args[::2], args[1::2])))
    argv = [x for pair in defaults.items() for x in pair]
    result = pgiam("sa-token", "--state-dir", str(localcloud.state_dir), *argv)
    assert result.returncode == 2 and result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_down_returns_only_once_the_watchdog_is_gone_too(localcloud_factory) -> None:
    """Whoever checks after `down` that nothing of the cloud runs (the e2e's verify-clean) must
    not find its watchdog finishing its own exit; the control: it ran while the cloud was up."""
    cloud = localcloud_factory()
    watchdog = cloud.info["watchdog_pid"]
    assert alive(watchdog)
    cloud.down()
    assert not alive(watchdog)
