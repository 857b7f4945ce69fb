"""Ordered schema migrations, applied once each, safe when several processes start together.

Each migration is frozen once released: it states the DDL of its own day and never imports
:mod:`qstation.store.schema`, which describes today's tables. A test runs every migration on an
empty database and checks the result equals :data:`qstation.store.schema.metadata`.

Concurrency: the whole run is one transaction holding a database-wide lock (SQLite: the store's
engine begins write transactions with ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped
advisory lock), so a second process waits, then finds nothing left to do. Both databases have
transactional DDL, so a failed migration leaves no half-built schema.

Rolling upgrades: a migration that older code tolerates (new tables, new nullable columns)
says so with ``oldest_code``, which is written into its ``schema_version`` row. Code meeting a
schema newer than its own runs if the newest row names a version it has reached, and refuses to
start otherwise (:class:`~qstation.errors.SchemaMismatch`); see ``docs/deployment.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, func, insert, select

from qstation.errors import SchemaMismatch
from qstation.store.database import Database
from qstation.store.migrations.accounts_and_clients import (
    add_client_metadata,
    add_group_members_and_roles,
    add_portal_sessions,
    add_security,
)
from qstation.store.migrations.fleets import (
    add_parallel_chunks,
    add_truncation_error,
    add_workers,
    keep_chunk_results_with_attempts,
)
from qstation.store.migrations.jobs_and_dispatch import (
    add_batches,
    add_calendar,
    add_credit_quotas,
    add_dispatch_lanes_and_usage,
    add_organisations_and_priorities,
    add_shots_done,
    create_initial_tables,
)
from qstation.store.schema import schema_version

# Any fixed 64-bit key works; this one spells "qstation" in ASCII.
_MIGRATION_LOCK_KEY = int.from_bytes(b"qstation", "big")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]
    oldest_code: int | None = None
    """The oldest code (by its :data:`LATEST`) that runs on the schema after this migration;
    None: only code that knows this migration."""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "users, refresh tokens, jobs, attempts, secrets", create_initial_tables),
    Migration(
        2, "organisations, groups, user and group priorities", add_organisations_and_priorities
    ),
    Migration(3, "monthly credit quotas; what each job was charged to", add_credit_quotas),
    Migration(4, "operational hours of hardware targets", add_calendar),
    Migration(5, "jobs run in chunks of shots", add_shots_done),
    Migration(6, "batches of jobs", add_batches),
    Migration(7, "dispatch lanes and fair-share use by the minute", add_dispatch_lanes_and_usage),
    Migration(
        8, "revocation, MFA, refresh-token families, login throttling, audit log", add_security
    ),
    Migration(9, "explicit group membership; roles", add_group_members_and_roles),
    Migration(10, "user portal sessions; owners' jobs newest first", add_portal_sessions),
    Migration(11, "what a client keeps with its job", add_client_metadata),
    Migration(
        12, "workers and their heartbeats; schema compatibility", add_workers, oldest_code=11
    ),
    Migration(13, "leases on attempts: chunks of one job run in parallel", add_parallel_chunks),
    Migration(14, "running jobs' results kept with their chunks", keep_chunk_results_with_attempts),
    Migration(
        15, "the truncation error of approximate engines", add_truncation_error, oldest_code=14
    ),
)


LATEST = MIGRATIONS[-1].version
"""The schema version this code writes and expects."""


FIRST_SCHEMA_VERSION = Table(  # the table as migration 1 made it, before oldest_code
    "schema_version", MetaData(), Column("version", Integer, primary_key=True)
)


def schema_version_of(database: Database) -> int:
    """The version the database's schema is at (0: none yet)."""
    with database.read() as conn:
        return int(conn.scalar(select(func.max(FIRST_SCHEMA_VERSION.c.version))) or 0)


def runs_on(version: int, oldest_code: int | None) -> bool:
    """Whether this code runs on a schema at ``version`` whose newest migration tolerates code
    from ``oldest_code`` on."""
    if version <= LATEST:
        return version == LATEST
    return oldest_code is not None and oldest_code <= LATEST


def schema_state(database: Database) -> tuple[int, int | None]:
    """The schema's version and the oldest code its newest migration tolerates."""
    with database.read() as conn:
        return _schema_state(conn)


def _schema_state(conn: Connection) -> tuple[int, int | None]:
    version = int(conn.scalar(select(func.max(FIRST_SCHEMA_VERSION.c.version))) or 0)
    if version < 12:  # no oldest_code column yet
        return version, None
    oldest = conn.scalar(
        select(schema_version.c.oldest_code).where(schema_version.c.version == version)
    )
    return version, oldest


def too_new(version: int) -> SchemaMismatch:
    return SchemaMismatch(
        f"the database's schema is at version {version}, newer than this qstation's ({LATEST}), "
        "and its newest migration does not run with older code: upgrade qstation on this host"
    )


def migrate(engine: Engine) -> list[int]:
    """Apply the migrations this database lacks; return their versions (empty: up to date).

    ``engine`` must come from :func:`qstation.store.database.create_store_engine`, whose SQLite
    configuration makes this transaction take the write lock at its start.
    """
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
        FIRST_SCHEMA_VERSION.create(conn, checkfirst=True)
        current, oldest_code = _schema_state(conn)
        if current > LATEST and not runs_on(current, oldest_code):
            raise too_new(current)
        pending = [m for m in MIGRATIONS if m.version > current]
        for migration in pending:
            migration.apply(conn)
            row: dict[str, int | None] = {"version": migration.version}
            if migration.version >= 12:
                row["oldest_code"] = migration.oldest_code
            table = schema_version if migration.version >= 12 else FIRST_SCHEMA_VERSION
            conn.execute(insert(table).values(row))
    return [m.version for m in pending]
