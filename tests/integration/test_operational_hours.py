"""A hardware target's queue waits while its calendar keeps it closed, and resumes in
fair-share order when a window opens; emulators never wait. The clock is passed in."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from qstation import errors
from qstation.model import ExecutionOutcome, Group, JobStatus, NewJob, User
from qstation.scheduling.calendar import CalendarEvent, EventKind
from qstation.store import JobStore

DAY = datetime(2026, 11, 24)
LEASE = 60.0


def at(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


@pytest.fixture
def accounts(store: JobStore) -> dict[str, User]:
    users = {}
    for organisation, group_priority in (("acme", 2), ("globex", 7)):
        store.organisations.create(organisation, DAY)
        store.organisations.create_group(Group(organisation, "team", group_priority))
        user = User(
            id=uuid.uuid4().hex, email=f"u@{organisation}.org", password_hash="x", group="team",
            created_at=DAY, organisation=organisation,
        )  # fmt: skip
        users[organisation] = store.accounts.create_user(user)
    return users


def submit(store: JobStore, user: User, machine: str, minutes: int) -> str:
    job = NewJob(
        id=f"{machine}-{user.organisation}-{minutes:03d}", owner_id=user.id, name="",
        machine=machine, language="OPENQASM 2.0", program="OPENQASM 2.0;", count=1, options={},
        group="team", seed=0, submitted_at=DAY + timedelta(minutes=minutes),
        organisation=user.organisation,
    )  # fmt: skip
    return store.jobs.create(job).id


def run_all(store: JobStore, now: datetime) -> list[str]:
    """Claim and finish (for free) everything claimable at ``now``."""
    ran = []
    while (claim := store.dispatch.claim_next_job("w", now, LEASE, 3)) is not None:
        store.jobs.finish_attempt(claim.attempt_id, ExecutionOutcome(JobStatus.COMPLETED), now)
        ran.append(claim.job.id)
    return ran


def test_the_queue_waits_while_offline_and_resumes_in_policy_order(
    store: JobStore, accounts: dict[str, User]
) -> None:
    store.calendar.add(CalendarEvent("H1-1", EventKind.ONLINE, at(10), at(12)))
    globex_first = submit(store, accounts["globex"], "H1-1", 1)
    acme_second = submit(store, accounts["acme"], "H1-1", 2)
    emulator = submit(store, accounts["globex"], "H1-1E", 3)

    assert run_all(store, at(9)) == [emulator]  # H1-1 offline: only the emulator job runs
    assert store.calendar.availability("H1-1", at(9)).state == "offline"
    assert store.jobs.get(globex_first, None).status is JobStatus.QUEUED

    assert store.calendar.availability("H1-1", at(10)).state == "online"
    assert run_all(store, at(10)) == [acme_second, globex_first]  # group priority 2 before 7

    late = submit(store, accounts["acme"], "H1-1", 4)
    assert run_all(store, at(12)) == []  # the window closed at 12:00
    assert store.jobs.get(late, None).status is JobStatus.QUEUED


def test_a_reservation_runs_only_its_organisations_jobs_and_maintenance_none(
    store: JobStore, accounts: dict[str, User]
) -> None:
    for kind, start, end, organisation in (
        (EventKind.ONLINE, 8, 18, None),
        (EventKind.RESERVATION, 12, 14, "globex"),
        (EventKind.MAINTENANCE, 15, 16, None),
    ):
        store.calendar.add(CalendarEvent("H1-1", kind, at(start), at(end), organisation))
    acme_job = submit(store, accounts["acme"], "H1-1", 1)
    globex_job = submit(store, accounts["globex"], "H1-1", 2)

    assert store.calendar.availability("H1-1", at(12.5)).state == "online, reserved"
    assert run_all(store, at(12.5)) == [globex_job]  # acme's better priority waits
    assert store.calendar.availability("H1-1", at(15.5)).state == "in maintenance"
    assert run_all(store, at(15.5)) == []
    assert run_all(store, at(16)) == [acme_job]


def test_calendar_events_are_listed_by_window_and_removed(store: JobStore) -> None:
    first = store.calendar.add(CalendarEvent("H1-1", EventKind.ONLINE, at(8), at(12)))
    second = store.calendar.add(CalendarEvent("H2-1", EventKind.MAINTENANCE, at(20), at(30)))
    assert store.calendar.events() == [first, second]
    assert store.calendar.events(at(12), at(20)) == []  # ends are exclusive
    assert store.calendar.events(at(11), at(21)) == [first, second]
    assert store.calendar.events(at(25), at(26)) == [second]
    store.calendar.remove(first.id or 0)
    assert store.calendar.events() == [second]
    with pytest.raises(errors.AccountNotFound):
        store.calendar.remove(first.id or 0)
