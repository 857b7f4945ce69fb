"""Batches hold their target: the batch's jobs run back to back while others wait, until the
batch ends, goes idle for a minute, or costs more than its limit. The clock is passed in."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from qstation.model import ExecutionOutcome, JobStatus, NewJob, User
from qstation.scheduling.calendar import CalendarEvent, EventKind
from qstation.store import JobStore

T0 = datetime(2026, 11, 24, 9, 0, 0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def users(store: JobStore) -> dict[str, User]:
    made = {}
    for organisation in ("batcher", "other"):
        store.organisations.create(organisation, T0)
        user = User(
            uuid.uuid4().hex, f"u@{organisation}.org", "x", "DEFAULT", T0,
            organisation=organisation,
        )  # fmt: skip
        made[organisation] = store.accounts.create_user(user)
    return made


def submit(
    store: JobStore,
    user: User,
    name: str,
    seconds: float,
    machine: str = "H1-1",
    batch_id: str | None = None,
    limit: float | None = None,
    end: bool = False,
) -> str:
    job_id = f"{name}-{uuid.uuid4().hex[:6]}"
    store.jobs.create(
        NewJob(
            id=job_id,
            owner_id=user.id,
            name=name,
            machine=machine,
            language="OPENQASM 2.0",
            program="OPENQASM 2.0;",
            count=1,
            options={},
            group="DEFAULT",
            seed=0,
            submitted_at=at(seconds),
            organisation=user.organisation,
            batch_id=job_id if limit is not None else batch_id,
            batch_limit=limit,
            batch_end=end,
        )
    )
    return job_id


def run_next(store: JobStore, seconds: float, cost: float = 10.0) -> str | None:
    """Claim at ``seconds`` and finish a second later; the job's name, or None."""
    claim = store.dispatch.claim_next_job("w", at(seconds), 60.0, 3)
    if claim is None:
        return None
    outcome = ExecutionOutcome(JobStatus.COMPLETED, results={}, cost=cost)
    store.jobs.finish_attempt(claim.attempt_id, outcome, at(seconds + 1))
    return claim.job.name


def test_a_four_job_batch_runs_back_to_back_while_others_wait(
    store: JobStore, users: dict[str, User]
) -> None:
    other, batcher = users["other"], users["batcher"]
    submit(store, other, "other-1", 0)
    first = submit(store, batcher, "batch-1", 1, limit=100)
    submit(store, other, "other-2", 2)
    submit(store, other, "elsewhere", 3, machine="H2-1")

    assert run_next(store, 10) == "other-1"  # the batch waits its turn like any job
    assert run_next(store, 12) == "batch-1"  # now it holds H1-1
    assert run_next(store, 14) == "elsewhere"  # another target is not held
    assert run_next(store, 15) is None  # other-2 waits for the batch's next job
    submit(store, batcher, "batch-2", 20, batch_id=first)
    assert run_next(store, 21) == "batch-2"
    submit(store, batcher, "batch-3", 40, batch_id=first)
    submit(store, batcher, "batch-4", 41, batch_id=first, end=True)
    assert run_next(store, 42) == "batch-3"
    assert run_next(store, 44) == "batch-4"
    assert run_next(store, 46) == "other-2"  # batch-end released the target


def test_a_batch_left_open_closes_after_its_idle_limit(
    store: JobStore, users: dict[str, User]
) -> None:
    first = submit(store, users["batcher"], "batch-1", 0, limit=100)
    assert run_next(store, 1) == "batch-1"  # finished at 2 s
    submit(store, users["other"], "other-1", 3)
    assert run_next(store, 30) is None
    assert run_next(store, 61) is None  # 59 s after the batch's last activity
    assert run_next(store, 63) == "other-1"  # 61 s: closed
    late = submit(store, users["batcher"], "batch-late", 70, batch_id=first)
    submit(store, users["other"], "other-2", 71)
    assert run_next(store, 72) == "batch-late"  # an ordinary job now, first by age
    assert late and run_next(store, 74) == "other-2"


def test_a_batch_past_its_cost_limit_closes(store: JobStore, users: dict[str, User]) -> None:
    first = submit(store, users["batcher"], "batch-1", 0, limit=15)
    submit(store, users["other"], "other-1", 1)
    assert run_next(store, 2, cost=10) == "batch-1"
    submit(store, users["batcher"], "batch-2", 3, batch_id=first)
    assert run_next(store, 4, cost=10) == "batch-2"  # 20 HQCs now: past 15
    submit(store, users["batcher"], "batch-3", 5, batch_id=first)
    assert run_next(store, 6) == "other-1"  # the batch closed; other-1 is older
    assert run_next(store, 8) == "batch-3"


def test_a_batch_does_not_keep_another_organisation_out_of_its_reservation(
    store: JobStore, users: dict[str, User]
) -> None:
    store.calendar.add(CalendarEvent("H1-1", EventKind.ONLINE, at(0), at(3600)))
    first = submit(store, users["batcher"], "batch-1", 0, limit=100)
    assert run_next(store, 1) == "batch-1"
    store.calendar.add(
        CalendarEvent("H1-1", EventKind.RESERVATION, at(10), at(3600), organisation="other")
    )
    submit(store, users["batcher"], "batch-2", 11, batch_id=first)
    submit(store, users["other"], "reserved", 12)
    assert run_next(store, 13) == "reserved"  # the batch cannot run here now; its hold yields
