"""Durable state on SQLite or PostgreSQL, one repository per aggregate: open it with
:func:`open_store`.

``jobs`` (jobs and their attempts), ``dispatch`` (claiming, queue positions), ``accounts``
(users, refresh tokens, service secrets), ``organisations`` (groups, priorities, quotas),
``calendar`` (operational hours), ``throttle`` (failed logins), ``sessions`` (portal sign-ins),
``workers`` (worker processes and their heartbeats) and ``audit`` (the audit log)
share one :class:`~qstation.store.database.Database`, the seam where database errors become
qstation errors.
"""

from __future__ import annotations

from qstation.store.accounts import AccountRepository
from qstation.store.audit import AuditRepository
from qstation.store.calendar import CalendarRepository
from qstation.store.database import Database, create_store_engine, translate_database_errors
from qstation.store.dispatch import DispatchQueue
from qstation.store.jobs import JobRepository
from qstation.store.migrations import migrate
from qstation.store.organisations import OrganisationRepository
from qstation.store.sessions import SessionRepository
from qstation.store.throttle import ThrottleRepository
from qstation.store.workers import WorkerRegistry


class JobStore:
    """Durable state shared by the API and the workers, safe under concurrent processes."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.jobs = JobRepository(database)
        self.dispatch = DispatchQueue(database)
        self.accounts = AccountRepository(database)
        self.organisations = OrganisationRepository(database)
        self.calendar = CalendarRepository(database)
        self.throttle = ThrottleRepository(database)
        self.sessions = SessionRepository(database)
        self.audit = AuditRepository(database)
        self.workers = WorkerRegistry(database)

    def close(self) -> None:
        self.jobs.close()
        self.database.close()


def open_store(url: str, pool_size: int = 10) -> JobStore:
    """Open the store at ``url``, bringing its schema up to date first.

    Raises :class:`~qstation.errors.StoreUnavailable` when the database cannot be reached.
    """
    engine = create_store_engine(url, pool_size)
    try:
        with translate_database_errors():
            migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return JobStore(Database(engine))


__all__ = ["JobStore", "open_store"]
