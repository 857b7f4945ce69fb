"""A new waiting job wakes an idle worker at once, on both databases; the poll is the fallback."""

from __future__ import annotations

import threading
import time
import uuid

from qstation.model import NewJob
from qstation.service.clock import utc_now
from qstation.store import JobStore


def new_job() -> NewJob:
    return NewJob(
        id=uuid.uuid4().hex, owner_id="o" * 32, name="", machine="H1-1SC",
        language="OPENQASM 2.0", program="", count=1, options={}, group="DEFAULT", seed=0,
        submitted_at=utc_now(),
    )  # fmt: skip


def test_a_submission_wakes_a_waiting_worker_long_before_its_poll(store: JobStore) -> None:
    listener = store.database.wakeup_listener()
    try:
        listener.wait(0.01)  # nothing pending: returns after its timeout
        woke = []

        def wait() -> None:
            started = time.monotonic()
            listener.wait(10.0)
            woke.append(time.monotonic() - started)

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.2)
        store.jobs.create(new_job())
        waiter.join(15)
        assert woke and woke[0] < 2.0  # the poll would have taken 10 s
    finally:
        listener.close()


def test_waiting_without_a_submission_takes_the_whole_timeout(store: JobStore) -> None:
    listener = store.database.wakeup_listener()
    try:
        started = time.monotonic()
        listener.wait(0.3)
        assert time.monotonic() - started >= 0.29
    finally:
        listener.close()
