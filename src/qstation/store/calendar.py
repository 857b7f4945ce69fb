"""Operational hours of hardware targets, as calendar events (:mod:`qstation.scheduling.calendar`
holds the rules)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import delete, insert, select

from qstation import errors
from qstation.scheduling.calendar import Availability, CalendarEvent
from qstation.store.database import Database
from qstation.store.records import calendar_event
from qstation.store.schema import calendar_events


class CalendarRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    def add(self, event: CalendarEvent) -> CalendarEvent:
        with self._db.write() as conn:
            event_id = conn.execute(
                insert(calendar_events)
                .values(
                    machine=event.machine,
                    kind=event.kind,
                    starts_at=event.start,
                    ends_at=event.end,
                    organisation=event.organisation,
                )
                .returning(calendar_events.c.id)
            ).scalar_one()
        return dataclasses.replace(event, id=event_id)

    def remove(self, event_id: int) -> None:
        with self._db.write() as conn:
            removed = conn.execute(
                delete(calendar_events).where(calendar_events.c.id == event_id)
            ).rowcount
        if not removed:
            raise errors.AccountNotFound(f"No calendar event {event_id}.")

    def events(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[CalendarEvent]:
        """Events overlapping ``[start, end)`` (all when not given), by start time."""
        query = select(calendar_events).order_by(
            calendar_events.c.starts_at, calendar_events.c.machine, calendar_events.c.id
        )
        if start is not None:
            query = query.where(calendar_events.c.ends_at > start)
        if end is not None:
            query = query.where(calendar_events.c.starts_at < end)
        with self._db.read() as conn:
            return [calendar_event(row) for row in conn.execute(query)]

    def availability(self, machine: str, now: datetime) -> Availability:
        with self._db.read() as conn:
            rows = conn.execute(
                select(calendar_events).where(calendar_events.c.machine == machine)
            ).all()
        return Availability.at(map(calendar_event, rows), now)
