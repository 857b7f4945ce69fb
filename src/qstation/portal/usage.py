"""Usage: HQCs the caller's organisation and groups used this month against their quotas, and
their fair-share use of each machine in the current window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from qstation.api.app_state import services_of
from qstation.model import CreditKind, User
from qstation.portal.web import SignedIn, render
from qstation.service.services import Services

router = APIRouter()
WARNING_SHARE = 0.8
"""Use of a quota from which the portal warns that it is running out."""


@dataclass(frozen=True)
class Allowance:
    """One holder's (organisation or group) use of one kind of device this month."""

    holder: str
    kind: CreditKind
    spent: float
    quota: float | None  # None: no limit set

    @property
    def share(self) -> float | None:
        if self.quota is None:
            return None
        return 1.0 if self.quota == 0 else min(1.0, self.spent / self.quota)

    @property
    def band(self) -> str:
        """``ok``, ``warning`` (from :data:`WARNING_SHARE`) or ``exhausted``."""
        if self.quota is None:
            return "ok"
        if self.spent >= self.quota:
            return "exhausted"
        return "warning" if self.spent >= WARNING_SHARE * self.quota else "ok"


@router.get("/usage")
async def usage_page(request: Request, session: SignedIn) -> Response:
    services = services_of(request)
    gathered = await run_in_threadpool(_gather, services, session.user)
    return render(
        request, "usage.html", session, warning_percent=round(WARNING_SHARE * 100),
        window_hours=services.settings.fair_share_window_hours, **gathered,
    )  # fmt: skip


def _gather(services: Services, user: User) -> dict[str, Any]:
    organisation = user.organisation
    store = services.store
    now = services.organisations.clock()
    groups = sorted(
        group.name
        for group in services.organisations.groups()
        if group.organisation == organisation
        and (
            group.name == user.group
            or store.organisations.is_member(organisation, group.name, user.id)
        )
    )
    quotas = {
        (quota.group, quota.kind): quota.credits
        for quota, _ in services.organisations.quotas()
        if quota.organisation == organisation
    }
    allowances = [
        Allowance(
            organisation if group is None else f"{organisation} / {group}",
            kind,
            store.organisations.spent_this_month(organisation, group, kind, now),
            quotas.get((group, kind)),
        )
        for group in (None, *groups)
        for kind in CreditKind
    ]
    window = store.dispatch.window_use(organisation, now, services.settings.fair_share_window)
    return {
        "organisation": organisation,
        "allowances": allowances,
        "window_use": sorted(window.items()),
    }
