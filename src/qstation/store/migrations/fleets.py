"""Migrations 12 on: fleets (the worker table, schema compatibility), chunks of one job run
in parallel and their results kept with their attempts. Frozen once released."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Double,
    Integer,
    MetaData,
    String,
    Table,
    text,
)


def add_workers(conn: Connection) -> None:
    v12 = MetaData()
    Table(
        "workers",
        v12,
        Column("id", String(128), primary_key=True),
        Column("host", String(255), nullable=False),
        Column("pid", Integer, nullable=False),
        Column("version", String(32), nullable=False),
        Column("started_at", DateTime, nullable=False),
        Column("last_seen_at", DateTime, nullable=False, index=True),
        Column("alive_until", DateTime, nullable=False),
        Column("stopped_at", DateTime, nullable=True),
        Column("job_id", String(64), nullable=True),
        Column("shots", String(64), nullable=True),
    ).create(conn, checkfirst=False)
    conn.execute(text("ALTER TABLE schema_version ADD COLUMN oldest_code INTEGER"))


def add_parallel_chunks(conn: Connection) -> None:
    """Leases move from jobs to attempts: each attempt runs one range of shots, so several
    workers can run chunks of one job at once. Nothing may hold a lease while this runs (older
    code does not run on the result), so attempts still open are closed as cut off and their
    jobs wait again from their last recorded shot."""
    now = datetime.now(UTC).replace(tzinfo=None)
    waiting = "next_shot < count AND status IN ('queued', 'running')"
    conn.execute(
        text(
            "UPDATE job_attempts SET ended_at = :now, outcome = 'lease_expired',"
            " message = 'closed by the upgrade to parallel chunks' WHERE ended_at IS NULL"
        ),
        {"now": now},
    )
    for statement in (
        "ALTER TABLE jobs ADD COLUMN next_shot INTEGER NOT NULL DEFAULT 0",
        "UPDATE jobs SET next_shot = shots_done",
        "DROP INDEX ix_jobs_waiting_by_lane",
        "DROP INDEX ix_jobs_leased_until",
        "DROP INDEX ix_jobs_current_attempt_id",
        "ALTER TABLE jobs DROP COLUMN lease_owner",
        "ALTER TABLE jobs DROP COLUMN lease_expires_at",
        "ALTER TABLE jobs DROP COLUMN current_attempt_id",
        "CREATE INDEX ix_jobs_waiting_by_lane ON jobs (machine, organisation, group_name,"
        f" user_priority, submitted_at, id, status, next_shot, count) WHERE {waiting}",
        "ALTER TABLE job_attempts ADD COLUMN first_shot INTEGER",
        "ALTER TABLE job_attempts ADD COLUMN stop_shot INTEGER",
        f"ALTER TABLE job_attempts ADD COLUMN lease_expires_at {DateTime().compile(conn.dialect)}",
        "ALTER TABLE job_attempts ADD COLUMN results JSON",
        "CREATE INDEX ix_job_attempts_open_until ON job_attempts (lease_expires_at)"
        " WHERE ended_at IS NULL",
    ):
        conn.execute(text(statement))


def keep_chunk_results_with_attempts(conn: Connection) -> None:
    """A running job's results so far move from its row to an attempt of their own, a done
    chunk of the shots before its ``shots_done``: running jobs now keep their chunks' results
    with the chunks' attempts and write the job's results once, when it ends."""
    now = datetime.now(UTC).replace(tzinfo=None)
    running = "status IN ('running', 'canceling') AND results IS NOT NULL"
    conn.execute(
        text(
            "INSERT INTO job_attempts (job_id, worker_id, started_at, ended_at, outcome, message,"
            " first_shot, stop_shot, results)"
            " SELECT id, 'migration 14', :now, :now, 'chunk', 'results recorded before the"
            f" upgrade', 0, shots_done, results FROM jobs WHERE {running} AND shots_done > 0"
        ),
        {"now": now},
    )
    conn.execute(text(f"UPDATE jobs SET results = NULL WHERE {running}"))


def add_truncation_error(conn: Connection) -> None:
    """What an approximate engine's truncations lost, for the job's status; older code leaves
    it empty."""
    column_type = Double().compile(conn.dialect)
    conn.execute(text(f"ALTER TABLE jobs ADD COLUMN truncation_error {column_type}"))
