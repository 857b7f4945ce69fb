"""Login tokens on a real store: lifetimes the server enforces, rotation, revocation, families."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import jwt
import pytest

from qstation.errors import AuthenticationFailed, InvalidRefreshToken
from qstation.security.keys import ServiceKeys
from qstation.service import tokens as token_module
from qstation.service.clock import utc_now
from qstation.service.tokens import TokenService, rotate_key
from qstation.service.users import UserService
from qstation.store import JobStore

PASSWORD = "a sturdy test passphrase"


@pytest.fixture
def keys() -> ServiceKeys:
    return ServiceKeys(secrets.token_bytes(32))


@pytest.fixture
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read users and the key generation afresh on every check."""
    monkeypatch.setattr(token_module, "CACHE_SECONDS", -1.0)


@pytest.fixture(params=["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def server_time_zone(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_id_token_expires_an_hour_after_issue_in_any_time_zone(
    store: JobStore, keys: ServiceKeys, server_time_zone: str
) -> None:
    user = UserService(store).add("tz@example.com", PASSWORD)
    tokens = TokenService(store, keys, id_token_seconds=3600, refresh_token_seconds=86400)
    pair = tokens.issue(user)
    claims = jwt.decode(pair.id_token, options={"verify_signature": False})
    assert abs(claims["exp"] - (time.time() + 3600)) < 60
    assert tokens.user_of(pair.id_token) == user


def test_expired_id_token_is_refused(store: JobStore, keys: ServiceKeys) -> None:
    user = UserService(store).add("old@example.com", PASSWORD)
    issued_two_hours_ago = TokenService(
        store, keys, 3600, 86400, clock=lambda: utc_now() - timedelta(hours=2)
    ).issue(user)
    with pytest.raises(AuthenticationFailed, match="expired"):
        TokenService(store, keys, 3600, 86400).user_of(issued_two_hours_ago.id_token)


def test_the_server_bounds_a_token_by_its_own_lifetime_whatever_exp_says(
    store: JobStore, keys: ServiceKeys
) -> None:
    user = UserService(store).add("long@example.com", PASSWORD)
    two_hours_ago = lambda: utc_now() - timedelta(hours=2)  # noqa: E731
    issued = TokenService(store, keys, 3 * 3600, 86400, clock=two_hours_ago)
    long_lived = issued.issue(user)  # our key, exp an hour ahead, but two hours old
    lenient = TokenService(store, keys, 3 * 3600, 86400)
    assert lenient.user_of(long_lived.id_token) == user
    strict = TokenService(store, keys, 3600, 86400)
    with pytest.raises(AuthenticationFailed, match="expired"):
        strict.user_of(long_lived.id_token)


def test_a_token_signed_with_another_key_or_none_is_refused(
    store: JobStore, keys: ServiceKeys
) -> None:
    user = UserService(store).add("forger@example.com", PASSWORD)
    tokens = TokenService(store, keys, 3600, 86400)
    genuine = jwt.decode(tokens.issue(user).id_token, options={"verify_signature": False})
    other_key = jwt.encode(
        genuine, secrets.token_bytes(32), algorithm="HS256", headers={"kid": "1"}
    )
    unsigned = jwt.encode(genuine, None, algorithm="none")
    for forged in (other_key, unsigned, "not a token"):
        with pytest.raises(AuthenticationFailed, match="not valid"):
            tokens.user_of(forged)


def test_key_rotation_ends_every_id_token_but_not_refresh_tokens(
    store: JobStore, keys: ServiceKeys, no_cache: None
) -> None:
    user = UserService(store).add("rot@example.com", PASSWORD)
    tokens = TokenService(store, keys, 3600, 86400)
    before = tokens.issue(user)
    assert tokens.user_of(before.id_token) == user

    assert rotate_key(store) == 2  # as the CLI does it, from another process

    with pytest.raises(AuthenticationFailed, match="rotated"):
        tokens.user_of(before.id_token)
    after = tokens.refresh(before.refresh_token)
    assert tokens.user_of(after.id_token) == user


def test_ending_sessions_refuses_id_tokens_issued_before_and_accepts_later_ones(
    store: JobStore, keys: ServiceKeys, no_cache: None
) -> None:
    users = UserService(store)
    user = users.add("rev@example.com", PASSWORD)
    tokens = TokenService(store, keys, 3600, 86400)
    first, second = tokens.issue(user), tokens.issue(user)

    users.end_sessions(user.email)

    for pair in (first, second):
        with pytest.raises(AuthenticationFailed, match="revoked"):
            tokens.user_of(pair.id_token)
        with pytest.raises(InvalidRefreshToken):
            tokens.refresh(pair.refresh_token)
    time.sleep(0.01)
    fresh = tokens.issue(user)
    assert tokens.user_of(fresh.id_token).email == user.email


def test_revocation_reaches_a_process_that_cached_the_user_within_its_cache_time(
    store: JobStore, keys: ServiceKeys
) -> None:
    users = UserService(store)
    user = users.add("cached@example.com", PASSWORD)
    tokens = TokenService(store, keys, 3600, 86400)
    pair = tokens.issue(user)
    assert tokens.user_of(pair.id_token) == user  # cached now

    users.end_sessions(user.email)
    deadline = time.monotonic() + token_module.CACHE_SECONDS + 1.0
    while time.monotonic() < deadline:
        try:
            tokens.user_of(pair.id_token)
        except AuthenticationFailed:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the revoked id-token still worked after the cache time")


def test_reusing_a_refresh_token_kills_its_successor(store: JobStore, keys: ServiceKeys) -> None:
    user = UserService(store).add("thief@example.com", PASSWORD)
    tokens = TokenService(store, keys, 3600, 86400)
    first = tokens.issue(user)
    successor = tokens.refresh(first.refresh_token)
    unrelated = tokens.issue(user)  # another login: another family

    with pytest.raises(InvalidRefreshToken):
        tokens.refresh(first.refresh_token)  # the copy is replayed

    with pytest.raises(InvalidRefreshToken):
        tokens.refresh(successor.refresh_token)
    assert tokens.refresh(unrelated.refresh_token).refresh_token


def test_the_user_cache_makes_token_checks_cheap(
    store: JobStore, keys: ServiceKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = UserService(store).add("fast@example.com", PASSWORD)
    tokens = TokenService(store, keys, 3600, 86400)
    pair = tokens.issue(user)
    tokens.user_of(pair.id_token)
    reads: list[datetime] = []
    original = store.accounts.get_user
    monkeypatch.setattr(
        store.accounts, "get_user", lambda user_id: reads.append(utc_now()) or original(user_id)
    )
    for _ in range(100):
        tokens.user_of(pair.id_token)
    assert reads == []
