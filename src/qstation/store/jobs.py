"""Jobs and their execution attempts: submission, reads, cancel, leases and outcomes.

Claiming the next job is dispatch's (:mod:`qstation.store.dispatch`); everything a worker does
with a job once it holds it, and everything a user does with their jobs, is here. All
datetimes are naive UTC and passed in by the caller, so tests control the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, func, insert, select, update

from qstation import errors
from qstation.model import (
    Attempt,
    ExecutionOutcome,
    JobQuery,
    JobRecord,
    JobStatus,
    LeaseState,
    NewJob,
)
from qstation.scheduling.policy import DEFAULT_PRIORITY
from qstation.store import chunk_results
from qstation.store.audit import AuditEntry, record_entries
from qstation.store.charges import quota_shortfall
from qstation.store.chunk_results import Chunk
from qstation.store.database import Database, PreparedRead, PreparedWrite
from qstation.store.fair_share import add_lanes, record_usage
from qstation.store.group_commit import GroupCommit
from qstation.store.job_states import (
    ALL_SHOTS,
    HANDED_BACK,
    LEASE_HOLDERS,
    OPEN,
    RUN_BY_A_WORKER,
    RUN_BY_NO_WORKER,
    abandon_open_attempts,
    close_attempt,
    transition,
)
from qstation.store.records import attempt_record, columns_of, job_record
from qstation.store.schema import job_attempts, jobs, users


class JobRepository:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._submissions = GroupCommit(self._create_all, "job-submissions")

    def create(self, job: NewJob, audit: AuditEntry | None = None) -> JobRecord:
        """Commit a queued job (and its audit row); once this returns, the job survives a
        crash. Jobs created at the same time by several threads share one transaction (group
        commit)."""
        return self._submissions.write((job, audit))

    def create_later(self, job: NewJob, audit: AuditEntry | None = None) -> Future[JobRecord]:
        """:meth:`create` without waiting: the job is committed when the future is done."""
        return self._submissions.submit((job, audit))

    def close(self) -> None:
        self._submissions.close()

    def _create_all(
        self, submissions: Sequence[tuple[NewJob, AuditEntry | None]]
    ) -> list[JobRecord]:
        new_jobs = [job for job, _ in submissions]
        created = [JobRecord(**asdict(job), status=JobStatus.QUEUED) for job in new_jobs]
        rows = [
            {**columns_of(job), "status": JobStatus.QUEUED.value, "cancel_requested": False}
            for job in created
        ]
        with self._db.write() as conn:
            # Shared locks: a priority change of a submitter waits for these jobs, then moves
            # them (on SQLite the write lock orders everything anyway).
            owners = sorted({job.owner_id for job in new_jobs})
            priority = dict(conn.execute(_OWNERS_PRIORITIES, {"owners": owners}).all())
            for row in rows:
                row["user_priority"] = priority.get(row["owner_id"], DEFAULT_PRIORITY)
            _INSERT_JOB.execute(conn, _INSERT_JOB.bind(conn.dialect, rows))
            lanes = {
                (row["machine"], row["organisation"], row["group_name"], row["user_priority"])
                for row in rows
            }
            add_lanes(self._db, conn, lanes)
            record_entries(conn, [entry for _, entry in submissions if entry is not None])
            self._db.announce_waiting_job(conn)
        return created

    def get(self, job_id: str, owner_id: str | None) -> JobRecord:
        """The job, if ``owner_id`` owns it (``None``: an administrator, who sees every job).

        Another owner's job raises the same :class:`~qstation.errors.JobNotFound` as an unknown
        id, so job ids cannot be probed.
        """
        query = _JOB if owner_id is None else _OWNERS_JOB
        rows = self._db.read_rows(query, {"job_id": job_id, "owner_id": owner_id})
        if not rows:
            raise errors.JobNotFound()
        job = job_record(rows[0])
        if job.status in LEASE_HOLDERS and job.shots_done:  # its results so far are in chunks
            with self._db.read() as conn:
                return chunk_results.with_prefix(conn, job)
        return job

    def progress(self, job_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """Each job's status word and shots done (jobs that do not exist are left out): what a
        long poll compares, for many jobs in one read."""
        found: dict[str, tuple[str, int]] = {}
        with self._db.read() as conn:
            for start in range(0, len(job_ids), _PROGRESS_CHUNK):
                chunk = list(job_ids[start : start + _PROGRESS_CHUNK])
                rows = conn.execute(_PROGRESS, {"ids": chunk}).all()
                found.update({row.id: (row.status, row.shots_done) for row in rows})
        return found

    def find(self, owner_id: str, query: JobQuery) -> list[JobRecord]:
        """The owner's jobs that match, newest first, one page of them."""
        conditions = [jobs.c.owner_id == owner_id]
        if query.statuses:
            conditions.append(jobs.c.status.in_(sorted(query.statuses)))
        if query.machine is not None:
            conditions.append(jobs.c.machine == query.machine)
        if query.group is not None:
            conditions.append(jobs.c.group_name == query.group)
        if query.name_contains is not None:
            conditions.append(jobs.c.name.icontains(query.name_contains, autoescape=True))
        if query.submitted_after is not None:
            conditions.append(jobs.c.submitted_at > query.submitted_after)
        if query.submitted_before is not None:
            conditions.append(jobs.c.submitted_at < query.submitted_before)
        with self._db.read() as conn:
            rows = conn.execute(
                select(jobs)
                .where(*conditions)
                .order_by(jobs.c.submitted_at.desc(), jobs.c.id.desc())
                .limit(query.limit)
                .offset(query.offset)
            ).all()
        return [job_record(row) for row in rows]

    def count_unfinished(self, owner_id: str) -> int:
        """The owner's jobs waiting or running (canceling ones included: they still run)."""
        with self._db.read() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(jobs)
                    .where(jobs.c.owner_id == owner_id, jobs.c.status.in_(_UNFINISHED))
                )
                or 0
            )

    def renew_lease(self, attempt_id: int, now: datetime, lease_seconds: float) -> LeaseState:
        """Extend the attempt's lease if it still runs its chunk; tell the worker of a cancel."""
        with self._db.write() as conn:
            job_id = conn.execute(
                _RENEW, {"attempt_id": attempt_id, "until": now + timedelta(seconds=lease_seconds)}
            ).scalar_one_or_none()
            job = (
                None if job_id is None else conn.execute(_CANCEL_STATE, {"job_id": job_id}).first()
            )
        if job is None or JobStatus(job.status) not in LEASE_HOLDERS:
            return LeaseState(owned=False, cancel_requested=False)
        return LeaseState(owned=True, cancel_requested=bool(job.cancel_requested))

    def finish_attempt(
        self, attempt_id: int, outcome: ExecutionOutcome, now: datetime
    ) -> JobStatus | None:
        """Record how an attempt's chunk ended, and return the job's status after it; None if
        the attempt no longer runs its chunk (a stale worker).

        A completed chunk moves the job's progress (``shots_done``) over every done chunk now
        contiguous with the shots before it, so progress is always an exact prefix; its results
        stay with its attempt (:mod:`qstation.store.chunk_results`). The chunk that completes
        the prefix ends the job, charged once, in the same transaction (if its cost would take
        its organisation or group past a monthly quota, it ends ``depleted`` instead,
        uncharged). A failed chunk ends the job failed; a job being canceled ends canceled with
        the results so far. Either way the job's other running chunks are abandoned (their
        workers learn at their next renewal).
        """
        if not outcome.status.is_final:
            raise ValueError(f"an attempt cannot end with status {outcome.status}")
        with self._db.write() as conn:
            row = conn.execute(_OPEN_ATTEMPT, {"attempt_id": attempt_id}).first()
            if row is None:
                return None
            source = JobStatus(row.status)
            if outcome.status is JobStatus.COMPLETED:
                return self._join_chunk(conn, row, attempt_id, outcome, now)
            target = JobStatus.CANCELED if source is JobStatus.CANCELING else outcome.status
            values = {
                "finished_at": now, "error": outcome.error, "cost": outcome.cost,
                "results": chunk_results.settle(conn, row.id, row.shots_done),
            }  # fmt: skip
            transition(conn, row.id, source, target, values)
            close_attempt(conn, attempt_id, now, outcome.status, outcome.error)
            abandon_open_attempts(conn, row.id, now, f"the job ended {target}")
            return target

    def _join_chunk(
        self, conn: Connection, row: Row[Any], attempt_id: int, outcome: ExecutionOutcome,
        now: datetime,
    ) -> JobStatus:  # fmt: skip
        """Move the job's progress over this chunk and the done chunks contiguous with it; end
        the job when every shot is done, or when it is being canceled."""
        chunk = Chunk(range(row.first_shot, row.stop_shot), outcome.results or {})
        shots = f"shots {chunk.shots.start} to {chunk.shots.stop - 1}"
        done, count = row.shots_done, row._mapping["count"]
        if chunk.shots.start == done:
            stop = chunk.shots.stop
            done = stop if stop == count else chunk_results.frontier(conn, row.id, stop)
        if done == count:
            close_attempt(conn, attempt_id, now, JobStatus.COMPLETED, shots)
            return self._complete(conn, row, chunk, outcome, now)
        chunk_results.keep(conn, attempt_id, chunk.results, now, shots)
        source = JobStatus(row.status)
        truncation = _worst_truncation(row, outcome)
        if source is JobStatus.CANCELING:
            results = chunk_results.settle(conn, row.id, done)
            values = {"finished_at": now, "results": results, "shots_done": done, **truncation}
            transition(conn, row.id, source, JobStatus.CANCELED, values)
            abandon_open_attempts(conn, row.id, now, "the job was canceled")
            return JobStatus.CANCELED
        if done != row.shots_done or truncation:
            transition(conn, row.id, source, source, {"shots_done": done, **truncation})
        return source

    def _complete(
        self, conn: Connection, row: Row[Any], chunk: Chunk, outcome: ExecutionOutcome,
        now: datetime,
    ) -> JobStatus:  # fmt: skip
        """Every shot is done (the last of them by ``chunk``): end the job (canceled if it was
        being canceled), charged here unless a quota refuses, which ends it ``depleted``."""
        source = JobStatus(row.status)
        target = JobStatus.CANCELED if source is JobStatus.CANCELING else JobStatus.COMPLETED
        values: dict[str, Any] = {
            "finished_at": now, "cost": outcome.cost, "error": outcome.error,
            "shots_done": ALL_SHOTS, **_worst_truncation(row, outcome),
        }  # fmt: skip
        shortfall = (
            None
            if outcome.credits is None
            else quota_shortfall(conn, row.organisation, row.group_name, outcome, now)
        )
        if shortfall is None:
            values["credits"] = outcome.credits
            values["results"] = chunk_results.settle(conn, row.id, row._mapping["count"], chunk)
        else:  # uncharged, so without the shots it would have paid for
            error = errors.CostLimitExceeded(shortfall).job_error(row.id)
            results = chunk_results.settle(conn, row.id, row.shots_done)
            values.update(cost=None, error=error, results=results, shots_done=row.shots_done)
            if target is JobStatus.COMPLETED:
                target = JobStatus.DEPLETED
                values.update(results=None, shots_done=0)
        ended = transition(conn, row.id, source, target, values)
        if ended is not None and ended.cost is not None:
            record_usage(
                self._db, conn, ended.organisation, ended.group_name, ended.machine, ended.cost,
                now,
            )  # fmt: skip
        return target

    def hand_back(self, attempt_id: int, now: datetime) -> bool:
        """Give the attempt's chunk back at once (its worker is stopping): its lease expires
        now, so the next claim by any worker takes the chunk over, and the attempt does not
        count as a cut-off. ``False`` if the attempt no longer runs its chunk."""
        with self._db.write() as conn:
            returned = conn.execute(_HAND_BACK, {"attempt_id": attempt_id, "now": now}).first()
            if returned is not None:
                self._db.announce_waiting_job(conn)
        return returned is not None

    def cancel(self, job_id: str, owner_id: str | None, now: datetime) -> JobRecord:
        """Cancel a job no worker runs at once; ask the workers running chunks of it to stop."""
        with self._db.write() as conn:
            # Retried when a worker claims or finishes the job between the read and the update.
            while True:
                row = conn.execute(_select_job(job_id, owner_id)).first()
                if row is None:
                    raise errors.JobNotFound()
                source = JobStatus(row.status)
                if source.is_final:
                    raise errors.JobAlreadyFinished()
                if source is JobStatus.CANCELING:
                    return job_record(row)
                changed = transition(
                    conn, job_id, source, JobStatus.CANCELED, {"finished_at": now},
                    RUN_BY_NO_WORKER,
                ) or transition(
                    conn, job_id, source, JobStatus.CANCELING, {"cancel_requested": True},
                    RUN_BY_A_WORKER,
                )  # fmt: skip
                if changed is not None and changed.status == JobStatus.CANCELED:
                    return job_record(chunk_results.settle_ended(conn, changed))
                if changed is not None:
                    return job_record(changed)

    def attempts(self, job_id: str) -> list[Attempt]:
        """The job's execution attempts, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(job_attempts)
                .where(job_attempts.c.job_id == job_id)
                .order_by(job_attempts.c.id)
            ).all()
        return [attempt_record(row) for row in rows]


def _worst_truncation(row: Row[Any], outcome: ExecutionOutcome) -> dict[str, Any]:
    """The largest truncation error of the job's chunks so far, when this chunk's engine
    truncates (the job's row is locked, so chunks ending together each see the other's)."""
    if outcome.truncation_error is None:
        return {}
    return {"truncation_error": max(outcome.truncation_error, row.truncation_error or 0.0)}


_UNFINISHED = [status.value for status in JobStatus if not status.is_final]
_RENEW = (
    update(job_attempts)
    .where(job_attempts.c.id == bindparam("attempt_id"), OPEN, job_attempts.c.outcome.is_(None))
    .values(lease_expires_at=bindparam("until"))
    .returning(job_attempts.c.job_id)
)
_CANCEL_STATE = select(jobs.c.status, jobs.c.cancel_requested).where(
    jobs.c.id == bindparam("job_id")
)
_OPEN_ATTEMPT = (
    select(jobs, job_attempts.c.first_shot, job_attempts.c.stop_shot)
    .join(job_attempts, job_attempts.c.job_id == jobs.c.id)
    .where(
        job_attempts.c.id == bindparam("attempt_id"),
        OPEN,
        job_attempts.c.outcome.is_(None),  # not handed back
        jobs.c.status.in_(LEASE_HOLDERS),
    )
    .with_for_update(of=jobs)
)
"""The attempt's job, locked, while the attempt still runs its chunk."""
_HAND_BACK = (
    update(job_attempts)
    .where(job_attempts.c.id == bindparam("attempt_id"), OPEN, job_attempts.c.outcome.is_(None))
    .values(outcome=HANDED_BACK, lease_expires_at=bindparam("now"))
    .returning(job_attempts.c.id)
)
_INSERT_JOB = PreparedWrite(
    insert(jobs),
    [
        *columns_of(
            JobRecord("", "", "", "", "", "", 0, {}, "", 0, datetime.min, status=JobStatus.QUEUED)
        ),
        "cancel_requested",
        "user_priority",
    ],
)
_OWNERS_PRIORITIES = (
    select(users.c.id, users.c.priority)
    .where(users.c.id.in_(bindparam("owners", expanding=True)))
    .with_for_update(read=True)
)
_JOB = PreparedRead(select(jobs).where(jobs.c.id == bindparam("job_id")))
_PROGRESS = select(jobs.c.id, jobs.c.status, jobs.c.shots_done).where(
    jobs.c.id.in_(bindparam("ids", expanding=True))
)
_PROGRESS_CHUNK = 500
_OWNERS_JOB = PreparedRead(
    select(jobs).where(jobs.c.id == bindparam("job_id"), jobs.c.owner_id == bindparam("owner_id"))
)


def _select_job(job_id: str, owner_id: str | None) -> Select[Any]:
    query = select(jobs).where(jobs.c.id == job_id)
    return query if owner_id is None else query.where(jobs.c.owner_id == owner_id)
