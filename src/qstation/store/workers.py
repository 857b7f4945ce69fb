"""Worker processes as the store sees them: registered at start, seen at every heartbeat.

Workers on many hosts share nothing but the database, so the database is where an operator
(``qstation status``), a readiness probe and ``/metrics`` learn which workers live and what
each runs. Each beat says how long the worker counts as alive without another (its own lease
period, so readers need not know the fleet's settings); a worker that dies stops beating and is
*lost* once that passes. Rows of workers gone for a day are deleted when another registers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, select, update

from qstation.store.database import Database
from qstation.store.schema import workers

FORGOTTEN_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class WorkerRecord:
    id: str
    host: str
    pid: int
    version: str
    started_at: datetime
    last_seen_at: datetime
    alive_until: datetime
    stopped_at: datetime | None
    job_id: str | None
    shots: str | None
    """The shots it runs now, as ``first-last``."""


class WorkerRegistry:
    def __init__(self, database: Database) -> None:
        self._db = database

    def register(
        self, worker_id: str, host: str, pid: int, version: str, now: datetime, alive: timedelta
    ) -> None:
        """Record a starting worker (a restarted one with a reused ID starts afresh), alive for
        ``alive`` unless it beats again."""
        row = {
            "id": worker_id, "host": host, "pid": pid, "version": version, "started_at": now,
            "last_seen_at": now, "alive_until": now + alive, "stopped_at": None, "job_id": None,
            "shots": None,
        }  # fmt: skip
        with self._db.write() as conn:
            conn.execute(delete(workers).where(workers.c.last_seen_at < now - FORGOTTEN_AFTER))
            conn.execute(delete(workers).where(workers.c.id == worker_id))
            conn.execute(insert(workers).values(row))

    def beat(
        self,
        worker_id: str,
        now: datetime,
        alive: timedelta,
        job_id: str | None,
        shots: range | None,
    ) -> None:
        """The worker lives (for ``alive`` more), and runs ``shots`` of ``job_id`` (or
        nothing)."""
        described = None if shots is None else f"{shots.start}-{shots.stop - 1}"
        values = {"now": now, "until": now + alive, "job_id": job_id, "shots": described}
        with self._db.write() as conn:
            conn.execute(_BEAT, {"worker_id": worker_id, **values})

    def stopped(self, worker_id: str, now: datetime) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(workers)
                .where(workers.c.id == worker_id)
                .values(stopped_at=now, last_seen_at=now, job_id=None, shots=None)
            )

    def listing(self) -> list[WorkerRecord]:
        """Every worker remembered, most recently seen first."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(workers).order_by(workers.c.last_seen_at.desc(), workers.c.id)
            ).all()
        return [WorkerRecord(**row._mapping) for row in rows]

    def count_alive(self, now: datetime) -> int:
        return sum(is_alive(worker, now) for worker in self.listing())


def is_alive(worker: WorkerRecord, now: datetime) -> bool:
    """Not stopped, and its last beat still vouches for it."""
    return worker.stopped_at is None and worker.alive_until >= now


_BEAT = (
    update(workers)
    .where(workers.c.id == bindparam("worker_id"))
    .values(
        last_seen_at=bindparam("now"),
        alive_until=bindparam("until"),
        job_id=bindparam("job_id"),
        shots=bindparam("shots"),
    )
)
