"""Cancelling, and surviving kill -9: no accepted job or result is ever lost or doubled."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pytket.backends.status import StatusEnum
from pytket.extensions.quantinuum.backends.api_wrappers import QuantinuumAPIError

from qstation.model import JobStatus
from qstation.store import open_store
from tests.acceptance.conftest import client, start_service
from tests.acceptance.jobs import slow_circuit, small_circuit, wait_until_done
from tests.acceptance.service import ServiceProcess


def test_cancelling_a_queued_job_ends_it_canceled(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", "--workers", "0")
    try:
        backend = client(service.url, "H1-1E")
        handle = backend.process_circuit(small_circuit(), n_shots=10)
        assert backend.circuit_status(handle).status is StatusEnum.QUEUED
        backend.cancel(handle)
        status = backend.api_handler.retrieve_job_status(handle[0], use_websocket=False)
        assert status is not None and status["status"] == "canceled"
    finally:
        service.stop()


def test_cancelling_a_completed_job_is_refused(service: ServiceProcess) -> None:
    backend = client(service.url, "H1-1SC")
    handle = backend.process_circuit(small_circuit(), n_shots=10)
    assert wait_until_done(backend, handle) is StatusEnum.COMPLETED
    with pytest.raises(QuantinuumAPIError, match="job has completed already"):
        backend.cancel(handle)


def test_kill_9_of_the_server_loses_no_job_and_runs_none_twice(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    service = start_service(data_dir, "--workers", "2")
    try:
        backend = client(service.url, "H1-1E")
        handles = [
            backend.process_circuit(
                slow_circuit(), n_shots=40, options={"seed": i}, noisy_simulation=False
            )
            for i in range(50)
        ]
        # Kill while some jobs are running and most are queued.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(backend.circuit_status(h).status is StatusEnum.RUNNING for h in handles):
                break
            time.sleep(0.02)
        service.kill()
        service.start()
        for handle in handles:
            assert wait_until_done(backend, handle, timeout=300) is StatusEnum.COMPLETED
            assert len(backend.get_result(handle).get_shots()) == 40
    finally:
        service.stop()
    store = open_store(f"sqlite:///{data_dir / 'qstation.db'}")
    try:
        for handle in handles:
            job = store.jobs.get(handle[0], None)
            assert job.status is JobStatus.COMPLETED
            attempts = store.jobs.attempts(job.id)
            assert [a.outcome for a in attempts].count("completed") == 1
    finally:
        store.close()
