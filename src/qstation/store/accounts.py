"""Users, their refresh tokens, and the service's own secrets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, bindparam, delete, insert, select, update

from qstation import errors
from qstation.model import User
from qstation.scheduling.policy import DEFAULT_PRIORITY
from qstation.store.database import Database, PreparedRead
from qstation.store.fair_share import add_lanes
from qstation.store.job_states import waiting
from qstation.store.records import columns_of, user_record
from qstation.store.schema import jobs, refresh_tokens, service_secrets, users


class AccountRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    def create_user(self, user: User) -> User:
        exists = errors.UserExists(f"A user with email {user.email} exists already.")
        with self._db.write(conflict=exists) as conn:
            conn.execute(insert(users).values(columns_of(user)))
        return user

    def set_user_priority(self, email: str, priority: int) -> None:
        """The user's priority, for their waiting jobs too (they move to their new lanes)."""
        with self._db.write() as conn:
            user_id = conn.scalar(
                update(users)
                .where(users.c.email == email)
                .values(priority=priority)
                .returning(users.c.id)
            )
            if user_id is None:
                raise _no_user(email)
            _move_waiting_jobs(self._db, conn, user_id, priority)

    def get_user_by_email(self, email: str) -> User | None:
        return self._find_user(users.c.email == email)

    def get_user(self, user_id: str) -> User | None:
        rows = self._db.read_rows(_USER, {"user_id": user_id})
        return user_record(rows[0]) if rows else None

    def list_users(self) -> list[User]:
        with self._db.read() as conn:
            rows = conn.execute(select(users).order_by(users.c.created_at, users.c.email)).all()
        return [user_record(row) for row in rows]

    def remove_user(self, email: str) -> None:
        """Delete the user and their refresh tokens; their jobs stay, for accounting, and
        those still waiting wait at the default priority."""
        with self._db.write() as conn:
            user_id = conn.scalar(select(users.c.id).where(users.c.email == email))
            if user_id is None:
                raise _no_user(email)
            conn.execute(delete(refresh_tokens).where(refresh_tokens.c.user_id == user_id))
            conn.execute(delete(users).where(users.c.id == user_id))
            _move_waiting_jobs(self._db, conn, user_id, DEFAULT_PRIORITY)

    def _find_user(self, condition: ColumnElement[bool]) -> User | None:
        with self._db.read() as conn:
            row = conn.execute(select(users).where(condition)).first()
        return None if row is None else user_record(row)

    # --- refresh tokens -------------------------------------------------------------------

    def add_refresh_token(self, token_hash: str, user_id: str, expires_at: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(
                insert(refresh_tokens).values(
                    token_hash=token_hash, user_id=user_id, expires_at=expires_at
                )
            )

    def consume_refresh_token(self, token_hash: str, now: datetime) -> str | None:
        """Revoke a valid token and return its user id: each token refreshes exactly once."""
        with self._db.write() as conn:
            user_id: str | None = conn.execute(
                update(refresh_tokens)
                .where(
                    refresh_tokens.c.token_hash == token_hash,
                    refresh_tokens.c.revoked_at.is_(None),
                    refresh_tokens.c.expires_at > now,
                )
                .values(revoked_at=now)
                .returning(refresh_tokens.c.user_id)
            ).scalar_one_or_none()
        return user_id

    def revoke_refresh_tokens(self, user_id: str, now: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    # --- service secrets ------------------------------------------------------------------

    def get_or_create_secret(self, name: str, make: Callable[[], str]) -> str:
        """The named secret, made on first use; processes starting together agree on one value."""
        by_name = select(service_secrets.c.value).where(service_secrets.c.name == name)
        with self._db.write() as conn:
            value: str | None = conn.scalar(by_name)
            if value is not None:
                return value
            conn.execute(
                self._db.insert(service_secrets)
                .values(name=name, value=make())
                .on_conflict_do_nothing()
            )
            stored: str = conn.execute(by_name).scalar_one()
        return stored


_USER = PreparedRead(select(users).where(users.c.id == bindparam("user_id")))


def _move_waiting_jobs(database: Database, conn: Connection, owner_id: str, priority: int) -> None:
    """Give the owner's waiting jobs ``priority``, and so their lanes of that priority."""
    of_owner = (jobs.c.owner_id == owner_id, waiting())
    conn.execute(update(jobs).where(*of_owner).values(user_priority=priority))
    lanes = select(
        jobs.c.machine, jobs.c.organisation, jobs.c.group_name, jobs.c.user_priority
    ).where(*of_owner)
    add_lanes(database, conn, lanes.distinct())


def _no_user(email: str) -> errors.UserNotFound:
    return errors.UserNotFound(f"No user with email {email}.")
