"""Jobs, users and clock values for tests that talk to the job store directly."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

from qstation.model import ClaimedJob, ExecutionOutcome, JobStatus, NewJob, User
from qstation.store import JobStore, open_store

T0 = datetime(2026, 3, 1, 9, 30, 15, 123456)
LEASE = 30.0
ATTEMPTS = 3  # max_attempts where the attempt cap is not under test
OWNER = "a" * 32
FAMILY = "f" * 32
OTHER_OWNER = "b" * 32
RESULTS = {"c": ["01", "10", "11"]}

Result = TypeVar("Result")


def new_job(
    job_id: str | None = None, submitted_at: datetime = T0, owner_id: str = OWNER
) -> NewJob:
    return NewJob(
        id=job_id or uuid.uuid4().hex,
        owner_id=owner_id,
        name="bell pair",
        machine="H1-1E",
        language="OPENQASM 2.0",
        program='OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n',
        count=100,
        options={"simulator": "state-vector", "noise": {"p1": 1e-4}},
        group="research",
        seed=2**62 + 7,
        submitted_at=submitted_at,
        cfl="bell",
        max_cost=12.5,
    )


def new_user(email: str = "ada@example.org") -> User:
    return User(
        id=uuid.uuid4().hex,
        email=email,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        group="research",
        created_at=T0,
    )


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def completed(cost: float = 3.0) -> ExecutionOutcome:
    return ExecutionOutcome(status=JobStatus.COMPLETED, results=RESULTS, cost=cost)


def run_together(url: str, threads: int, work: Callable[[JobStore], Result]) -> list[Result]:
    """Start several threads at once, each opening its own store on ``url`` like a process."""
    start = threading.Barrier(threads)

    def run() -> Result:
        start.wait()
        store = open_store(url)
        try:
            return work(store)
        finally:
            store.close()

    with ThreadPoolExecutor(threads) as pool:
        return [future.result() for future in [pool.submit(run) for _ in range(threads)]]


def chunk_of(claim: ClaimedJob, label: str = "c") -> ExecutionOutcome:
    """A completed chunk whose every shot reads its own index: order shows in the results."""
    results = {label: [f"{shot:07b}" for shot in claim.shots]}
    return ExecutionOutcome(status=JobStatus.COMPLETED, results=results, cost=3.0)


def shots_read(stop: int, start: int = 0) -> dict[str, list[str]]:
    """What :func:`chunk_of` chunks covering shots ``start`` to ``stop`` join into."""
    return {"c": [f"{shot:07b}" for shot in range(start, stop)]}
