"""``/livez`` and ``/readyz`` for load balancers: no login, and ready only with the schema this
code expects."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from qstation.store.migrations import LATEST
from tests.acceptance.conftest import start_service
from tests.acceptance.service import ServiceProcess, free_port, qstation, run_qstation


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    running = start_service(tmp_path_factory.mktemp("health"))
    yield running
    running.stop()


def test_alive_and_ready_without_a_login(server: ServiceProcess) -> None:
    assert requests.get(server.url + "livez", timeout=10).json() == {"status": "alive"}
    ready = requests.get(server.url + "readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["schema"] == LATEST
    deadline = time.monotonic() + 60  # serve's worker registers once it has started
    while ready.json()["workers_alive"] == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
        ready = requests.get(server.url + "readyz", timeout=10)
    assert ready.json() == {"status": "ready", "schema": LATEST, "workers_alive": 1}


def test_not_ready_while_the_schema_is_another_codes(server: ServiceProcess) -> None:
    database = Path(server.data_dir) / "qstation.db"
    with sqlite3.connect(database) as conn:  # as a newer qstation would leave it
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (LATEST + 1,))
    try:
        answer = requests.get(server.url + "readyz", timeout=10)
        assert answer.status_code == 503
        error = answer.json()["error"]
        assert error["code"] == 7 and f"version {LATEST + 1}" in error["text"]
        assert requests.get(server.url + "livez", timeout=10).status_code == 200
    finally:
        with sqlite3.connect(database) as conn:
            conn.execute("DELETE FROM schema_version WHERE version = ?", (LATEST + 1,))
    assert requests.get(server.url + "readyz", timeout=10).status_code == 200


def test_ready_on_a_newer_schema_that_this_code_tolerates(server: ServiceProcess) -> None:
    database = Path(server.data_dir) / "qstation.db"
    with sqlite3.connect(database) as conn:  # mid rolling upgrade: an additive migration ran
        conn.execute(
            "INSERT INTO schema_version (version, oldest_code) VALUES (?, ?)", (LATEST + 1, LATEST)
        )
    try:
        ready = requests.get(server.url + "readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["schema"] == LATEST + 1
    finally:
        with sqlite3.connect(database) as conn:
            conn.execute("DELETE FROM schema_version WHERE version = ?", (LATEST + 1,))


def test_processes_refuse_to_start_on_an_unreachable_database_or_a_newer_schema(
    tmp_path: Path,
) -> None:
    unreachable = run_qstation(
        "worker", "--database", f"postgresql://postgres@127.0.0.1:{free_port()}/none"
    )
    assert unreachable.returncode == 1
    assert "store is unavailable" in unreachable.stderr and "Traceback" not in unreachable.stderr

    qstation("user", "list", "--data-dir", str(tmp_path))  # creates the store at LATEST
    with sqlite3.connect(tmp_path / "qstation.db") as conn:  # a newer qstation migrated it
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (LATEST + 1,))
    for command in (["worker"], ["serve", "--port", str(free_port())]):
        newer = run_qstation(*command, "--data-dir", str(tmp_path))
        assert newer.returncode == 1, newer.stderr
        assert f"schema is at version {LATEST + 1}, newer than this qstation's" in newer.stderr


def test_a_worker_whose_server_ended_while_it_was_starting_does_not_start(tmp_path: Path) -> None:
    """A server killed before its new worker could ask to die with it must not leave that
    worker polling the store: here the worker's parent is this test, not "server" 1."""
    orphan = run_qstation("worker", "--embedded-by", "1", "--data-dir", str(tmp_path))
    assert orphan.returncode == 0, orphan.stderr
    assert "the server that started this worker has ended; not starting" in orphan.stderr
