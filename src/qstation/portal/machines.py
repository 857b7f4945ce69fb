"""Machines: each target's state, queue length, calendar for the coming weeks and catalogue
entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from qstation.api.app_state import services_of
from qstation.model import User
from qstation.portal.web import SignedIn, render
from qstation.scheduling.calendar import CalendarEvent, EventKind
from qstation.service.calendar import holder_seen_by

router = APIRouter()
CALENDAR_DAYS = 28
"""How far ahead a machine's page shows its calendar."""


@router.get("/machines")
async def machine_list(request: Request, session: SignedIn) -> Response:
    services = services_of(request)

    def gather() -> list[dict[str, Any]]:
        lengths = services.store.dispatch.queue_lengths()
        return [
            {
                "device": device,
                "state": services.calendar.state(device.name),
                "queued": lengths.get(device.name, 0),
            }
            for device in services.catalogue
        ]

    return render(request, "machines.html", session, machines=await run_in_threadpool(gather))


@router.get("/machines/{name}")
async def machine_page(name: str, request: Request, session: SignedIn) -> Response:
    services = services_of(request)
    device = services.catalogue.get(name)  # an unknown name: 404

    def gather() -> dict[str, Any]:
        now = services.calendar.clock()
        events = services.store.calendar.events(now, now + timedelta(days=CALENDAR_DAYS))
        return {
            "state": services.calendar.state(device.name),
            "queued": services.store.dispatch.queue_lengths().get(device.name, 0),
            "events": [
                _event_view(event, session.user) for event in events if event.machine == name
            ],
        }

    gathered = await run_in_threadpool(gather)
    return render(
        request, "machine.html", session, device=device, days=CALENDAR_DAYS,
        noise=device.wire.get("noise_specs", {}), **gathered,
    )  # fmt: skip


def _event_view(event: CalendarEvent, viewer: User) -> dict[str, Any]:
    return {
        "kind": event.kind.value,
        "start": event.start,
        "end": event.end,
        "holder": holder_seen_by(event, viewer),
        "reserved": event.kind is EventKind.RESERVATION,
    }
