"""Long polls (``GET /v1/job/{id}?wait=S``): the "Long poll" section of docs/benchmarks.md.

1. How soon a long poll answers after a job completes: the seed job submitted to an idle
   ``qstation serve`` (defaults: two API processes, one worker), then long polls until it is
   completed; the figure is the answer's arrival (client clock) minus the job's ``result-date``
   (the server's clock, the same machine), 100 jobs.
2. What 1,000 concurrent idle long polls cost everyone else: 1,000 jobs wait on a hardware target
   whose calendar keeps it closed, one long poll each (``wait=20``) held open by asyncio; the
   latency of 500 sequential status reads of a finished job over one keep-alive connection, with
   and without the 1,000 polls waiting, in the same run. Every poll must answer 200 after its
   20 s (it waited, and was not dropped).

Usage::

    python bench/long_poll.py [--report docs/benchmarks.md] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from report import run_per_database
from service import (
    TIMES,
    Client,
    Server,
    add_user,
    fresh_store,
    qstation,
    seed_body,
)

JOBS = 100
WAITERS = 1_000
WAIT_SECONDS = 20
READS = 500


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def completion_delays(client: Client) -> list[float]:
    """Milliseconds from each job's completion to the long poll's answer."""
    delays = []
    for index in range(JOBS):
        job_id = client.submit(index)
        while True:
            status = client.call("GET", f"/v1/job/{job_id}?wait=10")
            arrived = datetime.now(UTC).replace(tzinfo=None)
            if status["status"] == "completed":
                finished = datetime.fromisoformat(status["result-date"])
                delays.append((arrived - finished).total_seconds() * 1000)
                break
    return delays


def read_latencies(client: Client, job_id: str) -> list[float]:
    times = []
    for _ in range(READS):
        started = time.perf_counter()
        client.status(job_id)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def _hold(port: int, token: str, job_id: str) -> tuple[int, float]:
    """One long poll on its own connection: (HTTP status, seconds until answered)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"GET /v1/job/{job_id}?wait={WAIT_SECONDS} HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: {token}\r\nConnection: close\r\n\r\n"
    )
    writer.write(request.encode())
    await writer.drain()
    head = await reader.readline()
    await reader.read()
    writer.close()
    return int(head.split()[1]), time.monotonic() - started


def hold_all(port: int, token: str, job_ids: list[str], results: list[Any]) -> None:
    async def main() -> list[tuple[int, float]]:
        return await asyncio.gather(*(_hold(port, token, job_id) for job_id in job_ids))

    results.extend(asyncio.run(main()))


def measure(database: str) -> dict[str, Any]:
    with fresh_store(database) as store:
        add_user(store)
        tomorrow = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(days=1)
        window = [(tomorrow + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M") for h in (0, 1)]
        qstation("calendar", "add", "H1-1", "online", *window, *store.options)
        server = Server(store)
        try:
            client = server.client()
            finished = client.submit()
            client.wait(finished)
            delays = completion_delays(client)
            closed = json.loads(seed_body())
            closed["machine"] = "H1-1"
            waiting = [
                str(client.call("POST", "/v1/job", json.dumps({**closed, "name": f"w{i}"}))["job"])
                for i in range(WAITERS)
            ]
            alone = read_latencies(client, finished)
            held: list[tuple[int, float]] = []
            holder = threading.Thread(
                target=hold_all, args=(server.port, client.token, waiting, held)
            )
            holder.start()
            time.sleep(3)  # every poll is open and waiting
            beside = read_latencies(client, finished)
            holder.join()
        finally:
            server.stop()
    return {"delays": delays, "alone": alone, "beside": beside, "held": held}


def report(results: dict[str, dict[str, Any]], seconds: float) -> str:
    lines = [
        "## Long poll",
        "",
        f"Produced by `python bench/long_poll.py` on {date.today()} ({platform.machine()}, "
        f"{platform.python_version()}, {os.cpu_count()} cores) in {seconds:.0f} s. What each "
        "figure is: the docstring of `bench/long_poll.py`.",
        "",
        "| database | completion to answer p50 ms | p90 ms | max ms "
        f"| status read alone p50 ms | p99 ms | beside {WAITERS:,} waiting polls p50 ms | p99 ms "
        "| ratio of p50s | polls answered 200 after their wait |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for database, found in results.items():
        delays, alone, beside, held = (found[k] for k in ("delays", "alone", "beside", "held"))
        waited = sum(1 for status, took in held if status == 200 and took >= WAIT_SECONDS)
        ratio = percentile(beside, 0.5) / percentile(alone, 0.5)
        lines.append(
            f"| {database} | {percentile(delays, 0.5):.1f} | {percentile(delays, 0.9):.1f} | "
            f"{max(delays):.1f} | {percentile(alone, 0.5):.2f} | {percentile(alone, 0.99):.2f} | "
            f"{percentile(beside, 0.5):.2f} | {percentile(beside, 0.99):.2f} | "
            f"{ratio:.2f}{TIMES} | "
            f"{waited:,} of {len(held):,} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(run_per_database(__doc__.splitlines()[0], "long-poll", measure, report))
