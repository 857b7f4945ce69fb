"""The same service on PostgreSQL, with workers as separate processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit

from tests.acceptance.conftest import ALICE, client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import ServiceProcess, qstation
from tests.conftest import fresh_postgres_database

pytestmark = pytest.mark.postgres


def test_serve_on_postgresql_with_separate_worker_processes(tmp_path: Path) -> None:
    with fresh_postgres_database() as url:
        plain_url = url.replace("postgresql+psycopg://", "postgresql://")
        store = ["--database", plain_url]
        service = ServiceProcess(tmp_path, store, ["--workers", "0"])
        service.add_user(ALICE)
        assert ALICE in qstation("user", "list", *store)
        service.start()
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "qstation", "worker", *store],
                env={**os.environ, "QSTATION_POLL_INTERVAL_SECONDS": "0.05"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        try:
            backend = client(service.url, "H2-1E")
            circuit = Circuit(2).PhasedX(1.0, 0.0, 1).measure_all()
            handles = [
                backend.process_circuit(circuit, n_shots=3, noisy_simulation=False)
                for _ in range(6)
            ]
            for handle in handles:
                assert wait_until_done(backend, handle) is StatusEnum.COMPLETED
                assert backend.get_result(handle).get_counts() == {(0, 1): 3}
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                assert worker.wait(timeout=30) == 0  # a clean stop on SIGTERM
            service.stop()
