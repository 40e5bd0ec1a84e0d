"""The token check's view of the local IAM and STS: :class:`pgiam.localcloud.rds.token.KeyDirectory`
over the daemon's :class:`pgiam.localcloud.identity.IdentityDirectory` (moto's in-process state,
plus what the strict STS records about its sessions)."""

from __future__ import annotations

from typing import Any

from pgiam.iam import Decision, Request
from pgiam.localcloud.rds.token import SigningKey


class IdentityKeys:
    """Access keys and decisions from the local cloud's identity directory."""

    def __init__(self, identity: Any) -> None:
        self.identity = identity

    def resolve(self, access_key_id: str) -> SigningKey | None:
        credential = self.identity.resolve_access_key(access_key_id)
        if credential is None:
            return None
        return SigningKey(
            access_key_id=credential.access_key_id, secret_access_key=credential.secret_access_key,
            session_token=credential.session_token, expiration=credential.expiration,
            principal_arn=credential.principal_arn, account_id=credential.account_id,
            context=dict(credential.principal_context()), handle=credential)

    def authorize(self, key: SigningKey, request: Request) -> Decision:
        return self.identity.authorize(key.handle, request)

    def explain(self, key: SigningKey, request: Request) -> str:
        return self.identity.explain(key.handle, request)
