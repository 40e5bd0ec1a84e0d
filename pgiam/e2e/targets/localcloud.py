"""The local cloud a local run starts and stops, through its CLI contract (docs/architecture.md,
"Local cloud contract"): ``up`` prints one JSON object, ``sa-token`` prints a token, ``down``
stops everything it started."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgiam.e2e.engine.context import CloudInfo
from pgiam.errors import PgiamError

UP_TIMEOUT = 180.0
DOWN_TIMEOUT = 120.0
# The daemon log's decisions (docs/localcloud.md: STS decisions with their precise reason, one
# line per RDS IAM login; never a token): "<date> <time>,<ms> INFO <logger>: <message>".
_DECISION = re.compile(r"^\S+ (?P<time>\d\d:\d\d:\d\d),\d+ \w+ pgiam\.localcloud\.(?:sts|rds): "
                       r"(?P<message>(?:AssumeRoleWithWebIdentity|RDS IAM login).*)$")


class LocalCloudError(PgiamError):
    pass


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pgiam", "localcloud", *args]


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class LocalCloud:
    state_dir: Path
    raw: dict[str, Any]

    @property
    def info(self) -> CloudInfo:
        oidc = self.raw.get("oidc") or {}
        admin = self.raw["admin"]  # the administrator `up` created: the only keys a strict cloud takes
        rds = (self.raw.get("extensions") or {}).get("rds") or {}
        return CloudInfo(region=self.raw["region"], account_id=str(self.raw["account_id"]),
                         endpoint_url=self.raw["endpoint_url"], issuer=oidc["issuer"],
                         ca_bundle=self.raw["ca_bundle"],
                         thumbprint=str(oidc.get("thumbprint") or ""),
                         admin_access_key_id=str(admin["access_key_id"]),
                         admin_secret_access_key=str(admin["secret_access_key"]),
                         hosts_file=str(rds.get("hosts_file") or ""),
                         resolver_env=tuple(sorted((rds.get("env") or {}).items())),
                         pod_identity_agent_url=str(
                             ((self.raw.get("extensions") or {}).get("pod-identity") or {})
                             .get("agent_url") or ""))

    @property
    def pid(self) -> int | None:
        pid = self.raw.get("pid")
        return int(pid) if pid else None

    def ca_pem(self) -> str:
        return Path(self.raw["ca_bundle"]).read_text(encoding="ascii")

    @property
    def log_file(self) -> Path:
        return Path(self.raw.get("log") or self.state_dir / "daemon.log")

    def log_offset(self) -> int:
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def decisions_since(self, offset: int) -> list[str]:
        """STS and RDS IAM login decisions logged after ``offset`` (see :func:`decisions`)."""
        try:
            with open(self.log_file, "rb") as stream:
                stream.seek(offset)
                text = stream.read().decode("utf-8", "replace")
        except OSError:
            return []
        return decisions(text)

    def process_records(self) -> list[dict[str, Any]]:
        """What the cloud recorded of the processes it started (its database servers) and the
        paths they use (data directories outside the run directory), for the teardown check."""
        records = []
        for path in sorted((self.state_dir / "processes").glob("*.json")):
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        return records

    def sa_token(self, namespace: str, service_account: str, audience: str, ttl: int,
                 pod: str | None = None) -> str:
        """A projected service account token signed by this cloud's issuer (in process, as
        ``sa-token`` does: pgiam.localcloud.tokens)."""
        from pgiam.localcloud.serviceaccounts import DEFAULT_AUDIENCE, DEFAULT_TTL_SECONDS
        from pgiam.localcloud.tokens import mint_token

        try:
            return mint_token(self.state_dir, namespace, service_account,
                              audience=audience or DEFAULT_AUDIENCE,
                              ttl=ttl or DEFAULT_TTL_SECONDS, pod_name=pod)
        except ValueError as refused:
            raise LocalCloudError(f"service account token for {namespace}/{service_account}: "
                                  f"{refused}") from None


def decisions(text: str) -> list[str]:
    """The STS and RDS IAM login decisions among daemon log lines, as ``HH:MM:SS message``."""
    found = []
    for line in text.splitlines():
        match = _DECISION.match(line)
        if match:
            found.append(f"{match['time']} {match['message']}")
    return found


def first_refusal(lines: list[str]) -> str | None:
    """The first refused decision of :func:`decisions`, without its time: the reason a wiring
    mistake gives (``RDS IAM login refused: reason=not-authorized ...``)."""
    for line in lines:
        message = line.split(" ", 1)[-1]
        if " refused" in message:
            return message
    return None


def up(state_dir: Path) -> LocalCloud:
    state_dir.parent.mkdir(parents=True, exist_ok=True)
    # A session of its own, like every process the run starts: a Ctrl-C at the terminal goes to
    # the whole foreground process group, and only the run may decide what stops (teardown
    # needs the cloud; a `down` killed half-way leaves it running).
    result = subprocess.run(_command("up", "--state-dir", str(state_dir)), capture_output=True,
                            text=True, timeout=UP_TIMEOUT, start_new_session=True)
    if result.returncode != 0:
        raise LocalCloudError(f"pgiam localcloud up failed (exit {result.returncode}):\n"
                              f"{_tail(result.stderr)}")
    try:
        raw = json.loads(result.stdout.strip().splitlines()[-1])
        LocalCloud(state_dir, raw).info  # noqa: B018 - validates the contract's keys
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise LocalCloudError(f"pgiam localcloud up printed no usable JSON ({error}): "
                              f"{_tail(result.stdout, 3)}") from None
    return LocalCloud(state_dir, raw)


def down(state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command("down", "--state-dir", str(state_dir)), capture_output=True,
                          text=True, timeout=DOWN_TIMEOUT, start_new_session=True)
