"""Usage: HQCs the caller's organisation and groups used this month against their quotas, and
their fair-share use of each machine in the current window."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from qstation.api.app_state import services_of
from qstation.portal.web import SignedIn, render
from qstation.service.usage import WARNING_SHARE

router = APIRouter()


@router.get("/usage")
async def usage_page(request: Request, session: SignedIn) -> Response:
    services = services_of(request)
    usage = await run_in_threadpool(services.usage.of, session.user)
    return render(
        request, "usage.html", session, warning_percent=round(WARNING_SHARE * 100),
        window_hours=services.settings.fair_share_window_hours, organisation=usage.organisation,
        allowances=usage.allowances, window_use=sorted(usage.window_use.items()),
    )  # fmt: skip
