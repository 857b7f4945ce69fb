"""``qstation calendar``: the operational hours of hardware targets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from qstation.cli.common import OPERATOR, fail_cleanly, open_for, store_options
from qstation.scheduling.calendar import CalendarEvent, EventKind


@click.group()
def calendar() -> None:
    """Manage the operational hours of hardware targets (times in UTC)."""


_MOMENT = click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"])


@calendar.command("add")
@click.argument("machine")
@click.argument("kind", type=click.Choice([kind.value for kind in EventKind]))
@click.argument("start", type=_MOMENT)
@click.argument("end", type=_MOMENT)
@click.option("--org", "organisation", help="The organisation a reservation is for.")
@store_options
@fail_cleanly
def calendar_add(
    machine: str,
    kind: str,
    start: datetime,
    end: datetime,
    organisation: str | None,
    **flags: Any,
) -> None:
    """Add a window: online (anyone's jobs run), reservation (only --org's) or maintenance.
    A hardware target with windows runs jobs only inside them."""
    with open_for(**flags) as services:
        event = services.calendar.add(machine, EventKind(kind), start, end, organisation)
        services.audit.record(
            "calendar.add", actor=OPERATOR, subject=str(event.id), detail=_describe(event)
        )
    click.echo(f"added event {event.id}: {_describe(event)}")


@calendar.command("list")
@store_options
@fail_cleanly
def calendar_list(**flags: Any) -> None:
    """List every window: id, machine, kind, start, end, organisation."""
    with open_for(**flags) as services:
        for event in services.calendar.events():
            click.echo(f"{event.id}\t{_describe(event)}")


@calendar.command("remove")
@click.argument("event_id", type=int)
@store_options
@fail_cleanly
def calendar_remove(event_id: int, **flags: Any) -> None:
    """Remove a window by its id."""
    with open_for(**flags) as services:
        services.calendar.remove(event_id)
        services.audit.record("calendar.remove", actor=OPERATOR, subject=str(event_id))
    click.echo(f"removed event {event_id}")


def _describe(event: CalendarEvent) -> str:
    start, end = (moment.isoformat(timespec="minutes") for moment in (event.start, event.end))
    return f"{event.machine}\t{event.kind}\t{start}\t{end}\t{event.organisation or '-'}"
