"""Machine API v1 routes. Handlers only translate between HTTP and the service layer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from qstation.api.app_state import job_waits_of, services_of, source_of, store_call
from qstation.api.job_waits import MAX_WAIT_SECONDS
from qstation.api.wire import job_view
from qstation.errors import AuthenticationFailed, BadRequest
from qstation.model import JobQuery, JobRecord, JobStatus, User
from qstation.service.jobs import MAX_PAGE, JobRequest
from qstation.service.validation import parse_json_body

router = APIRouter()
_STATUS_WAIT_STEP_SECONDS = 0.002
Result = TypeVar("Result")


_ID_TOKEN = APIKeyHeader(
    name="Authorization", auto_error=False, description="The id-token from /v1/login."
)


async def in_store(request: Request, call: Callable[..., Result], *args: Any) -> Result:
    """Run a store call for a handler (:func:`~qstation.api.app_state.store_call`)."""
    return await store_call(services_of(request), call, *args)


async def current_user(
    request: Request, authorization: Annotated[str | None, Security(_ID_TOKEN)]
) -> User:
    """The client sends the bare id-token; a ``Bearer`` prefix is accepted too."""
    if not authorization:
        raise AuthenticationFailed("missing Authorization header")
    token = authorization.removeprefix("Bearer ").strip()
    return await in_store(request, services_of(request).tokens.user_of, token)


CurrentUser = Annotated[User, Depends(current_user)]


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI description of a body read by hand (the client sends no Content-Type), so
    that ``/docs`` and API fuzzers know its shape."""
    schema = model.model_json_schema(by_alias=True)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class LoginRequest(BaseModel):
    """The body of ``POST /v1/login``: a password login, with ``code`` for MFA, or a refresh."""

    email: str | None = None
    password: str | None = None
    code: str | None = None
    refresh_token: str | None = Field(default=None, alias="refresh-token")


@router.post("/v1/login", openapi_extra=_json_body(LoginRequest))
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
    email, password, code = body.get("email"), body.get("password"), body.get("code")
    if not isinstance(email, str) or not isinstance(password, str):
        raise BadRequest("login needs 'email' and 'password', or 'refresh-token'")
    if code is not None and not isinstance(code, str | int):
        raise BadRequest("the MFA 'code' must be a string of digits")
    source = source_of(request)
    code_text = None if code is None else str(code)
    pair = await run_in_threadpool(services.logins.login, email, password, code_text, source)
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


@router.post("/v1/job", openapi_extra=_json_body(JobRequest))
async def submit_job(request: Request, user: CurrentUser) -> dict[str, Any]:
    body = parse_json_body(await request.body())
    jobs = services_of(request).jobs
    prepared = await in_store(request, jobs.prepare, user, body)
    committed = jobs.commit(prepared, user, source_of(request))  # with its neighbours
    job = await asyncio.wrap_future(committed)
    return {"job": job.id, "status": job.status.value, "submit-date": job_view(job)["submit-date"]}


@router.get("/v1/job/{job_id}")
async def job_status(
    job_id: str,
    request: Request,
    user: CurrentUser,
    wait: Annotated[
        float | None,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="qstation's extension: answer as soon as the status or `last-shot` "
            "changes, or after this many seconds (a long poll).",
        ),
    ] = None,
) -> JSONResponse:
    """A job's status. A job submitted in the last second that is still queued or running is
    waited for, up to ``QSTATION_STATUS_WAIT_SECONDS`` (50 ms), before answering: the client
    reads once right after submitting and then sleeps its poll interval, so a small job done
    by then saves its user that whole interval. With ``wait``, the answer waits for a change
    instead (:mod:`qstation.api.job_waits`)."""
    services = services_of(request)
    jobs = services.jobs
    job = await in_store(request, jobs.get, user, job_id)
    if wait is not None and not job.status.is_final:
        seen = (job.status.value, job.shots_done)
        await job_waits_of(request).until_changed(job.id, seen, wait)
        job = await in_store(request, jobs.get, user, job_id)
    elif jobs.may_finish_soon(job):
        deadline = time.monotonic() + services.settings.status_wait_seconds
        while not job.status.is_final and time.monotonic() < deadline:
            await asyncio.sleep(_STATUS_WAIT_STEP_SECONDS)
            job = await in_store(request, jobs.get, user, job_id)
    position = jobs.known_queue_position(job)
    if position is None and job.status is JobStatus.QUEUED:  # ranking a queue takes a while
        position = await run_in_threadpool(jobs.queue_position, job)
    return JSONResponse(job_view(job, position))


@router.get("/v1/jobs", tags=["qstation extensions"])
async def list_jobs(
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
) -> JSONResponse:
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
    found = await in_store(request, services_of(request).jobs.find, user, query)
    views = [_summary(job) for job in found]
    more = len(found) == limit
    page = {"jobs": views, "offset": offset, "next-offset": offset + limit if more else None}
    return JSONResponse(page)


def _summary(job: JobRecord) -> dict[str, Any]:
    view = job_view(job)
    del view["queue-position"]
    view.pop("results", None)
    view.pop("client-metadata", None)
    return view


def _naive_utc(moment: datetime | None) -> datetime | None:
    """Dates with a zone are converted; naive ones are taken as UTC, like the service's own."""
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@router.get("/v1/usage", tags=["qstation extensions"])
def usage(request: Request, user: CurrentUser) -> dict[str, Any]:
    """HQCs the caller's organisation and groups used this month, against their quotas (null:
    no limit), and their fair-share use of each machine in the current window."""
    found = services_of(request).usage.of(user)
    return {
        "organisation": found.organisation,
        "month": [
            {"organisation": a.organisation, "group": a.group, "kind": a.kind.value,
             "spent": a.spent, "quota": a.quota, "band": a.band}
            for a in found.allowances
        ],
        "window": [
            {"group": group, "machine": machine, "hqcs": hqcs}
            for (group, machine), hqcs in sorted(found.window_use.items())
        ],
    }  # fmt: skip


@router.post("/v1/job/{job_id}/cancel")
def cancel_job(job_id: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    return job_view(services_of(request).jobs.cancel(user, job_id))
