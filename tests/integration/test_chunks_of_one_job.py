"""Chunks of one job run by several workers at once, on SQLite and PostgreSQL: progress is an
exact prefix, results are joined once in shot order, the job is charged once."""

from __future__ import annotations

from sqlalchemy import func, select

from qstation.model import ExecutionOutcome, JobStatus
from qstation.store import JobStore
from qstation.store.schema import fair_share_usage, job_attempts
from tests.integration.stored_jobs import (
    ATTEMPTS,
    LEASE,
    OWNER,
    T0,
    at,
    chunk_of,
    new_job,
    shots_read,
)


def test_chunks_of_one_job_run_at_once_and_join_into_an_exact_prefix_charged_once(
    store: JobStore,
) -> None:
    job = store.jobs.create(new_job())  # 100 shots
    first, second, third = (
        store.dispatch.claim_next_job(f"w{n}", at(n), LEASE, ATTEMPTS, chunk_shots=40)
        for n in range(3)
    )
    assert first and second and third
    assert [c.shots for c in (first, second, third)] == [
        range(0, 40),
        range(40, 80),
        range(80, 100),
    ]
    assert store.dispatch.claim_next_job("w3", at(3), LEASE, ATTEMPTS, chunk_shots=40) is None

    assert store.jobs.finish_attempt(third.attempt_id, chunk_of(third), at(4)) is JobStatus.RUNNING
    assert (
        store.jobs.finish_attempt(second.attempt_id, chunk_of(second), at(5)) is JobStatus.RUNNING
    )
    waiting = store.jobs.get(job.id, OWNER)
    assert (waiting.shots_done, waiting.results) == (0, None)  # nothing before shot 40 yet
    assert (
        store.jobs.finish_attempt(first.attempt_id, chunk_of(first), at(6)) is JobStatus.COMPLETED
    )

    done = store.jobs.get(job.id, OWNER)
    assert done.results == shots_read(100)
    assert (done.shots_done, done.cost, done.finished_at) == (100, 3.0, at(6))
    outcomes = {a.id: a.outcome for a in store.jobs.attempts(job.id)}
    assert outcomes == {first.attempt_id: "completed", second.attempt_id: "chunk",
                        third.attempt_id: "chunk"}  # fmt: skip
    with store.database.read() as conn:
        assert conn.scalar(select(func.sum(fair_share_usage.c.hqcs))) == 3.0


def test_a_failed_chunk_ends_the_job_and_stops_its_other_chunks(store: JobStore) -> None:
    job = store.jobs.create(new_job())
    first = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS, chunk_shots=50)
    second = store.dispatch.claim_next_job("w2", T0, LEASE, ATTEMPTS, chunk_shots=50)
    assert first and second
    failure = ExecutionOutcome(status=JobStatus.FAILED, error="2000: Execution error: boom")

    assert store.jobs.finish_attempt(second.attempt_id, failure, at(1)) is JobStatus.FAILED

    assert store.jobs.renew_lease(first.attempt_id, at(2), LEASE).owned is False
    assert store.jobs.finish_attempt(first.attempt_id, chunk_of(first), at(3)) is None
    failed = store.jobs.get(job.id, OWNER)
    assert (failed.status, failed.error, failed.results) == (
        JobStatus.FAILED, "2000: Execution error: boom", None,
    )  # fmt: skip
    assert sorted(a.outcome or "" for a in store.jobs.attempts(job.id)) == ["abandoned", "failed"]


def test_cancel_with_chunks_running_ends_when_the_first_of_them_reports(
    store: JobStore,
) -> None:
    job = store.jobs.create(new_job())
    first = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS, chunk_shots=50)
    second = store.dispatch.claim_next_job("w2", T0, LEASE, ATTEMPTS, chunk_shots=50)
    assert first and second
    assert store.jobs.cancel(job.id, OWNER, at(1)).status is JobStatus.CANCELING
    assert store.jobs.renew_lease(second.attempt_id, at(1), LEASE).cancel_requested is True

    assert store.jobs.finish_attempt(first.attempt_id, chunk_of(first), at(2)) is JobStatus.CANCELED

    canceled = store.jobs.get(job.id, OWNER)
    assert (canceled.shots_done, canceled.results) == (50, shots_read(50))
    assert store.jobs.renew_lease(second.attempt_id, at(3), LEASE).owned is False


def test_a_lost_chunk_runs_again_while_the_others_keep_their_results(store: JobStore) -> None:
    job = store.jobs.create(new_job())
    first = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS, chunk_shots=50)
    second = store.dispatch.claim_next_job("w2", T0, LEASE, ATTEMPTS, chunk_shots=50)
    assert first and second
    store.jobs.finish_attempt(second.attempt_id, chunk_of(second), at(1))  # w1 then dies

    again = store.dispatch.claim_next_job("w3", at(LEASE + 1), LEASE, ATTEMPTS, chunk_shots=50)

    assert again is not None and again.shots == range(0, 50) and again.job.attempts == 2
    assert store.jobs.finish_attempt(first.attempt_id, chunk_of(first), at(LEASE + 2)) is None
    assert store.jobs.finish_attempt(again.attempt_id, chunk_of(again), at(LEASE + 3)) is (
        JobStatus.COMPLETED
    )
    assert store.jobs.get(job.id, OWNER).results == shots_read(100)


def test_a_handed_back_chunk_is_taken_over_at_once_and_not_counted_as_a_cut_off(
    store: JobStore,
) -> None:
    job = store.jobs.create(new_job())
    first = store.dispatch.claim_next_job("w1", T0, LEASE, 1)
    assert first is not None
    assert store.jobs.hand_back(first.attempt_id, at(1)) is True
    assert store.jobs.renew_lease(first.attempt_id, at(1), LEASE).owned is False

    again = store.dispatch.claim_next_job("w2", at(1.001), LEASE, 1)  # max_attempts 1 still

    assert again is not None and again.job.id == job.id and again.shots == first.shots
    assert again.job.attempts == 1
    handed_back, running = store.jobs.attempts(job.id)
    assert (handed_back.outcome, handed_back.ended_at, running.outcome) == (
        "handed_back", at(1.001), None,
    )  # fmt: skip


def kept_chunk_results(store: JobStore, job_id: str) -> int:
    """How many of the job's attempts still hold results of their own."""
    with store.database.read() as conn:
        kept = select(func.count()).where(
            job_attempts.c.job_id == job_id, job_attempts.c.results.is_not(None)
        )
        return int(conn.scalar(kept) or 0)


def test_a_running_jobs_results_are_its_done_prefix_and_are_joined_once_when_it_ends(
    store: JobStore,
) -> None:
    job = store.jobs.create(new_job())  # 100 shots
    claims = [
        store.dispatch.claim_next_job(f"w{n}", at(n), LEASE, ATTEMPTS, chunk_shots=25)
        for n in range(4)
    ]
    assert all(claims)
    first, second, third, fourth = (claim for claim in claims if claim is not None)
    store.jobs.finish_attempt(first.attempt_id, chunk_of(first), at(5))
    store.jobs.finish_attempt(third.attempt_id, chunk_of(third), at(6))

    running = store.jobs.get(job.id, OWNER)
    assert (running.status, running.shots_done, running.results) == (
        JobStatus.RUNNING, 25, shots_read(25),
    )  # fmt: skip
    store.jobs.finish_attempt(second.attempt_id, chunk_of(second), at(7))
    running = store.jobs.get(job.id, OWNER)
    assert (running.shots_done, running.results) == (75, shots_read(75))
    assert kept_chunk_results(store, job.id) == 3  # the job's own row holds none yet

    store.jobs.finish_attempt(fourth.attempt_id, chunk_of(fourth), at(8))
    done = store.jobs.get(job.id, OWNER)
    assert (done.status, done.shots_done, done.results) == (
        JobStatus.COMPLETED, 100, shots_read(100),
    )  # fmt: skip
    assert kept_chunk_results(store, job.id) == 0


def test_canceling_a_job_between_chunks_keeps_the_results_of_its_done_prefix(
    store: JobStore,
) -> None:
    job = store.jobs.create(new_job())
    first = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS, chunk_shots=40)
    assert first is not None
    store.jobs.finish_attempt(first.attempt_id, chunk_of(first), at(1))  # no chunk runs now

    canceled = store.jobs.cancel(job.id, OWNER, at(2))

    assert (canceled.status, canceled.shots_done, canceled.results) == (
        JobStatus.CANCELED, 40, shots_read(40),
    )  # fmt: skip
    assert store.jobs.get(job.id, OWNER) == canceled
    assert kept_chunk_results(store, job.id) == 0


def test_a_job_given_up_on_after_some_chunks_keeps_the_results_of_its_done_prefix(
    store: JobStore,
) -> None:
    job = store.jobs.create(new_job())
    first = store.dispatch.claim_next_job("w1", T0, LEASE, 1, chunk_shots=50)
    second = store.dispatch.claim_next_job("w2", T0, LEASE, 1, chunk_shots=50)
    assert first and second
    store.jobs.finish_attempt(first.attempt_id, chunk_of(first), at(1))  # w2 then dies

    assert store.dispatch.claim_next_job("w3", at(LEASE + 1), LEASE, 1, chunk_shots=50) is None

    failed = store.jobs.get(job.id, OWNER)
    assert (failed.status, failed.shots_done, failed.results) == (
        JobStatus.FAILED, 50, shots_read(50),
    )  # fmt: skip
    assert kept_chunk_results(store, job.id) == 0
