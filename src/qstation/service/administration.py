"""What administrators do over HTTP (and the portal will), each act checked and audited.

Roles (:class:`~qstation.model.Role`): an organisation's administrator manages its users,
groups, members, priorities and quotas; an operator manages every organisation, the calendar of
operational hours, and reads the audit log. The shell's ``qstation`` commands act as an
operator. Every change is recorded with who made it, when and from where.
"""

from __future__ import annotations

from qstation.errors import Forbidden, UserNotFound
from qstation.model import CreditKind, CreditQuota, Group, Role, User
from qstation.scheduling.calendar import CalendarEvent
from qstation.service.audit import AuditLog
from qstation.service.calendar import CalendarService
from qstation.service.organisations import OrganisationService
from qstation.service.users import UserService
from qstation.store.audit import AuditEntry, AuditQuery


class Administration:
    def __init__(
        self,
        users: UserService,
        organisations: OrganisationService,
        calendar: CalendarService,
        audit: AuditLog,
    ) -> None:
        self.users = users
        self.organisations = organisations
        self.calendar = calendar
        self.audit = audit

    # --- who may -----------------------------------------------------------------------

    @staticmethod
    def check_administers(actor: User, organisation: str) -> None:
        """Raise Forbidden unless ``actor`` administers ``organisation``."""
        if _administers(actor, organisation):
            return
        raise Forbidden(f"only an administrator of {organisation} or an operator may do this")

    @staticmethod
    def check_operates(actor: User) -> None:
        if actor.role is not Role.OPERATOR:
            raise Forbidden("only an operator may do this")

    def _record(
        self, actor: User, source: str, action: str, subject: str, detail: str = ""
    ) -> None:
        self.audit.record(
            action, actor=actor.email, subject=subject, source=source, detail=detail or None
        )

    # --- users --------------------------------------------------------------------------

    def list_users(self, actor: User, organisation: str) -> list[User]:
        self.check_administers(actor, organisation)
        return [user for user in self.users.list() if user.organisation == organisation]

    def add_user(
        self,
        actor: User,
        source: str,
        email: str,
        password: str,
        organisation: str,
        group: str | None,
        priority: int,
        role: Role,
    ) -> User:
        self.check_administers(actor, organisation)
        if role is Role.OPERATOR:
            self.check_operates(actor)
        added = self.users.add(email, password, group, organisation, priority, role)
        self._record(actor, source, "user.add", added.email, f"{organisation} {role.value}")
        return added

    def _target(self, actor: User, email: str) -> User:
        """The user an act is aimed at, if ``actor`` administers them. A user of another
        organisation and one that does not exist give the same 403, so an administrator cannot
        probe other organisations' accounts; only an operator acts on operators."""
        try:
            target = self.users.get(email)
        except UserNotFound:
            if actor.role is Role.OPERATOR:
                raise
            target = None
        if target is None or not _administers(actor, target.organisation):
            raise Forbidden(f"you administer no user {email}")
        if target.role is Role.OPERATOR:
            self.check_operates(actor)
        return target

    def end_sessions(self, actor: User, source: str, email: str) -> None:
        self._target(actor, email)
        self.users.end_sessions(email)
        self._record(actor, source, "user.revoke", email)

    def set_user_priority(self, actor: User, source: str, email: str, priority: int) -> None:
        self._target(actor, email)
        self.users.set_priority(email, priority)
        self._record(actor, source, "user.set-priority", email, str(priority))

    def set_role(self, actor: User, source: str, email: str, role: Role) -> None:
        """Only an operator makes or unmakes operators."""
        self._target(actor, email)
        if role is Role.OPERATOR:
            self.check_operates(actor)
        self.users.set_role(email, role)
        self._record(actor, source, "user.set-role", email, role.value)

    def remove_user(self, actor: User, source: str, email: str) -> None:
        self._target(actor, email)
        self.users.remove(email)
        self._record(actor, source, "user.remove", email)

    # --- groups, members, quotas ----------------------------------------------------------

    def list_groups(self, actor: User, organisation: str) -> list[Group]:
        self.check_administers(actor, organisation)
        return [g for g in self.organisations.groups() if g.organisation == organisation]

    def add_group(
        self, actor: User, source: str, organisation: str, name: str, priority: int
    ) -> Group:
        self.check_administers(actor, organisation)
        group = self.organisations.add_group(organisation, name, priority)
        self._record(actor, source, "group.add", f"{organisation}/{name}", str(priority))
        return group

    def set_group_priority(
        self, actor: User, source: str, organisation: str, name: str, priority: int
    ) -> None:
        self.check_administers(actor, organisation)
        self.organisations.set_group_priority(organisation, name, priority)
        self._record(actor, source, "group.set-priority", f"{organisation}/{name}", str(priority))

    def add_member(
        self, actor: User, source: str, organisation: str, group: str, email: str
    ) -> None:
        self.check_administers(actor, organisation)
        self.organisations.add_member(organisation, group, self._target(actor, email))
        self._record(actor, source, "group.add-member", f"{organisation}/{group}", email)

    def remove_member(
        self, actor: User, source: str, organisation: str, group: str, email: str
    ) -> None:
        self.check_administers(actor, organisation)
        self.organisations.remove_member(organisation, group, self._target(actor, email))
        self._record(actor, source, "group.remove-member", f"{organisation}/{group}", email)

    def list_quotas(self, actor: User, organisation: str) -> list[tuple[CreditQuota, float]]:
        self.check_administers(actor, organisation)
        return [q for q in self.organisations.quotas() if q[0].organisation == organisation]

    def set_quota(
        self,
        actor: User,
        source: str,
        organisation: str,
        kind: CreditKind,
        credits: float,
        group: str | None,
    ) -> None:
        self.check_administers(actor, organisation)
        self.organisations.set_quota(organisation, kind, credits, group)
        subject = f"{organisation}/{group or '*'}"
        self._record(actor, source, "quota.set", subject, f"{kind.value} {credits:g}")

    def remove_quota(
        self, actor: User, source: str, organisation: str, kind: CreditKind, group: str | None
    ) -> None:
        self.check_administers(actor, organisation)
        self.organisations.remove_quota(organisation, kind, group)
        self._record(actor, source, "quota.remove", f"{organisation}/{group or '*'}", kind.value)

    # --- operations ----------------------------------------------------------------------

    def calendar_events(self, actor: User) -> list[CalendarEvent]:
        self.check_operates(actor)
        return self.calendar.events()

    def add_calendar_event(self, actor: User, source: str, event: CalendarEvent) -> CalendarEvent:
        self.check_operates(actor)
        added = self.calendar.add(
            event.machine, event.kind, event.start, event.end, event.organisation
        )
        self._record(actor, source, "calendar.add", str(added.id), added.machine)
        return added

    def remove_calendar_event(self, actor: User, source: str, event_id: int) -> None:
        self.check_operates(actor)
        self.calendar.remove(event_id)
        self._record(actor, source, "calendar.remove", str(event_id))

    def audit_entries(self, actor: User, query: AuditQuery) -> list[AuditEntry]:
        self.check_operates(actor)
        return self.audit.find(query)


def _administers(actor: User, organisation: str) -> bool:
    return actor.role is Role.OPERATOR or (
        actor.role is Role.ADMIN and actor.organisation == organisation
    )
