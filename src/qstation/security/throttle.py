"""Login throttling as pure rules: how many failures a key may have, and what lock they earn.

A key is what failures are counted against: one account from one address (so an attacker
elsewhere cannot lock its owner out), and one address across all accounts (password spraying).
Past :attr:`ThrottleRule.limit` failures within :attr:`ThrottleRule.window` the key is locked
for :attr:`ThrottleRule.lock`, doubling with each further lockout up to
:attr:`ThrottleRule.max_lock`; a lock always ends, and a success clears the account key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottleRule:
    limit: int
    window: timedelta
    lock: timedelta
    max_lock: timedelta


ACCOUNT_FROM_ADDRESS = ThrottleRule(
    limit=10, window=timedelta(minutes=1), lock=timedelta(minutes=1), max_lock=timedelta(minutes=15)
)
ADDRESS = ThrottleRule(
    limit=50, window=timedelta(minutes=1), lock=timedelta(minutes=1), max_lock=timedelta(minutes=15)
)


@dataclass(frozen=True)
class ThrottleState:
    window_started_at: datetime
    failures: int
    locked_until: datetime | None
    lockouts: int


def account_key(email: str, address: str) -> str:
    return f"account {email} from {address}"


def address_key(address: str) -> str:
    return f"address {address}"


def locked_for(state: ThrottleState | None, now: datetime) -> timedelta | None:
    """How much longer the key is locked; None if it is not."""
    if state is None or state.locked_until is None or state.locked_until <= now:
        return None
    return state.locked_until - now


def after_failure(state: ThrottleState | None, rule: ThrottleRule, now: datetime) -> ThrottleState:
    """The key's state after one more failed login at ``now``."""
    if state is None or now - state.window_started_at >= rule.window:
        lockouts = 0 if state is None else state.lockouts
        state = ThrottleState(now, 0, None, lockouts)
    state = replace(state, failures=state.failures + 1)
    if state.failures >= rule.limit:
        lock = min(rule.lock * 2**state.lockouts, rule.max_lock)
        state = ThrottleState(now, 0, now + lock, state.lockouts + 1)
    return state
