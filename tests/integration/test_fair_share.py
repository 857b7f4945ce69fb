"""Fair-share dispatch through the real store, on SQLite and on PostgreSQL.

Three organisations with groups and users at mixed priorities queue 200 jobs on two targets; a
worker claims and finishes them one by one while the clock moves, so organisations' use slides
in and out of the window. The order must be exactly what docs/scheduling.md prescribes, which
this test computes on its own from the rules as written there.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import numpy as np
import pytest

from qstation import errors
from qstation.model import ExecutionOutcome, Group, JobStatus, NewJob, User
from qstation.store import JobStore

T0 = datetime(2026, 11, 24, 8, 0, 0)
WINDOW = timedelta(minutes=45)
LEASE = 3600.0
ORGANISATIONS = {  # organisation -> {group: priority}; DEFAULT comes with the organisation
    "alpha": {"theory": 2, "lab": 8},
    "beta": {"ops": 1},
    "gamma": {"night": 9},
}
USERS = [  # email, organisation, default group, user priority
    ("ada@alpha.org", "alpha", "theory", 3),
    ("alan@alpha.org", "alpha", "lab", 1),
    ("grace@beta.org", "beta", "DEFAULT", 5),
    ("edsger@beta.org", "beta", "ops", 10),
    ("barbara@gamma.org", "gamma", "night", 2),
    ("john@gamma.org", "gamma", "DEFAULT", 7),
]


def set_up_accounts(store: JobStore) -> dict[str, User]:
    for organisation, groups in ORGANISATIONS.items():
        store.organisations.create(organisation, T0)
        for name, priority in groups.items():
            store.organisations.create_group(Group(organisation, name, priority))
    users = {}
    for email, organisation, group, priority in USERS:
        user = User(
            id=uuid.uuid4().hex, email=email, password_hash="x", group=group, created_at=T0,
            organisation=organisation, priority=priority,
        )  # fmt: skip
        users[email] = store.accounts.create_user(user)
    return users


def queue_jobs(store: JobStore, users: dict[str, User], count: int) -> dict[str, NewJob]:
    """``count`` jobs from random users, groups and targets."""
    rng = np.random.default_rng(20261124)
    queued = {}
    submitted = T0
    for index in range(count):
        user = users[USERS[rng.integers(len(USERS))][0]]
        groups = ["DEFAULT", *ORGANISATIONS[user.organisation]]
        submitted += timedelta(seconds=int(rng.integers(0, 3)))  # ties happen: IDs break them
        job = NewJob(
            id=f"{index:03d}-{uuid.uuid4().hex[:8]}", owner_id=user.id, name=f"job {index}",
            machine=str(rng.choice(["H1-1", "H1-1", "H2-1"])), language="OPENQASM 2.0",
            program="OPENQASM 2.0;", count=10, options={}, group=str(rng.choice(groups)),
            seed=index, submitted_at=submitted, organisation=user.organisation,
        )  # fmt: skip
        store.jobs.create(job)
        queued[job.id] = job
    return queued


def minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def cost_of(job_id: str) -> float:
    """A job's HQCs when it finishes: any fixed function of the job does."""
    return 1.0 + int(job_id[:3]) % 17


def expected_order(
    store: JobStore,
    users: dict[str, User],
    jobs: dict[str, NewJob],
    claim_times: list[datetime],
) -> list[str]:
    """The written policy, step by step: at each claim, among every queued job, the smallest
    (organisation's HQCs on the job's target from jobs finished in the window, group priority,
    the group's HQCs there, user priority, submission time, job ID)."""
    by_id = {user.id: user for user in users.values()}
    group_priority = {(g.organisation, g.name): g.priority for g in store.organisations.groups()}
    queued = dict(jobs)
    finished: list[tuple[datetime, NewJob]] = []
    order = []
    for now in claim_times:
        # use counts by the minute: from the minute a job finished until the window passed it
        recent = [job for when, job in finished if minute(when) >= minute(now - WINDOW)]

        def used(job: NewJob, same_group: bool, recent: list[NewJob] = recent) -> float:
            return sum(
                cost_of(done.id)
                for done in recent
                if (done.organisation, done.machine) == (job.organisation, job.machine)
                and (not same_group or done.group == job.group)
            )

        chosen = min(
            queued.values(),
            key=lambda job: (
                used(job, same_group=False),
                group_priority[job.organisation, job.group],
                used(job, same_group=True),
                by_id[job.owner_id].priority,
                job.submitted_at,
                job.id,
            ),
        )
        del queued[chosen.id]
        order.append(chosen.id)
        finished.append((now + timedelta(seconds=30), chosen))
    return order


def test_two_hundred_jobs_run_in_exactly_the_written_policys_order(store: JobStore) -> None:
    users = set_up_accounts(store)
    jobs = queue_jobs(store, users, 200)
    start = T0 + timedelta(hours=1)
    claim_times = [start + timedelta(minutes=minute) for minute in range(200)]
    expected = expected_order(store, users, jobs, claim_times)

    dispatched = []
    for now in claim_times:
        claim = store.dispatch.claim_next_job("worker", now, LEASE, 3, WINDOW)
        assert claim is not None
        dispatched.append(claim.job.id)
        outcome = ExecutionOutcome(JobStatus.COMPLETED, results={}, cost=cost_of(claim.job.id))
        store.jobs.finish_attempt(claim.attempt_id, outcome, now + timedelta(seconds=30))

    assert (
        store.dispatch.claim_next_job("worker", claim_times[-1] + timedelta(minutes=1), LEASE, 3)
        is None
    )
    assert dispatched == expected
    # organisations take turns as their use slides in and out of the window
    assert len({jobs[job_id].organisation for job_id in dispatched[:10]}) == 3


def test_queue_positions_follow_priorities_changed_while_jobs_wait(store: JobStore) -> None:
    users = set_up_accounts(store)
    alan, grace = users["alan@alpha.org"], users["grace@beta.org"]
    jobs = []
    for index, (user, group) in enumerate([(alan, "lab"), (alan, "theory"), (grace, "DEFAULT")]):
        job = NewJob(
            id=f"job-{index}", owner_id=user.id, name="", machine="H1-1", language="OPENQASM 2.0",
            program="OPENQASM 2.0;", count=1, options={}, group=group, seed=0,
            submitted_at=T0 + timedelta(seconds=index), organisation=user.organisation,
        )  # fmt: skip
        jobs.append(store.jobs.create(job))
    now = T0 + timedelta(minutes=1)

    def positions() -> list[int | None]:
        """From the target's ranking, and counted one job at a time: the two must agree."""
        ranking = store.dispatch.ranking("H1-1", now, WINDOW)
        ranked = [ranking.index(job.id) + 1 if job.id in ranking else None for job in jobs]
        counted = [store.dispatch.position(job.id, "H1-1", now, WINDOW) for job in jobs]
        assert ranked == counted
        return counted

    assert positions() == [3, 1, 2]  # theory (2) before DEFAULT (5) before lab (8)
    store.organisations.set_group_priority("alpha", "lab", 1)
    assert positions() == [1, 2, 3]
    store.accounts.set_user_priority("alan@alpha.org", 10)  # lab and theory both alan's: no change
    assert positions() == [1, 2, 3]
    claim = store.dispatch.claim_next_job("w", now, LEASE, 3, WINDOW)
    assert claim is not None and claim.job.id == "job-0"
    assert positions() == [None, 1, 2]


def test_organisations_and_groups_are_unique_and_must_exist(store: JobStore) -> None:
    store.organisations.create("alpha", T0)
    with pytest.raises(errors.AccountExists):
        store.organisations.create("alpha", T0)
    with pytest.raises(errors.AccountExists):
        store.organisations.create_group(Group("alpha", "DEFAULT", 3))
    with pytest.raises(errors.AccountNotFound):
        store.organisations.create_group(Group("nowhere", "g", 3))
    with pytest.raises(errors.AccountNotFound):
        store.organisations.set_group_priority("alpha", "missing", 2)
    with pytest.raises(errors.UserNotFound):
        store.accounts.set_user_priority("nobody@example.org", 2)
    assert store.organisations.names() == ["alpha", "default"]
    assert Group("alpha", "DEFAULT", 5) in store.organisations.groups()
