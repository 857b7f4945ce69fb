"""The audit log: who did what, when, from where; rows are only ever added."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from qstation.store.database import Database
from qstation.store.schema import audit_log


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    action: str
    """What was done: ``login``, ``job.submit``, ``user.add``, ``key.rotate``, ..."""
    outcome: str
    """``ok``, ``refused`` or ``failed``."""
    actor: str | None = None
    """The acting user's email; None for an anonymous caller or the operator's shell."""
    subject: str | None = None
    """What it was done to: a job ID, an email, an organisation."""
    source: str | None = None
    """The client's address, for requests over HTTP."""
    detail: str | None = None
    id: int | None = None


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None
    """An action, or a prefix ending in ``.`` (``job.``: every job action)."""
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


def record_entries(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    """Add ``entries`` in the caller's transaction (a submission's row commits with its job)."""
    if entries:
        rows = [{k: v for k, v in asdict(entry).items() if k != "id"} for entry in entries]
        conn.execute(insert(audit_log), rows)


class AuditRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    def record(self, entry: AuditEntry) -> None:
        with self._db.write() as conn:
            record_entries(conn, [entry])

    def find(self, query: AuditQuery) -> list[AuditEntry]:
        """Newest first."""
        selection = select(audit_log)
        if query.actor is not None:
            selection = selection.where(audit_log.c.actor == query.actor)
        if query.action is not None:
            selection = selection.where(
                audit_log.c.action.startswith(query.action, autoescape=True)
                if query.action.endswith(".")
                else audit_log.c.action == query.action
            )
        if query.since is not None:
            selection = selection.where(audit_log.c.at >= query.since)
        if query.until is not None:
            selection = selection.where(audit_log.c.at < query.until)
        selection = selection.order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        with self._db.read() as conn:
            rows = conn.execute(selection.limit(query.limit)).all()
        return [AuditEntry(**row._asdict()) for row in rows]
