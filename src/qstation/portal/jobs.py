"""The job list: filters kept in the URL, paging, live rows, and bulk cancel with a
confirmation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from qstation.api.app_state import services_of
from qstation.devices.cost import format_cost
from qstation.errors import BadRequest, JobAlreadyFinished, JobNotFound
from qstation.model import JobQuery, JobRecord, JobStatus, User
from qstation.portal.web import CheckedForm, SignedIn, redirect, render
from qstation.service.jobs import MAX_PAGE, JobService

router = APIRouter()
PAGE_SIZE = 50
MAX_LIVE_ROWS = 100
"""Rows one live update may ask for (a page has at most :data:`PAGE_SIZE`)."""
_UNFINISHED = frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CANCELING})


@dataclass(frozen=True)
class Filters:
    """The job list's filters, as the URL carries them."""

    status: tuple[str, ...] = ()
    machine: str = ""
    group: str = ""
    name: str = ""
    after: str = ""
    before: str = ""

    def query(self, limit: int, offset: int = 0) -> JobQuery:
        try:
            statuses = frozenset(JobStatus(word) for word in self.status)
        except ValueError:
            raise BadRequest(f"status must be among {[s.value for s in JobStatus]}") from None
        return JobQuery(
            statuses=statuses,
            machine=self.machine or None,
            group=self.group or None,
            name_contains=self.name or None,
            submitted_after=_day(self.after, "after", start=True),
            submitted_before=_day(self.before, "before", start=False),
            limit=limit,
            offset=offset,
        )

    def url_fields(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value not in ("", ())}


def _day(text: str, field: str, start: bool) -> datetime | None:
    """A day of the form's date fields: ``after`` counts from its start, ``before`` includes
    the whole day."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{field} must be a date as YYYY-MM-DD, not {text!r}") from None
    moment = datetime.combine(day, time())
    return moment - timedelta(microseconds=1) if start else moment + timedelta(days=1)


def row_of(jobs: JobService, job: JobRecord) -> dict[str, Any]:
    """What one row of the table shows."""
    return {  # rows are built in the thread pool: the ranking may be read afresh
        "job": job,
        "position": jobs.queue_position(job),
        "cost": None if job.cost is None else format_cost(job.cost),
        "live": job.status in _UNFINISHED,
    }


def _filters(
    status: list[str] | None, machine: str, group: str, name: str, after: str, before: str
) -> Filters:
    return Filters(tuple(status or ()), machine, group, name, after, before)


@router.get("/jobs")
async def job_list(
    request: Request,
    session: SignedIn,
    status: Annotated[list[str] | None, Query()] = None,
    machine: str = "",
    group: str = "",
    name: str = "",
    after: str = "",
    before: str = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    cancelled: int | None = None,
    refused: int | None = None,
) -> Response:
    filters = _filters(status, machine, group, name, after, before)
    services = services_of(request)

    def rows() -> tuple[list[dict[str, Any]], bool]:
        query = filters.query(PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        found = services.jobs.find(session.user, query)
        return [row_of(services.jobs, job) for job in found[:PAGE_SIZE]], len(found) > PAGE_SIZE

    shown, more = await run_in_threadpool(rows)
    fields = filters.url_fields()
    newer = f"/jobs?{urlencode({**fields, 'page': page - 1}, doseq=True)}" if page > 1 else None
    older = f"/jobs?{urlencode({**fields, 'page': page + 1}, doseq=True)}" if more else None
    return render(
        request, "jobs.html", session, rows=shown, filters=filters, page=page, newer=newer,
        older=older,
        statuses=[s.value for s in JobStatus], machines=[d.name for d in services.catalogue],
        cancelled=cancelled, refused=refused,
    )  # fmt: skip


@router.get("/jobs/rows")
async def live_rows(
    request: Request, session: SignedIn, id: Annotated[list[str] | None, Query()] = None
) -> Response:
    """The current rows of the given jobs (the page's script swaps them in); jobs that are not
    the caller's are left out, as if unknown."""
    jobs = services_of(request).jobs
    wanted = (id or [])[:MAX_LIVE_ROWS]

    def rows() -> list[dict[str, Any]]:
        found = []
        for job_id in wanted:
            try:
                found.append(row_of(jobs, jobs.get(session.user, job_id)))
            except JobNotFound:
                continue
        return found

    return render(request, "job_rows.html", session, rows=await run_in_threadpool(rows))


@router.post("/jobs/cancel")
async def cancel_jobs(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    """First post: a confirmation page naming the jobs. Second (``confirm=yes``): cancel them
    and go back to the list, saying how many were cancelled."""
    services = services_of(request)
    filters = Filters(
        tuple(str(s) for s in form.getlist("status")),
        *(str(form.get(key, "")) for key in ("machine", "group", "name", "after", "before")),
    )
    chosen = [str(job_id) for job_id in form.getlist("job")][:MAX_PAGE]
    if form.get("confirm") == "yes":
        done, refused = await run_in_threadpool(_cancel_all, services.jobs, session.user, chosen)
        return redirect("/jobs", **filters.url_fields(), cancelled=done, refused=refused)
    matching = form.get("scope") == "matching"

    def targets() -> list[JobRecord]:
        if matching:
            query = filters.query(MAX_PAGE)  # checks the statuses first
            query = replace(query, statuses=(query.statuses or _UNFINISHED) & _UNFINISHED)
            return [] if not query.statuses else services.jobs.find(session.user, query)
        found = []
        for job_id in chosen:
            try:
                job = services.jobs.get(session.user, job_id)
            except JobNotFound:
                continue
            if job.status in _UNFINISHED:
                found.append(job)
        return found

    jobs = await run_in_threadpool(targets)
    return render(
        request, "cancel_confirm.html", session, jobs=jobs, filters=filters, matching=matching,
        limit=MAX_PAGE,
    )  # fmt: skip


def _cancel_all(jobs: JobService, user: User, job_ids: list[str]) -> tuple[int, int]:
    """Cancel each job; returns (cancelled, refused: finished meanwhile or not the caller's)."""
    done = refused = 0
    for job_id in job_ids:
        try:
            jobs.cancel(user, job_id)
            done += 1
        except (JobNotFound, JobAlreadyFinished):
            refused += 1
    return done, refused
