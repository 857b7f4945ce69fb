"""Starting an attempt at a chunk of a job, or taking over a chunk whose worker vanished.

:mod:`qstation.store.dispatch` decides which job a free worker serves; this module is what
happens to that job's rows then, in the claim's transaction: the next untaken shots become an
attempt with a lease of its own, or an expired (or handed back) attempt is closed and its
shots run again — unless the job is being canceled or the chunk was cut off too often.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, bindparam, delete, func, insert, select

from qstation.model import ClaimedJob, JobStatus
from qstation.store import chunk_results
from qstation.store.job_states import (
    AT_FRONTIER,
    HANDED_BACK,
    LEASE_EXPIRED,
    OPEN,
    WAITING,
    abandon_open_attempts,
    close_attempt,
    cut_off_too_often,
    transition,
)
from qstation.store.records import job_record
from qstation.store.schema import job_attempts, jobs

EXPIRED = (
    select(
        jobs,
        job_attempts.c.id.label("attempt_id"),
        job_attempts.c.worker_id.label("attempt_worker"),
        job_attempts.c.outcome.label("attempt_outcome"),
        job_attempts.c.first_shot,
        job_attempts.c.stop_shot,
    )
    .join(jobs, jobs.c.id == job_attempts.c.job_id)
    .where(OPEN, job_attempts.c.lease_expires_at < bindparam("now"))
    .order_by(jobs.c.submitted_at, jobs.c.id, job_attempts.c.first_shot)
    .limit(1)
    .with_for_update(skip_locked=True, of=[jobs, job_attempts])
)
"""The oldest chunk whose worker's lease expired (or that was handed back), with its job, both
locked; other PostgreSQL workers skip them."""


def take_chunk(
    conn: Connection,
    row: Row[Any],
    worker_id: str,
    now: datetime,
    lease_expires_at: datetime,
    chunk_shots: int | None,
) -> ClaimedJob | None:
    """Start an attempt at the job's next untaken shots (the job in ``row``, locked); None
    when another worker took them first."""
    first = row.next_shot
    stop = (
        row._mapping["count"]
        if chunk_shots is None
        else min(first + chunk_shots, row._mapping["count"])
    )
    values = {"started_at": row.started_at or now, "next_shot": stop, "attempts": 1}
    return _run_chunk(
        conn, row, worker_id, now, lease_expires_at, range(first, stop), values, WAITING,
        AT_FRONTIER, parameters={"first_shot": first},
    )  # fmt: skip


def take_over(
    conn: Connection,
    row: Row[Any],
    worker_id: str,
    now: datetime,
    lease_expires_at: datetime,
    max_attempts: int,
) -> ClaimedJob | None:
    """Close the expired (or handed back) attempt in ``row`` and run its chunk again, unless
    the job is being canceled or the chunk was cut off too often (then None)."""
    handed_back = row.attempt_outcome == HANDED_BACK
    outcome = HANDED_BACK if handed_back else LEASE_EXPIRED
    what = "was stopped and handed the chunk back" if handed_back else "stopped renewing its lease"
    close_attempt(conn, row.attempt_id, now, outcome, f"worker {row.attempt_worker} {what}")
    source = JobStatus(row.status)
    chunk = {"job_id": row.id, "first_shot": row.first_shot}
    if source.is_final:  # ended meanwhile: nothing to run
        return None
    if source is JobStatus.CANCELING:
        if conn.execute(_ANY_OPEN_ATTEMPT, {"job_id": row.id}).first() is None:
            results = chunk_results.settle(conn, row.id, row.shots_done)
            ended = {"finished_at": now, "results": results}
            transition(conn, row.id, source, JobStatus.CANCELED, ended)
        return None
    cut_offs = conn.scalar(_CUT_OFFS, chunk) or 0
    if cut_offs >= max_attempts:
        error = cut_off_too_often(row.id, cut_offs)
        results = chunk_results.settle(conn, row.id, row.shots_done)
        values: dict[str, Any] = {"finished_at": now, "error": error, "attempts": cut_offs}
        values["results"] = results
        transition(conn, row.id, source, JobStatus.FAILED, values)
        abandon_open_attempts(conn, row.id, now, "another chunk of the job was cut off too often")
        return None
    attempt = (conn.scalar(_ATTEMPTS_AT_CHUNK, chunk) or 0) + 1
    shots = range(row.first_shot, row.stop_shot)
    return _run_chunk(conn, row, worker_id, now, lease_expires_at, shots, {"attempts": attempt})


def _run_chunk(
    conn: Connection,
    row: Row[Any],
    worker_id: str,
    now: datetime,
    lease_expires_at: datetime,
    shots: range,
    values: dict[str, Any],
    *guards: ColumnElement[bool],
    parameters: dict[str, Any] | None = None,
) -> ClaimedJob | None:
    """Start an attempt at ``shots`` of the job in ``row`` and mark the job running with
    ``values`` (if ``guards`` hold); None, and no attempt, when someone changed it first."""
    attempt_id = _start_attempt(
        conn, row.id, worker_id, now, lease_expires_at, shots.start, shots.stop
    )
    source = JobStatus(row.status)
    claimed = transition(
        conn, row.id, source, JobStatus.RUNNING, values, *guards, parameters=parameters
    )
    if claimed is None:
        conn.execute(_DROP_ATTEMPT, {"attempt_id": attempt_id})
        return None
    return ClaimedJob(job_record(claimed), attempt_id, worker_id, lease_expires_at, shots)


def _start_attempt(
    conn: Connection,
    job_id: str,
    worker_id: str,
    now: datetime,
    lease_expires_at: datetime,
    first: int,
    stop: int,
) -> int:
    attempt = {
        "job_id": job_id, "worker_id": worker_id, "started_at": now, "first_shot": first,
        "stop_shot": stop, "lease_expires_at": lease_expires_at,
    }  # fmt: skip
    return int(conn.execute(_NEW_ATTEMPT, attempt).scalar_one())


_NEW_ATTEMPT = insert(job_attempts).returning(job_attempts.c.id)
_DROP_ATTEMPT = delete(job_attempts).where(job_attempts.c.id == bindparam("attempt_id"))
_ANY_OPEN_ATTEMPT = select(job_attempts.c.id).where(
    job_attempts.c.job_id == bindparam("job_id"), OPEN
)
_CUT_OFFS = select(func.count()).where(
    job_attempts.c.job_id == bindparam("job_id"),
    job_attempts.c.first_shot == bindparam("first_shot"),
    job_attempts.c.outcome == LEASE_EXPIRED,
)
_ATTEMPTS_AT_CHUNK = select(func.count()).where(
    job_attempts.c.job_id == bindparam("job_id"),
    job_attempts.c.first_shot == bindparam("first_shot"),
    job_attempts.c.outcome != HANDED_BACK,
)
"""Attempts at one chunk so far (a hand-back is not one: the chunk was not tried to its end)."""
