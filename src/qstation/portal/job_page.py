"""One job: its timeline, where it waits and why, its cost, error, results and downloads."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from qstation.api.app_state import services_of
from qstation.api.wire import job_view
from qstation.devices.cost import format_cost
from qstation.errors import JobNotFound
from qstation.model import JobRecord, JobStatus
from qstation.portal.results import handle_snippet, histograms
from qstation.portal.web import CheckedForm, SignedIn, redirect, render
from qstation.results import results_csv

router = APIRouter()

RULES = (
    "its organisation used less of this machine in the fair-share window",
    "its group has a higher priority",
    "its group used less of this machine in the fair-share window",
    "its submitter has a higher priority",
    "it was submitted earlier",
)
"""Why a job is ahead of another: the first of the fair-share rules (docs/scheduling.md) in
which they differ."""


@router.get("/jobs/{job_id}")
async def job_page(job_id: str, request: Request, session: SignedIn) -> Response:
    services = services_of(request)
    jobs = services.jobs

    def gather() -> dict[str, Any]:
        job = jobs.get(session.user, job_id)
        if job.status is not JobStatus.QUEUED:
            return {"job": job, "standing": None, "machine_state": None}
        state = services.calendar.state(job.machine)
        return {"job": job, "standing": jobs.standing(job), "machine_state": state}

    found = await run_in_threadpool(gather)
    job: JobRecord = found["job"]
    base_url = f"{request.url.scheme}://{request.url.netloc}/"
    return render(
        request, "job.html", session, job=job, standing=found["standing"], rules=RULES,
        machine_state=found["machine_state"],
        window_hours=services.settings.fair_share_window_hours,
        cost=None if job.cost is None else format_cost(job.cost),
        max_cost=None if job.max_cost is None else format_cost(job.max_cost),
        histograms=histograms(job.results or {}),
        snippet=handle_snippet(job.id, job.machine, base_url),
        live=not job.status.is_final,
    )  # fmt: skip


@router.get("/jobs/{job_id}/results.json")
async def results_json(job_id: str, request: Request, session: SignedIn) -> Response:
    """The job's status with its results, exactly as ``GET /v1/job/{id}`` gives them."""
    job = await run_in_threadpool(_with_results, request, session.user, job_id)
    return _download(json.dumps(job_view(job), indent=1), "application/json", f"{job.id}.json")


@router.get("/jobs/{job_id}/results.csv")
async def results_as_csv(job_id: str, request: Request, session: SignedIn) -> Response:
    job = await run_in_threadpool(_with_results, request, session.user, job_id)
    return _download(results_csv(job.results or {}), "text/csv", f"{job.id}.csv")


def _with_results(request: Request, user: Any, job_id: str) -> JobRecord:
    job = services_of(request).jobs.get(user, job_id)
    if job.results is None:
        raise JobNotFound(f"job {job.id} has no results yet (status: {job.status.value})")
    return job


def _download(body: str, media_type: str, filename: str) -> Response:
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",  # results stay off a shared machine's disk cache
    }
    return Response(body, media_type=media_type, headers=headers)


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(
    job_id: str, request: Request, session: SignedIn, form: CheckedForm
) -> Response:
    job = await run_in_threadpool(services_of(request).jobs.cancel, session.user, job_id)
    return redirect(f"/jobs/{job.id}")
