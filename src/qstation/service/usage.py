"""What a user's organisation and groups used: HQCs this month against their quotas, and the
fair-share use of each machine in the current window (the portal's usage page and
``GET /v1/usage``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from qstation.model import CreditKind, User
from qstation.service.organisations import OrganisationService
from qstation.store import JobStore

WARNING_SHARE = 0.8
"""Use of a quota from which users are warned that it is running out."""


@dataclass(frozen=True)
class Allowance:
    """One holder's (organisation or one of its groups) use of one kind of device this month."""

    organisation: str
    group: str | None  # None: the whole organisation
    kind: CreditKind
    spent: float
    quota: float | None  # None: no limit set

    @property
    def holder(self) -> str:
        return self.organisation if self.group is None else f"{self.organisation} / {self.group}"

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


@dataclass(frozen=True)
class Usage:
    organisation: str
    allowances: list[Allowance]
    window_use: dict[tuple[str, str], float]
    """HQCs per (group, machine) in the fair-share window."""


class UsageService:
    def __init__(
        self, store: JobStore, organisations: OrganisationService, window: timedelta
    ) -> None:
        self.store = store
        self.organisations = organisations
        self.window = window

    def of(self, user: User) -> Usage:
        """The user's organisation, and each group of it the user belongs to."""
        organisation = user.organisation
        store = self.store
        now = self.organisations.clock()
        groups = sorted(
            group.name
            for group in self.organisations.groups()
            if group.organisation == organisation
            and (
                group.name == user.group
                or store.organisations.is_member(organisation, group.name, user.id)
            )
        )
        quotas = {
            (quota.group, quota.kind): quota.credits
            for quota in store.organisations.quotas()
            if quota.organisation == organisation
        }
        allowances = [
            Allowance(
                organisation,
                group,
                kind,
                store.organisations.spent_this_month(organisation, group, kind, now),
                quotas.get((group, kind)),
            )
            for group in (None, *groups)
            for kind in CreditKind
        ]
        use = store.dispatch.window_use(organisation, now, self.window)
        return Usage(organisation, allowances, use)
