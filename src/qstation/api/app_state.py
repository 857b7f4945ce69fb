"""Access to the services the application's lifespan created."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from fastapi import Request
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from qstation.api.job_waits import JobWaits
    from qstation.service.services import Services


Result = TypeVar("Result")


def services_of(request: Request) -> Services:
    return cast("Services", request.app.state.services)


async def store_call(services: Services, call: Callable[..., Result], *args: Any) -> Result:
    """Run a store call from the event loop: at once on SQLite, whose reads take microseconds
    and never wait for a writer (WAL); in the thread pool on PostgreSQL, whose calls cross the
    network, so a slow database cannot stall the event loop."""
    if services.store.database.dialect == "sqlite":
        return call(*args)
    return await run_in_threadpool(call, *args)


def job_waits_of(request: Request) -> JobWaits:
    return cast("JobWaits", request.app.state.job_waits)


def source_of(request: Request) -> str:
    """The client's address (a trusted proxy's forwarded one: ``QSTATION_TRUSTED_PROXIES``)."""
    return request.client.host if request.client else "unknown"
