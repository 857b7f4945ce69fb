"""The store's tables as the code uses them today.

This is the target the migrations must reach: a test runs every migration on an empty database
and compares the result with :data:`metadata`. Change a table here only together with a new
migration. Timestamps are naive UTC.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

WAITING_PREDICATE = text("next_shot < count AND status IN ('queued', 'running')")
"""Jobs with shots no worker has taken yet (see :func:`qstation.store.job_states.waiting`)."""
OPEN_ATTEMPT_PREDICATE = text("ended_at IS NULL")
"""Attempts running now, whose lease may run out."""
BATCH_JOB_PREDICATE = text("batch_id IS NOT NULL")
OPEN_BATCH_JOB_PREDICATE = text(
    "batch_id IS NOT NULL AND status IN ('queued', 'running', 'canceling')"
)
"""Jobs of a batch that have not ended."""
"""Jobs a worker holds, whose lease may run out."""

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),  # 32 hex digits
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("group_name", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    # id-tokens issued before this moment are refused (revocation, a new password)
    Column("tokens_valid_after", DateTime, nullable=True),
    # the TOTP secret, encrypted with a key derived from the key file; null: no MFA
    Column("mfa_secret", Text, nullable=True),
    Column("mfa_last_step", BigInteger, nullable=True),  # a code is accepted once
    Column("role", String(16), nullable=False),  # member, admin (of their organisation), operator
)

organisations = Table(
    "organisations",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("created_at", DateTime, nullable=False),
)

user_groups = Table(
    "user_groups",
    metadata,
    Column("organisation", String(64), ForeignKey("organisations.name"), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("priority", Integer, nullable=False),
)

group_members = Table(
    "group_members",
    metadata,
    # Who may submit jobs under a group: every user is a member of their own (default) group,
    # and administrators add them to others.
    Column("organisation", String(64), primary_key=True),
    Column("group_name", String(64), primary_key=True),
    # no key to user_groups: like users.group_name, a membership may name a group made later
    Column("user_id", String(32), ForeignKey("users.id"), primary_key=True),
    Index("ix_group_members_user_id", "user_id"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    # Only the SHA-256 hex of a token is stored: a leaked table cannot be replayed.
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
    Column("expires_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    # every token one password login led to; a spent token presented again revokes them all
    Column("family_id", String(32), nullable=False, index=True),
)

portal_sessions = Table(
    "portal_sessions",
    metadata,
    # The SHA-256 hex of the session id in the portal's cookie, as for refresh tokens.
    Column("session_hash", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),  # signed out
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    # No foreign key: a removed user's jobs are kept.
    Column("owner_id", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("machine", String(64), nullable=False),
    Column("language", String(32), nullable=False),
    Column("program", Text, nullable=False),
    Column("count", Integer, nullable=False),
    Column("options", JSON, nullable=False),
    Column("group_name", String(64), nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("submitted_at", DateTime, nullable=False),
    Column("started_at", DateTime, nullable=True),
    Column("finished_at", DateTime, nullable=True),
    Column("cfl", Text, nullable=True),
    Column("max_cost", Double, nullable=True),
    Column("error", Text, nullable=True),
    Column("cost", Double, nullable=True),
    Column("results", JSON(none_as_null=True), nullable=True),
    Column("client_metadata", JSON(none_as_null=True), nullable=True),
    Column("attempts", Integer, nullable=False),  # at the chunk claimed last
    Column("cancel_requested", Boolean, nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("credits", String(16), nullable=True),  # what its cost was charged to, if anything
    Column("shots_done", Integer, nullable=False),  # results recorded for shots [0, shots_done)
    # Shots [0, next_shot) are taken by workers (done, or running as attempts): the dispatch
    # frontier. Chunks of one job run in parallel; each attempt holds a lease of its own.
    Column("next_shot", Integer, nullable=False),
    # The largest truncation error of the job's chunks, from an approximate engine (mps).
    Column("truncation_error", Double, nullable=True),
    Column("batch_id", String(64), nullable=True),
    Column("batch_limit", Double, nullable=True),
    Column("batch_end", Boolean, nullable=False),
    # The submitter's priority, kept up to date while the job waits: part of its dispatch lane.
    Column("user_priority", Integer, nullable=False),
    Index("ix_jobs_status_submitted_at", "status", "submitted_at"),
    # An owner's jobs newest first (``GET /v1/jobs``, the portal's list): a page is a range
    # scan, however many jobs the owner has.
    Index("ix_jobs_owner_submitted", "owner_id", "submitted_at", "id"),
    Index("ix_jobs_organisation_finished_at", "organisation", "finished_at"),
    Index("ix_jobs_batch_id", "batch_id"),
    # Waiting jobs of one dispatch lane in age order: a lane's next job is one index seek. The
    # last two columns make it covering for the waiting predicate (SQLite checks it again).
    Index(
        "ix_jobs_waiting_by_lane",
        "machine",
        "organisation",
        "group_name",
        "user_priority",
        "submitted_at",
        "id",
        "status",
        "next_shot",
        "count",
        sqlite_where=WAITING_PREDICATE,
        postgresql_where=WAITING_PREDICATE,
    ),
    # A batch's jobs that are open, or that finished or arrived lately: the only batches that
    # may hold a target, found without reading any job that belongs to no batch.
    Index(
        "ix_jobs_open_batch_jobs",
        "batch_id",
        sqlite_where=OPEN_BATCH_JOB_PREDICATE,
        postgresql_where=OPEN_BATCH_JOB_PREDICATE,
    ),
    Index(
        "ix_jobs_batch_jobs_finished_at",
        "finished_at",
        sqlite_where=BATCH_JOB_PREDICATE,
        postgresql_where=BATCH_JOB_PREDICATE,
    ),
    Index(
        "ix_jobs_batch_jobs_submitted_at",
        "submitted_at",
        sqlite_where=BATCH_JOB_PREDICATE,
        postgresql_where=BATCH_JOB_PREDICATE,
    ),
)

workers = Table(
    "workers",
    metadata,
    # one row per worker process: it registers at start, beats while it lives (with the job
    # and shots it runs, if any) and marks itself stopped when it stops gracefully
    Column("id", String(128), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(32), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False, index=True),
    Column("alive_until", DateTime, nullable=False),  # its next beat is due well before
    Column("stopped_at", DateTime, nullable=True),
    Column("job_id", String(64), nullable=True),
    Column("shots", String(64), nullable=True),
)

job_attempts = Table(
    "job_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(64), ForeignKey("jobs.id"), nullable=False, index=True),
    Column("worker_id", String(128), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("message", Text, nullable=True),
    # The shots [first_shot, stop_shot) this attempt runs (null on attempts before migration
    # 13), its lease while it runs, and its results once done until the job's recorded prefix
    # reaches them (a later chunk may finish before an earlier one).
    Column("first_shot", Integer, nullable=True),
    Column("stop_shot", Integer, nullable=True),
    Column("lease_expires_at", DateTime, nullable=True),
    Column("results", JSON(none_as_null=True), nullable=True),
    Index(
        "ix_job_attempts_open_until",
        "lease_expires_at",
        sqlite_where=OPEN_ATTEMPT_PREDICATE,
        postgresql_where=OPEN_ATTEMPT_PREDICATE,
    ),
)

service_secrets = Table(
    "service_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

credit_quotas = Table(
    "credit_quotas",
    metadata,
    Column("organisation", String(64), ForeignKey("organisations.name"), primary_key=True),
    Column("group_name", String(64), primary_key=True),  # "": the whole organisation
    Column("kind", String(16), primary_key=True),
    Column("credits", Double, nullable=False),
)

calendar_events = Table(
    "calendar_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("machine", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("starts_at", DateTime, nullable=False),
    Column("ends_at", DateTime, nullable=False),
    Column("organisation", String(64), nullable=True),
    Index("ix_calendar_events_machine_ends_at", "machine", "ends_at"),
)

dispatch_lanes = Table(
    "dispatch_lanes",
    metadata,
    # Every (target, organisation, group, user priority) a job ever waited in. Jobs of one lane
    # share every fair-share rule but age, so dispatch ranks lanes, not the whole queue.
    Column("machine", String(64), primary_key=True),
    Column("organisation", String(64), primary_key=True),
    Column("group_name", String(64), primary_key=True),
    Column("user_priority", Integer, primary_key=True),
)

fair_share_usage = Table(
    "fair_share_usage",
    metadata,
    # HQCs of the jobs that finished in one minute, per organisation, group and target: the
    # fair-share window sums at most its length in minutes of rows per key.
    Column("organisation", String(64), primary_key=True),
    Column("group_name", String(64), primary_key=True),
    Column("machine", String(64), primary_key=True),
    Column("minute", DateTime, primary_key=True),
    Column("hqcs", Double, nullable=False),
    Index("ix_fair_share_usage_minute", "minute"),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    # Failed logins per key ("account <email> from <address>", "address <address>") in the
    # current window, and the lock they earned (see qstation.security.throttle).
    Column("key", String(512), primary_key=True),
    Column("window_started_at", DateTime, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("locked_until", DateTime, nullable=True),
    Column("lockouts", Integer, nullable=False),
    Index("ix_login_throttle_window_started_at", "window_started_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    # Who did what, kept when the actor is removed: emails, not user IDs that point nowhere.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("actor", String(320), nullable=True),  # null: anonymous or the operator's shell
    Column("action", String(64), nullable=False, index=True),
    Column("subject", Text, nullable=True),
    Column("source", String(64), nullable=True),  # the client's address
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=True),
)

# One row per applied migration; the migration runner creates it (as of version 1) before
# anything else. ``oldest_code``: the oldest code (its latest schema version) that runs on the
# schema once this migration is applied; null: only code of this version or newer.
schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("oldest_code", Integer, nullable=True),
)
