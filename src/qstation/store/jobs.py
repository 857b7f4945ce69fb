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

from sqlalchemy import Select, bindparam, func, insert, select, update

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
from qstation.store.audit import AuditEntry, record_entries
from qstation.store.charges import quota_shortfall
from qstation.store.database import Database, PreparedRead, PreparedWrite
from qstation.store.fair_share import add_lanes, record_usage
from qstation.store.group_commit import GroupCommit
from qstation.store.job_states import (
    ALL_SHOTS,
    HANDED_BACK,
    HELD,
    HELD_BY_ATTEMPT,
    LEASE_HOLDERS,
    LEASE_RELEASED,
    UNCOUNTED_ATTEMPT,
    WAITING,
    close_attempt,
    owned_by_attempt,
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
        return job_record(rows[0])

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
        """Extend the lease if this attempt still owns its job; tell the worker of a cancel."""
        with self._db.write() as conn:
            cancel_requested = conn.execute(
                update(jobs)
                .where(jobs.c.current_attempt_id == attempt_id, jobs.c.status.in_(LEASE_HOLDERS))
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
                .returning(jobs.c.cancel_requested)
            ).scalar_one_or_none()
        return LeaseState(
            owned=cancel_requested is not None, cancel_requested=bool(cancel_requested)
        )

    def finish_attempt(self, attempt_id: int, outcome: ExecutionOutcome, now: datetime) -> bool:
        """Record how an attempt ended; ``False`` if it no longer owns its job (a stale worker).

        A job being canceled ends canceled whatever the outcome, keeping the results given. A
        completed job is charged here, in the same transaction: if its cost would take its
        organisation or group past a monthly quota, it ends ``depleted`` instead, uncharged.
        """
        if not outcome.status.is_final:
            raise ValueError(f"an attempt cannot end with status {outcome.status}")
        held = {"attempt_id": attempt_id}
        with self._db.write() as conn:
            # Retried when a cancel lands between the read and the guarded update.
            while (job := conn.execute(_OWNED_WITH_ACCOUNT, held).first()) is not None:
                source = JobStatus(job.status)
                target = JobStatus.CANCELED if source is JobStatus.CANCELING else outcome.status
                values: dict[str, Any] = {
                    "finished_at": now,
                    "cost": outcome.cost,
                    "error": outcome.error,
                    **LEASE_RELEASED,
                }
                if outcome.results is not None:  # else the chunks' results so far stay
                    values["results"] = outcome.results
                if outcome.status is JobStatus.COMPLETED:  # all shots ran, even if canceled
                    values["shots_done"] = ALL_SHOTS
                    shortfall = (
                        None
                        if outcome.credits is None
                        else quota_shortfall(conn, job.organisation, job.group_name, outcome, now)
                    )
                    if shortfall is None:
                        values["credits"] = outcome.credits
                    else:  # uncharged, so without the shots it would have paid for
                        error = errors.CostLimitExceeded(shortfall).job_error(job.id)
                        values.update(cost=None, error=error)
                        del values["shots_done"]
                        values.pop("results", None)
                        if target is JobStatus.COMPLETED:
                            target = JobStatus.DEPLETED
                            values.update(results=None, shots_done=0)
                ended = transition(
                    conn, job.id, source, target, values, HELD_BY_ATTEMPT, parameters=held
                )
                if ended is not None:
                    close_attempt(conn, attempt_id, now, outcome.status, values["error"])
                    if ended.cost is not None:
                        record_usage(
                            self._db, conn, ended.organisation, ended.group_name, ended.machine,
                            ended.cost, now,
                        )  # fmt: skip
                    return True
        return False

    def record_chunk(
        self, attempt_id: int, results: dict[str, list[str]], shots_done: int, now: datetime
    ) -> bool:
        """Keep the results of the job's first ``shots_done`` shots and hand the job back to
        the queue for its next chunk (it stays ``running``); a job being canceled ends
        canceled with them. ``False`` if the attempt no longer owns its job."""
        held = {"attempt_id": attempt_id}
        with self._db.write() as conn:
            while (job := conn.execute(_OWNED, held).first()) is not None:
                source = JobStatus(job.status)
                values: dict[str, Any] = {
                    "results": results,
                    "shots_done": shots_done,
                    "attempts": 0,
                    **LEASE_RELEASED,
                }
                if source is JobStatus.CANCELING:
                    values["finished_at"] = now
                target = JobStatus.CANCELED if source is JobStatus.CANCELING else source
                changed = transition(
                    conn, job.id, source, target, values, HELD_BY_ATTEMPT, parameters=held
                )
                if changed is not None:
                    close_attempt(conn, attempt_id, now, "chunk", f"shots to {shots_done}")
                    if target is not JobStatus.CANCELED:
                        self._db.announce_waiting_job(conn)
                    return True
        return False

    def hand_back(self, attempt_id: int, worker_id: str, now: datetime) -> bool:
        """Give the attempt's chunk back to the queue at once (its worker is stopping): the
        job waits for the next free worker, and the attempt does not count as a cut-off; a job
        being canceled ends canceled. ``False`` if the attempt no longer owns its job."""
        held = {"attempt_id": attempt_id}
        with self._db.write() as conn:
            while (job := conn.execute(_OWNED, held).first()) is not None:
                source = JobStatus(job.status)
                values: dict[str, Any] = {**LEASE_RELEASED}
                if source is JobStatus.CANCELING:
                    target = JobStatus.CANCELED
                    values["finished_at"] = now
                else:
                    target = source
                    values["attempts"] = UNCOUNTED_ATTEMPT
                changed = transition(
                    conn, job.id, source, target, values, HELD_BY_ATTEMPT, parameters=held
                )
                if changed is not None:
                    message = f"worker {worker_id} was stopped and handed the job back"
                    close_attempt(conn, attempt_id, now, HANDED_BACK, message)
                    if target is not JobStatus.CANCELED:
                        self._db.announce_waiting_job(conn)
                    return True
        return False

    def cancel(self, job_id: str, owner_id: str | None, now: datetime) -> JobRecord:
        """Cancel a queued job at once; ask the worker of a running job to stop."""
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
                if source is JobStatus.QUEUED or row.lease_owner is None:  # no worker has it
                    changed = transition(
                        conn, job_id, source, JobStatus.CANCELED, {"finished_at": now}, WAITING
                    )
                else:  # a worker holds it (the guard: it may have just let go)
                    changed = transition(
                        conn, job_id, source, JobStatus.CANCELING, {"cancel_requested": True},
                        HELD,
                    )  # fmt: skip
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


_UNFINISHED = [status.value for status in JobStatus if not status.is_final]
_OWNED = owned_by_attempt()
_OWNED_WITH_ACCOUNT = owned_by_attempt(jobs.c.organisation, jobs.c.group_name)
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
