"""When a hardware target runs jobs, and what state it reports (docs/scheduling.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from qstation.scheduling.calendar import Availability, CalendarEvent, EventKind

NOON = datetime(2026, 11, 24, 12, 0, 0)


def event(
    kind: EventKind, start_h: int, end_h: int, organisation: str | None = None
) -> CalendarEvent:
    day = NOON.replace(hour=0)
    return CalendarEvent(
        "H1-1", kind, day + timedelta(hours=start_h), day + timedelta(hours=end_h), organisation
    )


ONLINE = event(EventKind.ONLINE, 8, 16)
RESERVED = event(EventKind.RESERVATION, 11, 13, "acme")
MAINTENANCE = event(EventKind.MAINTENANCE, 12, 14)


@pytest.mark.parametrize(
    ("events", "state", "acme_runs", "others_run"),
    [
        ([], "online", True, True),  # no calendar: always open
        ([ONLINE], "online", True, True),
        ([event(EventKind.ONLINE, 13, 16)], "offline", False, False),  # later today
        ([ONLINE, RESERVED], "online, reserved", True, False),
        ([RESERVED], "online, reserved", True, False),
        ([ONLINE, MAINTENANCE], "in maintenance", False, False),
        ([ONLINE, RESERVED, MAINTENANCE], "in maintenance, reserved", False, False),
    ],
)
def test_state_and_whose_jobs_run_at_noon(
    events: list[CalendarEvent], state: str, acme_runs: bool, others_run: bool
) -> None:
    availability = Availability.at(events, NOON)
    assert availability.state == state
    assert availability.runs_jobs_of("acme") is acme_runs
    assert availability.runs_jobs_of("globex") is others_run


def test_a_window_covers_its_start_but_not_its_end() -> None:
    assert ONLINE.covers(ONLINE.start) and not ONLINE.covers(ONLINE.end)
    assert Availability.at([ONLINE], ONLINE.end).state == "offline"
