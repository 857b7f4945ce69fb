"""Each rule of the fair-share policy on its own (docs/scheduling.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from qstation.scheduling.policy import QueuedJob, check_priority, queue_positions, ranked

T0 = datetime(2026, 11, 24, 9, 0, 0)


def job(
    job_id: str,
    organisation: str = "acme",
    group_priority: int = 5,
    user_priority: int = 5,
    minutes: int = 0,
    machine: str = "H1-1",
    group: str = "DEFAULT",
) -> QueuedJob:
    submitted = T0 + timedelta(minutes=minutes)
    return QueuedJob(job_id, machine, organisation, group, group_priority, user_priority, submitted)


def order(
    jobs: list[QueuedJob], usage: dict[tuple[str, str, str], float] | None = None
) -> list[str]:
    return [queued.job_id for queued in ranked(jobs, usage or {})]


def test_the_organisation_that_used_least_goes_first_whatever_its_priorities() -> None:
    jobs = [
        job("busy-urgent", "busy", group_priority=1, user_priority=1, minutes=0),
        job("idle-relaxed", "idle", group_priority=10, user_priority=10, minutes=30),
    ]
    usage = {("busy", "DEFAULT", "H1-1"): 50.0, ("idle", "DEFAULT", "H1-1"): 10.0}
    assert order(jobs, usage) == ["idle-relaxed", "busy-urgent"]


def test_an_organisation_with_no_use_counts_as_zero() -> None:
    jobs = [job("used", "old"), job("new", "newcomer", minutes=5)]
    assert order(jobs, {("old", "DEFAULT", "H1-1"): 0.5}) == ["new", "used"]


def test_an_organisations_use_is_the_sum_of_its_groups() -> None:
    jobs = [job("two-groups", "a", minutes=0), job("one-group", "b", minutes=1)]
    usage = {("a", "x", "H1-1"): 3.0, ("a", "y", "H1-1"): 3.0, ("b", "z", "H1-1"): 5.0}
    assert order(jobs, usage) == ["one-group", "two-groups"]  # 6 > 5


def test_use_counts_per_target() -> None:
    jobs = [job("h2", "busy", machine="H2-1"), job("h1", "busy", machine="H1-1", minutes=1)]
    other = [job("other-h2", "idle", machine="H2-1", minutes=2)]
    usage = {("busy", "DEFAULT", "H1-1"): 100.0}
    assert order(jobs + other, usage)[:2] == ["h2", "other-h2"]  # H1-1 use does not count on H2


def test_then_the_group_priority() -> None:
    jobs = [job("low", group_priority=7), job("high", group_priority=2, minutes=10)]
    assert order(jobs) == ["high", "low"]


def test_between_groups_of_equal_priority_the_one_that_used_less() -> None:
    jobs = [
        job("busy-group", group="busy", group_priority=3, user_priority=1),
        job("quiet-group", group="quiet", group_priority=3, user_priority=9, minutes=5),
        job("low-priority", group="low", group_priority=4, minutes=-5),
    ]
    usage = {("acme", "busy", "H1-1"): 4.0, ("acme", "quiet", "H1-1"): 1.0}
    assert order(jobs, usage) == ["quiet-group", "busy-group", "low-priority"]


def test_then_the_user_priority() -> None:
    jobs = [job("low", user_priority=9), job("high", user_priority=1, minutes=10)]
    assert order(jobs) == ["high", "low"]


def test_group_priority_outranks_user_priority() -> None:
    jobs = [
        job("best-user", group_priority=6, user_priority=1),
        job("best-group", group_priority=5, user_priority=10, minutes=10),
    ]
    assert order(jobs) == ["best-group", "best-user"]


def test_then_the_oldest_and_then_the_job_id() -> None:
    jobs = [job("b", minutes=3), job("c", minutes=1), job("a", minutes=3)]
    assert order(jobs) == ["c", "a", "b"]


def test_queue_positions_count_from_one_within_each_target() -> None:
    jobs = [
        job("h1-second", minutes=2),
        job("h2-first", machine="H2-1", minutes=5),
        job("h1-first", minutes=1),
    ]
    assert queue_positions(jobs, {}) == {"h1-first": 1, "h1-second": 2, "h2-first": 1}


@pytest.mark.parametrize("priority", [0, 11, -1, True])
def test_a_priority_outside_one_to_ten_is_refused(priority: int) -> None:
    with pytest.raises(ValueError, match=r"from 1 \(highest\) to 10"):
        check_priority(priority)


def test_priorities_one_to_ten_are_accepted() -> None:
    assert [check_priority(p) for p in range(1, 11)] == list(range(1, 11))
