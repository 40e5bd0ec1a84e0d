"""Minting service-account tokens for a running local cloud from Python (what ``sa-token`` does,
and what the e2e engine's kubelet calls for each pod): the issuer from ``state.json``, the key
from the state directory."""

from __future__ import annotations

import os

from pgiam.localcloud.lifecycle import LocalCloudError
from pgiam.localcloud.oidc import ServiceAccountIssuer, load_private_key
from pgiam.localcloud.serviceaccounts import DEFAULT_AUDIENCE, DEFAULT_TTL_SECONDS, TokenRequest
from pgiam.localcloud.statedir import StateDir, read_json


def issuer_for(state_dir: str | os.PathLike[str]) -> ServiceAccountIssuer:
    """The issuer of the local cloud at ``state_dir`` (which must have been started)."""
    state = StateDir(state_dir)
    info = read_json(state.state_file)
    issuer = (info or {}).get("oidc", {}).get("issuer")
    if not isinstance(issuer, str) or not state.signing_key.is_file():
        raise LocalCloudError(f"no running local cloud at {state.path}; "
                              f"run `pgiam localcloud up --state-dir {state.path}`")
    return ServiceAccountIssuer(issuer, load_private_key(state.signing_key.read_bytes()))


def mint_token(state_dir: str | os.PathLike[str], namespace: str, service_account: str, *,
               audience: str = DEFAULT_AUDIENCE, ttl: int = DEFAULT_TTL_SECONDS,
               pod_name: str | None = None) -> str:
    """A projected token for ``system:serviceaccount:<namespace>:<service_account>``. Raises
    ``InvalidTokenRequest`` (a ``ValueError``) for names or a lifetime Kubernetes refuses."""
    request = TokenRequest(namespace, service_account, audience=audience, ttl=ttl, pod_name=pod_name)
    return issuer_for(state_dir).mint(request)
