"""IAM database auth tokens: minted by boto3, cached, refreshed well before they expire.

A token is a SigV4 presigned URL (without the scheme) for the ``rds-db`` service, valid for 15
minutes from its ``X-Amz-Date``. RDS checks it only when a connection logs in, so a pool that
minted one token at start-up fails every new connection after 15 minutes (field notes: "token
minted once and reused by a pool"). :class:`TokenProvider` hands out a cached token until it is
``refresh_after`` seconds old (10 minutes by default) or close to its own expiry, whichever comes
first, and mints a new one on demand after a refused login.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

TOKEN_LIFETIME = 900.0
DEFAULT_REFRESH_AFTER = 600.0
# Never hand out a token that has less than this left: a slow TLS handshake must not outlive it.
EXPIRY_MARGIN = 120.0

Clock = Callable[[], float]


class TokenFormatError(ValueError):
    """The string is not an RDS auth token (a presigned URL with X-Amz-Date and X-Amz-Expires)."""


@dataclass(frozen=True)
class Token:
    """One token. ``value`` is the secret: it is kept out of ``repr`` so it never reaches a log."""

    value: str = field(repr=False)
    minted_at: float  # on the provider's clock
    expires_at: datetime  # from the token itself: X-Amz-Date + X-Amz-Expires (UTC)

    def age(self, now: float) -> float:
        return now - self.minted_at


def token_expiry(token: str) -> datetime:
    """When the token stops being accepted: its signing time plus its validity, in UTC."""
    query = parse_qs(urlsplit("https://" + token).query)
    try:
        signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        expires = int(query["X-Amz-Expires"][0])
    except (KeyError, IndexError, ValueError) as exc:
        raise TokenFormatError("not an RDS auth token: no valid X-Amz-Date / X-Amz-Expires") from exc
    return signed + timedelta(seconds=expires)


def needs_refresh(token: Token | None, now: float, now_utc: datetime, refresh_after: float) -> bool:
    """Whether ``token`` is too old to hand out: by its age on our clock, or by its own expiry."""
    if token is None:
        return True
    if token.age(now) >= refresh_after:
        return True
    return (token.expires_at - now_utc).total_seconds() < EXPIRY_MARGIN


class TokenProvider:
    """Thread-safe cache around ``mint`` (a callable returning a fresh token string).

    ``clock`` returns seconds (``time.time`` by default); tests inject one they can move forward.
    The expiry check compares the token's own expiry with the same clock, read as UTC.
    """

    def __init__(self, mint: Callable[[], str], *, clock: Clock = time.time,
                 refresh_after: float = DEFAULT_REFRESH_AFTER) -> None:
        if not 0 < refresh_after <= TOKEN_LIFETIME - EXPIRY_MARGIN:
            raise ValueError(f"refresh_after must be in (0, {TOKEN_LIFETIME - EXPIRY_MARGIN:.0f}] seconds")
        self._mint = mint
        self._clock = clock
        self._refresh_after = refresh_after
        self._lock = threading.Lock()
        self._current: Token | None = None
        self.minted = 0  # how many tokens were minted: the refresh tests read it

    def token(self) -> Token:
        """The cached token, or a new one when the cached one is too old."""
        with self._lock:
            now = self._clock()
            if needs_refresh(self._current, now, _as_utc(now), self._refresh_after):
                self._current = self._new(now)
            return self._current

    def fresh(self) -> Token:
        """A newly minted token, replacing the cached one (after a refused login)."""
        with self._lock:
            self._current = self._new(self._clock())
            return self._current

    def now(self) -> float:
        """The provider's clock."""
        return self._clock()

    @property
    def current(self) -> Token | None:
        """The cached token, without minting (for display)."""
        return self._current

    def _new(self, now: float) -> Token:
        value = self._mint()
        self.minted += 1
        return Token(value=value, minted_at=now, expires_at=token_expiry(value))


def _as_utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)
