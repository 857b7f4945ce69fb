"""Portal sign-in sessions: rows keyed by the digest of the id in the browser's cookie."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update

from qstation.model import User
from qstation.store.database import Database
from qstation.store.records import user_record
from qstation.store.schema import portal_sessions, users


class SessionRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    def create(self, session_hash: str, user_id: str, now: datetime, expires_at: datetime) -> None:
        """Open a session; sessions past their end are forgotten here, one sign-in at a time."""
        with self._db.write() as conn:
            conn.execute(delete(portal_sessions).where(portal_sessions.c.expires_at < now))
            conn.execute(
                insert(portal_sessions).values(
                    session_hash=session_hash, user_id=user_id, created_at=now,
                    expires_at=expires_at,
                )
            )  # fmt: skip

    def user_of(self, session_hash: str, now: datetime) -> tuple[User, datetime] | None:
        """The user of a live session (not ended, not expired) and when it began."""
        query = (
            select(users, portal_sessions.c.created_at.label("session_created_at"))
            .join(portal_sessions, portal_sessions.c.user_id == users.c.id)
            .where(
                portal_sessions.c.session_hash == session_hash,
                portal_sessions.c.ended_at.is_(None),
                portal_sessions.c.expires_at > now,
            )
        )
        with self._db.read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return user_record(dict(row)), row["session_created_at"]

    def end(self, session_hash: str, now: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(portal_sessions)
                .where(portal_sessions.c.session_hash == session_hash)
                .values(ended_at=now)
            )
