"""A handle on a local cloud for Python callers (test fixtures, the e2e engine): start or find
it, make boto3 clients for it, mint service-account tokens, stop it.

    cloud = LocalCloud.up("/tmp/pgiam-lc")          # same as `pgiam localcloud up`
    iam = cloud.client("iam")                        # signed with the administrator's keys (up JSON)
    token = cloud.mint_token("demo", "demo-app")     # audience sts.amazonaws.com, 24 h
    cloud.down()
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgiam.localcloud import lifecycle
from pgiam.localcloud.serviceaccounts import DEFAULT_AUDIENCE, DEFAULT_TTL_SECONDS

_session: Any = None
_session_lock = threading.Lock()


def _boto3_session() -> Any:
    """One boto3 session for every client made here: it caches the service models, which makes
    the second client of a service ~100x cheaper. Sessions are not thread-safe: lock around it."""
    global _session
    import boto3

    if _session is None:
        _session = boto3.session.Session()
    return _session


@dataclass(frozen=True)
class LocalCloud:
    state_dir: Path
    info: Mapping[str, Any]

    @classmethod
    def up(cls, state_dir: str | os.PathLike[str], *, region: str | None = None,
           extensions: Sequence[str] = (), accept_unknown_keys: bool = False) -> LocalCloud:
        info = lifecycle.up(state_dir, region=region, extensions=extensions,
                            accept_unknown_keys=accept_unknown_keys)
        return cls(Path(info["state_dir"]), info)

    def down(self) -> list[str]:
        return lifecycle.down(self.state_dir)

    @property
    def endpoint_url(self) -> str:
        return str(self.info["endpoint_url"])

    @property
    def region(self) -> str:
        return str(self.info["region"])

    @property
    def account_id(self) -> str:
        return str(self.info["account_id"])

    @property
    def issuer(self) -> str:
        return str(self.info["oidc"]["issuer"])

    @property
    def issuer_host_path(self) -> str:
        """The issuer without ``https://``: IAM's provider URL and the condition-key prefix."""
        return str(self.info["oidc"]["issuer_host_path"])

    @property
    def ca_bundle(self) -> Path:
        return Path(self.info["ca_bundle"])

    @property
    def pid(self) -> int:
        return int(self.info["pid"])

    @property
    def admin_access_key_id(self) -> str:
        """The account administrator's access key (created by ``up``; the ``up`` JSON's ``admin``)."""
        return str(self.info["admin"]["access_key_id"])

    @property
    def admin_secret_access_key(self) -> str:
        return str(self.info["admin"]["secret_access_key"])

    def client(self, service: str, *, access_key_id: str | None = None,
               secret_access_key: str | None = None, session_token: str | None = None,
               unsigned: bool = False, **config: Any) -> Any:
        """A boto3 client for ``service`` at this cloud's endpoint, with the given credentials
        (default: the administrator's keys) or unsigned."""
        if access_key_id is None:
            access_key_id, secret_access_key = self.admin_access_key_id, self.admin_secret_access_key
        import botocore
        from botocore.config import Config

        options: dict[str, Any] = {"retries": {"max_attempts": 1, "mode": "standard"}, **config}
        if unsigned:
            options["signature_version"] = botocore.UNSIGNED
        with _session_lock:
            return _boto3_session().client(
                service, endpoint_url=self.endpoint_url, region_name=self.region,
                aws_access_key_id=None if unsigned else access_key_id,
                aws_secret_access_key=None if unsigned else secret_access_key,
                aws_session_token=None if unsigned else session_token, config=Config(**options))

    def mint_token(self, namespace: str, service_account: str, *, audience: str = DEFAULT_AUDIENCE,
                   ttl: int = DEFAULT_TTL_SECONDS, pod_name: str | None = None) -> str:
        from pgiam.localcloud.tokens import mint_token

        return mint_token(self.state_dir, namespace, service_account, audience=audience, ttl=ttl,
                          pod_name=pod_name)

    def token_minter(self) -> Callable[[str, str, str, int], str]:
        """``(namespace, service account, audience, ttl) -> token``, for a kubelet."""
        return lambda namespace, service_account, audience, ttl: self.mint_token(
            namespace, service_account, audience=audience, ttl=ttl)

    def aws_environment(self, *, web_identity_token_file: str | None = None,
                        role_arn: str | None = None) -> dict[str, str]:
        """Environment for a process that should reach this cloud with boto3's default chain."""
        env = {"AWS_ENDPOINT_URL": self.endpoint_url, "AWS_REGION": self.region,
               "AWS_DEFAULT_REGION": self.region}
        if role_arn is not None:
            env["AWS_ROLE_ARN"] = role_arn
        if web_identity_token_file is not None:
            env["AWS_WEB_IDENTITY_TOKEN_FILE"] = web_identity_token_file
        return env
