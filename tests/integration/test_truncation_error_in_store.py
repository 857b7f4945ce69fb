"""The truncation error an approximate engine reports with each chunk, kept with its job on
SQLite and PostgreSQL: the job's status shows the largest of its chunks', while it runs and once
it is done; a job on an exact engine shows none."""

from __future__ import annotations

from dataclasses import replace

from qstation.api.wire import job_view
from qstation.model import ClaimedJob, ExecutionOutcome, JobStatus
from qstation.store import JobStore
from tests.integration.stored_jobs import ATTEMPTS, LEASE, OWNER, at, chunk_of, new_job


def truncated(claim: ClaimedJob, error: float) -> ExecutionOutcome:
    return replace(chunk_of(claim), truncation_error=error)


def test_a_jobs_status_shows_the_largest_truncation_error_of_its_chunks(store: JobStore) -> None:
    job = store.jobs.create(new_job())  # 100 shots
    first, second, third = (
        store.dispatch.claim_next_job(f"w{n}", at(n), LEASE, ATTEMPTS, chunk_shots=40)
        for n in range(3)
    )
    assert first and second and third

    finished = store.jobs.finish_attempt(second.attempt_id, truncated(second, 0.03), at(4))
    assert finished is JobStatus.RUNNING
    assert job_view(store.jobs.get(job.id, OWNER))["truncation-error"] == 0.03
    store.jobs.finish_attempt(third.attempt_id, truncated(third, 0.01), at(5))
    finished = store.jobs.finish_attempt(first.attempt_id, truncated(first, 0.02), at(6))
    assert finished is JobStatus.COMPLETED

    done = store.jobs.get(job.id, OWNER)
    assert job_view(done)["truncation-error"] == 0.03
    assert done.options == job.options  # as submitted
    assert done.shots_done == 100


def test_a_job_on_an_exact_engine_shows_no_truncation_error(store: JobStore) -> None:
    job = store.jobs.create(new_job())
    claim = store.dispatch.claim_next_job("w", at(1), LEASE, ATTEMPTS)
    assert claim is not None
    assert store.jobs.finish_attempt(claim.attempt_id, chunk_of(claim), at(2)) is (
        JobStatus.COMPLETED
    )
    assert "truncation-error" not in job_view(store.jobs.get(job.id, OWNER))
