"""A SQLite store with the jobs' owner, and workers on it that are closed after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qstation.devices.catalogue import DeviceCatalogue
from qstation.settings import Settings
from qstation.store import JobStore, open_store
from qstation.worker.supervisor import Worker
from tests.integration.workers.jobs import OWNER

MakeWorker = Callable[..., Worker]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'qstation.db'}")
    opened.accounts.create_user(OWNER)
    yield opened
    opened.close()


@pytest.fixture
def make_worker() -> Iterator[MakeWorker]:
    """``make_worker(store, **settings)``: a worker whose children are stopped afterwards."""
    made: list[Worker] = []

    def make(store: JobStore, **settings: object) -> Worker:
        worker = Worker(
            store, DeviceCatalogue.load(), Settings(**settings), worker_id="test-worker"
        )  # type: ignore[arg-type]
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.close()
