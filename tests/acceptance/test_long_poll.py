"""``GET /v1/job/{id}?wait=S``: an answer as soon as a job changes, or after S seconds."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from tests.acceptance.conftest import ALICE, BOB, CLOSED
from tests.acceptance.service import PASSWORD, ServiceProcess

PROGRAM = 'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[1];\ncreg c[1];\nmeasure q[0] -> c[0];\n'


@pytest.fixture(scope="module")
def server(closed_service: ServiceProcess) -> ServiceProcess:
    return closed_service


def _token(server: ServiceProcess, email: str) -> str:
    answer = requests.post(
        server.url + "v1/login", data=json.dumps({"email": email, "password": PASSWORD}),
        timeout=30,
    )  # fmt: skip
    return str(answer.json()["id-token"])


def _submit(server: ServiceProcess, token: str, machine: str, shots: int = 1) -> str:
    body = {"machine": machine, "language": "OPENQASM 2.0", "program": PROGRAM, "count": shots}
    answer = requests.post(
        server.url + "v1/job", data=json.dumps(body), headers={"Authorization": token}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["job"])


def _status(server: ServiceProcess, token: str, job_id: str, wait: object) -> requests.Response:
    return requests.get(
        f"{server.url}v1/job/{job_id}", params={"wait": wait},
        headers={"Authorization": token}, timeout=120,
    )  # fmt: skip


def test_an_unchanged_job_is_answered_after_the_wait(server: ServiceProcess) -> None:
    token = _token(server, ALICE)
    job_id = _submit(server, token, CLOSED)
    started = time.monotonic()
    answer = _status(server, token, job_id, 0.6)
    took = time.monotonic() - started
    assert answer.status_code == 200 and answer.json()["status"] == "queued"
    assert 0.55 <= took < 2.0, took


def test_a_cancel_ends_the_wait_at_once(server: ServiceProcess) -> None:
    token = _token(server, ALICE)
    job_id = _submit(server, token, CLOSED)
    cancelled_at: list[float] = []

    def cancel_soon() -> None:
        time.sleep(0.5)
        cancelled_at.append(time.monotonic())
        requests.post(
            f"{server.url}v1/job/{job_id}/cancel", headers={"Authorization": token}, timeout=30
        )

    canceller = threading.Thread(target=cancel_soon)
    canceller.start()
    answer = _status(server, token, job_id, 30)
    answered_at = time.monotonic()
    canceller.join()
    assert answer.json()["status"] == "canceled"
    assert answered_at - cancelled_at[0] < 0.5, answered_at - cancelled_at[0]


def test_waiting_follows_a_job_to_its_end_without_sleeping(server: ServiceProcess) -> None:
    token = _token(server, ALICE)
    job_id = _submit(server, token, "H1-1E", shots=50)
    seen = []
    started = time.monotonic()
    while not seen or seen[-1] not in {"completed", "failed"}:
        assert time.monotonic() - started < 60
        seen.append(_status(server, token, job_id, 20).json()["status"])
    assert seen[-1] == "completed", seen
    assert len(seen) <= 4, seen  # each answer is a change (or the job's end), never a poll


def test_a_bad_wait_is_a_400_and_someone_elses_job_a_404(server: ServiceProcess) -> None:
    alice, bob = _token(server, ALICE), _token(server, BOB)
    job_id = _submit(server, alice, CLOSED)
    for wait in (-1, 61, "soon", "nan"):
        answer = _status(server, alice, job_id, wait)
        assert answer.status_code == 400, (wait, answer.status_code)
        assert answer.json()["error"]["code"] == 2
    started = time.monotonic()
    answer = _status(server, bob, job_id, 30)
    assert answer.status_code == 404 and time.monotonic() - started < 2
