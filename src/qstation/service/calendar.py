"""Operational hours of the hardware targets, as administrators set them and users see them.

The rules (:mod:`qstation.scheduling.calendar`) decide when a target runs jobs; this service
checks what administrators enter, answers ``GET /v1/machine/{name}`` and serves the calendar in
the client's ``/beta/reservation`` format.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from qstation.devices.catalogue import DeviceCatalogue, SystemType
from qstation.errors import BadRequest
from qstation.model import Role, User
from qstation.scheduling.calendar import CalendarEvent, EventKind
from qstation.service.clock import Clock, utc_now
from qstation.service.organisations import OrganisationService
from qstation.store import JobStore


class CalendarService:
    def __init__(self, store: JobStore, catalogue: DeviceCatalogue, clock: Clock = utc_now) -> None:
        self.store = store
        self.catalogue = catalogue
        self.clock = clock

    def add(
        self,
        machine: str,
        kind: EventKind,
        start: datetime,
        end: datetime,
        organisation: str | None = None,
    ) -> CalendarEvent:
        device = self.catalogue.get(machine)
        if device.system_type is not SystemType.HARDWARE:
            raise BadRequest(f"{device.name} is not a hardware target: it is always online")
        if end <= start:
            raise BadRequest(f"the event must end after it starts ({start} to {end})")
        if (kind is EventKind.RESERVATION) != (organisation is not None):
            raise BadRequest("a reservation names its organisation, and only a reservation does")
        if organisation is not None:
            OrganisationService(self.store, self.clock).require(organisation)
        return self.store.calendar.add(CalendarEvent(device.name, kind, start, end, organisation))

    def remove(self, event_id: int) -> None:
        self.store.calendar.remove(event_id)

    def events(self) -> list[CalendarEvent]:
        return self.store.calendar.events()

    def state(self, machine: str) -> str:
        """``online``, ``offline``, ``in maintenance``, each perhaps with ``, reserved``."""
        device = self.catalogue.get(machine)
        if device.system_type is not SystemType.HARDWARE:
            return "online"
        return self.store.calendar.availability(device.name, self.clock()).state

    def reservations(self, user: User, start: str, end: str) -> list[dict[str, Any]]:
        """The windows from the first day to the last (inclusive) in the client's format: only
        ``online`` and ``reservation`` (maintenance is the gaps), a reservation's organisation
        only to those :func:`holder_seen_by` shows it to."""
        first, last = _day(start, "start"), _day(end, "end")
        if last < first:
            raise BadRequest(f"end {end} is before start {start}")
        window_start = datetime.combine(first, time())
        # the day after the last; the last representable day has none, and needs none
        window_end = datetime.combine(last, time.max)
        listed = []
        for event in self.store.calendar.events(window_start, window_end):
            if event.kind is EventKind.MAINTENANCE:
                continue
            entry = {
                "start-date": _wire(event.start),
                "end-date": _wire(event.end),
                "machine": event.machine,
                "event-type": event.kind.value,
                "reservation-type": "",
            }
            holder = holder_seen_by(event, user)
            if holder is not None:
                entry["organization"] = holder
            listed.append(entry)
        return listed


def holder_seen_by(event: CalendarEvent, viewer: User) -> str | None:
    """A reservation's organisation, as ``viewer`` may see it: its own members and operators
    (who keep the calendar) see it; for anyone else it is None."""
    if event.organisation is None:
        return None
    if viewer.organisation == event.organisation or viewer.role is Role.OPERATOR:
        return event.organisation
    return None


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{what} must be a date, YYYY-MM-DD, not {text!r}") from None


def _wire(moment: datetime) -> str:
    """Exactly ``YYYY-MM-DDTHH:MM:SS``: the client parses the string by slicing."""
    return moment.replace(microsecond=0).isoformat(timespec="seconds")
