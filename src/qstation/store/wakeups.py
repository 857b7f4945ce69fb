"""Wake idle workers the moment a job starts waiting; their poll stays as the fallback.

PostgreSQL: the transaction that makes a job wait runs ``NOTIFY qstation_jobs``, which the
database delivers when it commits, to every worker ``LISTEN``ing on a connection of its own.

SQLite has no such channel, so after the commit the writing process sends a one-byte datagram
to each worker's Unix socket in a directory of the database's own: under ``$XDG_RUNTIME_DIR``
(or the temporary directory), named after a digest of the database file's path, mode 0700, so
its paths stay short and only this user's processes can wake its workers. A worker that died
leaves a socket nobody reads; the next sender removes it.

A lost wake-up costs at most one poll interval, so every failure here is logged and ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import socket
import stat
import tempfile
import time
from pathlib import Path
from typing import Protocol

import psycopg
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

CHANNEL = "qstation_jobs"


class Listener(Protocol):
    def wait(self, timeout: float) -> None:
        """Return after ``timeout`` seconds, or sooner if a job started waiting."""

    def close(self) -> None: ...


def wakeup_directory(database_file: str) -> Path:
    """Where the workers of the SQLite database at ``database_file`` keep their sockets."""
    digest = hashlib.sha256(os.path.realpath(database_file).encode()).hexdigest()[:16]
    runtime = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(runtime) / f"qstation-{digest}"


class SocketWakeups:
    """The SQLite side: wake every worker of one database (see the module's docstring)."""

    def __init__(self, database_file: str) -> None:
        self.directory = wakeup_directory(database_file)
        self._sender: socket.socket | None = None

    def send(self) -> None:
        try:
            sockets = list(self.directory.glob("*.sock"))
        except OSError:
            return
        if not sockets:
            return
        if self._sender is None:
            self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sender.setblocking(False)
        for path in sockets:
            try:
                self._sender.sendto(b"!", str(path))
            except ConnectionRefusedError:  # its worker is gone
                with contextlib.suppress(OSError):
                    path.unlink()
            except OSError:  # its queue is full (it will wake anyway), or a race with removal
                pass

    def listener(self) -> Listener:
        return _SocketListener(self.directory)

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()


class _SocketListener:
    def __init__(self, directory: Path) -> None:
        self._socket: socket.socket | None = None
        self._path = directory / f"{os.getpid()}-{secrets.token_hex(4)}.sock"
        try:
            _private_directory(directory)
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._socket.bind(str(self._path))
        except OSError as error:
            log.warning("no wake-ups for this worker (%s); it polls instead", error)
            self.close()

    def wait(self, timeout: float) -> None:
        if self._socket is None:
            _sleep(timeout)
            return
        self._socket.settimeout(timeout)
        try:
            self._socket.recv(64)
            self._socket.setblocking(False)
            while self._socket.recv(64):  # several wake-ups are one
                pass
        except (TimeoutError, BlockingIOError):
            pass

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
            with contextlib.suppress(OSError):
                self._path.unlink()


def _private_directory(directory: Path) -> None:
    """Create ``directory`` as this user's alone, or refuse one someone else made."""
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{directory} is not a private directory of this user")


class PostgresListener:
    """The PostgreSQL side: ``LISTEN`` on a connection of the worker's own, reconnecting
    after the database went away (meanwhile it just waits out the timeout)."""

    def __init__(self, url: URL) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._connect()  # listening before the worker's first look at the queue

    def wait(self, timeout: float) -> None:
        connection = self._connection or self._connect()
        if connection is None:
            _sleep(timeout)
            return
        try:
            woken = any(True for _ in connection.notifies(timeout=timeout, stop_after=1))
            if woken:
                for _ in connection.notifies(timeout=0):  # several wake-ups are one
                    pass
        except psycopg.Error as error:
            log.warning("wake-ups paused: %s", error)
            self.close()

    def _connect(self) -> psycopg.Connection[tuple[object, ...]] | None:
        try:
            self._connection = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            self._connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as error:
            log.warning("wake-ups unavailable: %s", error)
            self.close()
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None


def _sleep(seconds: float) -> None:
    time.sleep(seconds)
