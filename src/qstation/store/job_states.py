"""Guarded job status changes and the SQL conditions that say where a job is in its life.

Every job status change goes through :func:`transition`, an ``UPDATE … WHERE status =
:source`` checked against :data:`qstation.model.ALLOWED_TRANSITIONS`: whoever loses a race
finds the guard no longer matches, so a job is claimed and finished exactly once.

Statements here are built once and run with bound parameters: building a SQLAlchemy statement
costs more than running it, and a worker runs several for every job (a claim and a finish took
12 ms of Python before). Conditions that need a value take it as a named parameter:
``:now`` for :data:`CLAIMABLE`, ``:attempt_id`` for :data:`HELD_BY_ATTEMPT`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Connection,
    Row,
    Select,
    Update,
    and_,
    bindparam,
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
HANDED_BACK = "handed_back"
"""Outcome of an attempt whose worker was stopped and gave its chunk back to the queue."""

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


WAITING = waiting()
CLAIMABLE = or_(
    WAITING,
    and_(jobs.c.status.in_(LEASE_HOLDERS), jobs.c.lease_expires_at < bindparam("now")),
)
"""Waiting, or held by a worker whose lease ran out before ``:now``."""
HELD = jobs.c.lease_owner.is_not(None)
HELD_BY_ATTEMPT = jobs.c.current_attempt_id == bindparam("attempt_id")
NEXT_ATTEMPT = jobs.c.attempts + 1
UNCOUNTED_ATTEMPT = jobs.c.attempts - 1
"""An attempt its worker handed back: it does not count towards the job's cut-offs."""
ALL_SHOTS = jobs.c.count


def owned_by_attempt(*columns: ColumnElement[Any]) -> Select[Any]:
    """The job (ID, status and ``columns``) while the attempt bound as ``:attempt_id`` still
    holds it."""
    return select(jobs.c.id, jobs.c.status, *columns).where(
        HELD_BY_ATTEMPT, jobs.c.status.in_(LEASE_HOLDERS)
    )


_TRANSITIONS: dict[tuple[Any, ...], Update] = {}


def transition(
    conn: Connection,
    job_id: str,
    source: JobStatus,
    target: JobStatus,
    values: Mapping[str, Any],
    *guards: ColumnElement[bool],
    parameters: Mapping[str, Any] | None = None,
) -> Row[Any] | None:
    """Move the job from ``source`` to ``target`` if it is still in ``source`` (and ``guards``
    hold, with their ``parameters``); return the updated row, or ``None`` when someone else
    changed the job first.

    ``values`` are plain values or SQL expressions; ``guards`` and expressions must be
    module-level constants, because the statement is built once per shape and kept."""
    if target not in ALLOWED_TRANSITIONS[source]:
        raise ValueError(f"job status {source} cannot become {target}")
    expressions = {key: value for key, value in values.items() if isinstance(value, ClauseElement)}
    plain = {key: value for key, value in values.items() if key not in expressions}
    # By identity: ClauseElement's == builds SQL; the constants live as long as the module.
    shape = (
        target,
        tuple(sorted(plain)),
        tuple(sorted((key, id(value)) for key, value in expressions.items())),
        tuple(id(guard) for guard in guards),
    )
    statement = _TRANSITIONS.get(shape)
    if statement is None:
        bound = {key: bindparam(f"set_{key}", type_=jobs.c[key].type) for key in plain}
        statement = (
            update(jobs)
            .where(jobs.c.id == bindparam("job_id"), jobs.c.status == bindparam("source"), *guards)
            .values({**bound, **expressions, "status": target.value})
            .returning(*jobs.c)
        )
        _TRANSITIONS[shape] = statement
    arguments = {
        "job_id": job_id,
        "source": source.value,
        **{f"set_{key}": value for key, value in plain.items()},
        **(parameters or {}),
    }
    return conn.execute(statement, arguments).first()


_CLOSE_ATTEMPT = (
    update(job_attempts)
    .where(job_attempts.c.id == bindparam("attempt"), job_attempts.c.ended_at.is_(None))
    .values(ended_at=bindparam("ended_at"), outcome=bindparam("outcome"), message=bindparam("m"))
)


def close_attempt(
    conn: Connection, attempt_id: int, now: datetime, outcome: str, message: str | None
) -> None:
    conn.execute(
        _CLOSE_ATTEMPT, {"attempt": attempt_id, "ended_at": now, "outcome": outcome, "m": message}
    )


def close_expired_attempt(conn: Connection, job: Row[Any], now: datetime) -> None:
    message = f"worker {job.lease_owner} stopped renewing its lease"
    close_attempt(conn, job.current_attempt_id, now, LEASE_EXPIRED, message)


def end_abandoned_job(
    conn: Connection, job: Row[Any], target: JobStatus, values: Mapping[str, Any], now: datetime
) -> None:
    """End a job whose worker's lease expired, instead of running it again."""
    finished = {**values, "finished_at": now, **LEASE_RELEASED}
    source = JobStatus(job.status)
    ended = transition(conn, job.id, source, target, finished, CLAIMABLE, parameters={"now": now})
    if ended is not None:
        close_expired_attempt(conn, job, now)


def cut_off_too_often(job_id: str, attempts: int) -> str:
    return errors.ExecutionError(
        f"its execution was cut off {attempts} times"
        " (each time its worker stopped without reporting); giving up"
    ).job_error(job_id)
