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
EXPIRED_TOKEN_AGE_SECONDS = 20 * 60        # a token is valid for 15 minutes
MADE_UP_USER = "pgiam_e2e_nobody"
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


def password_login_attempts(user: str) -> list[dict[str, Any]]:
    return [control_login(user),
            {"kind": "login", "label": f"{user} with the master password", "user": user,
             "auth": "password", "password_env": PASSWORD_ENV},
            {"kind": "login", "label": f"{user} with a made-up password", "user": user,
             "auth": "password", "password_env": WRONG_PASSWORD_ENV}]


def expired_token_attempts(user: str) -> list[dict[str, Any]]:
    return [control_login(user),
            {"kind": "login", "label": f"{user} with a token signed "
                                       f"{EXPIRED_TOKEN_AGE_SECONDS // 60} minutes ago",
             "user": user, "auth": "token", "token_age_seconds": EXPIRED_TOKEN_AGE_SECONDS}]


def other_user_attempts(user: str, master_user: str) -> list[dict[str, Any]]:
    return [control_login(user),
            {"kind": "login", "label": f"token for the master user {master_user}",
             "user": master_user, "auth": "token"},
            {"kind": "login", "label": f"token for a made-up user {MADE_UP_USER}",
             "user": MADE_UP_USER, "auth": "token"}]


def assume_role_attempt(label: str) -> list[dict[str, Any]]:
    return [{"kind": "assume-role", "label": label}]


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
    if control.get("result") != "allowed":
        raise CheckFailure(f"the control login failed ({control.get('message')}), so the "
                           f"refusals prove nothing")
    for attack in attacks:
        outcome = attack.get("result")
        if outcome == "allowed":
            raise CheckFailure(f"{attack.get('label')}: ALLOWED ({attack.get('message')}); "
                               f"{what} must be refused")
        if outcome != "refused":
            raise CheckFailure(f"{attack.get('label')}: no answer from the server "
                               f"({attack.get('message')}), which proves nothing")
        if not AUTH_REFUSAL.search(attack.get("message") or ""):
            raise CheckFailure(f"{attack.get('label')}: refused, but not as an authentication "
                               f"failure: {attack.get('message')}")
    refused = ", ".join(str(attack.get("label")) for attack in attacks)
    return Verdict(f"refused: {refused} (control login allowed)", lines)


def judge_assume_role(control: dict[str, Any], intruder: dict[str, Any], role_arn: str,
                      intruder_subject: str) -> Verdict:
    lines = (describe(control), describe(intruder))
    if control.get("result") != "allowed":
        raise CheckFailure(f"the control (the app's own service account) could not assume the "
                           f"role ({control.get('message')}), so the refusal proves nothing")
    if intruder.get("result") == "allowed":
        raise CheckFailure(f"{intruder_subject} ASSUMED {role_arn} ({intruder.get('arn')}): the "
                           "trust policy lets other service accounts in")
    if intruder.get("result") != "refused" or intruder.get("code") != "AccessDenied":
        raise CheckFailure(f"{intruder_subject}: expected AccessDenied from STS, got "
                           f"{intruder.get('result')} {intruder.get('code') or ''}: "
                           f"{intruder.get('message')}")
    return Verdict(f"{intruder_subject} refused with AccessDenied (control assumed the role)",
                   lines)
