"""The negative checks of step 5 (shared by both targets): which attempts to run inside a pod
(:mod:`pgiam.e2e.probes`) and how to judge what came back. Pure.

Every check carries its own positive control, run in the same pod with the same credentials:
the refusals prove something only if the control got in. So a check fails when the control
fails ("proves nothing"), when an attack is allowed, and when an attack is refused for another
reason than the one being tested (a TLS error is not a refused login).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What PostgreSQL says when it refuses a login (Aurora: "PAM authentication failed for user").
AUTH_REFUSAL = re.compile(r"authentication failed|pg_hba\.conf rejects|no pg_hba\.conf entry|"
                          r"role \"[^\"]*\" does not exist|password authentication",
                          re.IGNORECASE)
_CLOUD_REFUSAL = re.compile(r"RDS IAM login refused: reason=(?P<reason>[a-z-]+) "
                            r"user=['\"]?(?P<user>[^'\" ]+)")
EXPIRED_TOKEN_AGE_SECONDS = 20 * 60        # a token is valid for 15 minutes
MADE_UP_USER = "pgiam_e2e_nobody"
# An IAM database user (LOGIN, rds_iam) the probe creates as the master user for the other-user
# check and drops afterwards: a token for it is refused only if the role's rds-db:connect policy
# names its own user and no other (a user that cannot use IAM at all, like the master user or one
# that does not exist, is refused whatever the policy says, so it cannot tell).
DECOY_USER = "pgiam_e2e_decoy"
VERIFIED_TLS = "verify-full"
PASSWORD_ENV = "PGIAM_PROBE_PASSWORD"
WRONG_PASSWORD_ENV = "PGIAM_PROBE_WRONG_PASSWORD"
INTRUDER_SERVICE_ACCOUNT = "pgiam-e2e-intruder"


class CheckFailure(Exception):
    """The check did not hold; the message says why."""


@dataclass(frozen=True)
class Verdict:
    message: str
    lines: tuple[str, ...]


def role_name(role_arn: str) -> str:
    """``arn:aws:iam::123:role/path/name`` -> ``name`` (what the app reports it runs as)."""
    return role_arn.rsplit("/", 1)[-1]


@functools.lru_cache(maxsize=1)
def probe_source() -> str:
    """The source of :mod:`pgiam.e2e.probes`, which pods run with ``python -c``."""
    from pgiam.e2e import probes

    return Path(probes.__file__).read_text(encoding="utf-8")


def control_login(user: str) -> dict[str, Any]:
    return {"kind": "login", "label": f"control: token login as {user}", "user": user,
            "auth": "token"}


# An attempt's ``cloud_reason``: the reason code the local cloud's token check must log when it
# refuses it (docs/localcloud.md), so the local target also proves the refusal was for the
# reason tested. The probes and the aws target ignore it (RDS tells nobody why).
def password_login_attempts(user: str) -> list[dict[str, Any]]:
    return [control_login(user),
            {"kind": "login", "label": f"{user} with the master password", "user": user,
             "auth": "password", "password_env": PASSWORD_ENV, "cloud_reason": "malformed"},
            {"kind": "login", "label": f"{user} with a made-up password", "user": user,
             "auth": "password", "password_env": WRONG_PASSWORD_ENV,
             "cloud_reason": "malformed"}]


def expired_token_attempts(user: str) -> list[dict[str, Any]]:
    return [control_login(user),
            {"kind": "login", "label": f"{user} with a token signed "
                                       f"{EXPIRED_TOKEN_AGE_SECONDS // 60} minutes ago",
             "user": user, "auth": "token", "token_age_seconds": EXPIRED_TOKEN_AGE_SECONDS,
             "cloud_reason": "expired"}]


def other_user_attempts(user: str, master_user: str) -> list[dict[str, Any]]:
    return [control_login(user),
            {"kind": "login", "label": f"token for the master user {master_user}",
             "user": master_user, "auth": "token"},
            {"kind": "login", "label": f"token for a made-up user {MADE_UP_USER}",
             "user": MADE_UP_USER, "auth": "token"},
            {"kind": "login", "label": f"token for {DECOY_USER}, another IAM database user "
                                       "(LOGIN, rds_iam)",
             "user": DECOY_USER, "auth": "token", "cloud_reason": "not-authorized",
             "decoy": {"master_user": master_user, "password_env": PASSWORD_ENV}}]


def assume_role_attempt(label: str) -> list[dict[str, Any]]:
    return [{"kind": "assume-role", "label": label}]


# PostgreSQL on RDS asks a member of rds_iam for an IAM token (PAM; locally LDAP) and anyone else
# for a password: a token refused as a *password* means the user cannot use IAM at all.
_ASKED_FOR_PASSWORD = re.compile(r'password authentication failed for user "(?P<user>[^"]+)"')


def login_hint(reason: str) -> str:
    """What a connect-flow failure means when the client's words do not say it: a token refused
    as a password names a user PostgreSQL does not let log in with IAM."""
    match = _ASKED_FOR_PASSWORD.search(reason)
    if match is None:
        return ""
    return (f" (PostgreSQL asked {match['user']} for a password, not an IAM token: the user is "
            "not a member of rds_iam, or does not exist)")


def judge_tls_mode(sslmode: str | None) -> None:
    """The pod's connect flow must verify the server (``verify-full``, the image's default when
    PGSSLMODE is unset): with ``require`` or ``verify-ca`` it works, and anyone on the path who
    can present a certificate (any certificate, or any of the CA's) receives the IAM token, a
    bearer credential for 15 minutes. :class:`CheckFailure` when it does not."""
    mode = (sslmode or VERIFIED_TLS).strip()
    if mode != VERIFIED_TLS:
        raise CheckFailure(f"the connect flow works, but the pod sets PGSSLMODE={mode}: the "
                           "server is not fully verified, so whoever can stand in for it receives "
                           f"the IAM token (valid 15 minutes); the pod must use {VERIFIED_TLS}")


def judge_identity(identity: dict[str, Any], session: dict[str, Any], role_arn: str,
                   db_user: str) -> None:
    """The connect flow ran as the stack's role and logged in as the stack's IAM database user:
    a pod that gets in as someone else (a service account annotated with another role that
    happens to work) is not the stack the outputs describe."""
    role = identity.get("role")
    if role != role_name(role_arn):
        raise CheckFailure(f"the connect flow ran as role {role!r}, not the stack's "
                           f"{role_name(role_arn)!r} ({role_arn})")
    if session.get("current_user") != db_user:
        raise CheckFailure(f"the connect flow logged in as {session.get('current_user')!r}, not "
                           f"the stack's IAM database user {db_user!r}")


def spec(attempts: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"attempts": list(attempts)})


def parse_results(stdout: str) -> list[dict[str, Any]]:
    """The probe's JSON list (its last line); :class:`CheckFailure` when there is none."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, list):
            return value
    raise CheckFailure(f"the probe printed no result: {stdout.strip()[-300:]!r}")


def describe(result: dict[str, Any]) -> str:
    code = f" [{result['code']}]" if result.get("code") else ""
    return f"{result.get('label')}: {result.get('result')}{code}: {result.get('message')}"


def judge_logins(results: Sequence[dict[str, Any]], what: str) -> Verdict:
    """The first result is the control (must be allowed), every other one must be refused by
    the server as an authentication failure."""
    lines = tuple(describe(result) for result in results)
    if not results:
        raise CheckFailure("the probe returned no result")
    control, attacks = results[0], results[1:]
    # An attack that got in proves the hole by itself; refusals mean something only next to a
    # control that got in.
    for attack in attacks:
        if attack.get("result") == "allowed":
            raise CheckFailure(f"{attack.get('label')}: ALLOWED ({attack.get('message')}); "
                               f"{what} must be refused")
    if control.get("result") != "allowed":
        raise CheckFailure(f"the control login failed ({control.get('message')}), so the "
                           f"refusals prove nothing")
    for attack in attacks:
        outcome = attack.get("result")
        if outcome != "refused":
            raise CheckFailure(f"{attack.get('label')}: no answer from the server "
                               f"({attack.get('message')}), which proves nothing")
        if not AUTH_REFUSAL.search(attack.get("message") or ""):
            raise CheckFailure(f"{attack.get('label')}: refused, but not as an authentication "
                               f"failure: {attack.get('message')}")
    refused = ", ".join(str(attack.get("label")) for attack in attacks)
    return Verdict(f"refused: {refused} (control login allowed)", lines)


def unexplained_refusals(attempts: Sequence[dict[str, Any]], decisions: Sequence[str]
                         ) -> list[str]:
    """The attempts with a ``cloud_reason`` that the local cloud's decisions (its log lines,
    ``RDS IAM login refused: reason=<code> user='<user>' ...``) do not account for: each needs
    its own refusal with that reason and user."""
    available: dict[tuple[str, str], int] = {}
    for line in decisions:
        match = _CLOUD_REFUSAL.search(line)
        if match:
            key = (match["reason"], match["user"])
            available[key] = available.get(key, 0) + 1
    missing = []
    for attempt in attempts:
        if not attempt.get("cloud_reason"):
            continue
        key = (attempt["cloud_reason"], str(attempt.get("user")))
        if available.get(key, 0) > 0:
            available[key] -= 1
        else:
            missing.append(f"{attempt.get('label')}: the local cloud logged no "
                           f"'{attempt['cloud_reason']}' refusal for {attempt.get('user')}, so "
                           "it was refused for another reason than the one tested")
    return missing


def judge_assume_role(control: dict[str, Any], intruder: dict[str, Any], role_arn: str,
                      intruder_subject: str,
                      refusals: tuple[str, ...] = ("AccessDenied",)) -> Verdict:
    """``refusals``: the codes that count as the intruder refused (STS's AccessDenied for IRSA;
    EKS Auth's, through the Pod Identity Agent, under Pod Identity)."""
    lines = (describe(control), describe(intruder))
    if intruder.get("result") == "allowed":
        raise CheckFailure(f"{intruder_subject} ASSUMED {role_arn} ({intruder.get('arn')}): the "
                           "trust policy lets other service accounts in")
    if control.get("result") != "allowed":
        raise CheckFailure(f"the control (the app's own service account) could not assume the "
                           f"role ({control.get('message')}), so the refusal proves nothing")
    if intruder.get("result") != "refused" or intruder.get("code") not in refusals:
        raise CheckFailure(f"{intruder_subject}: expected {' or '.join(refusals)}, got "
                           f"{intruder.get('result')} {intruder.get('code') or ''}: "
                           f"{intruder.get('message')}")
    return Verdict(f"{intruder_subject} refused with {intruder.get('code')} (control assumed the "
                   "role)",
                   lines)
