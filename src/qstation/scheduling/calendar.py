"""Operational hours: when a hardware target takes jobs, and for whom.

A hardware target with calendar events follows them: it runs queued jobs only inside an
``online`` window (anyone's jobs) or a ``reservation`` (one organisation's jobs), and not during
``maintenance``, which outranks both. Outside every window it is offline; its queue waits. A
target with no events at all is always open, so a fresh installation runs jobs at once;
emulators and syntax checkers never get events (the service refuses them) and are always open.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


class EventKind(enum.StrEnum):
    ONLINE = "online"
    RESERVATION = "reservation"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True)
class CalendarEvent:
    """``machine`` is ``kind`` from ``start`` (inclusive) to ``end`` (exclusive), naive UTC."""

    machine: str
    kind: EventKind
    start: datetime
    end: datetime
    organisation: str | None = None  # the reservation's holder
    id: int | None = None

    def covers(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


class Availability:
    """One target's state at one moment: from the events that cover that moment, and whether
    it has a calendar at all."""

    def __init__(self, current: Iterable[CalendarEvent], has_calendar: bool) -> None:
        current = list(current)
        self.has_calendar = has_calendar
        self.maintenance = any(event.kind is EventKind.MAINTENANCE for event in current)
        self.online = any(event.kind is EventKind.ONLINE for event in current)
        self.reserved_for = {
            event.organisation for event in current if event.kind is EventKind.RESERVATION
        }

    @classmethod
    def at(cls, events: Iterable[CalendarEvent], now: datetime) -> Availability:
        """From all of a target's events."""
        events = list(events)
        return cls((event for event in events if event.covers(now)), bool(events))

    def runs_jobs_of(self, organisation: str) -> bool:
        if not self.has_calendar:
            return True
        if self.maintenance:
            return False
        if self.reserved_for:
            return organisation in self.reserved_for
        return self.online

    @property
    def state(self) -> str:
        """The machine API's state words (``GET /v1/machine/{name}``)."""
        if not self.has_calendar:
            return "online"
        if self.maintenance:
            base = "in maintenance"
        elif self.online or self.reserved_for:
            base = "online"
        else:
            base = "offline"
        return f"{base}, reserved" if self.reserved_for else base
