"""Failed logins per throttle key (see :mod:`qstation.security.throttle` for the rules)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from qstation.security.throttle import ThrottleRule, ThrottleState, after_failure
from qstation.store.database import Database
from qstation.store.schema import login_throttle

_FORGET_AFTER = timedelta(days=1)
"""A key with no failure for this long, and no lock, is forgotten (its lockouts too)."""


class ThrottleRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    def states(self, keys: list[str]) -> dict[str, ThrottleState]:
        with self._db.read() as conn:
            rows = conn.execute(select(login_throttle).where(login_throttle.c.key.in_(keys))).all()
        return {row.key: _state(row) for row in rows}

    def record_failure(self, key: str, rule: ThrottleRule, now: datetime) -> ThrottleState:
        """Count one failure against ``key`` in the transaction that reads its state, so
        concurrent failures all count."""
        with self._db.write() as conn:
            row = conn.execute(
                select(login_throttle).where(login_throttle.c.key == key).with_for_update()
            ).first()
            state = after_failure(None if row is None else _state(row), rule, now)
            values = {
                "window_started_at": state.window_started_at,
                "failures": state.failures,
                "locked_until": state.locked_until,
                "lockouts": state.lockouts,
            }
            if row is None:
                conn.execute(
                    self._db.insert(login_throttle)
                    .values(key=key, **values)
                    .on_conflict_do_update(index_elements=["key"], set_=values)
                )
            else:
                conn.execute(
                    update(login_throttle).where(login_throttle.c.key == key).values(values)
                )
            conn.execute(
                delete(login_throttle).where(
                    login_throttle.c.window_started_at < now - _FORGET_AFTER,
                    (login_throttle.c.locked_until.is_(None))
                    | (login_throttle.c.locked_until < now),
                )
            )
        return state

    def clear(self, key: str) -> None:
        with self._db.write() as conn:
            conn.execute(delete(login_throttle).where(login_throttle.c.key == key))


def _state(row: object) -> ThrottleState:
    return ThrottleState(
        row.window_started_at,  # type: ignore[attr-defined]
        row.failures,  # type: ignore[attr-defined]
        row.locked_until,  # type: ignore[attr-defined]
        row.lockouts,  # type: ignore[attr-defined]
    )
