"""Backups of the store, taken while it serves, and restores of them.

SQLite: the online backup API copies the database page by page into a file of its own, a
consistent snapshot even while the server and its workers write (WAL readers never block). A
restore first checks the backup's integrity, copies it into place the same way and then brings
its schema up to date (an older backup is migrated like an older database).

PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore``, PostgreSQL's own tools (their
major version must be the server's or newer); qstation only runs them with the store's URL.

The service's key file (``secret.key``) is not in the database and not in the backup: it is a
secret kept apart on purpose. Back it up on its own; without it, signed-in sessions end and
MFA must be enabled again (``docs/deployment.md``).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from qstation.errors import ConfigurationError, StoreUnavailable
from qstation.store.database import create_store_engine, translate_database_errors
from qstation.store.migrations import migrate


def backup(url: str, destination: Path) -> None:
    """Write a consistent copy of the store at ``url`` to ``destination`` (a new file)."""
    if destination.exists():
        raise ConfigurationError(f"{destination} exists already: choose a new file")
    if _is_sqlite(url):
        with _connect(_sqlite_path(url)) as source, closing(sqlite3.connect(destination)) as target:
            source.backup(target)
        return
    _run_postgres_tool(
        ["pg_dump", "--format=custom", "--no-owner", "--file", str(destination), _libpq(url)]
    )


def restore(url: str, source: Path, replace: bool) -> list[int]:
    """Make the store at ``url`` a copy of the backup ``source``, then migrate it; return the
    migrations applied. An existing store is replaced only when ``replace`` is given."""
    if not source.is_file():
        raise ConfigurationError(f"{source} is not a backup file")
    if _is_sqlite(url):
        database = _sqlite_path(url)
        if database.exists() and not replace:
            raise ConfigurationError(f"{database} holds a store: pass --replace to overwrite it")
        with _connect(source) as backup_file:
            problem = backup_file.execute("PRAGMA integrity_check").fetchone()[0]
            if problem != "ok":
                raise ConfigurationError(f"{source} is damaged: {problem}")
            database.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(database)) as target:
                backup_file.backup(target)
    else:
        if not replace and _holds_a_store(url):
            raise ConfigurationError("the database holds a store: pass --replace to overwrite it")
        flags = ["--clean", "--if-exists"] if replace else []
        _run_postgres_tool(
            ["pg_restore", "--no-owner", "--exit-on-error", *flags, "--dbname", _libpq(url),
             str(source)]
        )  # fmt: skip
    engine = create_store_engine(url, pool_size=1)
    try:
        with translate_database_errors():
            return migrate(engine)  # an older backup is brought to today's schema
    finally:
        engine.dispose()


def _holds_a_store(url: str) -> bool:
    engine = create_store_engine(url, pool_size=1)
    try:
        with translate_database_errors():
            return inspect(engine).has_table("schema_version")
    finally:
        engine.dispose()


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def _connect(path: Path) -> closing[sqlite3.Connection]:
    """An existing SQLite file, closed after the block."""
    if not path.is_file():
        raise ConfigurationError(f"no SQLite database at {path}")
    return closing(sqlite3.connect(path))


def _libpq(url: str) -> str:
    """The URL as PostgreSQL's own tools take it (without SQLAlchemy's driver name)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _run_postgres_tool(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise ConfigurationError(
            f"{command[0]} is not installed: install PostgreSQL's client tools "
            "(Debian: postgresql-client) in the server's major version"
        )
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise StoreUnavailable(f"{command[0]} failed: {completed.stderr.strip()[-500:]}")
