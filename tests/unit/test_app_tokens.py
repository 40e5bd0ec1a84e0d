"""The token cache: minted on first use, reused, refreshed at 10 minutes or near its own expiry."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from app.tokens import EXPIRY_MARGIN, Token, TokenFormatError, TokenProvider, token_expiry

START = datetime(2025, 1, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()


def fake_token(signed_at: float, expires_in: int = 900, serial: int = 0) -> str:
    stamp = datetime.fromtimestamp(signed_at, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return (f"db.example.com:5432/?Action=connect&DBUser=app_user&X-Amz-Date={stamp}"
            f"&X-Amz-Expires={expires_in}&X-Amz-Signature={serial:064x}")


class Clock:
    """A clock the test moves by hand; the minter signs at the clock's time, as botocore would."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def provider(clock):
    serials = iter(range(1, 1000))
    return TokenProvider(lambda: fake_token(clock.now, serial=next(serials)), clock=clock)


@pytest.fixture(scope="module")
def botocore_token():
    client = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-secret",
                                   region_name="us-east-1").client("rds")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    token = client.generate_db_auth_token(DBHostname="db.example.com", Port=5432, DBUsername="app_user")
    return before, token


def test_expiry_is_read_from_a_real_botocore_token(botocore_token):
    before, token = botocore_token
    expiry = token_expiry(token)
    assert before + timedelta(seconds=900) <= expiry <= before + timedelta(seconds=902)


@pytest.mark.parametrize("text", ["", "db.example.com:5432/?Action=connect", "plainpassword",
                                  "h:1/?X-Amz-Date=20250101&X-Amz-Expires=900",
                                  "h:1/?X-Amz-Date=20250101T000000Z&X-Amz-Expires=soon"])
def test_a_string_that_is_not_a_token_is_refused(text):
    with pytest.raises(TokenFormatError):
        token_expiry(text)


def test_the_token_value_never_appears_in_repr():
    token = Token(value=fake_token(START, serial=0xABCDEF), minted_at=START,
                  expires_at=datetime.fromtimestamp(START + 900, tz=timezone.utc))
    assert "abcdef" not in repr(token) and "X-Amz" not in repr(token)


def test_the_first_use_mints_and_later_uses_reuse(provider, clock):
    first = provider.token()
    clock.advance(599)
    assert provider.token() is first
    assert provider.minted == 1


def test_a_token_is_replaced_once_ten_minutes_old(provider, clock):
    first = provider.token()
    clock.advance(600)
    second = provider.token()
    assert second.value != first.value and provider.minted == 2
    assert second.expires_at == first.expires_at + timedelta(seconds=600)


def test_after_fifteen_minutes_the_cached_token_is_never_handed_out(provider, clock):
    first = provider.token()
    clock.advance(16 * 60)
    token = provider.token()
    assert token.value != first.value
    assert token.expires_at > datetime.fromtimestamp(clock.now, tz=timezone.utc)


def test_a_token_close_to_its_own_expiry_is_replaced_whatever_its_age(clock):
    # A minter whose tokens were signed long ago (skewed clock, or a cached token from elsewhere):
    # fresh on our clock, but with less than the margin left.
    signed = [clock.now - 900 + EXPIRY_MARGIN - 1]
    provider = TokenProvider(lambda: fake_token(signed[0]), clock=clock)
    provider.token()
    signed[0] = clock.now
    provider.token()
    assert provider.minted == 2


def test_fresh_always_mints_and_replaces_the_cache(provider, clock):
    first = provider.token()
    renewed = provider.fresh()
    assert renewed.value != first.value
    assert provider.token() is renewed and provider.minted == 2


def test_current_does_not_mint(provider):
    assert provider.current is None
    token = provider.token()
    assert provider.current is token and provider.minted == 1


@pytest.mark.parametrize("refresh_after", [0, -1, 781, 900])
def test_refresh_after_must_leave_the_expiry_margin(refresh_after):
    with pytest.raises(ValueError):
        TokenProvider(lambda: "", refresh_after=refresh_after)


def test_concurrent_callers_share_one_mint(clock):
    calls = []
    gate = threading.Event()

    def slow_mint():
        calls.append(1)
        gate.wait(1)
        return fake_token(clock.now)

    provider = TokenProvider(slow_mint, clock=clock)
    threads = [threading.Thread(target=provider.token) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.05)  # every thread is now inside token(): without the lock each would mint
    gate.set()
    for t in threads:
        t.join()
    assert len(calls) == 1
