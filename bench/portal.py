"""The portal's job list with 10,000 jobs of one user: the "Portal" section of
docs/benchmarks.md.

One user owns 10,000 seed jobs, half of them completed (with results) and half queued on a
target no worker serves (``--workers 0``), so the list shows queue positions. Each page is
fetched 100 times in a row over one keep-alive connection after 10 warm-up requests; the time
is the whole request as the client sees it (an upper bound on the server's render). Beside the
portal's pages, in the same run: ``GET /v1/jobs?limit=50``, the API's JSON listing of the same
page of jobs, as the anchor.

Usage::

    python bench/portal.py [--report docs/benchmarks.md] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))
from report import run_per_database
from service import EMAIL, PASSWORD, Server, add_user, fresh_store, seed_body

JOBS = 10_000
REPEATS = 100
WARM_UP = 10


def fill(store_url: str) -> tuple[str, str]:
    """10,000 jobs of the benchmark's user, half completed; returns the IDs of a completed job
    and of the queued job in the middle of its queue."""
    from qstation.model import ExecutionOutcome, JobQuery, JobStatus, NewJob
    from qstation.service.clock import utc_now
    from qstation.store import open_store

    opened = open_store(store_url)
    try:
        owner = opened.accounts.get_user_by_email(EMAIL)
        assert owner is not None
        program = json.loads(seed_body())["program"]
        start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=2)
        results = {"c": [format(shot * 37 % 1024, "010b") for shot in range(10)]}
        finished = ""
        for half, machine in enumerate(("H1-1SC", "H1-1E")):
            indices = range(half * JOBS // 2, (half + 1) * JOBS // 2)
            for first in range(indices.start, indices.stop, 1000):
                opened.jobs._create_all([
                    (
                        NewJob(
                            id=uuid.uuid4().hex, owner_id=owner.id, name=f"sweep point {i}",
                            machine=machine, language="OPENQASM 2.0", program=program,
                            count=10, options={}, group=owner.group, seed=i,
                            submitted_at=start + timedelta(seconds=i),
                            organisation=owner.organisation,
                        ),
                        None,
                    )
                    for i in range(first, min(first + 1000, indices.stop))
                ])  # fmt: skip
            if machine == "H1-1E":
                break  # the newer half waits: no worker serves it
            for _ in indices:  # the older half is claimed and completed
                claim = opened.dispatch.claim_next_job("bench", utc_now(), 3600, 3)
                assert claim is not None
                outcome = ExecutionOutcome(JobStatus.COMPLETED, results=results, cost=5.3)
                opened.jobs.finish_attempt(claim.attempt_id, outcome, utc_now())
                finished = claim.job.id
        if store_url.startswith("postgresql"):
            with opened.database.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
        middle = start + timedelta(seconds=JOBS * 3 // 4)  # half-way through the queued half
        queued = opened.jobs.find(owner.id, JobQuery(submitted_before=middle, limit=1))[0]
        return finished, queued.id
    finally:
        opened.close()


def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/signin", timeout=30)
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = session.post(
        base + "/signin",
        data={"form_token": token.group(1), "email": EMAIL, "password": PASSWORD},
        timeout=30,
    )
    assert answer.url.endswith("/jobs"), answer.text[:300]
    return session


def timed(
    session: requests.Session, url: str, headers: dict[str, str] | None = None
) -> list[float]:
    for _ in range(WARM_UP):
        session.get(url, headers=headers, timeout=30).raise_for_status()
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        answer = session.get(url, headers=headers, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return sorted(times)


def measure(database: str) -> list[tuple[str, list[float]]]:
    with fresh_store(database) as store:
        add_user(store)
        finished, queued = fill(store.url)
        server = Server(store, "--workers", "0")
        try:
            base = f"http://127.0.0.1:{server.port}"
            browser = signed_in(base)
            token = server.client().token
            api = requests.Session()
            return [
                ("portal: job list, page 1", timed(browser, base + "/jobs")),
                ("portal: job list, queued only", timed(browser, base + "/jobs?status=queued")),
                ("portal: job list, name filter", timed(browser, base + "/jobs?name=point+4242")),
                ("portal: job list, page 100", timed(browser, base + "/jobs?page=100")),
                ("portal: a completed job's page", timed(browser, f"{base}/jobs/{finished}")),
                (
                    "portal: a queued job's page (its standing)",
                    timed(browser, f"{base}/jobs/{queued}"),
                ),
                (
                    "API: `GET /v1/jobs?limit=50` (anchor)",
                    timed(api, base + "/v1/jobs?limit=50", {"Authorization": token}),
                ),
            ]
        finally:
            server.stop()


def report(results: dict[str, list[tuple[str, list[float]]]], seconds: float) -> str:
    lines = [
        "## Portal",
        "",
        f"Produced by `python bench/portal.py` on {date.today()} ({platform.machine()}, "
        f"{platform.python_version()}, {os.cpu_count()} cores) in {seconds:.0f} s: one user's "
        f"{JOBS:,} jobs (half completed, half queued), each page fetched {REPEATS} times over "
        "one keep-alive connection. What each figure is: the docstring of `bench/portal.py`.",
        "",
        "| database | request | p50 ms | p90 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    for database, rows in results.items():
        for name, times in rows:
            p50, p90 = times[len(times) // 2], times[int(len(times) * 0.9)]
            lines.append(f"| {database} | {name} | {p50:.1f} | {p90:.1f} | {times[-1]:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(run_per_database(__doc__.splitlines()[0], "portal", measure, report))
