"""Access to the services the application's lifespan created."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fastapi import Request

if TYPE_CHECKING:
    from qstation.api.job_waits import JobWaits
    from qstation.service.services import Services


def services_of(request: Request) -> Services:
    return cast("Services", request.app.state.services)


def job_waits_of(request: Request) -> JobWaits:
    return cast("JobWaits", request.app.state.job_waits)


def source_of(request: Request) -> str:
    """The client's address (a trusted proxy's forwarded one: ``QSTATION_TRUSTED_PROXIES``)."""
    return request.client.host if request.client else "unknown"
