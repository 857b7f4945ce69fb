"""``/metrics`` in Prometheus' text format: the fleet's figures, counted from the database at
the scrape (:mod:`qstation.store.metrics`), so every API process gives the same answer, plus
this process's own memory and CPU (``process_*``, from ``prometheus_client``).

No login, like the health checks: it names no user, organisation or job. Keep it behind the
network's own rules where even queue depths are private (``docs/deployment.md``).
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from starlette.concurrency import run_in_threadpool

from qstation.api.app_state import services_of
from qstation.service.clock import utc_now
from qstation.service.services import Services
from qstation.store.metrics import Figures, Histogram, figures

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    services = services_of(request)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FleetCollector(await run_in_threadpool(_figures, services)))
    ProcessCollector(registry=registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _figures(services: Services) -> Figures:
    return figures(services.store.database, utc_now())


class _FleetCollector:
    def __init__(self, snapshot: Figures) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        machines = sorted(self.snapshot.machines.items())
        submitted = CounterMetricFamily(
            "qstation_jobs_submitted", "Jobs accepted, by target.", labels=["machine"]
        )
        finished = CounterMetricFamily(
            "qstation_jobs_finished", "Jobs that ended, by target and final status.",
            labels=["machine", "status"],
        )  # fmt: skip
        shots = CounterMetricFamily(
            "qstation_shots_executed", "Shots run, by target.", labels=["machine"]
        )
        hqcs = CounterMetricFamily(
            "qstation_hqcs_consumed", "HQCs of completed jobs, by target.", labels=["machine"]
        )
        depth = GaugeMetricFamily(
            "qstation_queue_depth", "Jobs waiting for a worker, by target.", labels=["machine"]
        )
        running = GaugeMetricFamily(
            "qstation_jobs_running", "Jobs a worker holds now, by target.", labels=["machine"]
        )
        oldest = GaugeMetricFamily(
            "qstation_oldest_queued_job_age_seconds",
            "Age of the oldest job not yet started, by target (0: none).",
            labels=["machine"],
        )
        wait = HistogramMetricFamily(
            "qstation_queue_wait_seconds", "From submission to first start.", labels=["machine"]
        )
        run = HistogramMetricFamily(
            "qstation_run_seconds", "From first start to the end.", labels=["machine"]
        )
        for machine, counted in machines:
            submitted.add_metric([machine], counted.submitted)
            for status, count in sorted(counted.finished.items()):
                finished.add_metric([machine, status], count)
            shots.add_metric([machine], counted.shots)
            hqcs.add_metric([machine], counted.hqcs)
            depth.add_metric([machine], counted.queue_depth)
            running.add_metric([machine], counted.running)
            oldest.add_metric([machine], counted.oldest_queued_seconds)
            for family, histogram in ((wait, counted.queue_wait), (run, counted.run_time)):
                if histogram is not None:
                    family.add_metric([machine], _buckets(histogram), histogram.total)
        yield from (submitted, finished, shots, hqcs, depth, running, oldest, wait, run)
        yield GaugeMetricFamily(
            "qstation_workers_alive",
            "Workers whose last beat still vouches for them (within their lease period).",
            value=self.snapshot.workers_alive,
        )
        yield CounterMetricFamily(
            "qstation_lease_expiries",
            "Attempts taken back because their worker stopped renewing its lease.",
            value=self.snapshot.lease_expiries,
        )
        attempts = CounterMetricFamily(
            "qstation_attempts_ended", "Execution attempts, by how they ended.", labels=["outcome"]
        )
        for outcome, count in sorted(self.snapshot.attempts_ended.items()):
            attempts.add_metric([outcome], count)
        yield attempts


def _buckets(histogram: Histogram) -> list[tuple[str, float]]:
    bounds = [repr(float(bound)) for bound in histogram.bounds] + ["+Inf"]
    return list(zip(bounds, map(float, histogram.counts), strict=True))
