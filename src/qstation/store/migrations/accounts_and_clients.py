"""Migrations 8 on: security (revocation, MFA, token families, throttling, audit), group
membership and roles, portal sessions, client metadata (8-11). Frozen once released."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)


def add_security(conn: Connection) -> None:
    v8 = MetaData()
    Table(
        "login_throttle",
        v8,
        Column("key", String(512), primary_key=True),
        Column("window_started_at", DateTime, nullable=False),
        Column("failures", Integer, nullable=False),
        Column("locked_until", DateTime, nullable=True),
        Column("lockouts", Integer, nullable=False),
        Index("ix_login_throttle_window_started_at", "window_started_at"),
    )
    Table(
        "audit_log",
        v8,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", DateTime, nullable=False, index=True),
        Column("actor", String(320), nullable=True),
        Column("action", String(64), nullable=False, index=True),
        Column("subject", Text, nullable=True),
        Column("source", String(64), nullable=True),
        Column("outcome", String(16), nullable=False),
        Column("detail", Text, nullable=True),
    )
    v8.create_all(conn, checkfirst=False)
    timestamp = "TIMESTAMP WITHOUT TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    for statement in (
        f"ALTER TABLE users ADD COLUMN tokens_valid_after {timestamp}",
        "ALTER TABLE users ADD COLUMN mfa_secret TEXT",
        "ALTER TABLE users ADD COLUMN mfa_last_step BIGINT",
        "ALTER TABLE refresh_tokens ADD COLUMN family_id VARCHAR(32) NOT NULL DEFAULT ''",
        # each token issued before families existed is a family of its own
        "UPDATE refresh_tokens SET family_id = substr(token_hash, 1, 32)",
        "CREATE INDEX ix_refresh_tokens_family_id ON refresh_tokens (family_id)",
        # the signing key leaves the database: keys now derive from the key file
        "DELETE FROM service_secrets WHERE name = 'id-token-signing-key'",
    ):
        conn.execute(text(statement))


def add_group_members_and_roles(conn: Connection) -> None:
    v9 = MetaData()
    Table("users", v9, Column("id", String(32), primary_key=True))
    members = Table(
        "group_members",
        v9,
        Column("organisation", String(64), primary_key=True),
        Column("group_name", String(64), primary_key=True),
        Column("user_id", String(32), ForeignKey("users.id"), primary_key=True),
        Index("ix_group_members_user_id", "user_id"),
    )
    members.create(conn, checkfirst=False)
    for statement in (
        # every user belongs to their own group, as they may always have submitted under it
        "INSERT INTO group_members (organisation, group_name, user_id)"
        " SELECT organisation, group_name, id FROM users",
        "ALTER TABLE users ADD COLUMN role VARCHAR(16) NOT NULL DEFAULT 'member'",
    ):
        conn.execute(text(statement))


def add_portal_sessions(conn: Connection) -> None:
    v10 = MetaData()
    Table("users", v10, Column("id", String(32), primary_key=True))
    Table(
        "portal_sessions",
        v10,
        Column("session_hash", String(64), primary_key=True),
        Column("user_id", String(32), ForeignKey("users.id"), nullable=False, index=True),
        Column("created_at", DateTime, nullable=False),
        Column("expires_at", DateTime, nullable=False),
        Column("ended_at", DateTime, nullable=True),
    ).create(conn, checkfirst=False)
    for statement in (
        "CREATE INDEX ix_jobs_owner_submitted ON jobs (owner_id, submitted_at, id)",
        "DROP INDEX ix_jobs_owner_id",  # the new index serves its lookups too
    ):
        conn.execute(text(statement))


def add_client_metadata(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE jobs ADD COLUMN client_metadata JSON"))
