"""What an operator sees of a running service: ``/metrics`` counted from the database, JSON log
lines for its own and uvicorn's messages with a line for every job that ends, and ``qstation
status`` — here after a worker was killed with ``kill -9`` in the middle of a job."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from pytket.backends.status import StatusEnum

from qstation.store import open_store
from tests.acceptance.conftest import ALICE, client
from tests.acceptance.jobs import slow_circuit, small_circuit, wait_until_done
from tests.acceptance.service import ServiceProcess, qstation

pytestmark = pytest.mark.slow

SMALL_JOBS = 3
SHOTS = 20
SLOW_SHOTS = 2_500  # about 3 s on one process, in one chunk


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A JSON-logging service that ran three small jobs and a slow one whose worker was killed
    with ``kill -9`` mid-run (serve starts a new worker; the job runs again after its 3 s lease)."""
    data = tmp_path_factory.mktemp("observed")
    service = ServiceProcess(data, ["--data-dir", str(data)])
    service.env.update(
        QSTATION_LOG_FORMAT="json", QSTATION_CHUNK_SHOTS="32768", QSTATION_EXECUTION_PROCESSES="1"
    )
    service.add_user(ALICE)
    service.start()
    try:
        backend = client(service.url, "H1-1E")
        small = [backend.process_circuit(small_circuit(), n_shots=SHOTS) for _ in range(SMALL_JOBS)]
        for handle in small:
            assert wait_until_done(backend, handle) is StatusEnum.COMPLETED
        slow = backend.process_circuit(slow_circuit(), n_shots=SLOW_SHOTS, noisy_simulation=False)
        killed = wait_for_value(lambda: worker_running(service, str(slow[0])), 60)
        os.kill(killed["pid"], signal.SIGKILL)
        assert wait_until_done(backend, slow, timeout=120) is StatusEnum.COMPLETED
        status = json.loads(qstation("status", "--json", *service.store_args))
        yield {
            "service": service,
            "metrics": scrape(service),
            "status": status,
            "killed": killed,
            "jobs": [str(handle[0]) for handle in (*small, slow)],
        }
    finally:
        service.stop()


def worker_running(service: ServiceProcess, job_id: str) -> dict[str, Any] | None:
    store = open_store(f"sqlite:///{service.data_dir / 'qstation.db'}")
    try:
        workers = store.workers.listing()
    finally:
        store.close()
    return next(({"pid": w.pid} for w in workers if w.job_id == job_id), None)


def wait_for_value(probe: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while (value := probe()) is None:
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.02)
    return value


def scrape(service: ServiceProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = requests.get(service.url + "metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_count_jobs_shots_and_the_kill(observed: dict[str, Any]) -> None:
    metrics = observed["metrics"]
    target = (("machine", "H1-1E"),)
    jobs = SMALL_JOBS + 1
    assert metrics["qstation_jobs_submitted_total", target] == jobs
    assert metrics["qstation_jobs_finished_total", (*target, ("status", "completed"))] == jobs
    assert metrics["qstation_shots_executed_total", target] == SMALL_JOBS * SHOTS + SLOW_SHOTS
    assert metrics["qstation_queue_depth", target] == 0
    assert metrics["qstation_jobs_running", target] == 0
    assert metrics["qstation_queue_wait_seconds_count", target] == jobs
    assert metrics["qstation_run_seconds_count", target] == jobs
    assert metrics["qstation_run_seconds_bucket", (("le", "+Inf"), *target)] == jobs
    assert metrics["qstation_lease_expiries_total", ()] == 1
    assert metrics["qstation_attempts_ended_total", (("outcome", "lease_expired"),)] == 1
    assert metrics["qstation_workers_alive", ()] == 1  # the new one; the killed one is lost
    assert metrics["process_resident_memory_bytes", ()] > 0


def test_every_api_process_gives_the_same_fleet_figures(observed: dict[str, Any]) -> None:
    service = observed["service"]
    fleet = {key: value for key, value in observed["metrics"].items() if "qstation_" in key[0]}
    for _ in range(6):  # two API processes share the port: each is asked a few times
        again = {key: value for key, value in scrape(service).items() if "qstation_" in key[0]}
        stable = {key: value for key, value in again.items() if "oldest" not in key[0]}
        assert stable == {key: value for key, value in fleet.items() if key in stable}


def test_status_shows_the_killed_worker_lost_and_its_successor_alive(
    observed: dict[str, Any],
) -> None:
    workers = {worker["pid"]: worker for worker in observed["status"]["workers"]}
    assert workers[observed["killed"]["pid"]]["state"] == "lost", json.dumps(observed["status"])
    assert [w["state"] for pid, w in workers.items() if pid != observed["killed"]["pid"]] == [
        "alive"
    ]
    assert observed["status"]["queues"] == []


def test_json_logs_carry_a_line_for_every_finished_job_and_uvicorns_lines(
    observed: dict[str, Any],
) -> None:
    log_path: Path = observed["service"].log_path
    lines = log_path.read_text().splitlines()
    banner = [line for line in lines if line.startswith("qstation ")]  # serve's note to a human
    records = [json.loads(line) for line in lines if line not in banner]
    assert len(banner) == 1
    completed = {
        record["job"]: record
        for record in records
        if record.get("status") == "completed" and "job" in record
    }
    assert set(completed) == set(observed["jobs"])
    assert all(
        record["organisation"] and record["worker"] and record["level"] == "INFO"
        for record in completed.values()
    )
    assert any(record["logger"].startswith("uvicorn") for record in records)
    runs = [
        r for r in records if r.get("job") == observed["jobs"][-1] and "runs job" in r["message"]
    ]
    assert (
        len(runs) == 2 and "attempt 1 " in runs[0]["message"] and "attempt 2 " in runs[1]["message"]
    )
