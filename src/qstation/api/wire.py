"""Records in the machine API's JSON shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qstation.devices.cost import format_cost
from qstation.model import JobRecord


def wire_date(moment: datetime | None) -> str | None:
    """Naive UTC ISO timestamps with microseconds, as the service wrote them."""
    return None if moment is None else moment.isoformat(timespec="microseconds")


def job_view(job: JobRecord, queue_position: int | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "job": job.id,
        "name": job.name,
        "status": job.status.value,
        "machine": job.machine,
        "count": job.count,
        "group": job.group,
        "submit-date": wire_date(job.submitted_at),
        "start-date": wire_date(job.started_at),
        "result-date": wire_date(job.finished_at),
        "queue-position": queue_position,
        "last-shot": job.shots_done or None,  # shots with results so far (partial while running)
        "cost": None if job.cost is None else format_cost(job.cost),
        "error": job.error,
        "seed": job.seed,
    }
    if job.results is not None:
        view["results"] = job.results
    if job.truncation_error is not None:  # qstation's extension: what an approximate engine lost
        view["truncation-error"] = job.truncation_error
    if job.client_metadata is not None:  # qstation's extension, for the job's owner
        view["client-metadata"] = job.client_metadata
    return view
