"""A real qstation server in a subprocess, driven the way an operator would drive it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

PASSWORD = "a sturdy test passphrase"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_qstation(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI, whatever its exit status."""
    return subprocess.run(
        [sys.executable, "-m", "qstation", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def qstation(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run the real CLI; fail the test with its output if it fails."""
    completed = run_qstation(*args, stdin=stdin, env=env)
    if completed.returncode != 0:
        raise AssertionError(
            f"qstation {' '.join(args)} failed:\n{completed.stdout}{completed.stderr}"
        )
    return completed.stdout


class ServiceProcess:
    def __init__(
        self,
        data_dir: Path,
        store_args: Sequence[str],
        serve_args: Sequence[str] = (),
        tls_ca: Path | None = None,
    ) -> None:
        """``tls_ca``: the server speaks HTTPS with a certificate this file vouches for."""
        self.tls_ca = tls_ca
        self.data_dir = data_dir
        self.store_args = list(store_args)
        self.serve_args = list(serve_args)
        self.port = free_port()
        self.log_path = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        # short leases so a job cut off by a kill runs again within seconds
        self.env = {
            **os.environ,
            "QSTATION_LEASE_SECONDS": "3",
            "QSTATION_POLL_INTERVAL_SECONDS": "0.05",
        }

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_ca else "http"
        return f"{scheme}://127.0.0.1:{self.port}/"

    def add_user(self, email: str, group: str | None = None) -> None:
        extra = ["--group", group] if group else []
        qstation(
            "user",
            "add",
            email,
            *extra,
            "--password-stdin",
            *self.store_args,
            stdin=PASSWORD + "\n",
        )

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "qstation",
                    "serve",
                    "--port",
                    str(self.port),
                    *self.store_args,
                    *self.serve_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                requests.get(self.url + "v1/machine/", timeout=1, verify=self.tls_ca or True)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError(f"server did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """``kill -9`` of the server process alone; its workers must not outlive it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def close_until_tomorrow(machine: str, *store_args: str) -> None:
    """Give a hardware target one operational window, tomorrow: until then its jobs wait."""
    tomorrow = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0) + timedelta(days=1)
    window = [(tomorrow + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M") for h in (0, 2)]
    qstation("calendar", "add", machine, "online", *window, *store_args)
