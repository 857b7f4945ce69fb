"""Every route by every kind of caller, from one table: a new route fails this test until the
table says who may call it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import jwt
import pytest
import requests
from fastapi.routing import APIRoute

from qstation.api.routes import router
from qstation.security.keys import ServiceKeys
from tests.acceptance.service import PASSWORD, ServiceProcess, qstation

OWNER, SAME_GROUP, OTHER_ORG = "owner@example.org", "peer@example.org", "rival@acme.org"
REVOKED, REMOVED = "revoked@example.org", "removed@example.org"
CALLERS = (
    "owner", "same group", "other organisation", "anonymous", "expired", "tampered",
    "revoked", "removed",
)  # fmt: skip
SIGNED_IN = {"owner", "same group", "other organisation"}


@dataclass(frozen=True)
class Expect:
    """The answer each caller gets: the status for the owner, for other signed-in users, and
    the 401 every caller without a valid token gets."""

    owner: int
    others: int


# (method, path) → how it answers. {job} is a job of the owner's.
MATRIX: dict[tuple[str, str], Expect] = {
    ("GET", "/v1/machine/"): Expect(200, 200),
    ("GET", "/v1/machine"): Expect(200, 200),
    ("GET", "/v1/machine/{name}"): Expect(200, 200),
    ("GET", "/beta/reservation"): Expect(200, 200),
    ("POST", "/v1/job"): Expect(200, 200),
    ("GET", "/v1/job/{job_id}"): Expect(200, 404),
    ("POST", "/v1/job/{job_id}/cancel"): Expect(200, 404),
    ("GET", "/v1/jobs"): Expect(200, 200),
}
PUBLIC = {("POST", "/v1/login")}
"""Routes anyone may call: checked by the login tests, not by token."""

_PROGRAM = 'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[1];\ncreg c[1];\nmeasure q[0] -> c[0];\n'
BODIES = {
    ("POST", "/v1/job"): json.dumps(
        {"machine": "H1-1SC", "language": "OPENQASM 2.0", "count": 1, "program": _PROGRAM}
    ),
}

QUERIES = {("GET", "/beta/reservation"): "?start=2026-01-01&end=2026-01-31"}


def _app_routes() -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


def test_every_route_is_in_the_table() -> None:
    assert _app_routes() == set(MATRIX) | PUBLIC


def _login(url: str, email: str) -> str:
    answer = requests.post(
        url + "v1/login", data=json.dumps({"email": email, "password": PASSWORD}), timeout=30
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id-token"])


@pytest.fixture(scope="module")
def callers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceProcess, dict[str, str | None]]]:
    data = tmp_path_factory.mktemp("matrix")
    store = ["--data-dir", str(data / "data")]
    service = ServiceProcess(data, store, ["--workers", "0"])
    qstation("org", "add", "acme", *store)
    for email in (OWNER, SAME_GROUP, REVOKED, REMOVED):
        service.add_user(email)
    qstation(
        "user", "add", OTHER_ORG, "--org", "acme", "--password-stdin", *store, stdin=PASSWORD + "\n"
    )
    service.start()
    tokens: dict[str, str | None] = {
        "owner": _login(service.url, OWNER),
        "same group": _login(service.url, SAME_GROUP),
        "other organisation": _login(service.url, OTHER_ORG),
        "anonymous": None,
        "revoked": _login(service.url, REVOKED),
        "removed": _login(service.url, REMOVED),
    }
    keys = ServiceKeys.load_or_create(data / "data" / "secret.key")
    owner_claims = jwt.decode(tokens["owner"] or "", options={"verify_signature": False})
    hour_ago = time.time() - 3600
    tokens["expired"] = jwt.encode(
        {**owner_claims, "iat": hour_ago - 3600, "exp": int(hour_ago)},
        keys.signing_key(1), algorithm="HS256", headers={"kid": "1"},
    )  # fmt: skip
    header, _, signature = (tokens["owner"] or "").split(".")
    forged = jwt.utils.base64url_encode(json.dumps({**owner_claims, "sub": "b" * 32}).encode())
    tokens["tampered"] = f"{header}.{forged.decode()}.{signature}"
    qstation("user", "revoke", REVOKED, *store)
    qstation("user", "remove", REMOVED, *store)
    time.sleep(2.5)  # every API process rereads users within 2 s
    yield service, tokens
    service.stop()


def test_each_caller_gets_the_tables_answer_on_each_route(
    callers: tuple[ServiceProcess, dict[str, str | None]],
) -> None:
    service, tokens = callers
    fresh_job = _job_maker(service.url, tokens["owner"] or "")
    wrong = []
    for (method, path), expect in sorted(MATRIX.items()):
        for caller in CALLERS:
            job = fresh_job()  # a queued job of the owner's, for this call alone
            url = service.url.rstrip("/") + path.format(job_id=job, name="H1-1E")
            url += QUERIES.get((method, path), "")
            headers = {} if tokens[caller] is None else {"Authorization": tokens[caller] or ""}
            answer = requests.request(
                method, url, data=BODIES.get((method, path)), headers=headers, timeout=30
            )
            wanted = (
                expect.owner if caller == "owner" else expect.others
            ) if caller in SIGNED_IN else 401  # fmt: skip
            if answer.status_code != wanted:
                wrong.append(f"{method} {path} as {caller}: {answer.status_code}, not {wanted}")
            elif wanted == 401:
                assert answer.json()["error"]["code"] == 3
            elif wanted == 404:
                assert answer.json() == {"error": {"code": 21, "text": "Error: job does not exist"}}
            if path == "/v1/jobs" and caller in SIGNED_IN - {"owner"}:
                assert job not in answer.text  # others never see the owner's jobs listed
    assert not wrong, "\n".join(wrong)


def _job_maker(url: str, token: str) -> Callable[[], str]:
    def make() -> str:
        answer = requests.post(
            url + "v1/job", data=BODIES[("POST", "/v1/job")], headers={"Authorization": token},
            timeout=30,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        return str(answer.json()["job"])

    return make
