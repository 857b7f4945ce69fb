"""Dispatch: which job a free worker takes next, and where a queued job stands.

The decisions are :mod:`qstation.scheduling`'s pure functions; this module only gathers what
they need from the database and claims the job they pick.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, func, insert, or_, select, update

from qstation.model import ClaimedJob, JobRecord, JobStatus
from qstation.scheduling.batches import BATCH_IDLE, BatchJob, holds_target
from qstation.scheduling.calendar import Availability, CalendarEvent
from qstation.scheduling.policy import (
    DEFAULT_PRIORITY,
    FAIR_SHARE_WINDOW,
    QueuedJob,
    queue_positions,
    ranked,
)
from qstation.store.database import Database
from qstation.store.job_states import (
    LEASE_HOLDERS,
    claimable,
    close_expired_attempt,
    cut_off_too_often,
    end_abandoned_job,
    transition,
    waiting,
)
from qstation.store.records import calendar_event, job_record
from qstation.store.schema import calendar_events, job_attempts, jobs, user_groups, users


class DispatchQueue:
    def __init__(self, database: Database) -> None:
        self._db = database

    def claim_next_job(
        self,
        worker_id: str,
        now: datetime,
        lease_seconds: float,
        max_attempts: int,
        fair_share_window: timedelta = FAIR_SHARE_WINDOW,
    ) -> ClaimedJob | None:
        """Take a running job whose worker's lease expired (oldest first: it was dispatched
        already), else the first queued job in fair-share order (:mod:`qstation.scheduling`).

        A job whose worker died is not run again when it was being canceled (it ends canceled)
        or when it has already been attempted ``max_attempts`` times (it ends failed); the
        search then goes on to the next claimable job.
        """
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        lease_expires_at = now + timedelta(seconds=lease_seconds)
        with self._db.write() as conn:
            while (row := conn.execute(_select_expired(now)).first()) is not None:
                claim = _take(conn, row, worker_id, now, lease_expires_at, max_attempts)
                if claim is not None:
                    return claim
            availability = _availability(conn, now)
            held = _batch_holds(conn, now)
            batch_of = dict(
                conn.execute(
                    select(jobs.c.id, jobs.c.batch_id).where(
                        waiting(), jobs.c.batch_id.is_not(None)
                    )
                ).all()
            )
            for queued in ranked(*_queue_and_usage(conn, now, fair_share_window, None)):
                target = availability.get(queued.machine)
                if target is not None and not target.runs_jobs_of(queued.organisation):
                    continue  # its target is offline, in maintenance, or reserved for others
                holder = held.get(queued.machine)
                if (
                    holder is not None
                    and batch_of.get(queued.job_id) != holder[0]
                    and (target is None or target.runs_jobs_of(holder[1]))
                ):
                    continue  # a batch runs there back to back (unless its target is closed to it)
                row = conn.execute(
                    select(jobs)
                    .where(jobs.c.id == queued.job_id, waiting())
                    .with_for_update(skip_locked=True)
                ).first()
                if row is not None:
                    claim = _take(conn, row, worker_id, now, lease_expires_at, max_attempts)
                    if claim is not None:
                        return claim
        return None

    def queue_position(
        self, job: JobRecord, now: datetime, fair_share_window: timedelta = FAIR_SHARE_WINDOW
    ) -> int | None:
        """Where a queued job stands in its target's queue (1 runs next); None once it left."""
        if job.status is not JobStatus.QUEUED:
            return None
        with self._db.read() as conn:
            positions = queue_positions(
                *_queue_and_usage(conn, now, fair_share_window, job.machine)
            )
        return positions.get(job.id)


def _select_expired(now: datetime) -> Select[Any]:
    """The oldest job whose worker's lease expired, locked; other PostgreSQL workers skip it."""
    return (
        select(jobs)
        .where(jobs.c.status.in_(LEASE_HOLDERS), jobs.c.lease_expires_at < now)
        .order_by(jobs.c.submitted_at, jobs.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def _availability(conn: Connection, now: datetime) -> dict[str, Availability]:
    """Each target with a calendar, as it stands at ``now``; the others are always open."""
    machines = conn.scalars(select(calendar_events.c.machine).distinct()).all()
    current: dict[str, list[CalendarEvent]] = defaultdict(list)
    covering = calendar_events.c.starts_at <= now, calendar_events.c.ends_at > now
    for row in conn.execute(select(calendar_events).where(*covering)):
        current[row.machine].append(calendar_event(row))
    return {machine: Availability(current[machine], has_calendar=True) for machine in machines}


def _batch_holds(conn: Connection, now: datetime) -> dict[str, tuple[str, str]]:
    """Each target a batch holds (:mod:`qstation.scheduling.batches`) -> the batch's ID and
    its organisation."""
    idle_since = now - BATCH_IDLE
    recent = or_(
        waiting(),
        jobs.c.status.in_(LEASE_HOLDERS),
        jobs.c.finished_at > idle_since,
        jobs.c.submitted_at > idle_since,
    )
    batch_ids = conn.scalars(
        select(jobs.c.batch_id).where(jobs.c.batch_id.is_not(None), recent).distinct()
    ).all()
    holds: dict[str, tuple[datetime, str, str]] = {}  # machine -> (started, batch, organisation)
    for batch_id in batch_ids:
        rows = conn.execute(select(jobs).where(jobs.c.batch_id == batch_id)).all()
        first = next((row for row in rows if row.id == batch_id), None)
        if first is None or first.batch_limit is None:
            continue
        members = {row.id: _batch_job(row) for row in rows}
        if not holds_target(members[first.id], first.batch_limit, list(members.values()), now):
            continue
        holder = (first.started_at, batch_id, first.organisation)
        # Two workers may start two batches on one target at once: the earlier one holds it.
        holds[first.machine] = min(holds.get(first.machine, holder), holder)
    return {machine: (batch, organisation) for machine, (_, batch, organisation) in holds.items()}


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


def _queue_and_usage(
    conn: Connection, now: datetime, window: timedelta, machine: str | None
) -> tuple[list[QueuedJob], dict[tuple[str, str, str], float]]:
    """The queued jobs (of ``machine``, or of every target) as the policy sees them, and each
    (organisation, group, target)'s HQCs from jobs that finished within ``window``."""
    query = (
        select(
            jobs.c.id,
            jobs.c.machine,
            jobs.c.organisation,
            jobs.c.group_name,
            func.coalesce(user_groups.c.priority, DEFAULT_PRIORITY).label("group_priority"),
            func.coalesce(users.c.priority, DEFAULT_PRIORITY).label("user_priority"),
            jobs.c.submitted_at,
        )
        .select_from(
            jobs.outerjoin(users, users.c.id == jobs.c.owner_id).outerjoin(
                user_groups,
                and_(
                    user_groups.c.organisation == jobs.c.organisation,
                    user_groups.c.name == jobs.c.group_name,
                ),
            )
        )
        .where(waiting())
    )
    used = (
        select(jobs.c.organisation, jobs.c.group_name, jobs.c.machine, func.sum(jobs.c.cost))
        .where(jobs.c.finished_at >= now - window, jobs.c.cost.is_not(None))
        .group_by(jobs.c.organisation, jobs.c.group_name, jobs.c.machine)
    )
    if machine is not None:
        query = query.where(jobs.c.machine == machine)
        used = used.where(jobs.c.machine == machine)
    queued = [QueuedJob(*row) for row in conn.execute(query)]
    usage = {(org, group, target): float(total) for org, group, target, total in conn.execute(used)}
    return queued, usage


def _take(
    conn: Connection,
    row: Row[Any],
    worker_id: str,
    now: datetime,
    lease_expires_at: datetime,
    max_attempts: int,
) -> ClaimedJob | None:
    """Start an attempt of the job in ``row``, or end it when it must not run again (then, as
    when another worker took it first: None)."""
    source = JobStatus(row.status)
    if source is JobStatus.CANCELING:
        end_abandoned_job(conn, row, JobStatus.CANCELED, {}, now)
        return None
    expired = row.lease_owner is not None  # a running job between chunks holds no lease
    if source is JobStatus.RUNNING and expired and row.attempts >= max_attempts:
        error = cut_off_too_often(row.id, row.attempts)
        end_abandoned_job(conn, row, JobStatus.FAILED, {"error": error}, now)
        return None
    values = {
        "started_at": row.started_at or now,
        "attempts": jobs.c.attempts + 1,
        "lease_owner": worker_id,
        "lease_expires_at": lease_expires_at,
        "cancel_requested": False,
    }
    claimed = transition(conn, row.id, source, JobStatus.RUNNING, values, claimable(now))
    if claimed is None:
        return None
    if source is JobStatus.RUNNING and expired:
        close_expired_attempt(conn, row, now)
    attempt_id = conn.execute(
        insert(job_attempts)
        .values(job_id=row.id, worker_id=worker_id, started_at=now)
        .returning(job_attempts.c.id)
    ).scalar_one()
    conn.execute(update(jobs).where(jobs.c.id == row.id).values(current_attempt_id=attempt_id))
    return ClaimedJob(job_record(claimed), attempt_id, worker_id, lease_expires_at)
