"""Login tokens on a real store, in whatever time zone the server runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import jwt
import pytest

from qstation.errors import AuthenticationFailed, InvalidRefreshToken
from qstation.service.clock import utc_now
from qstation.service.tokens import TokenService
from qstation.service.users import UserService
from qstation.store import JobStore


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
    store: JobStore, server_time_zone: str
) -> None:
    user = UserService(store).add("tz@example.com", "pw")
    tokens = TokenService(store, id_token_seconds=3600, refresh_token_seconds=86400)
    pair = tokens.issue(user)
    claims = jwt.decode(pair.id_token, options={"verify_signature": False})
    assert abs(claims["exp"] - (time.time() + 3600)) < 60
    assert tokens.user_of(pair.id_token) == user


def test_expired_id_token_is_refused(store: JobStore) -> None:
    user = UserService(store).add("old@example.com", "pw")
    issued_two_hours_ago = TokenService(
        store, 3600, 86400, clock=lambda: utc_now() - timedelta(hours=2)
    ).issue(user)
    with pytest.raises(AuthenticationFailed, match="expired"):
        TokenService(store, 3600, 86400).user_of(issued_two_hours_ago.id_token)


def test_revoked_refresh_tokens_cannot_be_used(store: JobStore) -> None:
    user = UserService(store).add("rev@example.com", "pw")
    tokens = TokenService(store, 3600, 86400)
    first, second = tokens.issue(user), tokens.issue(user)
    tokens.revoke(user)
    for pair in (first, second):
        with pytest.raises(InvalidRefreshToken):
            tokens.refresh(pair.refresh_token)
