"""Portal sessions on a real store (both databases): every way a session ends."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from qstation.security.keys import ServiceKeys
from qstation.service import tokens as token_module
from qstation.service.clock import utc_now
from qstation.service.portal_sessions import PortalSessions
from qstation.service.tokens import TokenService, rotate_key
from qstation.service.users import UserService
from qstation.store import JobStore

PASSWORD = "a sturdy test passphrase"
LIFETIME = 3600


class Clock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_module, "CACHE_SECONDS", -1.0)


def _sessions(
    store: JobStore, clock: Callable[[], datetime], keys: ServiceKeys | None = None
) -> PortalSessions:
    keys = keys or ServiceKeys(b"k" * 32)
    tokens = TokenService(store, keys, 3600, 86400)
    return PortalSessions(store, keys, tokens, LIFETIME, clock=clock)


def test_a_session_lasts_its_lifetime_and_no_longer(store: JobStore) -> None:
    clock = Clock()
    sessions = _sessions(store, clock)
    user = UserService(store).add("s@example.com", PASSWORD)
    cookie = sessions.open(user)
    found = sessions.find(cookie)
    assert found is not None and found.user.id == user.id
    clock.now += timedelta(seconds=LIFETIME - 1)
    assert sessions.find(cookie) is not None
    clock.now += timedelta(seconds=2)
    assert sessions.find(cookie) is None


def test_signing_out_ends_the_session_and_only_that_one(store: JobStore) -> None:
    clock = Clock()
    sessions = _sessions(store, clock)
    user = UserService(store).add("out@example.com", PASSWORD)
    first, second = sessions.open(user), sessions.open(user)
    sessions.close(first)
    assert sessions.find(first) is None
    assert sessions.find(second) is not None


def test_revocation_a_new_password_and_removal_end_sessions(store: JobStore) -> None:
    users = UserService(store)  # ends sessions at the real time: so does this clock
    sessions = _sessions(store, utc_now)
    user = users.add("r@example.com", PASSWORD)
    cookie = sessions.open(user)
    users.end_sessions(user.email)
    assert sessions.find(cookie) is None
    cookie = sessions.open(user)  # a sign-in after the revocation works
    assert sessions.find(cookie) is not None
    users.set_password(user.email, "another sturdy passphrase")
    assert sessions.find(cookie) is None
    cookie = sessions.open(user)
    users.remove(user.email)
    assert sessions.find(cookie) is None


def test_rotating_the_key_ends_every_session(store: JobStore) -> None:
    clock = Clock()
    sessions = _sessions(store, clock)
    cookie = sessions.open(UserService(store).add("k@example.com", PASSWORD))
    rotate_key(store)
    assert sessions.find(cookie) is None


def test_forged_and_foreign_cookies_open_nothing(store: JobStore) -> None:
    clock = Clock()
    sessions = _sessions(store, clock)
    cookie = sessions.open(UserService(store).add("f@example.com", PASSWORD))
    generation, session_id, signature = cookie.split(".")
    other_key = _sessions(store, clock, ServiceKeys(secrets.token_bytes(32)))
    for forged in (
        f"{generation}.{session_id}.{'0' * len(signature)}",
        f"{generation}.{secrets.token_urlsafe(32)}.{signature}",
        f"{int(generation) + 1}.{session_id}.{signature}",
        "", "a.b", "x.y.z", None,
    ):  # fmt: skip
        assert sessions.find(forged) is None, forged
    assert other_key.find(cookie) is None
    # the database keeps only a digest: the cookie's id is nowhere in it
    with store.database.read() as conn:
        stored = conn.exec_driver_sql("SELECT session_hash FROM portal_sessions").scalars().all()
    assert session_id not in stored and len(stored) == 1
