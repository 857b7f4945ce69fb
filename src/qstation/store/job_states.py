"""Guarded job status changes and the SQL conditions that say where a job is in its life.

Every job status change goes through :func:`transition`, an ``UPDATE … WHERE status =
:source`` checked against :data:`qstation.model.ALLOWED_TRANSITIONS`: whoever loses a race
finds the guard no longer matches, so a job is claimed and finished exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    and_,
    literal_column,
    or_,
    select,
    update,
)

from qstation import errors
from qstation.model import ALLOWED_TRANSITIONS, JobStatus
from qstation.store.schema import job_attempts, jobs

LEASE_EXPIRED = "lease_expired"
"""Outcome of an attempt whose worker stopped renewing its lease (the job was taken back)."""

LEASE_HOLDERS = (JobStatus.RUNNING, JobStatus.CANCELING)
LEASE_RELEASED: Mapping[str, Any] = {"lease_owner": None, "lease_expires_at": None}


def waiting(table: Any = jobs) -> ColumnElement[bool]:
    """Jobs whose next chunk waits for a worker: queued ones, and running ones between chunks;
    no worker holds either (a queued job never had a lease).

    The statuses are written into the SQL, not bound, so both databases can prove the query
    matches the partial index :data:`qstation.store.schema.WAITING_PREDICATE`.
    """
    statuses: list[ColumnElement[Any]] = [
        literal_column(f"'{status}'") for status in (JobStatus.QUEUED, JobStatus.RUNNING)
    ]
    return and_(table.c.lease_owner.is_(None), table.c.status.in_(statuses))


def claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        waiting(),
        and_(jobs.c.status.in_(LEASE_HOLDERS), jobs.c.lease_expires_at < now),
    )


def owned_by_attempt(attempt_id: int, *columns: ColumnElement[Any]) -> Select[Any]:
    """The job (ID, status and ``columns``) while the attempt still holds it."""
    return select(jobs.c.id, jobs.c.status, *columns).where(
        jobs.c.current_attempt_id == attempt_id, jobs.c.status.in_(LEASE_HOLDERS)
    )


def transition(
    conn: Connection,
    job_id: str,
    source: JobStatus,
    target: JobStatus,
    values: Mapping[str, Any],
    *guards: ColumnElement[bool],
) -> Row[Any] | None:
    """Move the job from ``source`` to ``target`` if it is still in ``source`` (and ``guards``
    hold); return the updated row, or ``None`` when someone else changed the job first."""
    if target not in ALLOWED_TRANSITIONS[source]:
        raise ValueError(f"job status {source} cannot become {target}")
    return conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.status == source, *guards)
        .values({**values, "status": target})
        .returning(*jobs.c)
    ).first()


def close_attempt(
    conn: Connection, attempt_id: int, now: datetime, outcome: str, message: str | None
) -> None:
    conn.execute(
        update(job_attempts)
        .where(job_attempts.c.id == attempt_id, job_attempts.c.ended_at.is_(None))
        .values(ended_at=now, outcome=outcome, message=message)
    )


def close_expired_attempt(conn: Connection, job: Row[Any], now: datetime) -> None:
    message = f"worker {job.lease_owner} stopped renewing its lease"
    close_attempt(conn, job.current_attempt_id, now, LEASE_EXPIRED, message)


def end_abandoned_job(
    conn: Connection, job: Row[Any], target: JobStatus, values: Mapping[str, Any], now: datetime
) -> None:
    """End a job whose worker's lease expired, instead of running it again."""
    finished = {**values, "finished_at": now, **LEASE_RELEASED}
    ended = transition(conn, job.id, JobStatus(job.status), target, finished, claimable(now))
    if ended is not None:
        close_expired_attempt(conn, job, now)


def cut_off_too_often(job_id: str, attempts: int) -> str:
    return errors.ExecutionError(
        f"its execution was cut off {attempts} times"
        " (each time its worker stopped without reporting); giving up"
    ).job_error(job_id)
