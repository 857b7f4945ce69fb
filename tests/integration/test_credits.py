"""Monthly HQC quotas, charged when a job completes, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from qstation import errors
from qstation.model import (
    CreditKind,
    CreditQuota,
    ExecutionOutcome,
    Group,
    JobRecord,
    JobStatus,
    NewJob,
)
from qstation.store import JobStore

NOVEMBER = datetime(2026, 11, 20, 12, 0, 0)
HARDWARE, EMULATOR = CreditKind.HARDWARE, CreditKind.EMULATOR


@pytest.fixture
def acme(store: JobStore) -> JobStore:
    store.organisations.create("acme", NOVEMBER)
    store.organisations.create_group(Group("acme", "lab", 5))
    return store


def run_job(
    store: JobStore,
    cost: float,
    credits: CreditKind | None,
    group: str = "DEFAULT",
    when: datetime = NOVEMBER,
) -> JobRecord:
    job = NewJob(
        id=uuid.uuid4().hex, owner_id="o" * 32, name="", machine="H1-1E",
        language="OPENQASM 2.0", program="OPENQASM 2.0;", count=10, options={}, group=group,
        seed=1, submitted_at=when, organisation="acme",
    )  # fmt: skip
    store.jobs.create(job)
    claim = store.dispatch.claim_next_job("w", when, 60.0, 3)
    assert claim is not None and claim.job.id == job.id
    outcome = ExecutionOutcome(
        JobStatus.COMPLETED, results={"c": ["0"] * 10}, cost=cost, credits=credits
    )
    assert store.jobs.finish_attempt(claim.attempt_id, outcome, when + timedelta(seconds=5))
    return store.jobs.get(job.id, None)


def test_a_job_past_the_organisations_quota_ends_depleted_and_uncharged(acme: JobStore) -> None:
    acme.organisations.set_quota(CreditQuota("acme", EMULATOR, 10.0))

    assert [run_job(acme, 4.0, EMULATOR).status for _ in range(2)] == [JobStatus.COMPLETED] * 2
    depleted = run_job(acme, 4.0, EMULATOR)

    assert depleted.status is JobStatus.DEPLETED
    assert (depleted.cost, depleted.results) == (None, None)
    assert depleted.error == (
        f"1002: Job cost exceeds allowed cost: job {depleted.id}: it costs 4.00 HQCs and the "
        "organisation acme has 2.00 of its 10.00 emulator HQCs for this month left"
    )
    assert acme.organisations.spent_this_month("acme", None, EMULATOR, NOVEMBER) == 8.0
    assert run_job(acme, 2.0, EMULATOR).status is JobStatus.COMPLETED  # exactly what is left


def test_hardware_and_emulator_credits_are_kept_apart(acme: JobStore) -> None:
    acme.organisations.set_quota(CreditQuota("acme", EMULATOR, 5.0))
    assert run_job(acme, 50.0, HARDWARE).status is JobStatus.COMPLETED
    assert run_job(acme, 5.0, EMULATOR).status is JobStatus.COMPLETED
    assert run_job(acme, 0.0, None).status is JobStatus.COMPLETED  # a syntax check is free
    assert run_job(acme, 0.5, EMULATOR).status is JobStatus.DEPLETED


def test_a_group_quota_binds_that_group_only(acme: JobStore) -> None:
    acme.organisations.set_quota(CreditQuota("acme", HARDWARE, 6.0, group="lab"))
    assert run_job(acme, 4.0, HARDWARE, group="lab").status is JobStatus.COMPLETED
    assert run_job(acme, 4.0, HARDWARE, group="DEFAULT").status is JobStatus.COMPLETED
    depleted = run_job(acme, 4.0, HARDWARE, group="lab")
    assert depleted.status is JobStatus.DEPLETED
    assert depleted.error is not None and "group lab of acme has 2.00" in depleted.error


def test_credits_come_back_with_the_month(acme: JobStore) -> None:
    acme.organisations.set_quota(CreditQuota("acme", EMULATOR, 5.0))
    assert run_job(acme, 5.0, EMULATOR).status is JobStatus.COMPLETED
    assert run_job(acme, 1.0, EMULATOR).status is JobStatus.DEPLETED
    december = datetime(2026, 12, 1, 0, 0, 1)
    assert run_job(acme, 5.0, EMULATOR, when=december).status is JobStatus.COMPLETED


def test_quotas_are_set_replaced_listed_and_removed(acme: JobStore) -> None:
    acme.organisations.set_quota(CreditQuota("acme", EMULATOR, 5.0))
    acme.organisations.set_quota(CreditQuota("acme", EMULATOR, 7.5))
    acme.organisations.set_quota(CreditQuota("acme", HARDWARE, 1.0, group="lab"))
    assert acme.organisations.quotas() == [
        CreditQuota("acme", EMULATOR, 7.5),
        CreditQuota("acme", HARDWARE, 1.0, group="lab"),
    ]
    acme.organisations.remove_quota("acme", None, EMULATOR)
    assert acme.organisations.quotas() == [CreditQuota("acme", HARDWARE, 1.0, group="lab")]
    with pytest.raises(errors.AccountNotFound):
        acme.organisations.remove_quota("acme", None, EMULATOR)
    with pytest.raises(errors.AccountNotFound):
        acme.organisations.set_quota(CreditQuota("nowhere", EMULATOR, 1.0))
    with pytest.raises(errors.AccountNotFound):
        acme.organisations.set_quota(CreditQuota("acme", EMULATOR, 1.0, group="missing"))


@pytest.mark.parametrize(("quota", "charged"), [(10.0, True), (3.0, False)])
def test_a_job_canceled_during_its_last_chunk_is_charged_for_the_shots_it_keeps(
    acme: JobStore, quota: float, charged: bool
) -> None:
    acme.organisations.set_quota(CreditQuota("acme", EMULATOR, quota))
    job = NewJob(
        id=uuid.uuid4().hex, owner_id="o" * 32, name="", machine="H1-1E",
        language="OPENQASM 2.0", program="OPENQASM 2.0;", count=10, options={},
        group="DEFAULT", seed=1, submitted_at=NOVEMBER, organisation="acme",
    )  # fmt: skip
    acme.jobs.create(job)
    claim = acme.dispatch.claim_next_job("w", NOVEMBER, 60.0, 3)
    assert claim is not None
    acme.jobs.cancel(job.id, None, NOVEMBER)
    outcome = ExecutionOutcome(
        JobStatus.COMPLETED, results={"c": ["1"] * 10}, cost=4.0, credits=EMULATOR
    )
    assert acme.jobs.finish_attempt(claim.attempt_id, outcome, NOVEMBER)

    ended = acme.jobs.get(job.id, None)
    assert ended.status is JobStatus.CANCELED
    spent = acme.organisations.spent_this_month("acme", None, EMULATOR, NOVEMBER)
    if charged:
        assert (ended.results, ended.cost, ended.shots_done, spent) == (
            {"c": ["1"] * 10}, 4.0, 10, 4.0,
        )  # fmt: skip
    else:  # it could not pay for them: it keeps none of the shots
        assert (ended.results, ended.cost, ended.shots_done, spent) == (None, None, 0, 0.0)
        assert ended.error is not None and "1002" in ended.error
