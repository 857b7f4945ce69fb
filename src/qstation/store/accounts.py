"""Users, their refresh tokens, and the service's own secrets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, bindparam, delete, insert, or_, select, update

from qstation import errors
from qstation.model import Role, User
from qstation.scheduling.policy import DEFAULT_PRIORITY
from qstation.store.database import Database, PreparedRead
from qstation.store.fair_share import add_lanes
from qstation.store.job_states import waiting
from qstation.store.organisations import add_membership
from qstation.store.records import columns_of, user_record
from qstation.store.schema import (
    group_members,
    jobs,
    portal_sessions,
    refresh_tokens,
    service_secrets,
    users,
)


class AccountRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    def create_user(self, user: User) -> User:
        exists = errors.UserExists(f"A user with email {user.email} exists already.")
        with self._db.write(conflict=exists) as conn:
            conn.execute(insert(users).values(columns_of(user)))
            add_membership(self._db, conn, user.organisation, user.group, user.id)
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

    def set_role(self, email: str, role: Role) -> None:
        with self._db.write() as conn:
            changed = conn.execute(update(users).where(users.c.email == email).values(role=role))
        if changed.rowcount != 1:
            raise _no_user(email)

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
            conn.execute(delete(portal_sessions).where(portal_sessions.c.user_id == user_id))
            conn.execute(delete(group_members).where(group_members.c.user_id == user_id))
            conn.execute(delete(users).where(users.c.id == user_id))
            _move_waiting_jobs(self._db, conn, user_id, DEFAULT_PRIORITY)

    def _find_user(self, condition: ColumnElement[bool]) -> User | None:
        with self._db.read() as conn:
            row = conn.execute(select(users).where(condition)).first()
        return None if row is None else user_record(row)

    def set_password(self, user_id: str, password_hash: str, now: datetime) -> None:
        """A new password ends every session: refresh tokens and id-tokens issued before."""
        with self._db.write() as conn:
            conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
            _end_sessions(conn, user_id, now)

    def end_sessions(self, user_id: str, now: datetime) -> None:
        """Revoke every refresh token of the user and refuse their id-tokens issued before now."""
        with self._db.write() as conn:
            _end_sessions(conn, user_id, now)

    def set_mfa_secret(self, user_id: str, sealed_secret: str | None) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(mfa_secret=sealed_secret, mfa_last_step=None)
            )

    def use_mfa_step(self, user_id: str, step: int) -> bool:
        """Record ``step`` as used; False if it (or a later one) was used already, so a code is
        accepted once even when two logins race with it."""
        with self._db.write() as conn:
            used = conn.execute(
                update(users)
                .where(
                    users.c.id == user_id,
                    or_(users.c.mfa_last_step.is_(None), users.c.mfa_last_step < step),
                )
                .values(mfa_last_step=step)
            )
        return used.rowcount == 1

    # --- refresh tokens -------------------------------------------------------------------

    def add_refresh_token(
        self, token_hash: str, user_id: str, expires_at: datetime, family_id: str
    ) -> None:
        with self._db.write() as conn:
            conn.execute(
                insert(refresh_tokens).values(
                    token_hash=token_hash, user_id=user_id, expires_at=expires_at,
                    family_id=family_id,
                )
            )  # fmt: skip

    def consume_refresh_token(self, token_hash: str, now: datetime) -> SpentToken | None:
        """Spend a valid token: each refreshes exactly once. A token spent before, presented
        again, was stolen or copied: its whole family is revoked, and None returned."""
        with self._db.write() as conn:
            row = conn.execute(
                select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
            ).first()
            if row is None:
                return None
            if row.revoked_at is not None:
                conn.execute(
                    update(refresh_tokens)
                    .where(
                        refresh_tokens.c.family_id == row.family_id,
                        refresh_tokens.c.revoked_at.is_(None),
                    )
                    .values(revoked_at=now)
                )
                return SpentToken(row.user_id, row.family_id, reused=True)
            if row.expires_at <= now:
                return None
            spent = conn.execute(
                update(refresh_tokens)
                .where(
                    refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
            if spent.rowcount != 1:  # spent by a concurrent refresh a moment ago
                return None
        return SpentToken(row.user_id, row.family_id, reused=False)

    # --- service secrets ------------------------------------------------------------------

    def get_or_create_secret(self, name: str, make: Callable[[], str]) -> str:
        """The named value, made on first use; processes starting together agree on one."""
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

    def get_secret(self, name: str) -> str | None:
        rows = self._db.read_rows(_SECRET, {"name": name})
        return None if not rows else str(rows[0]["value"])

    def advance_counter(self, name: str) -> int:
        """Add one to the named counter (made at 1 if missing) and return its new value."""
        by_name = select(service_secrets.c.value).where(service_secrets.c.name == name)
        with self._db.write() as conn:
            current = conn.scalar(by_name.with_for_update())
            value = 1 if current is None else int(current) + 1
            if current is None:
                conn.execute(insert(service_secrets).values(name=name, value=str(value)))
            else:
                conn.execute(
                    update(service_secrets)
                    .where(service_secrets.c.name == name)
                    .values(value=str(value))
                )
        return value


@dataclass(frozen=True)
class SpentToken:
    user_id: str
    family_id: str
    reused: bool
    """The token had been spent before: its family is now revoked."""


def _end_sessions(conn: Connection, user_id: str, now: datetime) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(tokens_valid_after=now))
    conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


_SECRET = PreparedRead(
    select(service_secrets.c.value).where(service_secrets.c.name == bindparam("name"))
)
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
