"""Migrations 1-7: users and jobs, organisations and priorities, quotas, the calendar, chunks,
batches, dispatch lanes. Frozen: each states the DDL of its own day."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    text,
)


def create_initial_tables(conn: Connection) -> None:
    v1 = MetaData()
    Table(
        "users",
        v1,
        Column("id", String(32), primary_key=True),
        Column("email", String(320), nullable=False, unique=True),
        Column("password_hash", Text, nullable=False),
        Column("group_name", String(64), nullable=False),
        Column("created_at", DateTime, nullable=False),
    )
    Table(
        "refresh_tokens",
        v1,
        Column("token_hash", String(64), primary_key=True),
        Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
        Column("expires_at", DateTime, nullable=False),
        Column("revoked_at", DateTime, nullable=True),
    )
    Table(
        "jobs",
        v1,
        Column("id", String(64), primary_key=True),
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
        Column("results", JSON, nullable=True),
        Column("attempts", Integer, nullable=False),
        Column("current_attempt_id", Integer, nullable=True, index=True),
        Column("lease_owner", String(128), nullable=True),
        Column("lease_expires_at", DateTime, nullable=True),
        Column("cancel_requested", Boolean, nullable=False),
        Index("ix_jobs_status_submitted_at", "status", "submitted_at"),
        Index("ix_jobs_owner_id", "owner_id"),
    )
    Table(
        "job_attempts",
        v1,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("job_id", String(64), ForeignKey("jobs.id"), nullable=False, index=True),
        Column("worker_id", String(128), nullable=False),
        Column("started_at", DateTime, nullable=False),
        Column("ended_at", DateTime, nullable=True),
        Column("outcome", String(32), nullable=True),
        Column("message", Text, nullable=True),
    )
    Table(
        "service_secrets",
        v1,
        Column("name", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )
    v1.create_all(conn, checkfirst=False)


def add_organisations_and_priorities(conn: Connection) -> None:
    """Organisations with groups and priorities. Existing users and jobs join the organisation
    ``default``, and every group they name becomes one of its groups, at priority 5."""
    v2 = MetaData()
    organisations = Table(
        "organisations",
        v2,
        Column("name", String(64), primary_key=True),
        Column("created_at", DateTime, nullable=False),
    )
    user_groups = Table(
        "user_groups",
        v2,
        Column("organisation", String(64), ForeignKey("organisations.name"), primary_key=True),
        Column("name", String(64), primary_key=True),
        Column("priority", Integer, nullable=False),
    )
    v2.create_all(conn, checkfirst=False)
    for statement in (
        "ALTER TABLE users ADD COLUMN organisation VARCHAR(64) NOT NULL DEFAULT 'default'",
        "ALTER TABLE users ADD COLUMN priority INTEGER NOT NULL DEFAULT 5",
        "ALTER TABLE jobs ADD COLUMN organisation VARCHAR(64) NOT NULL DEFAULT 'default'",
        "CREATE INDEX ix_jobs_organisation_finished_at ON jobs (organisation, finished_at)",
    ):
        conn.execute(text(statement))
    now = datetime.now(UTC).replace(tzinfo=None)
    conn.execute(insert(organisations).values(name="default", created_at=now))
    named = text("SELECT group_name FROM users UNION SELECT group_name FROM jobs")
    groups = {"DEFAULT", *conn.execute(named).scalars()}
    conn.execute(
        insert(user_groups),
        [{"organisation": "default", "name": name, "priority": 5} for name in sorted(groups)],
    )


def add_credit_quotas(conn: Connection) -> None:
    """Monthly HQC quotas per organisation or group and device kind; jobs record what their
    cost was charged to."""
    v3 = MetaData()
    Table("organisations", v3, Column("name", String(64), primary_key=True))
    Table(
        "credit_quotas",
        v3,
        Column("organisation", String(64), ForeignKey("organisations.name"), primary_key=True),
        Column("group_name", String(64), primary_key=True),
        Column("kind", String(16), primary_key=True),
        Column("credits", Double, nullable=False),
    )
    v3.tables["credit_quotas"].create(conn)
    conn.execute(text("ALTER TABLE jobs ADD COLUMN credits VARCHAR(16)"))


def add_calendar(conn: Connection) -> None:
    """Operational hours of hardware targets: online windows, reservations, maintenance."""
    v4 = MetaData()
    Table(
        "calendar_events",
        v4,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("machine", String(64), nullable=False),
        Column("kind", String(16), nullable=False),
        Column("starts_at", DateTime, nullable=False),
        Column("ends_at", DateTime, nullable=False),
        Column("organisation", String(64), nullable=True),
        Index("ix_calendar_events_machine_ends_at", "machine", "ends_at"),
    )
    v4.create_all(conn, checkfirst=False)


def add_shots_done(conn: Connection) -> None:
    """Jobs run in chunks of shots; each records how many shots it has results for."""
    conn.execute(text("ALTER TABLE jobs ADD COLUMN shots_done INTEGER NOT NULL DEFAULT 0"))


def add_batches(conn: Connection) -> None:
    """Batches: each job's batch (its first job), the first job's cost limit, the last job."""
    double = Double().compile(dialect=conn.dialect)  # SQLite and PostgreSQL spell it apart
    for statement in (
        "ALTER TABLE jobs ADD COLUMN batch_id VARCHAR(64)",
        f"ALTER TABLE jobs ADD COLUMN batch_limit {double}",
        "ALTER TABLE jobs ADD COLUMN batch_end BOOLEAN NOT NULL DEFAULT FALSE",
        "CREATE INDEX ix_jobs_batch_id ON jobs (batch_id)",
    ):
        conn.execute(text(statement))


def add_dispatch_lanes_and_usage(conn: Connection) -> None:
    """Dispatch in the database: each job's user priority (its dispatch lane), the lanes, an
    index of waiting jobs by lane and age, indexes of leases and of batches' jobs, and
    fair-share use by the minute (filled from the jobs that finished in the last day, the
    longest window allowed)."""
    v7 = MetaData()
    Table(
        "dispatch_lanes",
        v7,
        Column("machine", String(64), primary_key=True),
        Column("organisation", String(64), primary_key=True),
        Column("group_name", String(64), primary_key=True),
        Column("user_priority", Integer, primary_key=True),
    )
    usage = Table(
        "fair_share_usage",
        v7,
        Column("organisation", String(64), primary_key=True),
        Column("group_name", String(64), primary_key=True),
        Column("machine", String(64), primary_key=True),
        Column("minute", DateTime, primary_key=True),
        Column("hqcs", Double, nullable=False),
        Index("ix_fair_share_usage_minute", "minute"),
    )
    v7.create_all(conn, checkfirst=False)
    waiting = "lease_owner IS NULL AND status IN ('queued', 'running')"
    for statement in (
        "ALTER TABLE jobs ADD COLUMN user_priority INTEGER NOT NULL DEFAULT 5",
        "UPDATE jobs SET user_priority ="
        " (SELECT priority FROM users WHERE users.id = jobs.owner_id)"
        " WHERE EXISTS (SELECT 1 FROM users WHERE users.id = jobs.owner_id)",
        "CREATE INDEX ix_jobs_waiting_by_lane ON jobs"
        " (machine, organisation, group_name, user_priority, submitted_at, id, status, lease_owner)"
        f" WHERE {waiting}",
        "CREATE INDEX ix_jobs_leased_until ON jobs (lease_expires_at)"
        " WHERE lease_owner IS NOT NULL",
        "CREATE INDEX ix_jobs_open_batch_jobs ON jobs (batch_id)"
        " WHERE batch_id IS NOT NULL AND status IN ('queued', 'running', 'canceling')",
        "CREATE INDEX ix_jobs_batch_jobs_finished_at ON jobs (finished_at)"
        " WHERE batch_id IS NOT NULL",
        "CREATE INDEX ix_jobs_batch_jobs_submitted_at ON jobs (submitted_at)"
        " WHERE batch_id IS NOT NULL",
        "INSERT INTO dispatch_lanes (machine, organisation, group_name, user_priority)"
        " SELECT DISTINCT machine, organisation, group_name, user_priority FROM jobs"
        f" WHERE {waiting}",
    ):
        conn.execute(text(statement))
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
    finished = text(
        "SELECT organisation, group_name, machine, finished_at, cost FROM jobs"
        " WHERE cost IS NOT NULL AND finished_at >= :since"
    ).columns(finished_at=DateTime)
    minutes: dict[tuple[str, str, str, datetime], float] = defaultdict(float)
    for organisation, group, machine, finished_at, cost in conn.execute(finished, {"since": since}):
        minute = finished_at.replace(second=0, microsecond=0)
        minutes[organisation, group, machine, minute] += cost
    if minutes:
        conn.execute(
            insert(usage),
            [
                {"organisation": o, "group_name": g, "machine": m, "minute": t, "hqcs": hqcs}
                for (o, g, m, t), hqcs in minutes.items()
            ],
        )
