"""The job store's contract, run unchanged on SQLite and on PostgreSQL.

The clock is always passed in, so lease expiry is tested without sleeping.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Dialect, Engine, create_engine, insert, inspect, select, text
from sqlalchemy.engine import make_url

from qstation import errors
from qstation.model import (
    ExecutionOutcome,
    Group,
    JobRecord,
    JobStatus,
    NewJob,
    User,
)
from qstation.store import JobStore, open_store
from qstation.store.accounts import SpentToken
from qstation.store.database import Database, create_store_engine
from qstation.store.job_states import LEASE_EXPIRED
from qstation.store.migrations import FIRST_SCHEMA_VERSION, LATEST, MIGRATIONS, migrate
from qstation.store.records import columns_of
from qstation.store.schema import (
    dispatch_lanes,
    fair_share_usage,
    jobs,
    metadata,
    schema_version,
    users,
)
from tests.conftest import POSTGRES_SERVER_URL, fresh_postgres_database
from tests.integration.stored_jobs import (
    ATTEMPTS,
    FAMILY,
    LEASE,
    OTHER_OWNER,
    OWNER,
    RESULTS,
    T0,
    at,
    completed,
    new_job,
    new_user,
    run_together,
)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    opened = create_store_engine(store_url)
    yield opened
    opened.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """For PostgreSQL-only behaviour: tests using it must be marked ``postgres``."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def postgres_store(postgres_url: str) -> Iterator[JobStore]:
    opened = open_store(postgres_url)
    yield opened
    opened.close()


def on_postgres_server(sql: str, **params: Any) -> Any:
    """Run one statement as an administrator, outside any store; return its first value."""
    server = create_engine(f"{POSTGRES_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            result = conn.execute(text(sql), params)
            return result.scalar() if result.returns_rows else None
    finally:
        server.dispose()


def terminate_connections(url: str) -> int:
    """Kill every connection to the database of ``url`` (waiting until they are gone)."""
    killed: int = on_postgres_server(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
        " WHERE datname = :database AND pid <> pg_backend_pid()",
        database=make_url(url).database,
    )
    return killed


def allow_connections(url: str, allowed: bool) -> None:
    setting = "true" if allowed else "false"
    on_postgres_server(f'ALTER DATABASE "{make_url(url).database}" ALLOW_CONNECTIONS {setting}')


# --- creating and reading jobs ----------------------------------------------------------


def test_created_job_is_queued_and_keeps_every_submitted_field(store: JobStore) -> None:
    job = new_job()

    created = store.jobs.create(job)

    assert created == JobRecord(
        id=job.id,
        owner_id=job.owner_id,
        name=job.name,
        machine=job.machine,
        language=job.language,
        program=job.program,
        count=job.count,
        options=job.options,
        group=job.group,
        seed=job.seed,
        status=JobStatus.QUEUED,
        submitted_at=job.submitted_at,
        cfl=job.cfl,
        max_cost=job.max_cost,
    )
    assert store.jobs.get(job.id, OWNER) == created


def test_created_job_is_committed_and_visible_to_another_store(
    store: JobStore, store_url: str
) -> None:
    created = store.jobs.create(new_job())

    other = open_store(store_url)
    try:
        assert other.jobs.get(created.id, OWNER) == created
    finally:
        other.close()


def test_job_of_another_owner_is_reported_exactly_like_an_unknown_job(store: JobStore) -> None:
    job = store.jobs.create(new_job())

    with pytest.raises(errors.JobNotFound) as foreign:
        store.jobs.get(job.id, OTHER_OWNER)
    with pytest.raises(errors.JobNotFound) as unknown:
        store.jobs.get(uuid.uuid4().hex, OWNER)

    assert (foreign.value.code, foreign.value.text) == (unknown.value.code, unknown.value.text)


def test_administrator_reads_any_owners_job(store: JobStore) -> None:
    job = store.jobs.create(new_job(owner_id=OTHER_OWNER))

    assert store.jobs.get(job.id, None) == job


# --- claiming ---------------------------------------------------------------------------


def test_claim_takes_the_oldest_submission_first_and_breaks_ties_by_id(store: JobStore) -> None:
    for job_id, submitted in [("j-late", at(20)), ("j-b", at(10)), ("j-a", at(10)), ("j-0", T0)]:
        store.jobs.create(new_job(job_id, submitted_at=submitted))

    claimed = [store.dispatch.claim_next_job("w1", at(60), LEASE, ATTEMPTS) for _ in range(5)]

    assert [c.job.id if c else None for c in claimed] == ["j-0", "j-a", "j-b", "j-late", None]


def test_claim_starts_the_job_under_a_lease_and_records_an_attempt(store: JobStore) -> None:
    job = store.jobs.create(new_job())

    claimed = store.dispatch.claim_next_job("w1", at(5), LEASE, ATTEMPTS)

    assert claimed is not None
    assert claimed.worker_id == "w1"
    assert claimed.lease_expires_at == at(5 + LEASE)
    assert claimed.job.id == job.id
    assert claimed.job.status is JobStatus.RUNNING
    assert claimed.job.started_at == at(5)
    assert claimed.job.attempts == 1
    assert store.jobs.get(job.id, OWNER) == claimed.job
    [attempt] = store.jobs.attempts(job.id)
    assert (attempt.id, attempt.worker_id, attempt.started_at) == (claimed.attempt_id, "w1", at(5))
    assert (attempt.ended_at, attempt.outcome) == (None, None)


def test_claim_finds_nothing_in_an_empty_store(store: JobStore) -> None:
    assert store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS) is None


def test_running_job_under_a_live_lease_is_not_claimed_again(store: JobStore) -> None:
    store.jobs.create(new_job())
    store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)

    assert store.dispatch.claim_next_job("w2", at(LEASE - 1), LEASE, ATTEMPTS) is None


def test_expired_lease_is_reclaimed_as_a_new_attempt_and_the_stale_worker_cannot_finish(
    store: JobStore,
) -> None:
    job = store.jobs.create(new_job())
    first = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert first is not None

    second = store.dispatch.claim_next_job("w2", at(LEASE + 1), LEASE, ATTEMPTS)

    assert second is not None
    assert second.job.id == job.id
    assert second.attempt_id != first.attempt_id
    assert second.job.attempts == 2
    assert second.job.started_at == T0  # the job started when it was first claimed
    stale, current = store.jobs.attempts(job.id)
    assert (stale.ended_at, stale.outcome) == (at(LEASE + 1), LEASE_EXPIRED)
    assert (current.id, current.ended_at) == (second.attempt_id, None)

    assert store.jobs.renew_lease(first.attempt_id, at(LEASE + 2), LEASE).owned is False
    assert store.jobs.finish_attempt(first.attempt_id, completed(), at(LEASE + 3)) is None
    assert store.jobs.get(job.id, OWNER) == second.job

    assert store.jobs.finish_attempt(second.attempt_id, completed(), at(LEASE + 4)) is not None
    assert store.jobs.get(job.id, OWNER).status is JobStatus.COMPLETED


def cut_off_error(job_id: str, attempts: int) -> str:
    return (
        f"2000: Execution error: job {job_id}: its execution was cut off {attempts} times"
        " (each time its worker stopped without reporting); giving up"
    )


@pytest.mark.parametrize("max_attempts", [1, 2])
def test_job_cut_off_max_attempts_times_ends_failed_instead_of_running_again(
    store: JobStore, max_attempts: int
) -> None:
    job = store.jobs.create(new_job())
    claims = []
    for attempt in range(max_attempts):  # each claim comes after the previous lease expired
        claim = store.dispatch.claim_next_job(
            f"w{attempt}", at(attempt * (LEASE + 1)), LEASE, max_attempts
        )
        assert claim is not None
        assert (claim.job.id, claim.job.attempts) == (job.id, attempt + 1)
        claims.append(claim)
    given_up_at = at(max_attempts * (LEASE + 1))

    assert store.dispatch.claim_next_job("w-next", given_up_at, LEASE, max_attempts) is None

    failed = store.jobs.get(job.id, OWNER)
    assert (failed.status, failed.started_at, failed.finished_at, failed.attempts) == (
        JobStatus.FAILED,
        T0,
        given_up_at,
        max_attempts,
    )
    assert failed.error == cut_off_error(job.id, max_attempts)
    assert [(a.id, a.ended_at, a.outcome) for a in store.jobs.attempts(job.id)] == [
        (claim.attempt_id, at((i + 1) * (LEASE + 1)), LEASE_EXPIRED)
        for i, claim in enumerate(claims)
    ]
    last = claims[-1].attempt_id
    assert store.jobs.renew_lease(last, given_up_at, LEASE).owned is False
    assert store.jobs.finish_attempt(last, completed(), given_up_at) is None
    assert store.jobs.get(job.id, OWNER) == failed


def test_claim_gives_up_on_a_job_cut_off_too_often_and_takes_the_next_one(
    store: JobStore,
) -> None:
    doomed = store.jobs.create(new_job("j-doomed", submitted_at=T0))
    waiting = store.jobs.create(new_job("j-waiting", submitted_at=at(1)))
    for attempt in range(2):
        claim = store.dispatch.claim_next_job("w1", at(attempt * (LEASE + 1)), LEASE, 2)
        assert claim is not None
        assert claim.job.id == doomed.id

    next_claim = store.dispatch.claim_next_job("w2", at(2 * (LEASE + 1)), LEASE, 2)

    assert next_claim is not None
    assert (next_claim.job.id, next_claim.job.attempts) == (waiting.id, 1)
    failed = store.jobs.get(doomed.id, OWNER)
    assert (failed.status, failed.error) == (JobStatus.FAILED, cut_off_error(doomed.id, 2))


def test_job_at_its_attempt_cap_keeps_running_while_its_lease_lives(store: JobStore) -> None:
    job = store.jobs.create(new_job())
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, 1)
    assert claimed is not None

    assert store.dispatch.claim_next_job("w2", at(LEASE - 1), LEASE, 1) is None

    assert store.jobs.get(job.id, OWNER) == claimed.job
    assert store.jobs.finish_attempt(claimed.attempt_id, completed(), at(LEASE - 1)) is not None
    assert store.jobs.get(job.id, OWNER).status is JobStatus.COMPLETED


def test_canceling_job_cut_off_at_its_attempt_cap_ends_canceled_not_failed(
    store: JobStore,
) -> None:
    job = store.jobs.create(new_job())
    store.dispatch.claim_next_job("w1", T0, LEASE, 1)
    store.jobs.cancel(job.id, OWNER, at(1))

    assert store.dispatch.claim_next_job("w2", at(LEASE + 1), LEASE, 1) is None

    canceled = store.jobs.get(job.id, OWNER)
    assert (canceled.status, canceled.error) == (JobStatus.CANCELED, None)


def test_attempt_cap_below_one_is_refused(store: JobStore) -> None:
    store.jobs.create(new_job())

    with pytest.raises(ValueError, match="max_attempts"):
        store.dispatch.claim_next_job("w1", T0, LEASE, 0)


def test_concurrent_workers_never_claim_the_same_job(store: JobStore, store_url: str) -> None:
    job_ids = {store.jobs.create(new_job(submitted_at=at(i))).id for i in range(40)}

    def claim_all(worker: JobStore) -> list[str]:
        worker_id = uuid.uuid4().hex
        claimed = []
        while (
            claim := worker.dispatch.claim_next_job(worker_id, at(100), 3600, ATTEMPTS)
        ) is not None:
            claimed.append(claim.job.id)
        return claimed

    per_worker = run_together(store_url, 4, claim_all)

    every_claim = [job_id for claims in per_worker for job_id in claims]
    assert sorted(every_claim) == sorted(job_ids)
    assert all(len(store.jobs.attempts(job_id)) == 1 for job_id in job_ids)


# --- leases -----------------------------------------------------------------------------


def test_renewed_lease_keeps_the_job_from_other_workers(store: JobStore) -> None:
    store.jobs.create(new_job())
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert claimed is not None

    state = store.jobs.renew_lease(claimed.attempt_id, at(LEASE - 1), LEASE)

    assert (state.owned, state.cancel_requested) == (True, False)
    assert store.dispatch.claim_next_job("w2", at(LEASE + 1), LEASE, ATTEMPTS) is None
    assert store.dispatch.claim_next_job("w2", at(2 * LEASE), LEASE, ATTEMPTS) is not None


def test_renew_lease_of_a_finished_attempt_reports_the_job_is_no_longer_owned(
    store: JobStore,
) -> None:
    store.jobs.create(new_job())
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert claimed is not None
    store.jobs.finish_attempt(claimed.attempt_id, completed(), at(1))

    state = store.jobs.renew_lease(claimed.attempt_id, at(2), LEASE)

    assert (state.owned, state.cancel_requested) == (False, False)


def test_renew_lease_tells_the_worker_that_a_cancel_was_requested(store: JobStore) -> None:
    job = store.jobs.create(new_job())
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert claimed is not None
    store.jobs.cancel(job.id, OWNER, at(1))

    state = store.jobs.renew_lease(claimed.attempt_id, at(2), LEASE)

    assert (state.owned, state.cancel_requested) == (True, True)


# --- finishing --------------------------------------------------------------------------


def test_completed_attempt_stores_results_and_cost_and_closes_the_attempt(
    store: JobStore,
) -> None:
    job = store.jobs.create(new_job())
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert claimed is not None

    assert store.jobs.finish_attempt(claimed.attempt_id, completed(cost=4.25), at(7)) is not None

    finished = store.jobs.get(job.id, OWNER)
    assert finished.status is JobStatus.COMPLETED
    assert (finished.results, finished.cost, finished.error) == (RESULTS, 4.25, None)
    assert (finished.started_at, finished.finished_at) == (T0, at(7))
    [attempt] = store.jobs.attempts(job.id)
    assert (attempt.ended_at, attempt.outcome) == (at(7), "completed")
    assert attempt.message == f"shots 0 to {job.count - 1}"


def test_failed_attempt_stores_the_error_and_cost(store: JobStore) -> None:
    job = store.jobs.create(new_job())
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert claimed is not None
    outcome = ExecutionOutcome(status=JobStatus.FAILED, error="2000: Execution error", cost=1.0)

    assert store.jobs.finish_attempt(claimed.attempt_id, outcome, at(3)) is not None

    failed = store.jobs.get(job.id, OWNER)
    assert failed.status is JobStatus.FAILED
    assert (failed.error, failed.cost, failed.results, failed.finished_at) == (
        "2000: Execution error",
        1.0,
        None,
        at(3),
    )
    [attempt] = store.jobs.attempts(job.id)
    assert (attempt.outcome, attempt.message) == ("failed", "2000: Execution error")


def test_an_attempt_finishes_its_job_exactly_once(store: JobStore) -> None:
    job = store.jobs.create(new_job())
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert claimed is not None
    store.jobs.finish_attempt(claimed.attempt_id, completed(cost=2.0), at(1))
    first_end = store.jobs.get(job.id, OWNER)

    failure = ExecutionOutcome(status=JobStatus.FAILED, error="late")
    assert store.jobs.finish_attempt(claimed.attempt_id, failure, at(2)) is None

    assert store.jobs.get(job.id, OWNER) == first_end
    [attempt] = store.jobs.attempts(job.id)
    assert (attempt.ended_at, attempt.outcome) == (at(1), "completed")


def test_attempt_of_a_canceling_job_ends_it_canceled_keeping_the_results(
    store: JobStore,
) -> None:
    job = store.jobs.create(new_job())
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert claimed is not None
    store.jobs.cancel(job.id, OWNER, at(1))

    assert store.jobs.finish_attempt(claimed.attempt_id, completed(), at(2)) is not None

    canceled = store.jobs.get(job.id, OWNER)
    assert canceled.status is JobStatus.CANCELED
    assert (canceled.results, canceled.finished_at) == (RESULTS, at(2))


def test_an_attempt_cannot_end_in_a_non_final_status(store: JobStore) -> None:
    store.jobs.create(new_job())
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert claimed is not None

    with pytest.raises(ValueError):
        store.jobs.finish_attempt(claimed.attempt_id, ExecutionOutcome(JobStatus.RUNNING), at(1))


# --- canceling --------------------------------------------------------------------------


def test_cancel_of_a_queued_job_cancels_it_at_once(store: JobStore) -> None:
    job = store.jobs.create(new_job())

    canceled = store.jobs.cancel(job.id, OWNER, at(4))

    assert (canceled.status, canceled.finished_at) == (JobStatus.CANCELED, at(4))
    assert store.jobs.get(job.id, OWNER) == canceled
    assert store.dispatch.claim_next_job("w1", at(5), LEASE, ATTEMPTS) is None


def test_cancel_of_a_running_job_asks_its_worker_to_stop(store: JobStore) -> None:
    job = store.jobs.create(new_job())
    store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)

    canceling = store.jobs.cancel(job.id, OWNER, at(1))

    assert (canceling.status, canceling.finished_at) == (JobStatus.CANCELING, None)


def test_cancel_of_a_canceling_job_changes_nothing(store: JobStore) -> None:
    job = store.jobs.create(new_job())
    store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    canceling = store.jobs.cancel(job.id, OWNER, at(1))

    assert store.jobs.cancel(job.id, OWNER, at(2)) == canceling


def _completed(store: JobStore, job_id: str) -> None:
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert claimed is not None
    store.jobs.finish_attempt(claimed.attempt_id, completed(), at(1))


def _failed(store: JobStore, job_id: str) -> None:
    claimed = store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    assert claimed is not None
    failure = ExecutionOutcome(status=JobStatus.FAILED, error="1000: Compile error: bad gate")
    store.jobs.finish_attempt(claimed.attempt_id, failure, at(1))


def _canceled(store: JobStore, job_id: str) -> None:
    store.jobs.cancel(job_id, OWNER, at(1))


@pytest.mark.parametrize("finish", [_completed, _failed, _canceled])
def test_cancel_of_a_finished_job_is_refused(
    store: JobStore, finish: Callable[[JobStore, str], None]
) -> None:
    job = store.jobs.create(new_job())
    finish(store, job.id)
    finished = store.jobs.get(job.id, OWNER)

    with pytest.raises(errors.JobAlreadyFinished):
        store.jobs.cancel(job.id, OWNER, at(2))

    assert store.jobs.get(job.id, OWNER) == finished


def test_cancel_of_another_owners_job_is_reported_like_an_unknown_job(store: JobStore) -> None:
    job = store.jobs.create(new_job())

    with pytest.raises(errors.JobNotFound):
        store.jobs.cancel(job.id, OTHER_OWNER, at(1))
    with pytest.raises(errors.JobNotFound):
        store.jobs.cancel(uuid.uuid4().hex, OWNER, at(1))

    assert store.jobs.get(job.id, OWNER).status is JobStatus.QUEUED
    assert store.jobs.cancel(job.id, None, at(2)).status is JobStatus.CANCELED


def test_canceling_job_whose_worker_died_ends_canceled_instead_of_running_again(
    store: JobStore,
) -> None:
    doomed = store.jobs.create(new_job("j-doomed", submitted_at=T0))
    waiting = store.jobs.create(new_job("j-waiting", submitted_at=at(1)))
    claimed = store.dispatch.claim_next_job("w1", at(2), LEASE, ATTEMPTS)
    assert claimed is not None
    store.jobs.cancel(doomed.id, OWNER, at(3))

    next_claim = store.dispatch.claim_next_job("w2", at(LEASE + 3), LEASE, ATTEMPTS)

    assert next_claim is not None
    assert next_claim.job.id == waiting.id
    canceled = store.jobs.get(doomed.id, OWNER)
    assert (canceled.status, canceled.finished_at) == (JobStatus.CANCELED, at(LEASE + 3))
    [attempt] = store.jobs.attempts(doomed.id)
    assert (attempt.ended_at, attempt.outcome) == (at(LEASE + 3), LEASE_EXPIRED)
    assert store.jobs.finish_attempt(claimed.attempt_id, completed(), at(LEASE + 4)) is None


# --- users ------------------------------------------------------------------------------


def test_created_user_is_found_by_id_by_email_and_in_the_list(store: JobStore) -> None:
    ada = store.accounts.create_user(new_user("ada@example.org"))
    bob = store.accounts.create_user(new_user("bob@example.org"))

    assert store.accounts.get_user(ada.id) == ada
    assert store.accounts.get_user_by_email("bob@example.org") == bob
    assert store.accounts.list_users() == [ada, bob]
    assert store.accounts.get_user(uuid.uuid4().hex) is None
    assert store.accounts.get_user_by_email("eve@example.org") is None


def test_second_user_with_the_same_email_is_refused(store: JobStore) -> None:
    store.accounts.create_user(new_user("ada@example.org"))

    with pytest.raises(errors.UserExists, match=re.escape("ada@example.org")):
        store.accounts.create_user(new_user("ada@example.org"))

    assert len(store.accounts.list_users()) == 1


def test_removed_user_loses_refresh_tokens_but_keeps_jobs(store: JobStore) -> None:
    ada = store.accounts.create_user(new_user())
    store.accounts.add_refresh_token("f" * 64, ada.id, at(3600), FAMILY)
    job = store.jobs.create(new_job(owner_id=ada.id))

    store.accounts.remove_user(ada.email)

    assert store.accounts.get_user(ada.id) is None
    assert store.accounts.consume_refresh_token("f" * 64, at(1)) is None
    assert store.jobs.get(job.id, ada.id) == job


def test_users_are_members_of_their_own_group_and_of_those_they_are_added_to(
    store: JobStore,
) -> None:
    store.organisations.create("acme", T0)
    store.organisations.create_group(Group("acme", "lab"))
    ada = store.accounts.create_user(dataclasses.replace(new_user(), organisation="acme"))
    own = ada.group

    assert store.organisations.is_member("acme", own, ada.id)
    assert not store.organisations.is_member("acme", "lab", ada.id)
    store.organisations.add_member("acme", "lab", ada.id)
    store.organisations.add_member("acme", "lab", ada.id)  # twice: still one membership
    assert store.organisations.members("acme", "lab") == [ada.email]
    with pytest.raises(errors.AccountNotFound):
        store.organisations.add_member("acme", "nowhere", ada.id)

    assert store.organisations.remove_member("acme", "lab", ada.id)
    assert not store.organisations.remove_member("acme", "lab", ada.id)
    store.organisations.add_member("acme", "lab", ada.id)
    store.accounts.remove_user(ada.email)
    assert store.organisations.members("acme", "lab") == []


def test_an_id_past_64_bits_is_a_clear_refusal_not_a_crash(store: JobStore) -> None:
    with pytest.raises((errors.BadRequest, errors.NotFound)):
        store.calendar.remove(2**70)  # sqlite3 cannot even bind it; PostgreSQL finds nothing


def test_removing_an_unknown_user_is_refused(store: JobStore) -> None:
    with pytest.raises(errors.UserNotFound, match=re.escape("eve@example.org")):
        store.accounts.remove_user("eve@example.org")


# --- refresh tokens ---------------------------------------------------------------------


def test_refresh_token_can_be_consumed_exactly_once(store: JobStore) -> None:
    ada = store.accounts.create_user(new_user())
    store.accounts.add_refresh_token("1" * 64, ada.id, at(3600), FAMILY)

    assert store.accounts.consume_refresh_token("1" * 64, at(10)) == SpentToken(
        ada.id, FAMILY, reused=False
    )
    assert store.accounts.consume_refresh_token("1" * 64, at(11)) == SpentToken(
        ada.id, FAMILY, reused=True
    )


def test_a_spent_refresh_token_presented_again_revokes_its_whole_family(store: JobStore) -> None:
    ada = store.accounts.create_user(new_user())
    store.accounts.add_refresh_token("1" * 64, ada.id, at(3600), FAMILY)
    store.accounts.consume_refresh_token("1" * 64, at(10))
    store.accounts.add_refresh_token("2" * 64, ada.id, at(3600), FAMILY)  # its successor
    store.accounts.add_refresh_token("3" * 64, ada.id, at(3600), "other family")

    assert store.accounts.consume_refresh_token("1" * 64, at(20)).reused  # type: ignore[union-attr]

    assert store.accounts.consume_refresh_token("2" * 64, at(21)).reused  # type: ignore[union-attr]
    assert not store.accounts.consume_refresh_token("3" * 64, at(22)).reused  # type: ignore[union-attr]


def test_expired_or_unknown_refresh_token_is_refused(store: JobStore) -> None:
    ada = store.accounts.create_user(new_user())
    store.accounts.add_refresh_token("1" * 64, ada.id, at(3600), FAMILY)

    assert store.accounts.consume_refresh_token("1" * 64, at(3600)) is None
    assert store.accounts.consume_refresh_token("2" * 64, at(1)) is None


def test_ended_sessions_refuse_refresh_tokens_and_mark_when(store: JobStore) -> None:
    ada = store.accounts.create_user(new_user())
    store.accounts.add_refresh_token("1" * 64, ada.id, at(3600), FAMILY)
    store.accounts.add_refresh_token("2" * 64, ada.id, at(3600), "other family")

    store.accounts.end_sessions(ada.id, at(1))

    for token in ("1" * 64, "2" * 64):
        spent = store.accounts.consume_refresh_token(token, at(2))
        assert spent is not None and spent.reused
    assert store.accounts.get_user(ada.id).tokens_valid_after == at(1)  # type: ignore[union-attr]


def test_only_one_of_two_concurrent_refreshes_succeeds(store: JobStore, store_url: str) -> None:
    ada = store.accounts.create_user(new_user())
    store.accounts.add_refresh_token("1" * 64, ada.id, at(3600), FAMILY)

    spent = run_together(store_url, 2, lambda s: s.accounts.consume_refresh_token("1" * 64, at(1)))

    fresh = [token for token in spent if token is not None and not token.reused]
    assert [token.user_id for token in fresh] == [ada.id]


# --- service secrets --------------------------------------------------------------------


def test_secret_is_made_once_and_then_kept(store: JobStore) -> None:
    made = store.accounts.get_or_create_secret("jwt-signing-key", lambda: "first")

    again = store.accounts.get_or_create_secret(
        "jwt-signing-key", lambda: pytest.fail("made twice")
    )

    assert made == again == "first"


def test_processes_starting_together_agree_on_one_secret(store: JobStore, store_url: str) -> None:
    values = run_together(
        store_url,
        4,
        lambda s: s.accounts.get_or_create_secret("jwt-signing-key", lambda: uuid.uuid4().hex),
    )

    assert len(set(values)) == 1
    assert store.accounts.get_or_create_secret("jwt-signing-key", lambda: "other") == values[0]


# --- database failures ------------------------------------------------------------------


@pytest.mark.parametrize(
    "unreachable_url",
    [
        pytest.param(lambda tmp: f"sqlite:///{tmp}", id="sqlite-file-is-a-directory"),
        pytest.param(
            lambda tmp: "postgresql+psycopg://postgres:secret@127.0.0.1:1/qstation",
            id="postgresql-nothing-listening",
        ),
        pytest.param(
            lambda tmp: "postgresql+psycopg://postgres:secret@127.0.0.1:5432/qstation_missing",
            id="postgresql-no-such-database",
            marks=pytest.mark.postgres,
        ),
    ],
)
def test_store_that_cannot_reach_its_database_is_unavailable_without_naming_it(
    tmp_path: Path, unreachable_url: Callable[[Path], str]
) -> None:
    url = unreachable_url(tmp_path)

    with pytest.raises(errors.StoreUnavailable) as raised:
        open_store(url)

    assert (raised.value.code, raised.value.http_status) == (5, 503)
    assert raised.value.text == "The job store is unavailable; try again."
    assert "secret" not in str(raised.value)


@pytest.mark.postgres
def test_postgresql_store_reconnects_after_its_connections_were_killed(
    postgres_store: JobStore, postgres_url: str
) -> None:
    job = postgres_store.jobs.create(new_job())  # leaves an idle connection in the pool

    assert terminate_connections(postgres_url) >= 1

    assert postgres_store.jobs.get(job.id, OWNER) == job
    assert postgres_store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS) is not None


@pytest.mark.postgres
def test_postgresql_store_is_unavailable_while_its_database_refuses_connections(
    postgres_store: JobStore, postgres_url: str
) -> None:
    job = postgres_store.jobs.create(new_job())
    allow_connections(postgres_url, False)
    try:
        terminate_connections(postgres_url)

        with pytest.raises(errors.StoreUnavailable):
            postgres_store.jobs.get(job.id, OWNER)
        with pytest.raises(errors.StoreUnavailable):
            postgres_store.dispatch.claim_next_job("w1", T0, LEASE, ATTEMPTS)
    finally:
        allow_connections(postgres_url, True)

    assert postgres_store.jobs.get(job.id, OWNER) == job


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("name", "bell\x00pair", "NUL"),
        ("machine", "H" * 65, "value too long"),
        ("seed", 2**63, "out of range"),
    ],
)
def test_value_postgresql_cannot_store_is_a_bad_request_that_shows_no_sql(
    postgres_store: JobStore, field: str, value: Any, reason: str
) -> None:
    job = dataclasses.replace(new_job(), **{field: value})

    with pytest.raises(errors.BadRequest) as raised:
        postgres_store.jobs.create(job)

    assert raised.value.text.startswith("a value could not be stored: ")
    assert reason in raised.value.text
    assert not re.search("insert|jobs|%|\\$", raised.value.text, re.IGNORECASE)
    with pytest.raises(errors.JobNotFound):
        postgres_store.jobs.get(job.id, OWNER)


# --- migrations -------------------------------------------------------------------------


def test_migrations_are_numbered_one_to_n_in_order() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_migrating_an_up_to_date_store_changes_nothing(store: JobStore, engine: Engine) -> None:
    job = store.jobs.create(new_job())

    assert migrate(engine) == []

    assert store.jobs.get(job.id, OWNER) == job
    with engine.connect() as conn:
        assert conn.scalars(select(schema_version.c.version)).all() == [
            m.version for m in MIGRATIONS
        ]


def test_newer_code_that_older_code_tolerates_lets_it_start_and_other_schemas_stop_it(
    store: JobStore, engine: Engine
) -> None:
    job = store.jobs.create(new_job())
    with engine.begin() as conn:  # a rolling upgrade's first host ran an additive migration
        conn.execute(insert(schema_version).values(version=LATEST + 1, oldest_code=LATEST))

    assert migrate(engine) == []
    assert store.jobs.get(job.id, OWNER) == job

    with engine.begin() as conn:  # then one older code cannot run with
        conn.execute(insert(schema_version).values(version=LATEST + 2, oldest_code=LATEST + 1))
    with pytest.raises(errors.SchemaMismatch, match=f"version {LATEST + 2}, newer than this"):
        migrate(engine)


def test_stores_opened_together_on_an_empty_database_migrate_it_once(
    store_url: str, engine: Engine
) -> None:
    run_together(store_url, 3, lambda s: None)

    with engine.connect() as conn:
        assert conn.scalars(select(schema_version.c.version)).all() == [
            m.version for m in MIGRATIONS
        ]


def test_existing_users_and_jobs_join_the_default_organisation_with_their_groups(
    store_url: str, engine: Engine
) -> None:
    with engine.begin() as conn:  # a database of migration 1's day, with a user and a job
        FIRST_SCHEMA_VERSION.create(conn)
        MIGRATIONS[0].apply(conn)
        conn.execute(insert(FIRST_SCHEMA_VERSION).values(version=1))
        user = new_user()
        conn.execute(
            insert(users).values(
                id=user.id,
                email=user.email,
                password_hash=user.password_hash,
                group_name="physics",
                created_at=T0,
            )
        )
        job = new_job(owner_id=user.id)
        columns = {
            "group_name" if name == "group" else name: value
            for name, value in dataclasses.asdict(job).items()
            if name
            not in ("organisation", "batch_id", "batch_limit", "batch_end", "client_metadata")
        }
        conn.execute(
            insert(jobs).values(
                **{**columns, "group_name": "chemistry"},
                status="queued",
                attempts=0,
                cancel_requested=False,
            )
        )

    assert migrate(engine) == [m.version for m in MIGRATIONS[1:]]

    store = open_store(store_url)
    try:
        migrated = store.accounts.get_user_by_email(user.email)
        assert migrated is not None
        assert (migrated.organisation, migrated.group, migrated.priority) == (
            "default", "physics", 5,
        )  # fmt: skip
        assert store.jobs.get(job.id, None).organisation == "default"
        assert store.organisations.names() == ["default"]
        assert {(g.name, g.priority) for g in store.organisations.groups()} == {
            ("DEFAULT", 5), ("chemistry", 5), ("physics", 5),
        }  # fmt: skip
        claim = store.dispatch.claim_next_job("w", T0, LEASE, ATTEMPTS)  # its lane exists
        assert claim is not None and claim.job.id == job.id
    finally:
        store.close()


def _v2_user_columns(user: User) -> dict[str, Any]:
    """A user row as migrations 2-7 knew it."""
    names = ("id", "email", "password_hash", "group_name", "created_at", "organisation", "priority")
    return {name: value for name, value in columns_of(user).items() if name in names}


def test_a_v7_store_keeps_its_refresh_tokens_each_as_a_family_and_drops_the_old_signing_key(
    engine: Engine,
) -> None:
    user = new_user()
    with engine.begin() as conn:  # a database of migration 7's day
        FIRST_SCHEMA_VERSION.create(conn)
        for migration in MIGRATIONS[:7]:
            migration.apply(conn)
            conn.execute(insert(FIRST_SCHEMA_VERSION).values(version=migration.version))
        conn.execute(insert(users).values(_v2_user_columns(user)))
        conn.execute(
            text(
                "INSERT INTO refresh_tokens (token_hash, user_id, expires_at)"
                " VALUES (:hash, :user, :expires)"
            ),
            {"hash": "a" * 64, "user": user.id, "expires": at(3600)},
        )
        conn.execute(
            text("INSERT INTO service_secrets (name, value) VALUES ('id-token-signing-key', 'k')")
        )

    assert migrate(engine) == list(range(8, LATEST + 1))

    store = JobStore(Database(engine))
    assert store.organisations.is_member(user.organisation, user.group, user.id)
    assert store.accounts.get_secret("id-token-signing-key") is None
    assert store.accounts.consume_refresh_token("a" * 64, at(1)) == SpentToken(
        user.id, "a" * 32, reused=False
    )
    assert store.accounts.get_user(user.id) == user


def _v6_columns(job: NewJob) -> dict[str, object]:
    """A job's columns as migration 6 left the table (``client_metadata`` came later)."""
    columns = columns_of(job)
    del columns["client_metadata"]
    return columns


def test_a_v6_store_gets_dispatch_lanes_user_priorities_and_the_last_days_use(
    store_url: str, engine: Engine
) -> None:
    recently = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    with engine.begin() as conn:  # a database of migration 6's day
        FIRST_SCHEMA_VERSION.create(conn)
        for migration in MIGRATIONS[:6]:
            migration.apply(conn)
            conn.execute(insert(FIRST_SCHEMA_VERSION).values(version=migration.version))
        user = dataclasses.replace(new_user(), priority=2)
        conn.execute(insert(users).values(_v2_user_columns(user)))
        v6_job = {"status": "queued", "attempts": 0, "cancel_requested": False, "shots_done": 0}
        waiting = new_job(owner_id=user.id)
        conn.execute(insert(jobs).values(**_v6_columns(waiting), **v6_job))
        done = new_job(owner_id=user.id)
        finished = {"status": "completed", "finished_at": recently, "cost": 7.5}
        conn.execute(insert(jobs).values(**_v6_columns(done), **{**v6_job, **finished}))

    assert migrate(engine) == list(range(7, LATEST + 1))

    with engine.connect() as conn:
        assert set(conn.execute(select(jobs.c.id, jobs.c.user_priority))) == {
            (waiting.id, 2), (done.id, 2),
        }  # fmt: skip
        assert conn.execute(select(dispatch_lanes)).all() == [("H1-1E", "default", "research", 2)]
        minute = recently.replace(second=0, microsecond=0)
        assert conn.execute(select(fair_share_usage)).all() == [
            ("default", "research", "H1-1E", minute, 7.5)
        ]


def test_migrations_build_exactly_the_declared_schema(engine: Engine) -> None:
    migrate(engine)

    assert _reflected_schema(engine) == _declared_schema(engine.dialect)


def _reflected_schema(engine: Engine) -> dict[str, dict[str, Any]]:
    inspector = inspect(engine)
    return {
        table: {
            "columns": {
                c["name"]: (c["type"].compile(engine.dialect), c["nullable"])
                for c in inspector.get_columns(table)
            },
            "primary_key": set(inspector.get_pk_constraint(table)["constrained_columns"]),
            "foreign_keys": {
                (tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in inspector.get_foreign_keys(table)
            },
            "unique": {tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)},
            "indexes": {
                (i["name"], tuple(i["column_names"]))
                for i in inspector.get_indexes(table)
                if "duplicates_constraint" not in i
            },
        }
        for table in inspector.get_table_names()
    }


def _declared_schema(dialect: Dialect) -> dict[str, dict[str, Any]]:
    return {
        table.name: {
            "columns": {c.name: (c.type.compile(dialect), c.nullable) for c in table.columns},
            "primary_key": {c.name for c in table.primary_key},
            "foreign_keys": {
                (tuple(fk.column_keys), fk.referred_table.name)
                for fk in table.foreign_key_constraints
            },
            "unique": {(c.name,) for c in table.columns if c.unique},
            "indexes": {(i.name, tuple(c.name for c in i.columns)) for i in table.indexes},
        }
        for table in metadata.sorted_tables
    }


# --- SQLite specifics -------------------------------------------------------------------


def test_sqlite_store_creates_the_directory_of_its_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "qstation.db"

    open_store(f"sqlite:///{path}").close()

    assert path.is_file()


def test_in_memory_sqlite_is_refused_because_processes_cannot_share_it() -> None:
    with pytest.raises(errors.ConfigurationError):
        create_store_engine("sqlite://")


def test_a_v13_store_moves_a_running_jobs_results_to_a_chunk_and_the_job_completes_with_them(
    store_url: str, engine: Engine
) -> None:
    user = new_user()
    job = new_job(owner_id=user.id)  # 100 shots
    before = {"c": [f"{shot:07b}" for shot in range(50)]}
    with engine.begin() as conn:  # a database of migration 13's day, half-way through a job
        FIRST_SCHEMA_VERSION.create(conn)
        for migration in MIGRATIONS[:13]:
            migration.apply(conn)
            table = schema_version if migration.version >= 12 else FIRST_SCHEMA_VERSION
            conn.execute(insert(table).values(version=migration.version))
        running = {
            "status": "running", "attempts": 1, "cancel_requested": False, "user_priority": 5,
            "started_at": T0, "shots_done": 50, "next_shot": 50, "results": before,
        }  # fmt: skip
        conn.execute(insert(jobs).values(**columns_of(job), **running))
        lane = {"machine": job.machine, "organisation": job.organisation, "user_priority": 5}
        conn.execute(insert(dispatch_lanes).values(**lane, group_name=job.group))

    assert migrate(engine) == list(range(14, LATEST + 1))

    store = open_store(store_url)
    try:
        found = store.jobs.get(job.id, None)
        assert (found.shots_done, found.results) == (50, before)
        claim = store.dispatch.claim_next_job("w", at(1), LEASE, ATTEMPTS, chunk_shots=50)
        assert claim is not None and claim.shots == range(50, 100)
        outcome = ExecutionOutcome(
            status=JobStatus.COMPLETED,
            results={"c": [f"{shot:07b}" for shot in claim.shots]},
            cost=3.0,
        )
        assert store.jobs.finish_attempt(claim.attempt_id, outcome, at(2)) is JobStatus.COMPLETED
        assert store.jobs.get(job.id, None).results == {"c": [f"{shot:07b}" for shot in range(100)]}
    finally:
        store.close()
