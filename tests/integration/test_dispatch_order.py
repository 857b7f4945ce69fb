"""The database's dispatch order is the reference policy's, on random queues, on both databases.

Hypothesis draws organisations, groups and users with priorities, use from jobs that finished
earlier, a queue of jobs on three targets (one with operational hours), and batches. A worker
then claims until nothing more can run while the clock moves, finishing each job or handing it
back between chunks, and priorities change while jobs wait. At every claim the store's job must
be the reference's: :func:`qstation.scheduling.policy.ranked` over every waiting job with the use
in the window, then the calendar's and the batches' rules as docs/scheduling.md states them,
applied here on the test's own record of every job.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from qstation.model import ExecutionOutcome, Group, JobStatus, NewJob, User
from qstation.scheduling.batches import Batch, BatchJob, holding_batches
from qstation.scheduling.calendar import Availability, CalendarEvent, EventKind
from qstation.scheduling.policy import QueuedJob, first_counted_minute, ranked, usage_minute
from qstation.store import JobStore
from qstation.store.schema import metadata

T0 = datetime(2026, 11, 24, 8, 0, 0)
WINDOW = timedelta(minutes=40)
LEASE = 3600.0
MACHINES = ("H1-1", "H1-1E", "H2-1")
HOURS_ON = "H1-1"  # the target with a calendar
COSTS = (0.5, 1.0, 1.25, 2.5, 3.75, 8.0)  # sums of these are exact in binary floating point
ORGANISATIONS = ("alpha", "beta", "gamma")


@dataclass
class Job:
    """The test's own record of one job."""

    id: str
    organisation: str
    group: str
    owner: str  # email
    machine: str
    submitted_at: datetime
    batch_id: str | None = None
    batch_limit: float | None = None
    batch_end: bool = False
    waiting: bool = True
    started_at: datetime | None = None
    finished_at: datetime | None = None
    cost: float | None = None


@dataclass
class World:
    group_priority: dict[tuple[str, str], int] = field(default_factory=dict)
    user_priority: dict[str, int] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)
    user_organisation: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    events: list[CalendarEvent] = field(default_factory=list)

    def usage(self, now: datetime) -> dict[tuple[str, str, str], float]:
        usage: dict[tuple[str, str, str], float] = defaultdict(float)
        first = first_counted_minute(now, WINDOW)
        for job in self.jobs.values():
            finished = job.finished_at is not None and usage_minute(job.finished_at) >= first
            if finished and job.cost is not None:
                usage[job.organisation, job.group, job.machine] += job.cost
        return usage

    def reference_standing(self, job_id: str, now: datetime) -> tuple[int, ...]:
        """How many waiting jobs of its target are ahead of the job, by the first rule in
        which they come before it (the portal's "why")."""
        usage = self.usage(now)

        def key(job: Job) -> tuple[object, ...]:
            queued = self.queued(job)
            organisation_use = sum(
                hqcs for (o, _, m), hqcs in usage.items()
                if o == job.organisation and m == job.machine
            )  # fmt: skip
            return (
                organisation_use, queued.group_priority,
                usage.get((job.organisation, job.group, job.machine), 0.0),
                queued.user_priority, (job.submitted_at, job.id),
            )  # fmt: skip

        me = self.jobs[job_id]
        mine = key(me)
        ahead = [0] * 5
        for other in self.jobs.values():
            if other.waiting and other.machine == me.machine and other.id != job_id:
                theirs = key(other)
                rule = next((n for n in range(5) if theirs[n] != mine[n]), None)
                if rule is not None and theirs[rule] < mine[rule]:  # type: ignore[operator]
                    ahead[rule] += 1
        return tuple(ahead)

    def reference_next(self, now: datetime) -> str | None:
        """The job the written rules give at ``now``, or None."""
        usage = self.usage(now)
        queue = [self.queued(job) for job in self.jobs.values() if job.waiting]
        hours = [event for event in self.events if event.machine == HOURS_ON]
        availability = {HOURS_ON: Availability.at(hours, now)} if hours else {}
        holds = holding_batches(self.batches(now), now)
        for queued in ranked(queue, usage):
            target = availability.get(queued.machine)
            if target is not None and not target.runs_jobs_of(queued.organisation):
                continue  # the calendar closes the target to this organisation
            hold = holds.get(queued.machine)
            held = hold is not None and (target is None or target.runs_jobs_of(hold.organisation))
            if held and hold is not None and self.jobs[queued.job_id].batch_id != hold.batch_id:
                continue  # a batch holds the target
            return queued.job_id
        return None

    def queued(self, job: Job) -> QueuedJob:
        group_priority = self.group_priority[job.organisation, job.group]
        user_priority = self.user_priority[job.owner]
        return QueuedJob(
            job.id, job.machine, job.organisation, job.group, group_priority, user_priority,
            job.submitted_at,
        )  # fmt: skip

    def batches(self, now: datetime) -> list[Batch]:
        members: dict[str, list[BatchJob]] = defaultdict(list)
        for job in self.jobs.values():
            if job.batch_id is not None:
                members[job.batch_id].append(self.batch_job(job))
        firsts = [job for job in self.jobs.values() if job.batch_limit is not None]
        return [self.batch(first, members[first.id]) for first in firsts]

    def batch(self, first: Job, members: list[BatchJob]) -> Batch:
        limit = first.batch_limit or 0.0
        return Batch(
            first.id, first.machine, first.organisation, limit, self.batch_job(first), members
        )

    @staticmethod
    def batch_job(job: Job) -> BatchJob:
        return BatchJob(
            submitted_at=job.submitted_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            waiting_or_running=job.finished_at is None,
            cost=job.cost,
            batch_end=job.batch_end,
        )


JOB_SHOTS = 10


def empty(store: JobStore) -> None:
    with store.database.write() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name != "schema_version":
                conn.execute(delete(table))


def set_up_accounts(store: JobStore, data: st.DataObject, world: World) -> list[str]:
    organisations = ORGANISATIONS[: data.draw(st.integers(1, 3), label="organisations")]
    priorities = st.integers(1, 10)
    for organisation in organisations:
        store.organisations.create(organisation, T0)
        world.group_priority[organisation, "DEFAULT"] = 5
        for name in ("DEFAULT", *data.draw(st.sets(st.sampled_from(["lab", "ops"])))):
            priority = data.draw(priorities, label="group priority")
            if name == "DEFAULT":
                store.organisations.set_group_priority(organisation, name, priority)
            else:
                store.organisations.create_group(Group(organisation, name, priority))
            world.group_priority[organisation, name] = priority
    emails = []
    for index in range(data.draw(st.integers(1, 4), label="users")):
        email = f"user{index}@example.org"
        organisation = data.draw(st.sampled_from(organisations))
        priority = data.draw(priorities, label="user priority")
        user = User(
            f"{index:032x}", email, "x", "DEFAULT", T0, organisation=organisation,
            priority=priority,
        )  # fmt: skip
        store.accounts.create_user(user)
        world.user_priority[email] = priority
        world.user_ids[email] = user.id
        world.user_organisation[email] = organisation
        emails.append(email)
    return emails


def submit(store: JobStore, world: World, data: st.DataObject, email: str, at: datetime) -> Job:
    organisation = world.user_organisation[email]
    groups = sorted(g for o, g in world.group_priority if o == organisation)
    job = Job(
        id=f"job-{len(world.jobs):04d}", organisation=organisation,
        group=data.draw(st.sampled_from(groups), label="group"), owner=email,
        machine=data.draw(st.sampled_from(MACHINES), label="machine"), submitted_at=at,
    )  # fmt: skip
    batches = [j for j in world.jobs.values() if j.batch_limit is not None]
    batch = data.draw(st.sampled_from(["none", "none", "start", "join"]), label="batch")
    if batch == "start":
        job.batch_id, job.batch_limit = job.id, data.draw(st.sampled_from([2.0, 6.0, 50.0]))
    elif batch == "join" and batches:
        first = data.draw(st.sampled_from(batches), label="batch to join")
        job.machine, job.batch_id = first.machine, first.id
        job.batch_end = data.draw(st.booleans(), label="batch end")
    store.jobs.create(
        NewJob(
            id=job.id, owner_id=world.user_ids[email], name="", machine=job.machine,
            language="OPENQASM 2.0", program="OPENQASM 2.0;", count=JOB_SHOTS, options={},
            group=job.group, seed=0, submitted_at=at, organisation=organisation,
            batch_id=job.batch_id, batch_limit=job.batch_limit, batch_end=job.batch_end,
        )
    )  # fmt: skip
    world.jobs[job.id] = job
    return job


def run_claim(store: JobStore, world: World, data: st.DataObject, now: datetime) -> str | None:
    """One claim by the store, checked against the reference, and what the worker does next."""
    expected = world.reference_next(now)
    partial = data.draw(st.integers(0, 4), label="a chunk of half the shots") == 0
    chunk = JOB_SHOTS // 2 if partial else None
    claim = store.dispatch.claim_next_job("worker", now, LEASE, 3, WINDOW, chunk)
    assert (claim.job.id if claim else None) == expected
    if claim is None:
        return None
    job = world.jobs[claim.job.id]
    job.waiting = claim.shots.stop < JOB_SHOTS  # untaken shots: still in its lane
    job.started_at = job.started_at or now
    done = now + timedelta(seconds=data.draw(st.integers(1, 300), label="run time"))
    cost = data.draw(st.sampled_from(COSTS), label="cost")
    outcome = ExecutionOutcome(JobStatus.COMPLETED, results={}, cost=cost)
    status = store.jobs.finish_attempt(claim.attempt_id, outcome, done)
    assert status is not None
    if status is JobStatus.COMPLETED:
        job.finished_at, job.cost = done, cost
    return claim.job.id


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_database_claims_in_the_reference_policys_order(
    store: JobStore, data: st.DataObject
) -> None:
    empty(store)
    world = World()
    emails = set_up_accounts(store, data, world)
    for _ in range(data.draw(st.integers(0, 3), label="calendar events")):
        kind = data.draw(st.sampled_from(EventKind), label="event kind")
        start = T0 + timedelta(minutes=data.draw(st.integers(-60, 240)))
        end = start + timedelta(minutes=data.draw(st.integers(10, 240)))
        reserved = kind is EventKind.RESERVATION
        holder = (
            data.draw(st.sampled_from(sorted(world.user_organisation.values())))
            if reserved
            else None
        )
        world.events.append(store.calendar.add(CalendarEvent(HOURS_ON, kind, start, end, holder)))
    now = T0 - timedelta(hours=1)
    for _ in range(data.draw(st.integers(0, 6), label="earlier jobs")):  # use in the window
        submit(store, world, data, data.draw(st.sampled_from(emails)), now)
        now += timedelta(minutes=data.draw(st.integers(1, 20)))
        run_claim(store, world, data, now)
    for _ in range(data.draw(st.integers(1, 30), label="queued jobs")):
        now += timedelta(seconds=data.draw(st.sampled_from([0, 0, 1, 30, 90])))
        submit(store, world, data, data.draw(st.sampled_from(emails)), now)
    for _ in range(100):
        if not any(job.waiting for job in world.jobs.values()):
            break
        change = data.draw(st.sampled_from(["none", "none", "none", "user", "group"]))
        if change == "user":
            email = data.draw(st.sampled_from(emails))
            world.user_priority[email] = data.draw(st.integers(1, 10))
            store.accounts.set_user_priority(email, world.user_priority[email])
        elif change == "group":
            key = data.draw(st.sampled_from(sorted(world.group_priority)))
            world.group_priority[key] = data.draw(st.integers(1, 10))
            store.organisations.set_group_priority(*key, world.group_priority[key])
        now += timedelta(seconds=data.draw(st.sampled_from([0, 10, 120, 900, 3600])))
        run_claim(store, world, data, now)
        check_a_standing(store, world, data, now)


def check_a_standing(store: JobStore, world: World, data: st.DataObject, now: datetime) -> None:
    """The portal's explanation of a waiting job's place agrees with the rules and with the
    position the API reports."""
    waiting = sorted(job.id for job in world.jobs.values() if job.waiting)
    if not waiting:
        return
    job = world.jobs[data.draw(st.sampled_from(waiting), label="explained job")]
    standing = store.dispatch.standing(job.id, job.machine, now, WINDOW)
    assert standing is not None
    assert standing.ahead_by_rule == world.reference_standing(job.id, now)
    assert standing.position == store.dispatch.position(job.id, job.machine, now, WINDOW)
