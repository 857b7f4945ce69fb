"""The durable job store: jobs, execution attempts, users, refresh tokens and service secrets.

One implementation serves SQLite (one file shared by the API process and the worker processes)
and PostgreSQL. Every job status change goes through :func:`_transition`, an ``UPDATE … WHERE
status = :source`` checked against :data:`qstation.model.ALLOWED_TRANSITIONS`: whoever loses a
race finds the guard no longer matches, so a job is claimed and finished exactly once.

Database failures leave the store as qstation errors, translated in one place
(:func:`_translate_database_errors`): an unreachable database or a dropped connection becomes
:class:`~qstation.errors.StoreUnavailable`, a value the database refuses becomes
:class:`~qstation.errors.BadRequest`; neither message holds the URL, SQL or parameters.

All datetimes are naive UTC and passed in by the caller, so tests control the clock.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DataError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)

from qstation import errors
from qstation.devices.cost import format_cost
from qstation.model import (
    ALLOWED_TRANSITIONS,
    DEFAULT_GROUP,
    Attempt,
    ClaimedJob,
    CreditKind,
    CreditQuota,
    ExecutionOutcome,
    Group,
    JobQuery,
    JobRecord,
    JobStatus,
    LeaseState,
    NewJob,
    User,
)
from qstation.scheduling.batches import BATCH_IDLE, BatchJob, holds_target
from qstation.scheduling.calendar import Availability, CalendarEvent, EventKind
from qstation.scheduling.policy import (
    DEFAULT_PRIORITY,
    FAIR_SHARE_WINDOW,
    QueuedJob,
    queue_positions,
    ranked,
)
from qstation.store.migrations import migrate
from qstation.store.schema import (
    calendar_events,
    credit_quotas,
    job_attempts,
    jobs,
    organisations,
    refresh_tokens,
    service_secrets,
    user_groups,
    users,
)

LEASE_EXPIRED = "lease_expired"
"""Outcome of an attempt whose worker stopped renewing its lease (the job was taken back)."""

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_READ_ONLY_OPTION = "qstation_read_only"
_LEASE_HOLDERS = (JobStatus.RUNNING, JobStatus.CANCELING)
_LEASE_RELEASED: Mapping[str, Any] = {"lease_owner": None, "lease_expires_at": None}
# Record fields whose column is named differently ("group" is an SQL keyword).
_COLUMN_OF_FIELD = {"group": "group_name"}


def create_store_engine(url: str) -> Engine:
    """An engine configured for many processes sharing the database.

    Statement parameters are kept out of error messages: they hold password hashes and programs.
    SQLite: WAL (readers never block the writer), a long busy timeout (writers queue instead of
    failing) and ``BEGIN IMMEDIATE`` for write transactions, which takes the write lock up front
    so a transaction never has to upgrade a read lock and fail with ``database is locked``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    if parsed.database in (None, "", ":memory:"):
        raise errors.ConfigurationError(
            "The job store needs a SQLite file its processes share, not an in-memory database."
        )
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, hide_parameters=True)  # no hashes or programs in tracebacks
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # SQLAlchemy, not the sqlite3 module, decides when a transaction begins (and how).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
    _use_write_ahead_log(cursor)
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _use_write_ahead_log(cursor: sqlite3.Cursor) -> None:
    """Switch the file to WAL once; the mode is stored in the file, so later connections only
    read it. Switching takes an exclusive lock and SQLite may refuse it at once, without the
    busy timeout, while another process opens the same new file (seen in CI): so retry."""
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            if cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal":
                return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("database is locked: cannot switch it to WAL")
        time.sleep(0.05)


def _begin_sqlite_transaction(conn: Connection) -> None:
    read_only = conn.get_execution_options().get(_READ_ONLY_OPTION, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def open_store(url: str) -> JobStore:
    """Open the store at ``url``, bringing its schema up to date first.

    Raises :class:`~qstation.errors.StoreUnavailable` when the database cannot be reached.
    """
    engine = create_store_engine(url)
    try:
        with _translate_database_errors():
            migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return JobStore(engine)


class JobStore:
    """Durable state shared by the API and the workers, safe under concurrent processes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def close(self) -> None:
        self._engine.dispose()

    # --- jobs -----------------------------------------------------------------------------

    def create_job(self, job: NewJob) -> JobRecord:
        """Commit a queued job; once this returns, the job survives a crash."""
        values = {
            **_columns_of(job),
            "status": JobStatus.QUEUED,
            "attempts": 0,
            "cancel_requested": False,
            "shots_done": 0,
        }
        with self._write() as conn:
            row = conn.execute(insert(jobs).values(values).returning(*jobs.c)).one()
        return _job_record(row)

    def get_job(self, job_id: str, owner_id: str | None) -> JobRecord:
        """The job, if ``owner_id`` owns it (``None``: an administrator, who sees every job).

        Another owner's job raises the same :class:`~qstation.errors.JobNotFound` as an unknown
        id, so job ids cannot be probed.
        """
        with self._read() as conn:
            row = conn.execute(_select_job(job_id, owner_id)).first()
        if row is None:
            raise errors.JobNotFound()
        return _job_record(row)

    def list_jobs(self, owner_id: str, query: JobQuery) -> list[JobRecord]:
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
        with self._read() as conn:
            rows = conn.execute(
                select(jobs)
                .where(*conditions)
                .order_by(jobs.c.submitted_at.desc(), jobs.c.id.desc())
                .limit(query.limit)
                .offset(query.offset)
            ).all()
        return [_job_record(row) for row in rows]

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
        with self._write() as conn:
            while (row := conn.execute(_select_expired(now)).first()) is not None:
                claim = _take(conn, row, worker_id, now, lease_expires_at, max_attempts)
                if claim is not None:
                    return claim
            availability = _availability(conn, now)
            held = _batch_holds(conn, now)
            batch_of = dict(
                conn.execute(
                    select(jobs.c.id, jobs.c.batch_id).where(
                        _waiting(), jobs.c.batch_id.is_not(None)
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
                    .where(jobs.c.id == queued.job_id, _waiting())
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
        with self._read() as conn:
            positions = queue_positions(
                *_queue_and_usage(conn, now, fair_share_window, job.machine)
            )
        return positions.get(job.id)

    def renew_lease(self, attempt_id: int, now: datetime, lease_seconds: float) -> LeaseState:
        """Extend the lease if this attempt still owns its job; tell the worker of a cancel."""
        with self._write() as conn:
            cancel_requested = conn.execute(
                update(jobs)
                .where(jobs.c.current_attempt_id == attempt_id, jobs.c.status.in_(_LEASE_HOLDERS))
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
        owned_by_attempt = _owned_by_attempt(attempt_id, jobs.c.organisation, jobs.c.group_name)
        with self._write() as conn:
            # Retried when a cancel lands between the read and the guarded update.
            while (job := conn.execute(owned_by_attempt).first()) is not None:
                source = JobStatus(job.status)
                target = JobStatus.CANCELED if source is JobStatus.CANCELING else outcome.status
                values: dict[str, Any] = {
                    "finished_at": now,
                    "cost": outcome.cost,
                    "error": outcome.error,
                    **_LEASE_RELEASED,
                }
                if outcome.results is not None:  # else the chunks' results so far stay
                    values["results"] = outcome.results
                if outcome.status is JobStatus.COMPLETED:  # all shots ran, even if canceled
                    values["shots_done"] = jobs.c.count
                    shortfall = (
                        None
                        if outcome.credits is None
                        else _quota_shortfall(conn, job.organisation, job.group_name, outcome, now)
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
                still_current = jobs.c.current_attempt_id == attempt_id
                if _transition(conn, job.id, source, target, values, still_current) is not None:
                    _close_attempt(conn, attempt_id, now, outcome.status, values["error"])
                    return True
        return False

    def record_chunk(
        self, attempt_id: int, results: dict[str, list[str]], shots_done: int, now: datetime
    ) -> bool:
        """Keep the results of the job's first ``shots_done`` shots and hand the job back to
        the queue for its next chunk (it stays ``running``); a job being canceled ends
        canceled with them. ``False`` if the attempt no longer owns its job."""
        owned_by_attempt = _owned_by_attempt(attempt_id)
        with self._write() as conn:
            while (job := conn.execute(owned_by_attempt).first()) is not None:
                source = JobStatus(job.status)
                values: dict[str, Any] = {
                    "results": results,
                    "shots_done": shots_done,
                    "attempts": 0,
                    **_LEASE_RELEASED,
                }
                if source is JobStatus.CANCELING:
                    values["finished_at"] = now
                target = JobStatus.CANCELED if source is JobStatus.CANCELING else source
                still_current = jobs.c.current_attempt_id == attempt_id
                if _transition(conn, job.id, source, target, values, still_current) is not None:
                    _close_attempt(conn, attempt_id, now, "chunk", f"shots to {shots_done}")
                    return True
        return False

    def cancel_job(self, job_id: str, owner_id: str | None, now: datetime) -> JobRecord:
        """Cancel a queued job at once; ask the worker of a running job to stop."""
        with self._write() as conn:
            # Retried when a worker claims or finishes the job between the read and the update.
            while True:
                row = conn.execute(_select_job(job_id, owner_id)).first()
                if row is None:
                    raise errors.JobNotFound()
                source = JobStatus(row.status)
                if source.is_final:
                    raise errors.JobAlreadyFinished()
                if source is JobStatus.CANCELING:
                    return _job_record(row)
                if source is JobStatus.QUEUED or row.lease_owner is None:  # no worker has it
                    changed = _transition(
                        conn, job_id, source, JobStatus.CANCELED, {"finished_at": now}, _waiting()
                    )
                else:  # a worker holds it (the guard: it may have just let go)
                    changed = _transition(
                        conn, job_id, source, JobStatus.CANCELING, {"cancel_requested": True},
                        jobs.c.lease_owner.is_not(None),
                    )  # fmt: skip
                if changed is not None:
                    return _job_record(changed)

    def list_attempts(self, job_id: str) -> list[Attempt]:
        """The job's execution attempts, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(job_attempts)
                .where(job_attempts.c.job_id == job_id)
                .order_by(job_attempts.c.id)
            ).all()
        return [Attempt(**_fields_of(Attempt, row)) for row in rows]

    # --- users ----------------------------------------------------------------------------

    def create_user(self, user: User) -> User:
        try:
            with self._write() as conn:
                conn.execute(insert(users).values(_columns_of(user)))
        except IntegrityError as exc:
            raise errors.UserExists(f"A user with email {user.email} exists already.") from exc
        return user

    def set_user_priority(self, email: str, priority: int) -> None:
        with self._write() as conn:
            changed = conn.execute(
                update(users).where(users.c.email == email).values(priority=priority)
            ).rowcount
        if not changed:
            raise errors.UserNotFound(f"No user with email {email}.")

    # --- organisations and groups ------------------------------------------------------

    def create_organisation(self, name: str, now: datetime) -> None:
        """A new organisation, with its DEFAULT group."""
        try:
            with self._write() as conn:
                conn.execute(insert(organisations).values(name=name, created_at=now))
                conn.execute(
                    insert(user_groups).values(
                        organisation=name, name=DEFAULT_GROUP, priority=DEFAULT_PRIORITY
                    )
                )
        except IntegrityError as exc:
            raise errors.AccountExists(f"The organisation {name} exists already.") from exc

    def list_organisations(self) -> list[str]:
        with self._read() as conn:
            return list(conn.scalars(select(organisations.c.name).order_by(organisations.c.name)))

    def create_group(self, group: Group) -> None:
        """A new group of an existing organisation."""
        with self._write() as conn:
            self._require_organisation(conn, group.organisation)
            if _group_exists(conn, group.organisation, group.name):
                raise errors.AccountExists(
                    f"The organisation {group.organisation} has a group {group.name} already."
                )
            conn.execute(
                insert(user_groups).values(
                    organisation=group.organisation, name=group.name, priority=group.priority
                )
            )

    def set_group_priority(self, organisation: str, name: str, priority: int) -> None:
        with self._write() as conn:
            changed = conn.execute(
                update(user_groups)
                .where(_is_group(Group(organisation, name)))
                .values(priority=priority)
            ).rowcount
        if not changed:
            raise errors.AccountNotFound(f"The organisation {organisation} has no group {name}.")

    def get_group(self, organisation: str, name: str) -> Group | None:
        with self._read() as conn:
            row = conn.execute(
                select(user_groups).where(_is_group(Group(organisation, name)))
            ).first()
        return None if row is None else _group_of(row)

    def list_groups(self) -> list[Group]:
        with self._read() as conn:
            rows = conn.execute(
                select(user_groups).order_by(user_groups.c.organisation, user_groups.c.name)
            ).all()
        return [_group_of(row) for row in rows]

    def set_quota(self, quota: CreditQuota) -> None:
        """Set (or replace) a monthly quota; its organisation and group must exist."""
        key = _quota_key(quota.organisation, quota.group, quota.kind)
        with self._write() as conn:
            self._require_organisation(conn, quota.organisation)
            if quota.group is not None and not _group_exists(conn, quota.organisation, quota.group):
                raise errors.AccountNotFound(
                    f"The organisation {quota.organisation} has no group {quota.group}."
                )
            conn.execute(delete(credit_quotas).where(key))
            conn.execute(
                insert(credit_quotas).values(
                    organisation=quota.organisation,
                    group_name=quota.group or "",
                    kind=quota.kind,
                    credits=quota.credits,
                )
            )

    def remove_quota(self, organisation: str, group: str | None, kind: CreditKind) -> None:
        with self._write() as conn:
            removed = conn.execute(
                delete(credit_quotas).where(_quota_key(organisation, group, kind))
            ).rowcount
        if not removed:
            raise errors.AccountNotFound(f"No {kind} quota for {_holder(organisation, group)}.")

    def list_quotas(self) -> list[CreditQuota]:
        with self._read() as conn:
            rows = conn.execute(
                select(credit_quotas).order_by(
                    credit_quotas.c.organisation, credit_quotas.c.group_name, credit_quotas.c.kind
                )
            ).all()
        return [
            CreditQuota(row.organisation, CreditKind(row.kind), row.credits, row.group_name or None)
            for row in rows
        ]

    def spent_this_month(
        self, organisation: str, group: str | None, kind: CreditKind, now: datetime
    ) -> float:
        """HQCs charged to the organisation (or group) for ``kind`` since the month began."""
        with self._read() as conn:
            return _spent(conn, organisation, group, kind, now)

    # --- operational hours ---------------------------------------------------------------

    def add_calendar_event(self, event: CalendarEvent) -> CalendarEvent:
        with self._write() as conn:
            event_id = conn.execute(
                insert(calendar_events)
                .values(
                    machine=event.machine,
                    kind=event.kind,
                    starts_at=event.start,
                    ends_at=event.end,
                    organisation=event.organisation,
                )
                .returning(calendar_events.c.id)
            ).scalar_one()
        return dataclasses.replace(event, id=event_id)

    def remove_calendar_event(self, event_id: int) -> None:
        with self._write() as conn:
            removed = conn.execute(
                delete(calendar_events).where(calendar_events.c.id == event_id)
            ).rowcount
        if not removed:
            raise errors.AccountNotFound(f"No calendar event {event_id}.")

    def calendar(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[CalendarEvent]:
        """Events overlapping ``[start, end)`` (all when not given), by start time."""
        query = select(calendar_events).order_by(
            calendar_events.c.starts_at, calendar_events.c.machine, calendar_events.c.id
        )
        if start is not None:
            query = query.where(calendar_events.c.ends_at > start)
        if end is not None:
            query = query.where(calendar_events.c.starts_at < end)
        with self._read() as conn:
            return [_calendar_event(row) for row in conn.execute(query)]

    def availability(self, machine: str, now: datetime) -> Availability:
        with self._read() as conn:
            rows = conn.execute(
                select(calendar_events).where(calendar_events.c.machine == machine)
            ).all()
        return Availability.at(map(_calendar_event, rows), now)

    @staticmethod
    def _require_organisation(conn: Connection, organisation: str) -> None:
        found = conn.scalar(
            select(organisations.c.name).where(organisations.c.name == organisation)
        )
        if found is None:
            raise errors.AccountNotFound(f"No organisation {organisation}.")

    def get_user_by_email(self, email: str) -> User | None:
        return self._find_user(users.c.email == email)

    def get_user(self, user_id: str) -> User | None:
        return self._find_user(users.c.id == user_id)

    def list_users(self) -> list[User]:
        with self._read() as conn:
            rows = conn.execute(select(users).order_by(users.c.created_at, users.c.email)).all()
        return [User(**_fields_of(User, row)) for row in rows]

    def remove_user(self, email: str) -> None:
        """Delete the user and their refresh tokens; their jobs stay, for accounting."""
        with self._write() as conn:
            user_id = conn.scalar(select(users.c.id).where(users.c.email == email))
            if user_id is None:
                raise errors.UserNotFound(f"No user with email {email}.")
            conn.execute(delete(refresh_tokens).where(refresh_tokens.c.user_id == user_id))
            conn.execute(delete(users).where(users.c.id == user_id))

    def _find_user(self, condition: ColumnElement[bool]) -> User | None:
        with self._read() as conn:
            row = conn.execute(select(users).where(condition)).first()
        return None if row is None else User(**_fields_of(User, row))

    # --- refresh tokens -------------------------------------------------------------------

    def add_refresh_token(self, token_hash: str, user_id: str, expires_at: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                insert(refresh_tokens).values(
                    token_hash=token_hash, user_id=user_id, expires_at=expires_at
                )
            )

    def consume_refresh_token(self, token_hash: str, now: datetime) -> str | None:
        """Revoke a valid token and return its user id: each token refreshes exactly once."""
        with self._write() as conn:
            user_id: str | None = conn.execute(
                update(refresh_tokens)
                .where(
                    refresh_tokens.c.token_hash == token_hash,
                    refresh_tokens.c.revoked_at.is_(None),
                    refresh_tokens.c.expires_at > now,
                )
                .values(revoked_at=now)
                .returning(refresh_tokens.c.user_id)
            ).scalar_one_or_none()
        return user_id

    def revoke_refresh_tokens(self, user_id: str, now: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.user_id == user_id, refresh_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )

    # --- service secrets ------------------------------------------------------------------

    def get_or_create_secret(self, name: str, make: Callable[[], str]) -> str:
        """The named secret, made on first use; processes starting together agree on one value."""
        by_name = select(service_secrets.c.value).where(service_secrets.c.name == name)
        with self._write() as conn:
            value: str | None = conn.scalar(by_name)
            if value is not None:
                return value
            dialect_insert = (
                postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            )
            conn.execute(
                dialect_insert(service_secrets)
                .values(name=name, value=make())
                .on_conflict_do_nothing()
            )
            stored: str = conn.execute(by_name).scalar_one()
        return stored

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A connection for reads: on SQLite its transaction does not take the write lock."""
        with _translate_database_errors(), self._engine.connect() as conn:
            conn.execution_options(**{_READ_ONLY_OPTION: True})
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction, committed when the block ends and rolled back if it raises."""
        with _translate_database_errors(), self._engine.begin() as conn:
            yield conn


@contextmanager
def _translate_database_errors() -> Iterator[None]:
    """Turn the database's failures into qstation errors, keeping URL, SQL and values out.

    Every database access of the store runs inside this block. The original error stays
    attached as ``__cause__`` for the logs.
    """
    try:
        yield
    except (OperationalError, InterfaceError, DisconnectionError) as exc:
        raise errors.StoreUnavailable() from exc
    except DataError as exc:
        raise errors.BadRequest(f"a value could not be stored: {_refusal(exc)}") from exc


def _refusal(exc: DataError) -> str:
    """Why the database refused a value, in its own words but without the statement."""
    diagnostic = getattr(exc.orig, "diag", None)  # psycopg: the server's primary message
    message = str(getattr(diagnostic, "message_primary", None) or exc.orig or "").strip()
    return message.splitlines()[0] if message else "the database refused it"


# --- named queries ------------------------------------------------------------------------


def _select_job(job_id: str, owner_id: str | None) -> Select[Any]:
    query = select(jobs).where(jobs.c.id == job_id)
    return query if owner_id is None else query.where(jobs.c.owner_id == owner_id)


def _owned_by_attempt(attempt_id: int, *columns: ColumnElement[Any]) -> Select[Any]:
    """The job (ID, status and ``columns``) while the attempt still holds it."""
    return select(jobs.c.id, jobs.c.status, *columns).where(
        jobs.c.current_attempt_id == attempt_id, jobs.c.status.in_(_LEASE_HOLDERS)
    )


def _waiting() -> ColumnElement[bool]:
    """Jobs whose next chunk waits for a worker: queued ones, and running ones between chunks
    (no worker holds them)."""
    return or_(
        jobs.c.status == JobStatus.QUEUED,
        and_(jobs.c.status == JobStatus.RUNNING, jobs.c.lease_owner.is_(None)),
    )


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        _waiting(),
        and_(jobs.c.status.in_(_LEASE_HOLDERS), jobs.c.lease_expires_at < now),
    )


def _select_expired(now: datetime) -> Select[Any]:
    """The oldest job whose worker's lease expired, locked; other PostgreSQL workers skip it."""
    return (
        select(jobs)
        .where(jobs.c.status.in_(_LEASE_HOLDERS), jobs.c.lease_expires_at < now)
        .order_by(jobs.c.submitted_at, jobs.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def _calendar_event(row: Row[Any]) -> CalendarEvent:
    return CalendarEvent(
        row.machine, EventKind(row.kind), row.starts_at, row.ends_at, row.organisation, row.id
    )


def _availability(conn: Connection, now: datetime) -> dict[str, Availability]:
    """Each target with a calendar, as it stands at ``now``; the others are always open."""
    machines = conn.scalars(select(calendar_events.c.machine).distinct()).all()
    current: dict[str, list[CalendarEvent]] = defaultdict(list)
    covering = calendar_events.c.starts_at <= now, calendar_events.c.ends_at > now
    for row in conn.execute(select(calendar_events).where(*covering)):
        current[row.machine].append(_calendar_event(row))
    return {machine: Availability(current[machine], has_calendar=True) for machine in machines}


def _batch_holds(conn: Connection, now: datetime) -> dict[str, tuple[str, str]]:
    """Each target a batch holds (:mod:`qstation.scheduling.batches`) -> the batch's ID and
    its organisation."""
    idle_since = now - BATCH_IDLE
    recent = or_(
        _waiting(),
        jobs.c.status.in_(_LEASE_HOLDERS),
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


def _quota_key(organisation: str, group: str | None, kind: CreditKind) -> ColumnElement[bool]:
    return and_(
        credit_quotas.c.organisation == organisation,
        credit_quotas.c.group_name == (group or ""),
        credit_quotas.c.kind == kind,
    )


def _holder(organisation: str, group: str | None) -> str:
    return f"group {group} of {organisation}" if group else f"organisation {organisation}"


def _spent(
    conn: Connection, organisation: str, group: str | None, kind: CreditKind, now: datetime
) -> float:
    month_began = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    query = select(func.coalesce(func.sum(jobs.c.cost), 0.0)).where(
        jobs.c.organisation == organisation,
        jobs.c.credits == kind,
        jobs.c.finished_at >= month_began,
    )
    if group is not None:
        query = query.where(jobs.c.group_name == group)
    return float(conn.scalar(query) or 0.0)


def _quota_shortfall(
    conn: Connection, organisation: str, group_name: str, outcome: ExecutionOutcome, now: datetime
) -> str | None:
    """Why charging the completed job would break a quota of its organisation or group, or
    None. The quota rows are locked, so concurrent charges to one organisation queue up."""
    assert outcome.credits is not None and outcome.cost is not None
    quotas = conn.execute(
        select(credit_quotas)
        .where(
            credit_quotas.c.organisation == organisation,
            credit_quotas.c.kind == outcome.credits,
            credit_quotas.c.group_name.in_(("", group_name)),
        )
        .with_for_update()
    ).all()
    for quota in quotas:
        group = quota.group_name or None
        left = quota.credits - _spent(conn, organisation, group, outcome.credits, now)
        if outcome.cost > left + 1e-9:
            return (
                f"it costs {format_cost(outcome.cost)} HQCs and the "
                f"{_holder(organisation, group)} has {format_cost(max(left, 0.0))} of its "
                f"{format_cost(quota.credits)} {quota.kind} HQCs for this month left"
            )
    return None


def _is_group(group: Group) -> ColumnElement[bool]:
    return and_(user_groups.c.organisation == group.organisation, user_groups.c.name == group.name)


def _group_exists(conn: Connection, organisation: str, name: str) -> bool:
    found = conn.scalar(select(user_groups.c.name).where(_is_group(Group(organisation, name))))
    return found is not None


def _group_of(row: Row[Any]) -> Group:
    return Group(row.organisation, row.name, row.priority)


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
        .where(_waiting())
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
        _end_abandoned_job(conn, row, JobStatus.CANCELED, {}, now)
        return None
    expired = row.lease_owner is not None  # a running job between chunks holds no lease
    if source is JobStatus.RUNNING and expired and row.attempts >= max_attempts:
        error = _cut_off_too_often(row.id, row.attempts)
        _end_abandoned_job(conn, row, JobStatus.FAILED, {"error": error}, now)
        return None
    values = {
        "started_at": row.started_at or now,
        "attempts": jobs.c.attempts + 1,
        "lease_owner": worker_id,
        "lease_expires_at": lease_expires_at,
        "cancel_requested": False,
    }
    claimed = _transition(conn, row.id, source, JobStatus.RUNNING, values, _claimable(now))
    if claimed is None:
        return None
    if source is JobStatus.RUNNING and expired:
        _close_expired_attempt(conn, row, now)
    attempt_id = conn.execute(
        insert(job_attempts)
        .values(job_id=row.id, worker_id=worker_id, started_at=now)
        .returning(job_attempts.c.id)
    ).scalar_one()
    conn.execute(update(jobs).where(jobs.c.id == row.id).values(current_attempt_id=attempt_id))
    return ClaimedJob(_job_record(claimed), attempt_id, worker_id, lease_expires_at)


def _transition(
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


def _close_attempt(
    conn: Connection, attempt_id: int, now: datetime, outcome: str, message: str | None
) -> None:
    conn.execute(
        update(job_attempts)
        .where(job_attempts.c.id == attempt_id, job_attempts.c.ended_at.is_(None))
        .values(ended_at=now, outcome=outcome, message=message)
    )


def _end_abandoned_job(
    conn: Connection, job: Row[Any], target: JobStatus, values: Mapping[str, Any], now: datetime
) -> None:
    """End a job whose worker's lease expired, instead of running it again."""
    finished = {**values, "finished_at": now, **_LEASE_RELEASED}
    ended = _transition(conn, job.id, JobStatus(job.status), target, finished, _claimable(now))
    if ended is not None:
        _close_expired_attempt(conn, job, now)


def _cut_off_too_often(job_id: str, attempts: int) -> str:
    return errors.ExecutionError(
        f"its execution was cut off {attempts} times"
        " (each time its worker stopped without reporting); giving up"
    ).job_error(job_id)


def _close_expired_attempt(conn: Connection, job: Row[Any], now: datetime) -> None:
    message = f"worker {job.lease_owner} stopped renewing its lease"
    _close_attempt(conn, job.current_attempt_id, now, LEASE_EXPIRED, message)


# --- rows <-> records -----------------------------------------------------------------------


def _columns_of(record: NewJob | User) -> dict[str, Any]:
    return {_COLUMN_OF_FIELD.get(f.name, f.name): getattr(record, f.name) for f in fields(record)}


def _fields_of(record_type: type[JobRecord | User | Attempt], row: Row[Any]) -> dict[str, Any]:
    columns = row._mapping
    return {f.name: columns[_COLUMN_OF_FIELD.get(f.name, f.name)] for f in fields(record_type)}


def _job_record(row: Row[Any]) -> JobRecord:
    return JobRecord(**{**_fields_of(JobRecord, row), "status": JobStatus(row.status)})
