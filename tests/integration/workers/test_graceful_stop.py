"""A worker stopped with SIGTERM hands its chunk back at once: another worker resumes the job
within a second, and the job's results are those of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qstation.model import JobStatus
from qstation.store import JobStore, open_store
from qstation.store.job_states import HANDED_BACK
from tests.integration.workers.jobs import OWNER, qasm, submit

pytestmark = pytest.mark.slow

# a mid-circuit reset under noise splits the shots into groups: 8,192 shots of 18 qubits take
# seconds (5 s on two processes, measured on 2026-12-06; 12 qubits took 0.4 s)
SLOW = qasm(
    18,
    "".join(f"U1q(0.5*pi,{0.1 * q}*pi) q[{q}];\n" for q in range(18))
    + "".join(f"RZZ(0.3*pi) q[{q}],q[{q + 1}];\n" for q in range(17))
    + "reset q[0];\nU1q(0.5*pi,0) q[0];\n",
)
SHOTS = 8192  # one chunk: the second worker idles until the first hands it back


class WorkerProcess:
    def __init__(self, store_url: str, data_dir: Path) -> None:
        environment = {
            **os.environ,
            "QSTATION_DATABASE": store_url,
            "QSTATION_DATA_DIR": str(data_dir),
            "QSTATION_CHUNK_SHOTS": str(SHOTS),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qstation", "worker"], env=environment
        )
        self.id = f"{socket.gethostname()}:{self.process.pid}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def start_worker(store_url: str, tmp_path: Path) -> Iterator[Callable[[], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        started.append(WorkerProcess(store_url, tmp_path))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def job_store(store_url: str) -> Iterator[JobStore]:
    opened = open_store(store_url)
    opened.accounts.create_user(OWNER)
    yield opened
    opened.close()


def holder(store: JobStore, job_id: str) -> str | None:
    """The worker running the job now: the one whose attempt has not ended."""
    attempts = store.jobs.attempts(job_id)
    return attempts[-1].worker_id if attempts and attempts[-1].outcome is None else None


def wait_for(condition: Callable[[], bool], timeout: float, step: float = 0.005) -> float:
    """Seconds until ``condition`` held; fails the test after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "condition not reached in time"
        time.sleep(step)
    return time.monotonic() - started


def test_sigterm_during_a_chunk_hands_it_to_another_worker_within_a_second(
    job_store: JobStore, start_worker: Callable[[], WorkerProcess]
) -> None:
    workers = {worker.id: worker for worker in (start_worker(), start_worker())}
    wait_for(
        lambda: set(workers) <= {w.id for w in job_store.workers.listing() if w.stopped_at is None},
        60,
    )  # both idle and registered: whichever takes the job, the other is free
    job = submit(job_store, SLOW, count=SHOTS)
    wait_for(lambda: holder(job_store, job.id) in workers, 60)
    first = workers.pop(str(holder(job_store, job.id)))
    (second,) = workers.values()
    assert job_store.jobs.get(job.id, None).shots_done == 0  # still running its chunk

    first.process.send_signal(signal.SIGTERM)
    resumed = wait_for(lambda: holder(job_store, job.id) == second.id, 5)

    print(f"another worker resumed the chunk {resumed:.3f} s after SIGTERM")
    assert resumed < 1.0
    assert first.process.wait(timeout=10) == 0
    handed_back, running = job_store.jobs.attempts(job.id)
    assert (handed_back.worker_id, handed_back.outcome) == (first.id, HANDED_BACK)
    assert running.worker_id == second.id and running.outcome is None
    stopped = {w.id: w for w in job_store.workers.listing()}[first.id]
    assert stopped.stopped_at is not None and stopped.job_id is None

    wait_for(lambda: job_store.jobs.get(job.id, None).status is JobStatus.COMPLETED, 120, 0.1)
    interrupted = job_store.jobs.get(job.id, None)
    again = submit(job_store, SLOW, count=SHOTS)  # the same seed, run by one worker throughout
    wait_for(lambda: job_store.jobs.get(again.id, None).status is JobStatus.COMPLETED, 120, 0.1)
    assert interrupted.results == job_store.jobs.get(again.id, None).results
    assert interrupted.attempts <= 1  # the hand-back is not counted as a cut-off
