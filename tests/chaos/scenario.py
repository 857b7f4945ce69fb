"""The chaos scenario: a fleet under load while the harness kills, restarts, partitions and
starves it; then the database is read to prove that nothing acknowledged was lost, nothing
completed twice and everything was charged once.

On PostgreSQL: a throwaway cluster of the test's own (data on a small tmpfs), two API
processes, four workers each on a network namespace host of its own. On SQLite: one ``serve``
with embedded workers, its data directory on a small tmpfs, killed again and again.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from qstation.settings import normalise_database_url
from tests.acceptance.service import PASSWORD, qstation
from tests.chaos.clients import Client, Ledger, expected_results
from tests.chaos.fleet import FLEET_SETTINGS, ApiProcess, FleetProcess, qstation_argv
from tests.chaos.network import NETWORK, Host
from tests.chaos.postgres_cluster import ThrowawayPostgres

CHUNK = int(FLEET_SETTINGS["QSTATION_CHUNK_SHOTS"])
USERS = [("alice@a.example", "physics-a"), ("bob@a.example", "physics-a"),
         ("carol@b.example", "physics-b"), ("dave@b.example", "physics-b")]  # fmt: skip
DISK_BYTES = 384 * 2**20


@dataclass(frozen=True)
class Plan:
    seconds: float
    """How long the clients submit."""
    clients: int = 20
    worker_kill_every: float = 3.0
    api_kill_every: float = 10.0
    partition_seconds: float = 8.0
    """Longer than two leases (3 s each)."""
    disk_full_seconds: float = 4.0
    drain_seconds: float = 240.0
    """After the last submission: time for every job to finish."""


@dataclass
class Report:
    database: str
    plan: Plan
    ledger: Ledger = field(default_factory=Ledger)
    worker_kills: int = 0
    api_restarts: int = 0
    database_restarts: int = 0
    partitions: int = 0
    disk_fills: int = 0
    jobs_in_database: int = 0
    completed_correct: int = 0
    lost: list[str] = field(default_factory=list)
    completed_twice: list[str] = field(default_factory=list)
    wrongly_charged: list[str] = field(default_factory=list)
    wrong_in_database: list[str] = field(default_factory=list)
    memory_samples: list[tuple[float, int]] = field(default_factory=list)
    """(seconds into the run, resident bytes of the API process measured throughout: on
    PostgreSQL the one never killed; on SQLite the only one, restarted after each kill)."""
    peak_api_memory: int = 0
    metric_samples: list[dict[str, float]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @property
    def acknowledged(self) -> int:
        return len(self.ledger.acknowledged)

    def problems(self) -> list[str]:
        """Everything that broke a promise; empty when the run kept them all."""
        found = [f"lost: {job}" for job in self.lost]
        found += [f"completed twice: {job}" for job in self.completed_twice]
        found += [f"wrongly charged: {what}" for what in self.wrongly_charged]
        found += [f"wrong in the database: {job}" for job in self.wrong_in_database]
        found += [f"client saw wrong results: {job}" for job in self.ledger.wrong_results]
        found += [f"answer neither 200 nor JSON 503: {a}" for a in self.ledger.bad_answers]
        if self.completed_correct != self.jobs_in_database:
            found.append(f"{self.completed_correct} of {self.jobs_in_database} jobs correct")
        return found


class _Chaos:
    """Runs timed events on the main thread while the clients work."""

    def __init__(self, report: Report, started: float) -> None:
        self.report = report
        self.started = started
        self.pending: list[tuple[float, str, Any]] = []
        self.random = random.Random(7)

    def at(self, moment: float, label: str, action: Any) -> None:
        self.pending.append((moment, label, action))
        self.pending.sort(key=lambda item: item[0])

    def run_until(self, end: float, every_second: Any) -> None:
        next_sample = time.monotonic()
        while time.monotonic() < end or self.pending:
            now = time.monotonic()
            while self.pending and self.pending[0][0] <= now:
                _, label, action = self.pending.pop(0)
                self.report.events.append(f"{now - self.started:7.1f} s  {label}")
                action()
            if now >= next_sample:
                every_second(now - self.started)
                next_sample = now + 1.0
            time.sleep(0.05)


def _users(store_args: list[str]) -> None:
    for organisation, group in (("org-a", "physics-a"), ("org-b", "physics-b")):
        qstation("org", "add", organisation, *store_args)
        qstation("group", "add", organisation, group, *store_args)
    for email, group in USERS:
        organisation = "org-a" if email.endswith("a.example") else "org-b"
        qstation(
            "user", "add", email, "--org", organisation, "--group", group, "--password-stdin",
            *store_args, stdin=PASSWORD + "\n",
        )  # fmt: skip


def _fill_disk(directory: Path) -> Path:
    """A file taking every free byte of the file system under ``directory``."""
    filler = directory / "filler"
    free = shutil.disk_usage(directory).free
    subprocess.run(["fallocate", "-l", str(free), str(filler)], check=False, capture_output=True)
    try:  # fallocate may leave a few pages: write until refused (opening may be refused too)
        with filler.open("ab") as extra:
            while True:
                extra.write(b"\0" * 65536)
                extra.flush()
    except OSError:
        pass
    return filler


def _scrape(api: ApiProcess) -> dict[str, float] | None:
    try:
        answer = requests.get(api.url + "metrics", timeout=5)
    except requests.RequestException:
        return None
    if answer.status_code != 200:
        return None
    totals: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            totals[sample.name] += sample.value
    return dict(totals)


def run_postgres(plan: Plan, work: Path) -> Report:
    report = Report("PostgreSQL", plan)
    hosts = [Host(index) for index in range(1, 5)]
    postgres = ThrowawayPostgres([host.gateway for host in hosts], NETWORK, DISK_BYTES)
    processes: list[FleetProcess] = []
    try:
        for host in hosts:
            host.create()
        postgres.create()
        store_args = ["--database", postgres.url(), "--data-dir", str(work / "api")]
        _users(store_args)
        apis = [ApiProcess(f"api-{n}", store_args, work) for n in (1, 2)]
        workers = [
            FleetProcess(
                f"worker-{n}",
                host.command(qstation_argv("worker", "--database", postgres.url(host.gateway))),
                work, {},
            )
            for n, host in enumerate(hosts, 1)
        ]  # fmt: skip
        processes = [*apis, *workers]
        for process in processes:
            process.start()
        for api in apis:
            api.wait_ready()
        _run(plan, report, apis, workers, postgres, hosts, postgres.root)
        _check(report, postgres.url())
        _last_scrape(report, apis[0])
    finally:
        for process in processes:
            process.stop()
        postgres.destroy()
        for host in hosts:
            host.destroy()
    return report


def run_sqlite(plan: Plan, work: Path) -> Report:
    report = Report("SQLite", plan)
    data = Path(tempfile.mkdtemp(prefix="qstation-chaos-sqlite-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(data)],
                   check=True)  # fmt: skip
    serve: ApiProcess | None = None
    try:
        store_args = ["--data-dir", str(data)]
        _users(store_args)
        serve = ApiProcess("serve", store_args, work, workers=2)
        serve.start()
        serve.wait_ready()
        _run(plan, report, [serve], [], None, [], data)
        _check(report, f"sqlite:///{data / 'qstation.db'}")
        _last_scrape(report, serve)
    finally:
        if serve is not None:
            serve.stop()
        subprocess.run(["umount", "-l", str(data)], check=False)
        shutil.rmtree(data, ignore_errors=True)
    return report


def _run(
    plan: Plan,
    report: Report,
    apis: list[ApiProcess],
    workers: list[FleetProcess],
    postgres: ThrowawayPostgres | None,
    hosts: list[Host],
    data_disk: Path,
) -> None:
    """Clients and chaos together; returns once every client is done."""
    started = time.monotonic()
    submit_until = started + plan.seconds
    clients = [
        Client(n, USERS[n % len(USERS)][0], [api.url for api in apis], submit_until,
               submit_until + plan.drain_seconds, report.ledger)
        for n in range(plan.clients)
    ]  # fmt: skip
    for client in clients:
        client.start()
    chaos = _Chaos(report, started)
    steady = apis[0]  # on PostgreSQL never killed: its memory over the whole run is measured
    victims = apis[1:] if len(apis) > 1 else apis

    def restart_later(process: FleetProcess, pause: float, counter: str) -> None:
        process.kill()
        setattr(report, counter, getattr(report, counter) + 1)
        chaos.at(time.monotonic() + pause, f"start {process.name}", process.start)

    def kill_a_worker() -> None:
        alive = [worker for worker in workers if worker.alive()]
        restart_later(chaos.random.choice(alive or workers), 0.5, "worker_kills")

    def kill_an_api_process() -> None:
        restart_later(chaos.random.choice(victims), 1.0, "api_restarts")

    for moment in _every(started, plan.worker_kill_every, plan.seconds) if workers else []:
        chaos.at(moment, "kill -9 a worker", kill_a_worker)
    for moment in _every(started + 2, plan.api_kill_every, plan.seconds):
        chaos.at(moment, "kill -9 an API process", kill_an_api_process)
    if postgres is not None:

        def restart_database() -> None:
            postgres.crash()
            report.database_restarts += 1
            chaos.at(time.monotonic() + 2.0, "start PostgreSQL", postgres.start)

        chaos.at(started + 0.4 * plan.seconds, "crash PostgreSQL", restart_database)
        host = hosts[0]

        def partition() -> None:
            host.partition()
            report.partitions += 1
            chaos.at(time.monotonic() + plan.partition_seconds, "heal the partition", host.heal)

        chaos.at(started + 0.6 * plan.seconds, f"partition {host.namespace}", partition)

    def fill_disk() -> None:
        filler = _fill_disk(data_disk)
        report.disk_fills += 1

        def free() -> None:
            filler.unlink(missing_ok=True)
            if postgres is not None and not postgres.is_running():
                report.events.append("PostgreSQL stopped on the full disk: start it again")
                report.database_restarts += 1
                postgres.start()

        chaos.at(time.monotonic() + plan.disk_full_seconds, "free the disk", free)

    chaos.at(started + 0.75 * plan.seconds, "fill the data disk", fill_disk)

    def sample(elapsed: float) -> None:
        memory = steady.memory_bytes()
        if memory:
            report.memory_samples.append((elapsed, memory))
        report.peak_api_memory = max(report.peak_api_memory, *(a.memory_bytes() for a in apis))
        if int(elapsed) % 2 == 0 and (metrics := _scrape(steady)) is not None:
            report.metric_samples.append({"seconds": elapsed, **metrics})

    chaos.run_until(submit_until, sample)
    for process in [*apis, *workers]:  # whatever the last events left stopped
        if not process.alive():
            process.start()
    while any(client.is_alive() for client in clients):
        sample(time.monotonic() - started)
        time.sleep(1.0)


def _last_scrape(report: Report, api: ApiProcess, wait_seconds: float = 60) -> None:
    """``/metrics`` once every job has ended (the queue must be drained), from an API process
    that may still be starting after the last kill."""
    if not api.alive():
        api.start()
    deadline = time.monotonic() + wait_seconds
    while (metrics := _scrape(api)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    if metrics is not None:
        report.metric_samples.append({"seconds": -1.0, **metrics})


def _every(start: float, interval: float, seconds: float) -> list[float]:
    return [start + interval * (k + 1) for k in range(int(seconds / interval))]


def _check(report: Report, url: str, wait_seconds: float = 120) -> None:
    """Read the database: every job final and right, attempts and charges consistent."""
    engine = create_engine(normalise_database_url(url))
    try:
        deadline = time.monotonic() + wait_seconds
        with engine.connect() as conn:
            while conn.scalar(text(_UNFINISHED)) and time.monotonic() < deadline:
                conn.rollback()
                time.sleep(1)
            jobs = conn.execute(text(_JOBS)).mappings().all()
            outcomes = Counter(
                (row.job_id, row.outcome) for row in conn.execute(text(_ATTEMPTS)).all()
            )
            charged = dict(conn.execute(text(_CHARGED)).all())
    finally:
        engine.dispose()
    report.jobs_in_database = len(jobs)
    by_id = {job["id"]: job for job in jobs}
    report.lost = [job_id for job_id in report.ledger.acknowledged if job_id not in by_id]
    costs: dict[str, float] = defaultdict(float)
    for job in jobs:
        order = report.ledger.orders.get(job["name"])
        results = job["results"]
        if isinstance(results, str):  # SQLite hands JSON back as text
            results = json.loads(results)
        right = (
            order is not None
            and job["status"] == "completed"
            and results == expected_results(order.pattern, order.count)
        )
        if right:
            report.completed_correct += 1
        else:
            report.wrong_in_database.append(f"{job['id']} ({job['name']}): {job['status']}")
        chunks = math.ceil(job["count"] / CHUNK)
        if job["status"] == "completed" and (
            outcomes[job["id"], "completed"] != 1 or outcomes[job["id"], "chunk"] != chunks - 1
        ):
            report.completed_twice.append(
                f"{job['id']}: {outcomes[job['id'], 'completed']} completions, "
                f"{outcomes[job['id'], 'chunk']} chunks recorded of {chunks - 1}"
            )
        if job["status"] == "completed":
            if job["cost"] is None:
                report.wrongly_charged.append(f"{job['id']} completed without a cost")
            else:
                costs[job["organisation"]] += job["cost"]
    for organisation in set(costs) | set(charged):
        if not math.isclose(costs.get(organisation, 0.0), charged.get(organisation, 0.0),
                            rel_tol=1e-9, abs_tol=1e-6):  # fmt: skip
            report.wrongly_charged.append(
                f"{organisation}: jobs cost {costs.get(organisation, 0.0)}, "
                f"its use records {charged.get(organisation, 0.0)}"
            )


_UNFINISHED = "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running', 'canceling')"
_JOBS = "SELECT id, name, status, count, results, cost, organisation FROM jobs"
_ATTEMPTS = "SELECT job_id, outcome FROM job_attempts"
_CHARGED = "SELECT organisation, sum(hqcs) FROM fair_share_usage GROUP BY organisation"
