"""The processes of a fleet under test: API processes (``serve --workers 0``, or one ``serve``
with embedded workers on SQLite) and ``qstation worker`` processes, each killable with
``kill -9`` and restartable, as a process supervisor would restart it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from tests.acceptance.service import free_port

FLEET_SETTINGS = {
    "QSTATION_LEASE_SECONDS": "3",
    "QSTATION_POLL_INTERVAL_SECONDS": "0.1",
    "QSTATION_CHUNK_SHOTS": "1024",
    "QSTATION_API_PROCESSES": "1",
    "QSTATION_LOG_FORMAT": "json",
    "QSTATION_MAX_ATTEMPTS": "10",
}
"""Short leases, so a killed worker's chunk runs again within seconds; small chunks, so long
jobs have several; ten attempts a chunk (default three), because the harness kills workers at
random every few seconds and a chunk may meet three kills in a row (seen once in CI), which
the cut-off rule rightly ends as failed."""


class FleetProcess:
    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self.env = {**os.environ, **FLEET_SETTINGS, **env}
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """``kill -9`` (its execution children die with it: they watch their parent)."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.kills += 1

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def memory_bytes(self) -> int:
        """Resident memory of the API: the process and its uvicorn children, without the
        worker processes ``serve`` may have started (and their execution children)."""
        if not self.alive():
            return 0
        total, pending = 0, [psutil.Process(self.pid)]
        while pending:
            process = pending.pop()
            try:
                if "worker" in process.cmdline()[3:]:  # python -m qstation worker …
                    continue
                total += process.memory_info().rss
                pending.extend(process.children())
            except psutil.Error:  # ended meanwhile
                continue
        return total


def qstation_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "qstation", *args]


class ApiProcess(FleetProcess):
    def __init__(
        self, name: str, store_args: list[str], log_dir: Path, workers: int = 0,
        env: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.port = free_port()
        argv = qstation_argv(
            "serve", "--port", str(self.port), "--workers", str(workers), *store_args
        )
        super().__init__(name, argv, log_dir, env or {})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.alive(), f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}"
            try:
                if requests.get(self.url + "livez", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start")
