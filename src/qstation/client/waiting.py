"""Waiting for jobs with the server's long poll (``GET /v1/job/{id}?wait=S``): one request at
a time per job, each answered when the job changes, so an ending is seen within milliseconds
and nobody sleeps a poll interval. The async variant waits for many jobs on one connection
pool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx

from qstation.client.progress import Progress
from qstation.client.session import TIMEOUT_SECONDS, ServiceSession, response_json

LONG_POLL_SECONDS = 30.0
UNFINISHED = frozenset({"queued", "running", "canceling"})


def wait_until_final(
    session: ServiceSession,
    job_id: str,
    deadline: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The job's status once it has ended, or at ``deadline`` (``time.monotonic()``), the
    last one seen."""
    status: dict[str, Any] = session.call("GET", f"/v1/job/{job_id}")
    progress = progress or Progress(enabled=False)
    try:
        while status["status"] in UNFINISHED:
            progress.show(status)
            left = LONG_POLL_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                break
            wait = round(min(left, LONG_POLL_SECONDS), 3)
            status = session.call("GET", f"/v1/job/{job_id}", wait=wait)
    finally:
        progress.done()
    return status


async def wait_all(
    session: ServiceSession, job_ids: Sequence[str], deadline: float | None = None
) -> list[dict[str, Any]]:
    """:func:`wait_until_final` for many jobs at once, in the order given."""
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as http:

        async def one(job_id: str) -> dict[str, Any]:
            url = f"{session.url}/v1/job/{job_id}"
            params: dict[str, float] = {}
            while True:
                answer = await http.get(url, params=params, headers=session.authorization())
                status: dict[str, Any] = response_json(answer)
                left = LONG_POLL_SECONDS if deadline is None else deadline - time.monotonic()
                if status["status"] not in UNFINISHED or left <= 0:
                    return status
                params = {"wait": round(min(left, LONG_POLL_SECONDS), 3)}

        return list(await asyncio.gather(*(one(job_id) for job_id in job_ids)))
