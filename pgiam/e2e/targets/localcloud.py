"""The local cloud a local run starts and stops, through its CLI contract (docs/architecture.md,
"Local cloud contract"): ``up`` prints one JSON object, ``sa-token`` prints a token, ``down``
stops everything it started."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgiam.e2e.engine.context import CloudInfo
from pgiam.errors import PgiamError

UP_TIMEOUT = 180.0
DOWN_TIMEOUT = 120.0


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
        return CloudInfo(region=self.raw["region"], account_id=str(self.raw["account_id"]),
                         endpoint_url=self.raw["endpoint_url"], issuer=oidc["issuer"],
                         ca_bundle=self.raw["ca_bundle"],
                         thumbprint=str(oidc.get("thumbprint") or ""))

    @property
    def pid(self) -> int | None:
        pid = self.raw.get("pid")
        return int(pid) if pid else None

    def ca_pem(self) -> str:
        return Path(self.raw["ca_bundle"]).read_text(encoding="ascii")

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


def up(state_dir: Path) -> LocalCloud:
    state_dir.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(_command("up", "--state-dir", str(state_dir)), capture_output=True,
                            text=True, timeout=UP_TIMEOUT)
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
                          text=True, timeout=DOWN_TIMEOUT)
