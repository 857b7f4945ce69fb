"""What ``/metrics`` reports, counted from the database at the moment of the scrape.

API processes and workers on many hosts share nothing but the database, so a counter kept in
one process's memory would be wrong for the fleet (and lost at every restart). Every figure
here is an aggregate over the jobs, attempts and workers tables instead: the same answer from
whichever API process is scraped. Jobs are never deleted, so the totals only grow, as
Prometheus counters must.

Cost: a handful of aggregate queries, each one pass over the jobs table (the histograms'
buckets are sums of ``CASE`` expressions in that pass), so a scrape grows with the number of
jobs ever run; not yet measured at scale.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, extract, func, select

from qstation.model import FINAL_STATUSES, JobStatus
from qstation.store.database import Database
from qstation.store.job_states import LEASE_EXPIRED, OPEN, waiting
from qstation.store.schema import job_attempts, jobs
from qstation.store.workers import WorkerRegistry

QUEUE_WAIT_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0)
"""Seconds from submission to a job's first start."""
RUN_TIME_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0, 3600.0, 14400.0)
"""Seconds from a job's first start to its end."""


@dataclass
class Histogram:
    """Cumulative bucket counts (the last one is +Inf: every observation) and their sum."""

    bounds: tuple[float, ...]
    counts: list[int]
    total: float


@dataclass
class MachineFigures:
    submitted: int = 0
    finished: dict[str, int] = field(default_factory=dict)
    """Jobs that ended, by final status."""
    shots: int = 0
    """Shots executed (a canceled job's count too, as far as it ran)."""
    hqcs: float = 0.0
    """HQCs of completed jobs."""
    queue_depth: int = 0
    running: int = 0
    """Jobs with a chunk running on some worker now."""
    oldest_queued_seconds: float = 0.0
    queue_wait: Histogram | None = None
    run_time: Histogram | None = None


@dataclass
class Figures:
    machines: dict[str, MachineFigures]
    workers_alive: int
    attempts_ended: dict[str, int]
    """Execution attempts by how they ended (``lease_expired``: its worker vanished)."""

    @property
    def lease_expiries(self) -> int:
        return self.attempts_ended.get(LEASE_EXPIRED, 0)


def figures(database: Database, now: datetime) -> Figures:
    machines: dict[str, MachineFigures] = defaultdict(MachineFigures)
    with database.read() as conn:
        _totals(conn, machines)
        for machine, depth in conn.execute(
            select(jobs.c.machine, func.count()).where(waiting()).group_by(jobs.c.machine)
        ):
            machines[machine].queue_depth = depth
        for machine, running in conn.execute(
            select(jobs.c.machine, func.count(func.distinct(jobs.c.id)))
            .join(job_attempts, job_attempts.c.job_id == jobs.c.id)
            .where(OPEN)
            .group_by(jobs.c.machine)
        ):
            machines[machine].running = running
        for machine, oldest in conn.execute(
            select(jobs.c.machine, func.min(jobs.c.submitted_at))
            .where(jobs.c.status == JobStatus.QUEUED.value)
            .group_by(jobs.c.machine)
        ):
            machines[machine].oldest_queued_seconds = max(0.0, (now - oldest).total_seconds())
        started = jobs.c.started_at.is_not(None)
        wait = _seconds_between(conn, jobs.c.submitted_at, jobs.c.started_at)
        for machine, histogram in _histograms(conn, wait, started, QUEUE_WAIT_BUCKETS):
            machines[machine].queue_wait = histogram
        ended = jobs.c.finished_at.is_not(None) & started
        run = _seconds_between(conn, jobs.c.started_at, jobs.c.finished_at)
        for machine, histogram in _histograms(conn, run, ended, RUN_TIME_BUCKETS):
            machines[machine].run_time = histogram
        attempts: dict[str, int] = dict(
            conn.execute(
                select(job_attempts.c.outcome, func.count())
                .where(job_attempts.c.outcome.is_not(None))
                .group_by(job_attempts.c.outcome)
            ).all()
        )
    alive = WorkerRegistry(database).count_alive(now)
    return Figures(dict(machines), alive, attempts)


def _totals(conn: Connection, machines: dict[str, MachineFigures]) -> None:
    completed = jobs.c.status == JobStatus.COMPLETED.value
    for machine, status, count, shots, hqcs in conn.execute(
        select(
            jobs.c.machine,
            jobs.c.status,
            func.count(),
            func.coalesce(func.sum(jobs.c.shots_done), 0),
            func.coalesce(func.sum(case((completed, jobs.c.cost), else_=0.0)), 0.0),
        ).group_by(jobs.c.machine, jobs.c.status)
    ):
        figures = machines[machine]
        figures.submitted += count
        figures.shots += int(shots)
        figures.hqcs += float(hqcs)
        if JobStatus(status) in FINAL_STATUSES:
            figures.finished[status] = count


def _histograms(
    conn: Connection,
    seconds: ColumnElement[Any],
    observed: ColumnElement[bool],
    bounds: tuple[float, ...],
) -> list[tuple[str, Histogram]]:
    """Per machine, how many of the ``observed`` jobs' ``seconds`` fall at or under each bound."""
    buckets = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in bounds]
    rows = conn.execute(
        select(jobs.c.machine, func.count(), func.coalesce(func.sum(seconds), 0.0), *buckets)
        .where(observed)
        .group_by(jobs.c.machine)
    ).all()
    return [
        (machine, Histogram(bounds, [int(n or 0) for n in counts] + [count], float(total)))
        for machine, count, total, *counts in rows
    ]


def _seconds_between(
    conn: Connection, start: ColumnElement[Any], end: ColumnElement[Any]
) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0
