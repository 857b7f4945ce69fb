"""The administration API (``/v1/admin/...``): what the CLI does to organisations, behind roles.

qstation's extension, for the portal and for scripts; absent from the hosted API. Each route
hands the caller to :class:`~qstation.service.administration.Administration`, which checks the
role and records the act.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from qstation.api.app_state import services_of, source_of
from qstation.api.routes import CurrentUser
from qstation.model import CreditKind, Group, Role, User
from qstation.scheduling.calendar import CalendarEvent, EventKind
from qstation.scheduling.policy import DEFAULT_PRIORITY, HIGHEST_PRIORITY, LOWEST_PRIORITY
from qstation.service.administration import Administration
from qstation.service.validation import GroupName, Name, PlainText
from qstation.store.audit import AuditQuery

router = APIRouter(prefix="/v1/admin", tags=["administration"])
Organisation = Annotated[str, Query(description="The organisation (default: the caller's).")]
Priority = Annotated[int, Field(ge=HIGHEST_PRIORITY, le=LOWEST_PRIORITY)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUser(_Body):
    email: Name
    password: PlainText
    organisation: GroupName | None = None
    group: GroupName | None = None
    priority: Priority = DEFAULT_PRIORITY
    role: Role = Role.MEMBER


class NewGroup(_Body):
    organisation: GroupName | None = None
    name: GroupName
    priority: Priority = DEFAULT_PRIORITY


class PriorityChange(_Body):
    priority: Priority


class RoleChange(_Body):
    role: Role


class Member(_Body):
    email: Name


class QuotaChange(_Body):
    organisation: GroupName | None = None
    kind: CreditKind
    credits: float = Field(ge=0, le=1e9)
    group: GroupName | None = None


class NewEvent(_Body):
    machine: GroupName
    kind: EventKind
    start: datetime
    end: datetime
    organisation: GroupName | None = None


def _admin(request: Request) -> Administration:
    return services_of(request).administration


def _user_view(user: User) -> dict[str, Any]:
    return {
        "email": user.email, "organisation": user.organisation, "group": user.group,
        "priority": user.priority, "role": user.role.value, "mfa": user.mfa_secret is not None,
        "created": user.created_at.isoformat(timespec="seconds"),
    }  # fmt: skip


def _group_view(group: Group) -> dict[str, Any]:
    return {"organisation": group.organisation, "name": group.name, "priority": group.priority}


@router.get("/users")
def list_users(
    request: Request, user: CurrentUser, organisation: Organisation = ""
) -> list[dict[str, Any]]:
    """The organisation's users (administrators of it, operators)."""
    return [
        _user_view(u) for u in _admin(request).list_users(user, organisation or user.organisation)
    ]


@router.post("/users")
def add_user(body: NewUser, request: Request, user: CurrentUser) -> dict[str, Any]:
    added = _admin(request).add_user(
        user, source_of(request), body.email, body.password,
        body.organisation or user.organisation, body.group, body.priority, body.role,
    )  # fmt: skip
    return _user_view(added)


@router.post("/users/{email}/revoke")
def revoke_user(email: str, request: Request, user: CurrentUser) -> dict[str, str]:
    """End every session of the user within seconds."""
    _admin(request).end_sessions(user, source_of(request), email)
    return {"revoked": email}


@router.put("/users/{email}/priority")
def set_user_priority(
    email: str, body: PriorityChange, request: Request, user: CurrentUser
) -> dict[str, Any]:
    """The user's priority within their groups (1 is the highest); their waiting jobs move."""
    _admin(request).set_user_priority(user, source_of(request), email, body.priority)
    return {"email": email, "priority": body.priority}


@router.put("/users/{email}/role")
def set_role(email: str, body: RoleChange, request: Request, user: CurrentUser) -> dict[str, str]:
    """Only an operator makes or unmakes operators."""
    _admin(request).set_role(user, source_of(request), email, body.role)
    return {"email": email, "role": body.role.value}


@router.delete("/users/{email}")
def remove_user(email: str, request: Request, user: CurrentUser) -> dict[str, str]:
    """Remove the user: their sessions end, their jobs that have not run are canceled; the jobs
    stay, for accounting."""
    _admin(request).remove_user(user, source_of(request), email)
    return {"removed": email}


@router.get("/groups")
def list_groups(
    request: Request, user: CurrentUser, organisation: Organisation = ""
) -> list[dict[str, Any]]:
    groups = _admin(request).list_groups(user, organisation or user.organisation)
    return [_group_view(group) for group in groups]


@router.post("/groups")
def add_group(body: NewGroup, request: Request, user: CurrentUser) -> dict[str, Any]:
    organisation = body.organisation or user.organisation
    group = _admin(request).add_group(
        user, source_of(request), organisation, body.name, body.priority
    )
    return _group_view(group)


@router.put("/groups/{organisation}/{name}/priority")
def set_group_priority(
    organisation: str, name: str, body: PriorityChange, request: Request, user: CurrentUser
) -> dict[str, Any]:
    _admin(request).set_group_priority(user, source_of(request), organisation, name, body.priority)
    return {"organisation": organisation, "name": name, "priority": body.priority}


@router.post("/groups/{organisation}/{name}/members")
def add_member(
    organisation: str, name: str, body: Member, request: Request, user: CurrentUser
) -> dict[str, str]:
    _admin(request).add_member(user, source_of(request), organisation, name, body.email)
    return {"organisation": organisation, "group": name, "member": body.email}


@router.delete("/groups/{organisation}/{name}/members/{email}")
def remove_member(
    organisation: str, name: str, email: str, request: Request, user: CurrentUser
) -> dict[str, str]:
    _admin(request).remove_member(user, source_of(request), organisation, name, email)
    return {"organisation": organisation, "group": name, "removed": email}


@router.get("/quotas")
def list_quotas(
    request: Request, user: CurrentUser, organisation: Organisation = ""
) -> list[dict[str, Any]]:
    quotas = _admin(request).list_quotas(user, organisation or user.organisation)
    return [
        {"organisation": q.organisation, "group": q.group, "kind": q.kind.value,
         "credits": q.credits, "spent": spent}
        for q, spent in quotas
    ]  # fmt: skip


@router.put("/quotas")
def set_quota(body: QuotaChange, request: Request, user: CurrentUser) -> dict[str, Any]:
    organisation = body.organisation or user.organisation
    _admin(request).set_quota(
        user, source_of(request), organisation, body.kind, body.credits, body.group
    )
    return {"organisation": organisation, "group": body.group, "kind": body.kind.value,
            "credits": body.credits}  # fmt: skip


@router.delete("/quotas")
def remove_quota(
    request: Request,
    user: CurrentUser,
    kind: CreditKind,
    organisation: Organisation = "",
    group: Annotated[
        str | None, Query(description="A group's quota (default: the whole organisation's).")
    ] = None,
) -> dict[str, Any]:
    """No limit any more on ``kind`` for the organisation (or group)."""
    chosen = organisation or user.organisation
    _admin(request).remove_quota(user, source_of(request), chosen, kind, group)
    return {"organisation": chosen, "group": group, "kind": kind.value, "removed": True}


def _event_view(event: CalendarEvent) -> dict[str, Any]:
    return {
        "id": event.id, "machine": event.machine, "kind": event.kind.value,
        "start": event.start.isoformat(), "end": event.end.isoformat(),
        "organisation": event.organisation,
    }  # fmt: skip


@router.get("/calendar")
def list_events(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    """Every window of operational hours (operators)."""
    return [_event_view(event) for event in _admin(request).calendar_events(user)]


@router.post("/calendar")
def add_event(body: NewEvent, request: Request, user: CurrentUser) -> dict[str, Any]:
    event = CalendarEvent(body.machine, body.kind, body.start, body.end, body.organisation)
    return _event_view(_admin(request).add_calendar_event(user, source_of(request), event))


@router.delete("/calendar/{event_id}")
def remove_event(event_id: int, request: Request, user: CurrentUser) -> dict[str, int]:
    _admin(request).remove_calendar_event(user, source_of(request), event_id)
    return {"removed": event_id}


@router.get("/audit")
def audit(
    request: Request,
    user: CurrentUser,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """The audit log, newest first (operators)."""
    entries = _admin(request).audit_entries(user, AuditQuery(actor, action, since, until, limit))
    return [
        {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "subject": e.subject,
         "source": e.source, "outcome": e.outcome, "detail": e.detail}
        for e in entries
    ]  # fmt: skip
