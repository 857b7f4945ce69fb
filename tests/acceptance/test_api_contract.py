"""The machine API's wire contract over plain HTTP: auth, quirks and bad input."""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from typing import Any

import jwt
import pytest
import requests

from tests.acceptance.conftest import ALICE, BOB
from tests.acceptance.service import PASSWORD, ServiceProcess

GOOD_QASM = """OPENQASM 2.0;
include "hqslib1.inc";
qreg q[2];
creg c[2];
U1q(0.5*pi,0.0*pi) q[0];
measure q[0] -> c[0];
measure q[1] -> c[1];
"""


class Session:
    """A raw HTTP user of the API, posting bodies exactly as the client does (no Content-Type)."""

    def __init__(self, service: ServiceProcess, email: str) -> None:
        self.base = service.url + "v1/"
        tokens = self.post("login", {"email": email, "password": PASSWORD}, auth=False).json()
        self.id_token = tokens["id-token"]
        self.refresh_token = tokens["refresh-token"]

    def post(self, path: str, body: Any, auth: bool = True) -> requests.Response:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        headers = {"Authorization": self.id_token} if auth else {}
        return requests.post(self.base + path, data=data, headers=headers, timeout=30)

    def get(self, path: str) -> requests.Response:
        return requests.get(self.base + path, headers={"Authorization": self.id_token}, timeout=30)

    def submit(self, **overrides: Any) -> requests.Response:
        body = {
            "name": "t",
            "count": 10,
            "machine": "H1-1E",
            "language": "OPENQASM 2.0",
            "program": GOOD_QASM,
            "options": {},
        }
        body.update(overrides)
        return self.post("job", body)

    def wait(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get(f"job/{job_id}").json()
            if status["status"] in ("completed", "failed", "canceled"):
                return dict(status)
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not finish")


@pytest.fixture(scope="module")
def alice(service: ServiceProcess) -> Session:
    return Session(service, ALICE)


def error_of(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], int) and isinstance(body["error"]["text"], str)
    return dict(body["error"])


def test_id_token_is_a_jwt_expiring_in_about_an_hour(alice: Session) -> None:
    claims = jwt.decode(alice.id_token, options={"verify_signature": False})
    assert 3500 <= claims["exp"] - time.time() <= 3700


def test_refresh_tokens_rotate_and_a_spent_one_is_refused(service: ServiceProcess) -> None:
    session = Session(service, ALICE)
    first = session.post("login", {"refresh-token": session.refresh_token}, auth=False)
    assert first.status_code == 200
    assert first.json()["refresh-token"] != session.refresh_token
    again = session.post("login", {"refresh-token": session.refresh_token}, auth=False)
    assert again.status_code == 400
    assert "Invalid Refresh Token" in error_of(again)["text"]


def test_wrong_password_and_bad_tokens_are_refused_with_json(
    service: ServiceProcess, alice: Session
) -> None:
    wrong = requests.post(
        service.url + "v1/login", data=json.dumps({"email": ALICE, "password": "x"}), timeout=10
    )
    assert wrong.status_code == 401
    error_of(wrong)
    forged = jwt.encode(
        {"sub": "someone", "exp": time.time() + 60},
        "a forged signing key that is not the server key",
        algorithm="HS256",
    )
    response = requests.get(
        service.url + "v1/machine/?config=true", headers={"Authorization": forged}, timeout=10
    )
    assert response.status_code == 401
    error_of(response)
    bearer = requests.get(
        service.url + "v1/machine/?config=true",
        headers={"Authorization": f"Bearer {alice.id_token}"},
        timeout=10,
    )
    assert bearer.status_code == 200


def test_machine_list_has_hardware_emulators_and_syntax_checkers(alice: Session) -> None:
    machines = {m["name"]: m for m in alice.get("machine/?config=true").json()}
    for family in ("H1-1", "H2-1", "H2-2"):
        hardware, emulator, checker = (
            machines[family],
            machines[family + "E"],
            machines[family + "SC"],
        )
        assert hardware["system_type"] == "hardware"
        assert hardware["syntax_checker"] == family + "SC" and hardware["emulator"] == family + "E"
        assert emulator["system_type"] == "emulator" and "p2" in json.dumps(emulator["noise_specs"])
        assert checker["system_type"] == "syntax checker" and "TK2" in checker["gateset"]
        for machine in (hardware, emulator, checker):
            assert {"n_qubits", "n_classical_registers", "gateset", "max_n_shots", "wasm"} <= set(
                machine
            )
            assert "qstation" not in machine
    assert alice.get("machine/H2-1").json() == {"state": "online"}
    assert error_of(alice.get("machine/H9-9"))["text"].startswith("Error: machine")


def test_accepted_job_has_a_32_hex_id_and_completes(alice: Session) -> None:
    response = alice.submit()
    assert response.status_code == 200
    job_id = response.json()["job"]
    assert re.fullmatch(r"[0-9a-f]{32}", job_id)
    status = alice.wait(job_id)
    assert status["status"] == "completed"
    assert len(status["results"]["c"]) == 10
    assert "websocket" not in alice.get(f"job/{job_id}?websocket=true").json()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (
            json.dumps({"machine": "H1-1E", "language": "OPENQASM 2.0", "program": GOOD_QASM}),
            "count",
        ),
        (
            json.dumps(
                {
                    "machine": "H1-1E",
                    "count": "ten",
                    "language": "OPENQASM 2.0",
                    "program": GOOD_QASM,
                }
            ),
            "count",
        ),
        (
            json.dumps(
                {
                    "machine": "H1-1E",
                    "count": 10001,
                    "language": "OPENQASM 2.0",
                    "program": GOOD_QASM,
                }
            ),
            "10000",
        ),
        (
            json.dumps(
                {"machine": "Z9", "count": 1, "language": "OPENQASM 2.0", "program": GOOD_QASM}
            ),
            "Z9",
        ),
        (
            json.dumps({"machine": "H1-1E", "count": 1, "language": "Cobol", "program": GOOD_QASM}),
            "Cobol",
        ),
        (
            json.dumps(
                {
                    "machine": "H1-1E",
                    "count": 1,
                    "language": "OPENQASM 2.0",
                    "program": GOOD_QASM,
                    "options": {"seed": "x"},
                }
            ),
            "seed",
        ),
        ('{"machine": "H1-1E", "count": NaN, "language": "OPENQASM 2.0", "program": "x"}', "NaN"),
        (
            json.dumps(
                {
                    "machine": "H1-1E",
                    "count": 1,
                    "language": "OPENQASM 2.0",
                    "program": GOOD_QASM,
                    "name": "a\x00b",
                }
            ),
            "NUL",
        ),
        (
            json.dumps(
                {
                    "machine": "H1-1E",
                    "count": 1,
                    "language": "OPENQASM 2.0",
                    "program": GOOD_QASM,
                    "group": "g" * 65,
                }
            ),
            "group",
        ),
    ],
)
def test_bad_submissions_get_a_json_error_naming_the_cause(
    alice: Session, body: str, expected: str
) -> None:
    response = alice.post("job", body)
    assert response.status_code in (400, 404)
    assert expected in error_of(response)["text"]


HEADER = 'OPENQASM 2.0;\ninclude "hqslib1.inc";\n'


@pytest.mark.parametrize(
    ("program", "expected"),
    [
        (HEADER + "qreg q[21];\ncreg c[1];\nmeasure q[20] -> c[0];\n", "21 qubits"),
        (HEADER + "qreg q[1];\ncreg c[1];\nU1q(0.5*pi q[0];\n", "invalid OPENQASM"),
        (HEADER + "qreg q[1];\ncreg c[1];\nh q[0];\nmeasure q[0] -> c[0];\n", "H"),
    ],
)
def test_programs_that_cannot_compile_end_failed_naming_job_and_cause(
    alice: Session, program: str, expected: str
) -> None:
    job_id = alice.submit(program=program).json()["job"]
    status = alice.wait(job_id)
    assert status["status"] == "failed"
    assert status["error"].startswith("1000: Compile error: ")
    assert job_id in status["error"] and expected in status["error"]
    assert alice.wait(alice.submit().json()["job"])["status"] == "completed"  # still serving


def test_another_users_job_looks_exactly_like_a_missing_one(
    service: ServiceProcess, alice: Session
) -> None:
    bob = Session(service, BOB)
    job_id = alice.submit().json()["job"]
    for response in (bob.get(f"job/{job_id}"), bob.get("job/66f2da298ea84373b2b7968a7bb6d7b7")):
        assert response.status_code == 404
        assert error_of(response) == {"code": 21, "text": "Error: job does not exist"}
    assert error_of(bob.post(f"job/{job_id}/cancel", ""))["code"] == 21


def test_idle_connection_outlives_the_clients_five_second_poll(
    service: ServiceProcess, alice: Session
) -> None:
    # pytket-quantinuum polls a job every 5 s on one requests.Session; a server that drops idle
    # connections after 5 s races those polls, and some fail with RemoteDisconnected.
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    try:
        connection.request("GET", "/v1/machine/H1-1", headers={"Authorization": alice.id_token})
        assert connection.getresponse().read()
        time.sleep(6)
        assert connection.sock is not None
        connection.sock.setblocking(False)
        with pytest.raises(BlockingIOError):  # still open: nothing to read, no end of stream
            connection.sock.recv(1, socket.MSG_PEEK)
    finally:
        connection.close()


@pytest.mark.parametrize("job_id", ["not-a-job", "A" * 32, "0" * 31 + "%00"])
def test_malformed_job_ids_look_like_missing_jobs(alice: Session, job_id: str) -> None:
    assert error_of(alice.get(f"job/{job_id}")) == {"code": 21, "text": "Error: job does not exist"}


def test_login_email_is_case_insensitive(service: ServiceProcess) -> None:
    login = {"email": ALICE.upper(), "password": PASSWORD}
    response = requests.post(service.url + "v1/login", data=json.dumps(login), timeout=30)
    assert response.status_code == 200


def test_unknown_routes_answer_json(alice: Session) -> None:
    assert error_of(alice.get("nothing/here"))["code"] == 2
