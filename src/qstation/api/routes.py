"""Machine API v1 routes. Handlers only translate between HTTP and the service layer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.concurrency import run_in_threadpool

from qstation.api.app_state import services_of
from qstation.api.wire import job_view
from qstation.errors import AuthenticationFailed, BadRequest
from qstation.model import JobQuery, JobRecord, JobStatus, User
from qstation.service.jobs import MAX_PAGE
from qstation.service.validation import parse_json_body

router = APIRouter()


def current_user(request: Request, authorization: Annotated[str | None, Header()] = None) -> User:
    """The client sends the bare id-token; a ``Bearer`` prefix is accepted too."""
    if not authorization:
        raise AuthenticationFailed("missing Authorization header")
    token = authorization.removeprefix("Bearer ").strip()
    return services_of(request).tokens.user_of(token)


CurrentUser = Annotated[User, Depends(current_user)]


@router.post("/v1/login")
async def login(request: Request) -> dict[str, str]:
    """Password login or refresh-token rotation (the same URL, told apart by the body)."""
    body = parse_json_body(await request.body())
    services = services_of(request)
    if not isinstance(body, dict):
        raise BadRequest("the login request must be a JSON object")
    if isinstance(body.get("refresh-token"), str):
        pair = await run_in_threadpool(services.tokens.refresh, body["refresh-token"])
        return pair.wire()
    if "provider-token" in body:
        raise AuthenticationFailed("federated login is not available on this server")
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        raise BadRequest("login needs 'email' and 'password', or 'refresh-token'")
    user = await run_in_threadpool(services.users.authenticate, email, password)
    pair = await run_in_threadpool(services.tokens.issue, user)
    return pair.wire()


@router.get("/v1/machine/")
@router.get("/v1/machine", include_in_schema=False)
def list_machines(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    return [device.wire for device in services_of(request).catalogue]


@router.get("/v1/machine/{name}")
def machine_state(name: str, request: Request, user: CurrentUser) -> dict[str, str]:
    return {"state": services_of(request).calendar.state(name)}


@router.get("/beta/reservation")
def reservations(
    request: Request, user: CurrentUser, mode: str = "user", start: str = "", end: str = ""
) -> list[dict[str, Any]]:
    """The operations calendar, where the client looks for it (its ``ui.``/``beta`` rewrite of
    the API URL leaves a plain-http host as it is)."""
    return services_of(request).calendar.reservations(user, start, end)


@router.post("/v1/job")
async def submit_job(request: Request, user: CurrentUser) -> dict[str, Any]:
    body = parse_json_body(await request.body())
    job = await run_in_threadpool(services_of(request).jobs.submit, user, body)
    return {"job": job.id, "status": job.status.value, "submit-date": job_view(job)["submit-date"]}


@router.get("/v1/job/{job_id}")
def job_status(job_id: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    jobs = services_of(request).jobs
    job = jobs.get(user, job_id)
    return job_view(job, jobs.queue_position(job))


@router.get("/v1/jobs", tags=["qstation extensions"])
def list_jobs(
    request: Request,
    user: CurrentUser,
    status: Annotated[list[JobStatus] | None, Query(description="Any of these statuses.")] = None,
    machine: Annotated[str | None, Query(description="Submitted to this target.")] = None,
    group: Annotated[str | None, Query(description="Run for this group.")] = None,
    name: Annotated[str | None, Query(description="Whose name contains this, in any case.")] = None,
    submitted_after: Annotated[datetime | None, Query(alias="submitted-after")] = None,
    submitted_before: Annotated[datetime | None, Query(alias="submitted-before")] = None,
    limit: Annotated[int, Query(description=f"At most this many (1-{MAX_PAGE}).")] = 100,
    offset: Annotated[int, Query(description="Skip this many (paging).")] = 0,
) -> dict[str, Any]:
    """The caller's own jobs, newest first: qstation's extension, absent from the hosted API.

    Each entry is a job's status without its results (``GET /v1/job/{id}`` has them and the
    queue position). Dates are naive UTC, as the job statuses give them. ``next-offset`` is the
    ``offset`` of the next page, or null after the last one.
    """
    query = JobQuery(
        statuses=frozenset(status or ()),
        machine=machine,
        group=group,
        name_contains=name,
        submitted_after=_naive_utc(submitted_after),
        submitted_before=_naive_utc(submitted_before),
        limit=limit,
        offset=offset,
    )
    found = services_of(request).jobs.find(user, query)
    views = [_summary(job) for job in found]
    more = len(found) == limit
    return {"jobs": views, "offset": offset, "next-offset": offset + limit if more else None}


def _summary(job: JobRecord) -> dict[str, Any]:
    view = job_view(job)
    del view["queue-position"]
    view.pop("results", None)
    return view


def _naive_utc(moment: datetime | None) -> datetime | None:
    """Dates with a zone are converted; naive ones are taken as UTC, like the service's own."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@router.post("/v1/job/{job_id}/cancel")
def cancel_job(job_id: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    return job_view(services_of(request).jobs.cancel(user, job_id))
