"""A real worker on a real SQLite store: failures end jobs with a cause, the worker lives on."""

from __future__ import annotations

import base64
import logging
import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest
import wasmtime
from sqlalchemy import create_engine, text

from qstation.model import JobStatus
from qstation.service.clock import utc_now
from qstation.store import JobStore, open_store
from tests.conftest import POSTGRES_SERVER_URL, fresh_postgres_database
from tests.integration.workers.conftest import MakeWorker
from tests.integration.workers.jobs import OWNER, qasm, submit


def test_execution_beyond_its_memory_limit_fails_the_job_and_the_worker_goes_on(
    store: JobStore,
    make_worker: MakeWorker,
) -> None:
    hungry = submit(store, qasm(20, "".join(f"U1q(0.5*pi,0) q[{q}];\n" for q in range(20))))
    # A 20-qubit emulation needs ~36 MiB; with 20 MiB either the engine's own check refuses it
    # or the child's address-space limit stops it, depending on what is loaded before the fork.
    tight = make_worker(store, execution_memory_bytes=20 * 2**20)
    assert tight.run_once()
    failed = store.jobs.get(hungry.id, None)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None and failed.error.startswith(
        f"2000: Execution error: job {hungry.id}: "
    )
    assert (
        "ran out of its memory limit of 20 MiB" in failed.error
        or "needs about 36 MiB, above this worker's limit of 20 MiB" in failed.error
    )
    roomy = make_worker(store)
    again = submit(store, qasm(2))
    assert roomy.run_once()
    assert store.jobs.get(again.id, None).status is JobStatus.COMPLETED


def test_killed_execution_child_fails_the_job_with_the_signal(
    store: JobStore, make_worker: MakeWorker
) -> None:
    slow = submit(store, qasm(12, "reset q[0];\nU1q(0.5*pi,0) q[0];\n" * 40), count=10_000)
    running = make_worker(store)
    thread = threading.Thread(target=running.run_once)
    thread.start()
    deadline = time.monotonic() + 30
    while running.executing_pid is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child = running.executing_pid
    assert child is not None
    time.sleep(1.0)  # past compiling (well under a second), deep in 10,000 trajectories
    os.kill(child, signal.SIGKILL)
    thread.join(timeout=30)
    failed = store.jobs.get(slow.id, None)
    assert failed.status is JobStatus.FAILED
    assert failed.error == (
        f"2000: Execution error: job {slow.id}: "
        "the execution process terminated unexpectedly (signal 9)"
    )


def test_cancel_of_a_running_job_stops_its_child(store: JobStore, make_worker: MakeWorker) -> None:
    slow = submit(store, qasm(12, "reset q[0];\nU1q(0.5*pi,0) q[0];\n" * 40), count=10_000)
    running = make_worker(store, lease_seconds=0.3)
    thread = threading.Thread(target=running.run_once)
    thread.start()
    deadline = time.monotonic() + 30
    while running.executing_pid is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child = running.executing_pid
    assert store.jobs.cancel(slow.id, OWNER.id, utc_now()).status is JobStatus.CANCELING
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert store.jobs.get(slow.id, None).status is JobStatus.CANCELED
    assert child is not None
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not psutil.pid_exists(child)  # stopped and reaped


def test_program_that_crashes_the_qir_reader_fails_as_a_compile_error(
    store: JobStore, make_worker: MakeWorker
) -> None:
    # Three random byte changes to pytket-qir bitcode that make LLVM's reader abort the process
    # (found by mutation fuzzing; no in-process check can catch it).
    crashing = (Path(__file__).parents[2] / "data" / "qir_aborts_pyqir_reader.b64").read_text()
    job = submit(store, crashing, language="QIR 1.0", count=1)
    running = make_worker(store)
    assert running.run_once()
    failed = store.jobs.get(job.id, None)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None
    assert failed.error.startswith(f"1000: Compile error: job {job.id}: the program crashed")
    following = submit(store, qasm(1))
    assert running.run_once()
    assert store.jobs.get(following.id, None).status is JobStatus.COMPLETED


@pytest.mark.postgres
def test_worker_outlives_an_unavailable_database_and_resumes(
    caplog: pytest.LogCaptureFixture,
    make_worker: MakeWorker,
) -> None:
    with fresh_postgres_database() as url:
        store = open_store(url)
        store.accounts.create_user(OWNER)
        job = submit(store, qasm(1))
        name = url.rsplit("/", 1)[1]
        admin = create_engine(f"{POSTGRES_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")

        def set_connections(allowed: bool) -> None:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allowed}'))
                if not allowed:
                    conn.execute(
                        text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :name AND pid <> pg_backend_pid()"),
                        {"name": name},
                    )  # fmt: skip

        running = make_worker(store, poll_interval_seconds=0.01)
        loops = 0

        def stop_after_outage() -> bool:
            nonlocal loops
            loops += 1
            if loops == 4:  # three failed rounds while the database refused connections
                set_connections(True)
            return loops > 4 and store.jobs.get(job.id, None).status is JobStatus.COMPLETED

        try:
            set_connections(False)
            with caplog.at_level(logging.WARNING, logger="qstation.worker.supervisor"):
                running.run_forever(stop_after_outage)
        finally:
            set_connections(True)
            admin.dispose()
            store.close()
        outages = [r for r in caplog.records if "store unavailable" in r.getMessage()]
        assert len(outages) == 3


def test_compiling_past_the_compile_time_limit_is_a_compile_error(
    store: JobStore, make_worker: MakeWorker
) -> None:
    # 400 gates take pytket's reader far longer than a millisecond to parse.
    job = submit(store, qasm(10, "U1q(0.5*pi,0.25*pi) q[3];\n" * 400))
    running = make_worker(store, compile_timeout_seconds=0.001)
    assert running.run_once()
    failed = store.jobs.get(job.id, None)
    assert failed.status is JobStatus.FAILED
    assert failed.error == (
        f"1000: Compile error: job {job.id}: compiling the program took longer than 0.001 s"
    )


@pytest.mark.parametrize(
    "feedback",
    ["", "U1q(0.5*pi,0) q[0];\nmeasure q[0] -> c[0];\nif(c==1) U1q(1.0*pi,0) q[0];\n"],
    ids=["sampled-once", "with-feedback"],
)
def test_wasm_instances_with_large_memories_fit_the_execution_limit(
    store: JobStore,
    feedback: str,
    make_worker: MakeWorker,
) -> None:
    """Each shot's instance holds a 16 MiB memory: 2,000 shots run within a 1 GiB limit
    because only a few shots' instances are alive at once, whichever engine path runs them."""
    module = wasmtime.wat2wasm(
        "(module (memory 256) (global $calls (mut i32) (i32.const 0))"
        '  (func (export "count") (result i32)'
        "    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))"
        "    (global.get $calls)))"
    )
    program = qasm(1, f"creg r[32];\n{feedback}r = count();\nr = count();\n")
    job = submit(store, program, count=2000, cfl=base64.b64encode(module).decode())
    assert make_worker(store, execution_memory_bytes=2**30).run_once()

    done = store.jobs.get(job.id, None)
    assert done.status is JobStatus.COMPLETED, done.error
    assert done.results is not None and set(done.results["r"]) == {format(2, "032b")}
