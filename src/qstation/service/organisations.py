"""Organisations and their groups, with the priorities fair-share dispatch reads.

Administrators manage them from the CLI (``qstation org``, ``group`` and ``quota``). Every
organisation has a ``DEFAULT`` group, made with it; a job that names no group goes to its
submitter's own group; one may name another group only if its submitter is a member of it
(``qstation group add-member``).
"""

from __future__ import annotations

import math

from qstation.errors import AccountNotFound, BadRequest
from qstation.model import DEFAULT_GROUP, CreditKind, CreditQuota, Group, User
from qstation.scheduling.policy import DEFAULT_PRIORITY, check_priority
from qstation.service.clock import Clock, utc_now
from qstation.service.validation import GROUP_LENGTH, check_plain_text
from qstation.store import JobStore


class OrganisationService:
    def __init__(self, store: JobStore, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def add(self, name: str) -> None:
        self.store.organisations.create(_checked_name(name, "organisation"), self.clock())

    def names(self) -> list[str]:
        return self.store.organisations.names()

    def add_group(self, organisation: str, name: str, priority: int = DEFAULT_PRIORITY) -> Group:
        group = Group(organisation, _checked_name(name, "group"), checked_priority(priority))
        self.store.organisations.create_group(group)
        return group

    def set_group_priority(self, organisation: str, name: str, priority: int) -> None:
        self.store.organisations.set_group_priority(organisation, name, checked_priority(priority))

    def groups(self) -> list[Group]:
        return self.store.organisations.groups()

    def add_member(self, organisation: str, group: str, user: User) -> None:
        """Let ``user``, of this organisation, submit jobs under ``group``."""
        if user.organisation != organisation:
            raise BadRequest(f"{user.email} is not a user of {organisation}")
        self.group(organisation, group)
        self.store.organisations.add_member(organisation, group, user.id)

    def remove_member(self, organisation: str, group: str, user: User) -> None:
        if group == user.group and organisation == user.organisation:
            raise BadRequest(f"{group} is {user.email}'s own group; give them another first")
        if not self.store.organisations.remove_member(organisation, group, user.id):
            raise AccountNotFound(f"{user.email} is not a member of {group} of {organisation}")

    def members(self, organisation: str, group: str) -> list[str]:
        self.group(organisation, group)
        return self.store.organisations.members(organisation, group)

    def require(self, organisation: str) -> None:
        """Raise :class:`AccountNotFound` unless the organisation exists."""
        self.group(organisation, DEFAULT_GROUP)

    def group(self, organisation: str, name: str) -> Group:
        """The group, which must exist."""
        group = self.store.organisations.get_group(organisation, name)
        if group is None:
            if self.store.organisations.get_group(organisation, DEFAULT_GROUP) is None:
                raise AccountNotFound(f"No organisation {organisation}.")
            raise AccountNotFound(f"The organisation {organisation} has no group {name}.")
        return group

    def set_quota(
        self, organisation: str, kind: CreditKind, credits: float, group: str | None = None
    ) -> CreditQuota:
        if not math.isfinite(credits) or credits < 0:
            raise BadRequest(f"a quota is a number of HQCs, 0 or more, not {credits!r}")
        quota = CreditQuota(organisation, kind, credits, group)
        self.store.organisations.set_quota(quota)
        return quota

    def remove_quota(self, organisation: str, kind: CreditKind, group: str | None = None) -> None:
        self.store.organisations.remove_quota(organisation, group, kind)

    def quotas(self) -> list[tuple[CreditQuota, float]]:
        """Every quota, with the HQCs spent against it this month."""
        now = self.clock()
        return [
            (
                quota,
                self.store.organisations.spent_this_month(
                    quota.organisation, quota.group, quota.kind, now
                ),
            )
            for quota in self.store.organisations.quotas()
        ]


def checked_priority(priority: int) -> int:
    try:
        return check_priority(priority)
    except ValueError as error:
        raise BadRequest(str(error)) from None


def _checked_name(name: str, what: str) -> str:
    name = check_plain_text(name, f"the {what} name", GROUP_LENGTH)
    if not name.strip():
        raise BadRequest(f"the {what} name must not be empty")
    return name
