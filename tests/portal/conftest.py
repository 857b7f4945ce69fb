"""A real server with three users (an administrator, a member and an operator of the default
organisation, and a member of another), jobs of theirs, and a browser."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser

from tests.acceptance.service import PASSWORD, ServiceProcess, close_until_tomorrow, qstation
from tests.portal.browser import chromium

ADMIN = "ada@example.com"
MEMBER = "max@example.com"
OPERATOR = "ops@example.com"
OUTSIDER = "olga@elsewhere.example"
WAITING_MACHINE = "H1-1"
"""Offline until tomorrow (an operator's calendar window), so its jobs stay queued."""

UNIFORM_2 = """OPENQASM 2.0;
include "hqslib1.inc";
qreg q[2];
creg c[2];
U1q(0.5*pi,0.0*pi) q[0];
U1q(0.5*pi,0.0*pi) q[1];
measure q -> c;
"""
"""Two qubits, each in an equal superposition: four outcomes, in native H-Series gates."""


class Portal:
    """The server, its store's CLI arguments, and API access as each user."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.url = service.url.rstrip("/")
        self._tokens: dict[str, str] = {}

    @property
    def store_args(self) -> list[str]:
        return self.service.store_args

    def token(self, email: str) -> str:
        if email not in self._tokens:
            answer = requests.post(
                self.url + "/v1/login",
                data=json.dumps({"email": email, "password": PASSWORD}),
                timeout=30,
            )
            answer.raise_for_status()
            self._tokens[email] = answer.json()["id-token"]
        return self._tokens[email]

    def api(self, method: str, path: str, email: str, body: Any = None) -> Any:
        answer = requests.request(
            method, self.url + path, headers={"Authorization": self.token(email)},
            data=None if body is None else json.dumps(body), timeout=60,
        )  # fmt: skip
        answer.raise_for_status()
        return answer.json()

    def submit(self, email: str, name: str, machine: str = "H1-1E", shots: int = 200) -> str:
        body = {
            "machine": machine, "language": "OPENQASM 2.0", "program": UNIFORM_2,
            "count": shots, "name": name, "options": {"seed": 7},
        }  # fmt: skip
        return str(self.api("POST", "/v1/job", email, body)["job"])

    def job(self, email: str, job_id: str) -> dict[str, Any]:
        return dict(self.api("GET", f"/v1/job/{job_id}", email))

    def wait(self, email: str, job_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.job(email, job_id)
            if job["status"] in {"completed", "failed", "canceled"}:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def _add_user(store_args: list[str], email: str, *flags: str) -> None:
    qstation("user", "add", email, *flags, "--password-stdin", *store_args, stdin=PASSWORD + "\n")


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir: Path = tmp_path_factory.mktemp("portal")
    service = ServiceProcess(data_dir, ["--data-dir", str(data_dir)])
    store = service.store_args
    _add_user(store, ADMIN, "--admin")
    _add_user(store, MEMBER)
    _add_user(store, OPERATOR, "--operator")
    qstation("org", "add", "elsewhere", *store)
    _add_user(store, OUTSIDER, "--org", "elsewhere")
    close_until_tomorrow(WAITING_MACHINE, *store)
    service.start()
    yield Portal(service)
    service.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched
