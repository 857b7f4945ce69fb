"""The database seam: engines configured for many processes, transactions, error translation.

Every access of the store's repositories goes through :class:`Database`: ``read()`` for
queries, ``write()`` for a transaction committed when its block ends. Database failures leave
the store only as qstation errors, translated in one place (:func:`translate_database_errors`):
an unreachable database or a dropped connection becomes
:class:`~qstation.errors.StoreUnavailable`, a value the database refuses becomes
:class:`~qstation.errors.BadRequest`, and a key that exists already becomes the
:class:`~qstation.errors.AlreadyExists` the caller names; no message holds the URL, SQL or
parameters.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
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

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_READ_ONLY_OPTION = "qstation_read_only"


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


class Database:
    """One engine and the two ways the repositories use it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads: on SQLite its transaction does not take the write lock."""
        with translate_database_errors(), self.engine.connect() as conn:
            conn.execution_options(**{_READ_ONLY_OPTION: True})
            yield conn

    @contextmanager
    def write(self, conflict: errors.AlreadyExists | None = None) -> Iterator[Connection]:
        """A transaction, committed when the block ends and rolled back if it raises.

        ``conflict`` is what a duplicate key means to the caller; without one, the database
        refusing a write is a bad request.
        """
        with translate_database_errors(conflict), self.engine.begin() as conn:
            yield conn

    def insert(self, table: Table) -> Any:
        """This dialect's ``INSERT`` (with ``on_conflict_do_…``) into ``table``."""
        dialect_insert: Callable[[Table], Any] = (
            postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        )
        return dialect_insert(table)

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def translate_database_errors(conflict: errors.AlreadyExists | None = None) -> Iterator[None]:
    """Turn the database's failures into qstation errors, keeping URL, SQL and values out.

    Every database access of the store runs inside this block. The original error stays
    attached as ``__cause__`` for the logs.
    """
    try:
        yield
    except IntegrityError as exc:
        if conflict is not None:
            raise conflict from exc
        raise errors.BadRequest(f"a value could not be stored: {_refusal(exc)}") from exc
    except (OperationalError, InterfaceError, DisconnectionError) as exc:
        raise errors.StoreUnavailable() from exc
    except DataError as exc:
        raise errors.BadRequest(f"a value could not be stored: {_refusal(exc)}") from exc


def _refusal(exc: DataError | IntegrityError) -> str:
    """Why the database refused a value, in its own words but without the statement."""
    diagnostic = getattr(exc.orig, "diag", None)  # psycopg: the server's primary message
    message = str(getattr(diagnostic, "message_primary", None) or exc.orig or "").strip()
    return message.splitlines()[0] if message else "the database refused it"
