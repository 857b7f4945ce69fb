"""Administration pages: an organisation's users, groups, members, priorities and quotas for
its administrators; every organisation and the calendar for operators.

Each action goes through :class:`~qstation.service.administration.Administration`, which checks
the role (403 otherwise) and records who did what, and when, in the audit log. Forms are read
into the administration API's own request models, so both check input the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from qstation.api.admin import (
    Member,
    NewEvent,
    NewGroup,
    NewUser,
    PriorityChange,
    QuotaChange,
    RoleChange,
)
from qstation.api.app_state import services_of, source_of
from qstation.errors import BadRequest, Forbidden
from qstation.model import Role, User
from qstation.portal.web import CheckedForm, SignedIn, redirect, render
from qstation.scheduling.calendar import CalendarEvent
from qstation.service.validation import describe_problems
from qstation.store.audit import AuditQuery

router = APIRouter(prefix="/admin")
Model = TypeVar("Model", bound=BaseModel)
RECENT_CHANGES = 50


def _organisation_of(user: User, asked: str | None) -> str:
    """The organisation a page or action is about; administrators have only their own."""
    if user.role is Role.MEMBER:
        raise Forbidden("only administrators and operators may use the administration pages")
    return asked or user.organisation


def _read(model: type[Model], form: FormData, *fields: str) -> Model:
    """The named fields of the form (empty ones left out) as ``model``."""
    return _validated(model, {field: form.get(field) for field in fields})


def _validated(model: type[Model], given: dict[str, Any]) -> Model:
    values = {key: value for key, value in given.items() if value not in (None, "")}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise BadRequest(f"invalid form: {describe_problems(error.errors())}") from None


@router.get("")
async def admin_page(
    request: Request, session: SignedIn, organisation: str | None = None
) -> Response:
    user = session.user
    chosen = _organisation_of(user, organisation)
    services = services_of(request)
    admin = services.administration

    def gather() -> dict[str, Any]:
        groups = admin.list_groups(user, chosen)
        gathered: dict[str, Any] = {
            "users": admin.list_users(user, chosen),
            "groups": [
                (group, services.organisations.members(chosen, group.name)) for group in groups
            ],
            "quotas": admin.list_quotas(user, chosen),
            "organisations": services.organisations.names()
            if user.role is Role.OPERATOR
            else [chosen],
        }
        if user.role is Role.OPERATOR:
            gathered["events"] = admin.calendar_events(user)
            gathered["changes"] = admin.audit_entries(user, AuditQuery(limit=RECENT_CHANGES))
        return gathered

    return render(
        request, "admin.html", session, organisation=chosen,
        machines=[d.name for d in services.catalogue if d.system_type.value == "hardware"],
        roles=[role.value for role in Role], **await run_in_threadpool(gather),
    )  # fmt: skip


async def _act(organisation: str, act: Callable[[], Any]) -> Response:
    """Do ``act`` (the service checks the role and records it), then back to the page."""
    await run_in_threadpool(act)
    return redirect("/admin", organisation=organisation, done="1")


@router.post("/users")
async def add_user(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    body = _read(NewUser, form, "email", "password", "organisation", "group", "priority", "role")
    organisation = _organisation_of(user, body.organisation)
    admin = services_of(request).administration
    return await _act(organisation, lambda: admin.add_user(
        user, source_of(request), body.email, body.password, organisation, body.group,
        body.priority, body.role,
    ))  # fmt: skip


@router.post("/users/revoke")
async def revoke_user(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    member = _read(Member, form, "email")
    organisation = _organisation_of(user, str(form.get("organisation") or ""))
    admin = services_of(request).administration
    return await _act(
        organisation,
        lambda: admin.end_sessions(user, source_of(request), member.email),
    )  # fmt: skip


@router.post("/users/priority")
async def set_user_priority(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    member, change = _read(Member, form, "email"), _read(PriorityChange, form, "priority")
    organisation = _organisation_of(user, str(form.get("organisation") or ""))
    admin = services_of(request).administration
    return await _act(organisation, lambda: admin.set_user_priority(
        user, source_of(request), member.email, change.priority
    ))  # fmt: skip


@router.post("/users/role")
async def set_role(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    member, change = _read(Member, form, "email"), _read(RoleChange, form, "role")
    organisation = _organisation_of(user, str(form.get("organisation") or ""))
    admin = services_of(request).administration
    return await _act(
        organisation, lambda: admin.set_role(user, source_of(request), member.email, change.role)
    )


@router.post("/users/remove")
async def remove_user(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """Needs the form's confirmation box ticked: removal cancels the user's waiting jobs."""
    user = session.user
    member = _read(Member, form, "email")
    organisation = _organisation_of(user, str(form.get("organisation") or ""))
    if form.get("confirm") != "yes":
        raise BadRequest(f"tick the box to confirm the removal of {member.email}")
    admin = services_of(request).administration
    return await _act(
        organisation, lambda: admin.remove_user(user, source_of(request), member.email)
    )


@router.post("/groups")
async def add_group(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    body = _read(NewGroup, form, "organisation", "name", "priority")
    organisation = _organisation_of(user, body.organisation)
    admin = services_of(request).administration
    return await _act(
        organisation,
        lambda: admin.add_group(user, source_of(request), organisation, body.name, body.priority),
    )  # fmt: skip


@router.post("/groups/priority")
async def set_group_priority(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    change = _read(PriorityChange, form, "priority")
    group = _read(NewGroup, form, "organisation", "name")
    organisation = _organisation_of(user, group.organisation)
    admin = services_of(request).administration
    return await _act(organisation, lambda: admin.set_group_priority(
        user, source_of(request), organisation, group.name, change.priority
    ))  # fmt: skip


@router.post("/groups/members")
async def change_member(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """Add (``action=add``) or remove (``action=remove``) a member of a group."""
    user = session.user
    member = _read(Member, form, "email")
    group = _read(NewGroup, form, "organisation", "name")
    organisation = _organisation_of(user, group.organisation)
    admin = services_of(request).administration
    change = admin.remove_member if form.get("action") == "remove" else admin.add_member
    return await _act(
        organisation,
        lambda: change(user, source_of(request), organisation, group.name, member.email),
    )  # fmt: skip


@router.post("/quotas")
async def set_quota(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    body = _read(QuotaChange, form, "organisation", "kind", "credits", "group")
    organisation = _organisation_of(user, body.organisation)
    admin = services_of(request).administration
    return await _act(organisation, lambda: admin.set_quota(
        user, source_of(request), organisation, body.kind, body.credits, body.group
    ))  # fmt: skip


@router.post("/quotas/remove")
async def remove_quota(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    body = _validated(
        QuotaChange, {**{key: form.get(key) for key in ("organisation", "kind", "group")},
                      "credits": 0},
    )  # fmt: skip
    organisation = _organisation_of(user, body.organisation)
    admin = services_of(request).administration
    return await _act(organisation, lambda: admin.remove_quota(
        user, source_of(request), organisation, body.kind, body.group
    ))  # fmt: skip


@router.post("/calendar")
async def add_event(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    # the page's "organisation" field names the page; a reservation's holder has its own
    fields = {key: form.get(key) for key in ("machine", "kind", "start", "end")}
    body = _validated(NewEvent, {**fields, "organisation": form.get("organisation_reserved")})
    event = CalendarEvent(body.machine, body.kind, body.start, body.end, body.organisation)
    admin = services_of(request).administration
    return await _act(
        user.organisation,
        lambda: admin.add_calendar_event(user, source_of(request), event),
    )  # fmt: skip


@router.post("/calendar/remove")
async def remove_event(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    user = session.user
    try:
        event_id = int(str(form.get("event_id", "")))
    except ValueError:
        raise BadRequest("event_id must be a calendar event's number") from None
    admin = services_of(request).administration
    return await _act(
        user.organisation,
        lambda: admin.remove_calendar_event(user, source_of(request), event_id),
    )  # fmt: skip
