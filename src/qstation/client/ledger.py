"""The local ledger: every job this user submitted from this machine with the native client,
in a SQLite file of the user's own, so a handle is never lost.

Each submission is written as soon as the server has accepted it, with where it came from (the
script, the circuit's hash, tags), its handle, and later its last known status and, once
completed, its results (so they are read from disk afterwards). :meth:`Ledger.reconcile` fills
the ledger from the server's list of the user's jobs, for jobs submitted elsewhere or a ledger
that was deleted.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    server TEXT NOT NULL,
    job_id TEXT NOT NULL,
    machine TEXT NOT NULL,
    name TEXT NOT NULL,
    tags TEXT NOT NULL,            -- JSON list
    circuit_hash TEXT,             -- NULL: submitted elsewhere, found by reconcile
    script TEXT,
    submitted_at TEXT NOT NULL,    -- ISO, UTC
    handle TEXT NOT NULL,          -- str(ResultHandle)
    status TEXT NOT NULL,
    results TEXT,                  -- JSON, once completed
    PRIMARY KEY (server, job_id)
);
CREATE INDEX IF NOT EXISTS submissions_by_time ON submissions (server, submitted_at);
"""


def ledger_path() -> Path:
    """``ledger.sqlite3`` in the user's data directory (``QSTATION_LEDGER`` overrides)."""
    named = os.environ.get("QSTATION_LEDGER")
    if named:
        return Path(named)
    return Path(platformdirs.user_data_dir("qstation-client", appauthor=False)) / "ledger.sqlite3"


@dataclass(frozen=True)
class Entry:
    server: str
    job_id: str
    machine: str
    name: str
    tags: list[str]
    circuit_hash: str | None
    script: str | None
    submitted_at: str
    handle: str
    status: str
    results: dict[str, list[str]] | None


class Ledger:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ledger_path()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():  # results are the user's alone: mode 0600 from the start
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            conn.executescript(_SCHEMA)
            with conn:  # one transaction, committed at the end
                yield conn

    def record(self, entry: Entry) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.server, entry.job_id, entry.machine, entry.name, json.dumps(entry.tags),
                 entry.circuit_hash, entry.script, entry.submitted_at, entry.handle,
                 entry.status, None if entry.results is None else json.dumps(entry.results)),
            )  # fmt: skip

    def update(
        self, server: str, job_id: str, status: str, results: dict[str, list[str]] | None = None
    ) -> None:
        with self._connection() as conn:
            conn.execute(
                "UPDATE submissions SET status = ?, results = coalesce(?, results) "
                "WHERE server = ? AND job_id = ?",
                (status, None if results is None else json.dumps(results), server, job_id),
            )

    def get(self, server: str, job_id: str) -> Entry | None:
        found = self.find(server, job_id=job_id)
        return found[0] if found else None

    def find(
        self,
        server: str,
        *,
        job_id: str | None = None,
        status: str | None = None,
        machine: str | None = None,
        name: str | None = None,
        tag: str | None = None,
        limit: int = 100,
    ) -> list[Entry]:
        """Entries of ``server``, newest first, matching every filter given (``name``: a
        substring, ``tag``: one of the entry's tags)."""
        conditions, values = ["server = ?"], [server]
        for column, value in (("job_id", job_id), ("status", status), ("machine", machine)):
            if value is not None:
                conditions.append(f"{column} = ?")
                values.append(value)
        if name is not None:
            conditions.append("instr(lower(name), lower(?)) > 0")
            values.append(name)
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT * FROM submissions WHERE {' AND '.join(conditions)} "
                "ORDER BY submitted_at DESC, job_id DESC",
                values,
            ).fetchall()
        entries = [_entry(row) for row in rows]
        if tag is not None:
            entries = [entry for entry in entries if tag in entry.tags]
        return entries[:limit]


def _entry(row: tuple[Any, ...]) -> Entry:
    (server, job_id, machine, name, tags, circuit_hash, script, submitted_at, handle, status,
     results) = row  # fmt: skip
    return Entry(
        server, job_id, machine, name, json.loads(tags), circuit_hash, script, submitted_at,
        handle, status, None if results is None else json.loads(results),
    )  # fmt: skip


def now_text() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
