"""Guarded job status changes and the SQL conditions that say where a job is in its life.

Every job status change goes through :func:`transition`, an ``UPDATE … WHERE status =
:source`` checked against :data:`qstation.model.ALLOWED_TRANSITIONS`: whoever loses a race
finds the guard no longer matches, so a job is claimed and finished exactly once.

Statements here are built once and run with bound parameters: building a SQLAlchemy statement
costs more than running it, and a worker runs several for every job (a claim and a finish took
12 ms of Python before). Conditions that need a value take it as a named parameter:
``:first_shot`` for :data:`AT_FRONTIER`.
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
    Update,
    and_,
    bindparam,
    exists,
    literal_column,
    update,
)

from qstation import errors
from qstation.model import ALLOWED_TRANSITIONS, JobStatus
from qstation.store.schema import job_attempts, jobs

LEASE_EXPIRED = "lease_expired"
"""Outcome of an attempt whose worker stopped renewing its lease (its chunk runs again)."""
HANDED_BACK = "handed_back"
"""Outcome of an attempt whose worker was stopped and gave its chunk back to the queue. Set
while the attempt is still open, with its lease expired at once, so the next claim takes the
chunk over (and closes the attempt); it does not count as a cut-off."""
CHUNK = "chunk"
"""Outcome of an attempt whose chunk ran to its end, when its report did not end the job."""
ABANDONED = "abandoned"
"""Outcome of an attempt stopped because its job ended meanwhile (another chunk failed, or the
job was canceled)."""

LEASE_HOLDERS = (JobStatus.RUNNING, JobStatus.CANCELING)


def waiting(table: Any = jobs) -> ColumnElement[bool]:
    """Jobs with shots no worker has taken yet: queued ones, and running ones whose next chunk
    waits (chunks of one job run in parallel, each on its own lease).

    The statuses are written into the SQL, not bound, so both databases can prove the query
    matches the partial index :data:`qstation.store.schema.WAITING_PREDICATE`.
    """
    statuses: list[ColumnElement[Any]] = [
        literal_column(f"'{status}'") for status in (JobStatus.QUEUED, JobStatus.RUNNING)
    ]
    return and_(table.c.next_shot < table.c.count, table.c.status.in_(statuses))


WAITING = waiting()
AT_FRONTIER = jobs.c.next_shot == bindparam("first_shot")
"""The job's next untaken shot is still ``:first_shot`` (nobody took that chunk meanwhile)."""
OPEN = job_attempts.c.ended_at.is_(None)
_OPEN_ATTEMPT_OF_JOB = exists().where(job_attempts.c.job_id == jobs.c.id, OPEN)
RUN_BY_A_WORKER = _OPEN_ATTEMPT_OF_JOB
"""Some worker runs a chunk of the job now."""
RUN_BY_NO_WORKER = ~_OPEN_ATTEMPT_OF_JOB
ALL_SHOTS = jobs.c.count


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
    .where(job_attempts.c.id == bindparam("attempt"), OPEN)
    .values(
        ended_at=bindparam("ended_at"),
        outcome=bindparam("outcome"),
        message=bindparam("m"),
        lease_expires_at=None,
    )
)
_CLOSE_OPEN_ATTEMPTS = (
    update(job_attempts)
    .where(job_attempts.c.job_id == bindparam("of_job"), OPEN)
    .values(ended_at=bindparam("ended_at"), outcome=ABANDONED, message=bindparam("m"),
            lease_expires_at=None)
)  # fmt: skip


def close_attempt(
    conn: Connection, attempt_id: int, now: datetime, outcome: str, message: str | None
) -> None:
    conn.execute(
        _CLOSE_ATTEMPT, {"attempt": attempt_id, "ended_at": now, "outcome": outcome, "m": message}
    )


def abandon_open_attempts(conn: Connection, job_id: str, now: datetime, why: str) -> None:
    """Close the attempts still running chunks of a job that has ended: their workers learn at
    their next lease renewal and stop."""
    conn.execute(_CLOSE_OPEN_ATTEMPTS, {"of_job": job_id, "ended_at": now, "m": why})


def cut_off_too_often(job_id: str, attempts: int) -> str:
    return errors.ExecutionError(
        f"its execution was cut off {attempts} times"
        " (each time its worker stopped without reporting); giving up"
    ).job_error(job_id)
