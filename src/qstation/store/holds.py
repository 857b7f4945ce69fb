"""What keeps a waiting job from running now: the calendar and batches holding their targets.

Both are read inside the claim's transaction and handed to the pure rules of
:mod:`qstation.scheduling.calendar` and :mod:`qstation.scheduling.batches`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, literal_column, select, text, union

from qstation.model import JobStatus
from qstation.scheduling.batches import BATCH_IDLE, Batch, BatchJob
from qstation.scheduling.calendar import Availability, CalendarEvent
from qstation.store.records import calendar_event
from qstation.store.schema import calendar_events, jobs

_CALENDAR_MACHINES = select(calendar_events.c.machine).distinct()
_EVENTS_NOW = select(calendar_events).where(
    calendar_events.c.starts_at <= bindparam("now"), calendar_events.c.ends_at > bindparam("now")
)


def availability(conn: Connection, now: datetime) -> dict[str, Availability]:
    """Each target with a calendar, as it stands at ``now``; the others are always open."""
    machines = conn.scalars(_CALENDAR_MACHINES).all()
    current: dict[str, list[CalendarEvent]] = defaultdict(list)
    for row in conn.execute(_EVENTS_NOW, {"now": now}):
        current[row.machine].append(calendar_event(row))
    return {machine: Availability(current[machine], has_calendar=True) for machine in machines}


def active_batches(conn: Connection, now: datetime) -> list[Batch]:
    """Batches with a job waiting, running, or submitted or finished within the idle limit
    (inclusive, as :func:`~qstation.scheduling.batches.holds_target` counts it): the only ones
    that may hold a target."""
    statement = _ACTIVE_BATCH_IDS_SQLITE if conn.dialect.name == "sqlite" else _ACTIVE_BATCH_IDS
    batch_ids = conn.scalars(statement, {"idle_since": now - BATCH_IDLE}).all()
    batches = []
    for batch_id in batch_ids:
        rows = conn.execute(_BATCH_JOBS, {"batch_id": batch_id}).all()
        first = next((row for row in rows if row.id == batch_id), None)
        if first is None or first.batch_limit is None:
            continue
        members = [_batch_job(row) for row in rows]
        batches.append(
            Batch(
                batch_id, first.machine, first.organisation, first.batch_limit,
                _batch_job(first), members,
            )
        )  # fmt: skip
    return batches


_OPEN = ("queued", "running", "canceling")
_RECENT_BATCH_IDS = (
    select(jobs.c.batch_id).where(
        jobs.c.batch_id.is_not(None), jobs.c.finished_at >= bindparam("idle_since")
    ),
    select(jobs.c.batch_id).where(
        jobs.c.batch_id.is_not(None), jobs.c.submitted_at >= bindparam("idle_since")
    ),
)
_ACTIVE_BATCH_IDS = union(
    select(jobs.c.batch_id).where(
        jobs.c.batch_id.is_not(None),
        jobs.c.status.in_([literal_column(f"'{status}'") for status in _OPEN]),
    ),
    *_RECENT_BATCH_IDS,
)
"""Batches with a job not ended, or submitted or finished within the idle limit, each found
through an index of batches' jobs only (see ``ix_jobs_open_batch_jobs`` and its siblings)."""
_ACTIVE_BATCH_IDS_SQLITE = union(
    select(literal_column("batch_id"))
    .select_from(text("jobs INDEXED BY ix_jobs_open_batch_jobs"))
    .where(text("batch_id IS NOT NULL AND status IN ('queued', 'running', 'canceling')")),
    *_RECENT_BATCH_IDS,
)
"""The same for SQLite, told which index to use: without statistics (SQLite gathers none by
itself) it picks the status index, which holds every queued job, not a batch's few: a claim
took 89 ms at 100,000 queued jobs instead of 5."""
_BATCH_JOBS = select(jobs).where(jobs.c.batch_id == bindparam("batch_id"))


def _batch_job(row: Row[Any]) -> BatchJob:
    status = JobStatus(row.status)
    return BatchJob(
        submitted_at=row.submitted_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        waiting_or_running=not status.is_final,
        cost=row.cost,
        batch_end=row.batch_end,
    )
