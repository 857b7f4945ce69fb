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

import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Select, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StatementError,
)

from qstation import errors
from qstation.store.wakeups import CHANNEL, Listener, PostgresListener, SocketWakeups

_SQLITE_BUSY_TIMEOUT_MS = 30_000
_READ_ONLY_OPTION = "qstation_read_only"


def create_store_engine(url: str, pool_size: int = 10) -> Engine:
    """An engine configured for many processes sharing the database.

    Statement parameters are kept out of error messages: they hold password hashes and programs.
    SQLite: WAL (readers never block the writer), a long busy timeout (writers queue instead of
    failing) and ``BEGIN IMMEDIATE`` for write transactions, which takes the write lock up front
    so a transaction never has to upgrade a read lock and fail with ``database is locked``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Enough pooled connections for the requests one process serves at once: past the pool,
        # SQLAlchemy opens a connection per request and closes it after (a new PostgreSQL
        # backend each time: status reads fell to 360 a second). No ping at checkout (a round
        # trip for every transaction): a connection the server ended (a restart, an idle
        # timeout) fails its first statement, which empties the pool, so one request per
        # process meets the restart (a prepared read retries on a new connection; others
        # answer 503 and the client retries).
        return create_engine(
            parsed, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size
        )
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
    if read_only:
        conn.exec_driver_sql("BEGIN")
        return
    # SQLite's own busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries, so a writer waits
    # tens of milliseconds for a lock held for one: take the write lock with short naps instead.
    dbapi = conn.connection.dbapi_connection
    assert isinstance(dbapi, sqlite3.Connection)
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_MS / 1000
    dbapi.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                dbapi.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(random.uniform(0.0002, 0.001))
    finally:
        dbapi.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")


_ANNOUNCE = "qstation_announce_waiting"


class PreparedWrite:
    """An INSERT compiled once per database, whose rows are converted by SQLAlchemy's own bind
    processors before the transaction and written by the DBAPI's ``executemany`` inside it.

    Submissions hold the write lock (SQLite) or their rows' locks while they insert; through
    SQLAlchemy's execution layer a group of four jobs held SQLite's lock for 2.7 ms, most of
    it spent in Python, while other processes waited.
    """

    def __init__(self, statement: Any, keys: Sequence[str]) -> None:
        self.statement = statement
        self.keys = list(keys)
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def _for(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        if dialect.name not in self._compiled:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.keys)
            order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
            processors = {
                name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                for name, bind in compiled.binds.items()
            }
            self._compiled[dialect.name] = (str(compiled), order, processors)
        return self._compiled[dialect.name]

    def bind(self, dialect: Dialect, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """The rows as the DBAPI takes them (tuples or dicts, values converted)."""
        _, order, processors = self._for(dialect)
        converted = [
            {
                key: value if processors.get(key) is None else processors[key](value)
                for key, value in row.items()
            }
            for row in rows
        ]
        if order is None:
            return converted
        return [tuple(row[name] for name in order) for row in converted]

    def execute(self, conn: Connection, bound: list[Any]) -> None:
        """Write the bound rows inside ``conn``'s transaction."""
        dialect = conn.dialect
        sql, _, _ = self._for(dialect)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, bound)
        except dialect.loaded_dbapi.Error as error:
            raise _wrapped(error, sql, dialect) from error
        finally:
            cursor.close()


class PreparedRead:
    """A SELECT compiled once per database and run on a pooled DBAPI connection, with the
    columns converted by SQLAlchemy's own type processors.

    For the reads nearly every request makes (a job by ID, a user by ID): SQLAlchemy's
    execution layer costs four times such a query (450 µs against 90 µs on SQLite, measured),
    and a status read should cost what the query costs.
    """

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.names = [column.name for column in statement.selected_columns]
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}
        self._processors: dict[str, list[Any]] = {}

    def sql(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
        """The SQL text and its parameters' order (None: the parameters are named)."""
        if dialect.name not in self._compiled:
            compiled = self.statement.compile(dialect=dialect)
            order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
            self._compiled[dialect.name] = (str(compiled), order)
        return self._compiled[dialect.name]

    def processors(self, dialect: Dialect, description: Any) -> list[Any]:
        """Each column's conversion, for the database's type codes in ``description``."""
        if dialect.name not in self._processors:
            self._processors[dialect.name] = [
                column.type.dialect_impl(dialect).result_processor(dialect, described[1])
                for column, described in zip(
                    self.statement.selected_columns, description, strict=True
                )
            ]
        return self._processors[dialect.name]


class Database:
    """One engine, the two ways the repositories use it, and wake-ups for idle workers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._socket_wakeups = (
            None if self.dialect == "postgresql" else SocketWakeups(str(engine.url.database))
        )

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
        with translate_database_errors(conflict):
            with self.engine.begin() as conn:
                yield conn
                announce = conn.info.pop(_ANNOUNCE, False)
            if announce and self._socket_wakeups is not None:
                self._socket_wakeups.send()

    def read_rows(self, query: PreparedRead, parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows of ``query``, each a mapping of column name to value."""
        rows, processors = self._fetch(query, parameters)
        return [
            {
                name: value if process is None else process(value)
                for name, process, value in zip(query.names, processors, row, strict=True)
            }
            for row in rows
        ]

    def read_raw(self, query: PreparedRead, parameters: Mapping[str, Any]) -> list[Any]:
        """The rows of ``query`` as the driver returns them, unconverted (SQLite gives dates as
        ISO text): for many rows whose values only identify or order."""
        return self._fetch(query, parameters)[0]

    def _fetch(
        self, query: PreparedRead, parameters: Mapping[str, Any]
    ) -> tuple[list[Any], list[Any]]:
        """One read on a pooled connection; once more on a new one if the server had ended
        it (nothing was read, so nothing is lost by reading again)."""
        try:
            return self._fetch_once(query, parameters)
        except errors.StoreUnavailable as unavailable:
            if not isinstance(unavailable.__cause__, DisconnectionOnRead):
                raise
            return self._fetch_once(query, parameters)

    def _fetch_once(
        self, query: PreparedRead, parameters: Mapping[str, Any]
    ) -> tuple[list[Any], list[Any]]:
        dialect = self.engine.dialect
        sql, order = query.sql(dialect)
        bound = tuple(parameters[name] for name in order) if order is not None else parameters
        dbapi_error = dialect.loaded_dbapi.Error
        with translate_database_errors():
            try:
                connection = self.engine.raw_connection()
            except dbapi_error as error:
                raise _wrapped(error, sql, dialect) from error
            try:
                if self.dialect == "postgresql":  # one statement: no transaction to end after
                    connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
                cursor = connection.cursor()
                cursor.execute(sql, bound)
                rows = list(cursor.fetchall())
                processors = query.processors(dialect, cursor.description)
                cursor.close()
                if self.dialect == "postgresql":
                    connection.dbapi_connection.autocommit = False  # type: ignore[union-attr]
            except dbapi_error as error:
                if dialect.is_disconnect(error, connection.dbapi_connection, None):
                    connection.invalidate(error)
                    self.engine.dispose(close=False)  # its other connections are stale too
                    raise DisconnectionOnRead() from error
                raise _wrapped(error, sql, dialect) from error
            finally:
                connection.close()
        return rows, processors

    def announce_waiting_job(self, conn: Connection) -> None:
        """Wake idle workers once this transaction commits: a job waits for one."""
        if self._socket_wakeups is None:
            conn.execute(text(f"NOTIFY {CHANNEL}"))  # delivered at commit
        else:
            conn.info[_ANNOUNCE] = True

    def wakeup_listener(self) -> Listener:
        """What an idle worker waits on (:mod:`qstation.store.wakeups`)."""
        if self._socket_wakeups is None:
            return PostgresListener(self.engine.url)
        return self._socket_wakeups.listener()

    def insert(self, table: Table) -> Any:
        """This dialect's ``INSERT`` (with ``on_conflict_do_…``) into ``table``."""
        dialect_insert: Callable[[Table], Any] = (
            postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        )
        return dialect_insert(table)

    def close(self) -> None:
        self.engine.dispose()
        if self._socket_wakeups is not None:
            self._socket_wakeups.close()


class DisconnectionOnRead(DisconnectionError):
    """The server had ended the pooled connection a read was sent on."""


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
    except OverflowError as exc:  # sqlite3 refuses integers past 64 bits before SQL sees them
        raise errors.BadRequest("a number is too large for the database") from exc


def _wrapped(error: Exception, sql: str, dialect: Dialect) -> StatementError:
    """A DBAPI error as SQLAlchemy would have raised it, for :func:`translate_database_errors`."""
    return DBAPIError.instance(
        sql, None, error, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
    )


def _refusal(exc: DataError | IntegrityError) -> str:
    """Why the database refused a value, in its own words but without the statement."""
    diagnostic = getattr(exc.orig, "diag", None)  # psycopg: the server's primary message
    message = str(getattr(diagnostic, "message_primary", None) or exc.orig or "").strip()
    return message.splitlines()[0] if message else "the database refused it"
