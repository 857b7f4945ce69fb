"""The rules that decide, at a given moment, which ranked candidates may run (docs/scheduling.md):
operational hours, then batches holding their target."""

from __future__ import annotations

from datetime import datetime, timedelta

from qstation.scheduling.batches import Batch, BatchHold, BatchJob, holding_batches
from qstation.scheduling.calendar import Availability, CalendarEvent, EventKind
from qstation.scheduling.dispatch import Candidate, Lane, runnable

NOW = datetime(2026, 11, 24, 12, 0)


def lane_head(job_id: str, organisation: str = "acme", machine: str = "H1-1") -> Candidate:
    return Candidate(job_id, machine, organisation, Lane(machine, organisation, "DEFAULT", 5))


def batch_job(job_id: str, batch_id: str, machine: str = "H1-1") -> Candidate:
    return Candidate(job_id, machine, "acme", None, batch_id)


def ids(candidates: object) -> list[str]:
    return [candidate.job_id for candidate in candidates]  # type: ignore[attr-defined]


def open_to(*organisations: str) -> Availability:
    events = [
        CalendarEvent("H1-1", EventKind.RESERVATION, NOW, NOW + timedelta(hours=1), organisation)
        for organisation in organisations
    ]
    return Availability.at(events, NOW)


def test_without_calendars_or_batches_every_lane_runs_in_the_order_given() -> None:
    candidates = [lane_head("b", "globex"), lane_head("a"), lane_head("c", machine="H2-1")]
    assert ids(runnable(candidates, {}, {})) == ["b", "a", "c"]


def test_a_target_closed_to_an_organisation_runs_none_of_its_lanes() -> None:
    candidates = [lane_head("globex-job", "globex"), lane_head("acme-job", "acme")]
    assert ids(runnable(candidates, {"H1-1": open_to("acme")}, {})) == ["acme-job"]
    offline = Availability.at([CalendarEvent("H1-1", EventKind.ONLINE, NOW, NOW)], NOW)
    assert ids(runnable(candidates, {"H1-1": offline}, {})) == []


def test_a_holding_batch_runs_alone_on_its_target_and_others_run_elsewhere() -> None:
    candidates = [
        lane_head("lane-job"), batch_job("other-batch", "b2"), batch_job("member", "b1"),
        lane_head("elsewhere", machine="H2-1"),
    ]  # fmt: skip
    holds = {"H1-1": BatchHold("b1", "acme")}
    assert ids(runnable(candidates, {}, holds)) == ["member", "elsewhere"]


def test_a_hold_lapses_while_the_calendar_closes_the_target_to_its_organisation() -> None:
    candidates = [lane_head("globex-job", "globex"), batch_job("member", "b1")]
    holds = {"H1-1": BatchHold("b1", "acme")}
    assert ids(runnable(candidates, {"H1-1": open_to("globex")}, holds)) == ["globex-job"]


def test_batch_members_are_candidates_only_while_their_batch_holds() -> None:
    assert ids(runnable([batch_job("member", "b1")], {}, {})) == []


def started_batch(batch_id: str, started_minutes_ago: int, machine: str = "H1-1") -> Batch:
    started = NOW - timedelta(minutes=started_minutes_ago)
    first = BatchJob(started - timedelta(minutes=1), started, None, True, None, False)
    return Batch(batch_id, machine, "acme", 10.0, first, [first])


def test_of_two_batches_started_on_one_target_the_first_started_holds_it() -> None:
    holds = holding_batches([started_batch("late", 1), started_batch("early", 5)], NOW)
    assert holds == {"H1-1": BatchHold("early", "acme")}


def test_a_batch_not_started_holds_nothing() -> None:
    waiting = BatchJob(NOW, None, None, True, None, False)
    assert holding_batches([Batch("b", "H1-1", "acme", 10.0, waiting, [waiting])], NOW) == {}
