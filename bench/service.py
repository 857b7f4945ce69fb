"""The service core under load, beside a stdlib null server: the "Service" section of
docs/benchmarks.md, from one run.

Measured on SQLite and on PostgreSQL (a database of its own on the local server, dropped after):

1. HTTP throughput under wrk (``-t2 -c16``, 10 s each): status reads of a finished seed job,
   listings (``GET /v1/jobs?limit=20``) and durable submissions of the seed job, beside two null
   servers answering from a dict with Python's ``http.server``: as it comes (HTTP/1.0, one
   connection per request) and with keep-alive and ``TCP_NODELAY``. qstation runs its API
   processes alone (``--workers 0``), so no job runs while the API is measured.
2. The seed job from submission to ``completed`` on an idle ``qstation serve`` with its defaults
   (two API processes, one embedded worker): 200 jobs, status polled every 5 ms over one
   keep-alive connection (``http.client``).
3. The real pytket-quantinuum 0.55.8 client: 100 times ``process_circuit`` then ``get_result``;
   counted are the ``get_result`` calls that had to sleep their poll interval.
4. One ``qstation worker`` running seed jobs from a full queue: jobs completed per second.
5. Claim time (``DispatchQueue.claim_next_job``, commit included) and status-read latency (over
   HTTP, a queued job in the middle of its queue) at 1,000, 10,000 and 100,000 queued jobs of
   six users in three organisations on two targets.

Usage::

    python bench/service.py [--report docs/benchmarks.md] [--databases sqlite,postgresql]
                            [--sizes 1000,10000,100000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import write_section

PASSWORD = "a sturdy load-test passphrase"
TIMES, NONE = "\u00d7", "\u2013"
EMAIL = "bench@example.org"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
SEED_PROGRAM = """OPENQASM 2.0;
include "hqslib1.inc";

qreg q[10];
creg c[10];
{gates}measure q[0] -> c[0];
measure q[1] -> c[1];
measure q[2] -> c[2];
measure q[3] -> c[3];
measure q[4] -> c[4];
measure q[5] -> c[5];
measure q[6] -> c[6];
measure q[7] -> c[7];
measure q[8] -> c[8];
measure q[9] -> c[9];
"""


def seed_body(index: int = 0) -> str:
    """The seed notebook's job as pytket-quantinuum 0.55.8 sends it (compiled for H1-1SC:
    ten U1q gates with small random angles, ten measurements), made unique by ``index``."""
    gates = "".join(
        f"U1q({0.01 + (index * 7 + q) % 89 / 1000:.4f}*pi,{0.02 + q / 1000:.4f}*pi) q[{q}];\n"
        for q in range(10)
    )
    body = {
        "machine": "H1-1SC", "language": "OPENQASM 2.0",
        "program": SEED_PROGRAM.format(gates=gates), "count": 10, "name": f"seed {index}",
        "options": {"tket-opt-level": 2},
    }  # fmt: skip
    return json.dumps(body)


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def qstation(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "qstation", *args], input=stdin, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"qstation {' '.join(args)}: {done.stderr}")
    return done.stdout


@dataclass
class Store:
    """A database of the benchmark's own and the ``qstation`` options that name it."""

    database: str
    options: list[str]
    url: str
    drop: Any = None


@contextlib.contextmanager
def fresh_store(database: str) -> Iterator[Store]:
    if database == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="qstation-bench-"))
        try:
            yield Store(
                database, ["--data-dir", str(directory)], f"sqlite:///{directory / 'qstation.db'}"
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    import psycopg

    name = f"qstation_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Store(database, ["--database", f"{POSTGRES}/{name}"], f"{POSTGRES}/{name}")
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


UNCAPPED = 10**9


class Server:
    """``qstation serve`` in a subprocess."""

    def __init__(self, store: Store, *serve_args: str) -> None:
        self.port = free_port()
        # The load runs past the default per-user queue cap (10,000 jobs); a 429 is not a
        # durable submission, so the cap is lifted for the benchmark.
        environment = {**os.environ, "QSTATION_MAX_QUEUED_JOBS_PER_USER": str(UNCAPPED)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qstation", "serve", "--port", str(self.port), *store.options,
             *serve_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/v1/machine/")
                connection.getresponse().read()
                return
            time.sleep(0.1)
        raise RuntimeError("qstation serve did not start")

    def client(self) -> Client:
        return Client(self.port)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Client:
    """A keep-alive stdlib HTTP client holding a login."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.token = self.call(
            "POST", "/v1/login", json.dumps({"email": EMAIL, "password": PASSWORD})
        )["id-token"]

    def call(self, method: str, path: str, body: str | None = None) -> Any:
        headers = {"Authorization": self.token} if hasattr(self, "token") else {}
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = json.loads(response.read())
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {data}")
        return data

    def submit(self, index: int = 0) -> str:
        return str(self.call("POST", "/v1/job", seed_body(index))["job"])

    def status(self, job_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/v1/job/{job_id}"))

    def wait(self, job_id: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.status(job_id)["status"] != "completed":
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job_id} did not complete")
            time.sleep(0.01)


def add_user(store: Store) -> str:
    qstation("user", "add", EMAIL, "--password-stdin", *store.options, stdin=PASSWORD + "\n")
    listed = qstation("user", "list", *store.options)
    return listed  # the CLI lists users; the ID is read from the store where needed


# --- 1. HTTP throughput ----------------------------------------------------------------------


class _NullHandler(BaseHTTPRequestHandler):
    jobs: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        self._answer(self.jobs.get(self.path.rsplit("/", 1)[-1], b'{"error": "no such job"}'))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        job_id = uuid.uuid4().hex
        self.jobs[job_id] = body
        self._answer(json.dumps({"job": job_id, "status": "queued"}).encode())

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def null_server_main(port: int, keep_alive: bool) -> None:
    """A stdlib threading HTTP server answering from a dict (run in its own process)."""
    handler = type("Handler", (_NullHandler,), {})
    if keep_alive:
        handler.protocol_version = "HTTP/1.1"
        handler.disable_nagle_algorithm = True
    handler.jobs = {"x" * 32: json.dumps({"job": "x" * 32, "status": "completed"}).encode()}
    ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


@dataclass
class Load:
    requests_per_second: float
    non_2xx: int
    errors: int
    latency_p50_ms: float


def wrk(url: str, seconds: int, token: str | None = None, body: str | None = None) -> Load:
    script = ["wrk.headers['Authorization'] = " + json.dumps(token or "")]
    if body is not None:
        script += ['wrk.method = "POST"', "wrk.body = " + json.dumps(body)]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write("\n".join(script) + "\n")
    try:
        out = subprocess.run(
            ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", lua.name, url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(lua.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return Load(
        rate,
        int(non_2xx.group(1)) if non_2xx else 0,
        sum(int(n) for n in errors.groups()) if errors else 0,
        float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan"),
    )


def null_server_loads(seconds: int) -> dict[str, dict[str, Load]]:
    loads = {}
    for keep_alive, name in (
        (False, "stdlib default (HTTP/1.0)"),
        (True, "stdlib keep-alive + TCP_NODELAY"),
    ):
        port = free_port()
        command = [sys.executable, __file__, "--null-server", str(port)]
        # http.server reports on stderr every connection wrk drops at the end
        process = subprocess.Popen(
            command + (["--keep-alive"] if keep_alive else []), stderr=subprocess.DEVNULL
        )
        time.sleep(1.0)
        try:
            base = f"http://127.0.0.1:{port}"
            loads[name] = {
                "status read": wrk(f"{base}/v1/job/{'x' * 32}", seconds),
                "submission": wrk(f"{base}/v1/job", seconds, body=seed_body()),
            }
        finally:
            process.kill()
            process.wait()
    return loads


def qstation_loads(database: str, seconds: int) -> dict[str, Load]:
    with fresh_store(database) as store:
        add_user(store)
        server = Server(store, "--workers", "0")
        try:
            client = server.client()
            finished = client.submit()
            worker = subprocess.Popen(
                [sys.executable, "-m", "qstation", "worker", *store.options],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                client.wait(finished)
            finally:
                worker.terminate()
                worker.wait()
            base = f"http://127.0.0.1:{server.port}"
            return {
                "status read": wrk(f"{base}/v1/job/{finished}", seconds, client.token),
                "listing": wrk(f"{base}/v1/jobs?limit=20", seconds, client.token),
                "submission": wrk(f"{base}/v1/job", seconds, client.token, seed_body()),
            }
        finally:
            server.stop()


# --- 2-4. latency, the real client, one worker's throughput --------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Idle:
    latencies_ms: list[float] = field(default_factory=list)
    client_tries: int = 0
    client_slept: int = 0
    client_seconds: list[float] = field(default_factory=list)


def idle_service(database: str, jobs: int, client_tries: int) -> Idle:
    """Latency of the seed job and the real client's first result, on ``qstation serve``."""
    measured = Idle()
    with fresh_store(database) as store:
        add_user(store)
        server = Server(store)
        try:
            client = server.client()
            client.wait(client.submit(), timeout=300)  # the worker has warmed up
            for index in range(jobs):
                started = time.perf_counter()
                job_id = client.submit(index)
                while client.status(job_id)["status"] != "completed":
                    time.sleep(0.005)
                measured.latencies_ms.append((time.perf_counter() - started) * 1000)
                time.sleep(0.02)
            real_client(server.port, client_tries, measured)
        finally:
            server.stop()
    return measured


def real_client(port: int, tries: int, measured: Idle) -> None:
    """The unmodified 0.55.8 client: does ``get_result`` right after ``process_circuit`` sleep?"""
    from pytket.circuit import Circuit
    from pytket.extensions.quantinuum import QuantinuumAPI, QuantinuumBackend
    from pytket.extensions.quantinuum.backends import api_wrappers

    api = QuantinuumAPI(
        api_url=f"http://127.0.0.1:{port}/", _QuantinuumAPI__user_name=EMAIL,
        _QuantinuumAPI__pwd=PASSWORD,
    )  # fmt: skip
    backend = QuantinuumBackend(device_name="H1-1SC", api_handler=api)
    sleeps = 0
    real_sleep = api_wrappers.time.sleep

    def counted_sleep(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        real_sleep(seconds)

    api_wrappers.time.sleep = counted_sleep  # type: ignore[attr-defined]
    try:
        for index in range(tries):
            circuit = Circuit(10)
            for qubit in circuit.qubits:
                circuit.PhasedX(0.01 + index % 7 / 100, 0.02 + qubit.index[0] / 100, qubit)
            compiled = backend.get_compiled_circuit(circuit.measure_all(), 2)
            before, started = sleeps, time.perf_counter()
            handle = backend.process_circuit(compiled, n_shots=10, options={"tket-opt-level": 2})
            backend.get_result(handle)
            measured.client_seconds.append(time.perf_counter() - started)
            measured.client_tries += 1
            measured.client_slept += sleeps > before
    finally:
        api_wrappers.time.sleep = real_sleep  # type: ignore[attr-defined]


def worker_throughput(database: str, queued: int, seconds: float) -> float:
    """Seed jobs one ``qstation worker`` completes per second from a full queue."""
    from qstation.service.services import open_services
    from qstation.settings import Settings

    with fresh_store(database) as store:
        add_user(store)
        settings = Settings(database=store.url)
        services = open_services(settings)
        try:
            user = services.users.get(EMAIL)
            bodies = [json.loads(seed_body(i)) for i in range(queued)]
            threads = [
                threading.Thread(
                    target=lambda part=part: [services.jobs.submit(user, b) for b in part]
                )
                for part in (bodies[i::8] for i in range(8))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

            def completed() -> int:
                from sqlalchemy import func, select

                from qstation.store.schema import jobs

                with services.store.database.read() as conn:
                    return int(
                        conn.scalar(select(func.count()).where(jobs.c.status == "completed")) or 0
                    )

            worker = subprocess.Popen(
                [sys.executable, "-m", "qstation", "worker", *store.options],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 300
                while completed() == 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
                first, started = completed(), time.monotonic()
                time.sleep(seconds)
                return (completed() - first) / (time.monotonic() - started)
            finally:
                worker.terminate()
                worker.wait()
        finally:
            services.close()


# --- 5. the queue's length --------------------------------------------------------------------


@dataclass
class AtScale:
    queued: int
    claim_ms: float
    read_p50_ms: float
    read_p99_ms: float
    position: int


def at_scale(database: str, queued: int) -> AtScale:
    from qstation.model import Group, NewJob, User
    from qstation.service.clock import utc_now
    from qstation.store import open_store

    with fresh_store(database) as store:
        add_user(store)
        opened = open_store(store.url)
        try:
            owner = opened.accounts.get_user_by_email(EMAIL)
            assert owner is not None
            users = [owner]
            for organisation in ("alpha", "beta"):
                opened.organisations.create(organisation, utc_now())
                opened.organisations.create_group(Group(organisation, "lab", 3))
                for index in range(2 if organisation == "alpha" else 3):
                    users.append(
                        opened.accounts.create_user(
                            User(uuid.uuid4().hex, f"u{index}@{organisation}.org", "x", "lab",
                                 utc_now(), organisation=organisation, priority=1 + index * 3)
                        )
                    )  # fmt: skip
            program = json.loads(seed_body())["program"]
            start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
            batch = []
            for index in range(queued):
                user = users[index % len(users)]
                batch.append((
                    NewJob(
                        id=uuid.uuid4().hex, owner_id=user.id, name=f"queued {index}",
                        machine=("H1-1SC", "H1-1E")[index % 2], language="OPENQASM 2.0",
                        program=program, count=10, options={}, group=user.group, seed=index,
                        submitted_at=start + timedelta(milliseconds=index),
                        organisation=user.organisation,
                    ),
                    None,  # no audit row: these jobs only fill the queue
                ))  # fmt: skip
                if len(batch) == 1000 or index == queued - 1:
                    opened.jobs._create_all(batch)
                    batch = []
            if database == "postgresql":  # as autovacuum would soon after such a load
                with opened.database.engine.connect() as connection:
                    connection.exec_driver_sql("ANALYZE")
            owners_jobs = [
                job for job in opened.jobs.find(owner.id, _query()) if job.status.value == "queued"
            ]
            probe = owners_jobs[len(owners_jobs) // 2]
            claims = []
            for _ in range(30):
                started = time.perf_counter()
                claim = opened.dispatch.claim_next_job("bench", utc_now(), 3600, 3)
                claims.append((time.perf_counter() - started) * 1000)
                assert claim is not None
        finally:
            opened.close()
        server = Server(store, "--workers", "0")
        try:
            client = server.client()
            for _ in range(20):
                client.status(probe.id)
            reads = []
            for _ in range(400):
                started = time.perf_counter()
                position = client.status(probe.id)["queue-position"]
                reads.append((time.perf_counter() - started) * 1000)
        finally:
            server.stop()
    return AtScale(
        queued, statistics.median(claims), statistics.median(reads), percentile(reads, 0.99),
        int(position),
    )  # fmt: skip


def _query() -> Any:
    from qstation.model import JobQuery

    return JobQuery(limit=500)


# --- the report -------------------------------------------------------------------------------


def report(results: dict[str, Any], seconds: float, arguments: argparse.Namespace) -> str:
    lines = [
        "## Service",
        "",
        f"Produced by `python bench/service.py` on {date.today()} ({platform.machine()}, "
        f"{platform.python_version()}, {os.cpu_count()} cores) in {seconds:.0f} s. "
        "What each figure is: the docstring of `bench/service.py`.",
        "",
        f"### HTTP under `wrk -t2 -c16`, {arguments.seconds} s each",
        "",
        "| server | database | request | requests/s | p50 ms | non-2xx | socket errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, loads in results["null"].items():
        for request, load in loads.items():
            lines.append(
                f"| {name} | {NONE} | {request} | {load.requests_per_second:,.0f} | "
                f"{load.latency_p50_ms:.2f} | {load.non_2xx} | {load.errors} |"
            )
    for database, loads in results["http"].items():
        for request, load in loads.items():
            lines.append(
                f"| qstation | {database} | {request} | {load.requests_per_second:,.0f} | "
                f"{load.latency_p50_ms:.2f} | {load.non_2xx} | {load.errors} |"
            )
    lines += [
        "",
        "Every submission is one user's, so qstation runs with "
        f"`QSTATION_MAX_QUEUED_JOBS_PER_USER={UNCAPPED}`: the default cap (10,000) would answer "
        "429 once the load has queued that many.",
        "",
        "Ratios to the null servers (same run, same load generator):",
        "",
    ]
    for database, loads in results["http"].items():
        for name, null in results["null"].items():
            reads = (
                loads["status read"].requests_per_second / null["status read"].requests_per_second
            )
            writes = (
                loads["submission"].requests_per_second / null["submission"].requests_per_second
            )
            lines.append(
                f"- {database} vs {name}: status reads {reads:.2f}{TIMES}, "
                f"durable submissions {writes:.2f}{TIMES}"
            )
    lines += [
        "",
        "### The seed job on an idle `qstation serve`",
        "",
        "| database | jobs | submit to completed p50 ms | p90 ms | p99 ms "
        "| real client: `get_result` without sleeping | its p50 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for database, idle in results["idle"].items():
        lat = idle.latencies_ms
        lines.append(
            f"| {database} | {len(lat)} | {percentile(lat, 0.5):.1f} | "
            f"{percentile(lat, 0.9):.1f} | {percentile(lat, 0.99):.1f} | "
            f"{idle.client_tries - idle.client_slept} of {idle.client_tries} | "
            f"{statistics.median(idle.client_seconds):.3f} |"
        )
    lines += [
        "",
        "### One worker, a full queue of seed jobs",
        "",
        "| database | jobs completed per second |",
        "|---|---|",
    ]
    for database, rate in results["worker"].items():
        lines.append(f"| {database} | {rate:.1f} |")
    lines += [
        "",
        "### The queue's length",
        "",
        "| database | queued jobs | claim ms (p50 of 30) | status read p50 ms | p99 ms "
        "| the read job's position |",
        "|---|---|---|---|---|---|",
    ]
    for database, rows in results["scale"].items():
        for row in rows:
            lines.append(
                f"| {database} | {row.queued:,} | {row.claim_ms:.2f} | {row.read_p50_ms:.2f} | "
                f"{row.read_p99_ms:.2f} | {row.position:,} |"
            )
        if len(rows) > 1:
            first, last = rows[0], rows[-1]
            lines.append("")
            lines.append(
                f"{database}: at {last.queued:,} against {first.queued:,} queued jobs, claim "
                f"{last.claim_ms / first.claim_ms:.2f}{TIMES}, status-read p50 "
                f"{last.read_p50_ms / first.read_p50_ms:.2f}{TIMES}."
            )
            lines.append("")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", type=Path)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--client-tries", type=int, default=100)
    parser.add_argument("--null-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--keep-alive", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.null_server:
        null_server_main(arguments.null_server, arguments.keep_alive)
        return 0
    started = time.perf_counter()
    databases = arguments.databases.split(",")
    results: dict[str, Any] = {"null": null_server_loads(arguments.seconds)}
    results["http"] = {db: qstation_loads(db, arguments.seconds) for db in databases}
    results["idle"] = {
        db: idle_service(db, arguments.jobs, arguments.client_tries) for db in databases
    }
    results["worker"] = {db: worker_throughput(db, 3000, 20.0) for db in databases}
    sizes = [int(size) for size in arguments.sizes.split(",")]
    results["scale"] = {db: [at_scale(db, size) for size in sizes] for db in databases}
    text = report(results, time.perf_counter() - started, arguments)
    print(text)
    if arguments.report:
        write_section(arguments.report, "service", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
