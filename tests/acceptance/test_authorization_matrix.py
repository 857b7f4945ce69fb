"""Every route by every kind of caller, from one table: a new route fails this test until the
table says who may call it."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import jwt
import pytest
import requests
from fastapi.routing import APIRoute

from qstation.api.admin import router as admin_router
from qstation.api.health import router as health_router
from qstation.api.metrics import router as metrics_router
from qstation.api.routes import router
from qstation.security.keys import ServiceKeys
from tests.acceptance.service import PASSWORD, ServiceProcess, qstation

OWNER, SAME_GROUP, OTHER_ORG = "owner@example.org", "peer@example.org", "rival@acme.org"
SAME_ORG = "colleague@example.org"  # another group of the owner's organisation
ADMIN, FOREIGN_ADMIN, OPERATOR = "admin@example.org", "boss@acme.org", "ops@example.org"
REVOKED, REMOVED = "revoked@example.org", "removed@example.org"
INVALID = ("anonymous", "expired", "tampered", "revoked", "removed")
MEMBERS = ("owner", "same group", "same organisation", "other organisation")
ADMINS = ("organisation admin", "other organisation's admin", "operator")
CALLERS = MEMBERS + ADMINS + INVALID

_PROGRAM = 'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[1];\ncreg c[1];\nmeasure q[0] -> c[0];\n'
_JOB = {"machine": "H1-1SC", "language": "OPENQASM 2.0", "count": 1, "program": _PROGRAM}
_unique = itertools.count()


@dataclass(frozen=True)
class Call:
    """One request to make: the path's blanks filled, a body, and the statuses each caller gets
    (callers without a valid token always get 401)."""

    path: dict[str, str] = field(default_factory=dict)
    query: str = ""
    body: Callable[[], object] | None = None
    allowed: dict[str, int] = field(default_factory=dict)
    refused: int = 403


EVERYONE = {caller: 200 for caller in MEMBERS + ADMINS}
OWNER_ONLY = {"owner": 200}
ADMINISTERS_DEFAULT = {"organisation admin": 200, "operator": 200}
OPERATOR_ONLY = {"operator": 200}


def _new_user() -> dict[str, object]:
    return {"email": f"new{next(_unique)}@example.org", "password": PASSWORD,
            "organisation": "default"}  # fmt: skip


# (method, path) → the call. {job_id} is a fresh job of the owner's, {event_id} a fresh window,
# the {email} of a user route a fresh user of the owner's organisation, and a quota to remove
# is set afresh first.
MATRIX: dict[tuple[str, str], Call] = {
    ("GET", "/v1/machine/"): Call(allowed=EVERYONE),
    ("GET", "/v1/machine"): Call(allowed=EVERYONE),
    ("GET", "/v1/machine/{name}"): Call({"name": "H1-1E"}, allowed=EVERYONE),
    ("GET", "/beta/reservation"): Call(query="?start=2026-01-01&end=2026-01-31", allowed=EVERYONE),
    ("POST", "/v1/job"): Call(body=lambda: _JOB, allowed=EVERYONE),
    ("GET", "/v1/job/{job_id}"): Call(allowed=OWNER_ONLY, refused=404),
    ("POST", "/v1/job/{job_id}/cancel"): Call(allowed=OWNER_ONLY, refused=404),
    ("GET", "/v1/jobs"): Call(allowed=EVERYONE),
    ("GET", "/v1/usage"): Call(allowed=EVERYONE),
    ("GET", "/v1/admin/users"): Call(query="?organisation=default", allowed=ADMINISTERS_DEFAULT),
    ("POST", "/v1/admin/users"): Call(body=_new_user, allowed=ADMINISTERS_DEFAULT),
    ("POST", "/v1/admin/users/{email}/revoke"): Call(allowed=ADMINISTERS_DEFAULT),
    ("PUT", "/v1/admin/users/{email}/priority"): Call(
        body=lambda: {"priority": 3}, allowed=ADMINISTERS_DEFAULT
    ),
    ("PUT", "/v1/admin/users/{email}/role"): Call(
        body=lambda: {"role": "admin"}, allowed=ADMINISTERS_DEFAULT
    ),
    ("DELETE", "/v1/admin/users/{email}"): Call(allowed=ADMINISTERS_DEFAULT),
    ("GET", "/v1/admin/groups"): Call(query="?organisation=default", allowed=ADMINISTERS_DEFAULT),
    ("POST", "/v1/admin/groups"): Call(
        body=lambda: {"organisation": "default", "name": f"g{next(_unique)}"},
        allowed=ADMINISTERS_DEFAULT,
    ),
    ("PUT", "/v1/admin/groups/{organisation}/{name}/priority"): Call(
        {"organisation": "default", "name": "DEFAULT"},
        body=lambda: {"priority": 5},
        allowed=ADMINISTERS_DEFAULT,
    ),
    ("POST", "/v1/admin/groups/{organisation}/{name}/members"): Call(
        {"organisation": "default", "name": "extra"},
        body=lambda: {"email": SAME_GROUP},
        allowed=ADMINISTERS_DEFAULT,
    ),
    ("DELETE", "/v1/admin/groups/{organisation}/{name}/members/{email}"): Call(
        {"organisation": "default", "name": "extra", "email": SAME_GROUP},
        allowed=ADMINISTERS_DEFAULT,
    ),
    ("GET", "/v1/admin/quotas"): Call(query="?organisation=default", allowed=ADMINISTERS_DEFAULT),
    ("PUT", "/v1/admin/quotas"): Call(
        body=lambda: {"organisation": "default", "kind": "emulator", "credits": 1000.0},
        allowed=ADMINISTERS_DEFAULT,
    ),
    ("DELETE", "/v1/admin/quotas"): Call(
        query="?organisation=default&kind=hardware", allowed=ADMINISTERS_DEFAULT
    ),
    ("GET", "/v1/admin/calendar"): Call(allowed=OPERATOR_ONLY),
    ("POST", "/v1/admin/calendar"): Call(
        body=lambda: {
            "machine": "H1-1",
            "kind": "maintenance",
            "start": "2031-01-01T00:00:00",
            "end": "2031-01-01T01:00:00",
        },
        allowed=OPERATOR_ONLY,
    ),
    ("DELETE", "/v1/admin/calendar/{event_id}"): Call(allowed=OPERATOR_ONLY),
    ("GET", "/v1/admin/audit"): Call(allowed=OPERATOR_ONLY),
}
PUBLIC = {("POST", "/v1/login"), ("GET", "/livez"), ("GET", "/readyz"), ("GET", "/metrics")}
"""Routes anyone may call: checked by the login tests, not by token."""


def _routes() -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for table in (router, admin_router, health_router, metrics_router)
        for route in table.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


def test_every_route_is_in_the_table() -> None:
    assert _routes() == set(MATRIX) | PUBLIC


def _login(url: str, email: str) -> str:
    answer = requests.post(
        url + "v1/login", data=json.dumps({"email": email, "password": PASSWORD}), timeout=30
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id-token"])


Tokens = dict[str, str | None]


@pytest.fixture(scope="module")
def callers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, Tokens]]:
    data = tmp_path_factory.mktemp("matrix")
    store = ["--data-dir", str(data / "data")]
    service = ServiceProcess(data, store, ["--workers", "0"])
    qstation("org", "add", "acme", *store)
    qstation("group", "add", "default", "extra", *store)
    for email in (OWNER, SAME_GROUP, REVOKED, REMOVED):
        service.add_user(email)
    for email, extra in (
        (OTHER_ORG, ["--org", "acme"]), (SAME_ORG, ["--group", "extra"]), (ADMIN, ["--admin"]),
        (FOREIGN_ADMIN, ["--org", "acme", "--admin"]), (OPERATOR, ["--operator"]),
    ):  # fmt: skip
        qstation("user", "add", email, *extra, "--password-stdin", *store, stdin=PASSWORD + "\n")
    service.start()
    emails = {
        "owner": OWNER, "same group": SAME_GROUP, "same organisation": SAME_ORG,
        "other organisation": OTHER_ORG,
        "organisation admin": ADMIN, "other organisation's admin": FOREIGN_ADMIN,
        "operator": OPERATOR, "revoked": REVOKED, "removed": REMOVED,
    }  # fmt: skip
    tokens: Tokens = {caller: _login(service.url, email) for caller, email in emails.items()}
    tokens["anonymous"] = None
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
    callers: tuple[ServiceProcess, Tokens],
) -> None:
    service, tokens = callers
    base = service.url.rstrip("/")
    wrong = []
    for (method, path), call in sorted(MATRIX.items()):
        for caller in CALLERS:
            blanks = {**call.path, **_fresh_blanks(base, tokens, path)}
            url = base + path.format(**blanks) + call.query
            headers = {"Content-Type": "application/json"}
            if tokens[caller] is not None:
                headers["Authorization"] = tokens[caller] or ""
            body = None if call.body is None else json.dumps(call.body())
            answer = requests.request(method, url, data=body, headers=headers, timeout=30)
            wanted = 401 if caller in INVALID else call.allowed.get(caller, call.refused)
            if answer.status_code != wanted:
                wrong.append(
                    f"{method} {path} as {caller}: {answer.status_code}, not {wanted}: "
                    f"{answer.text[:120]}"
                )
            elif wanted == 401:
                assert answer.json()["error"]["code"] == 3
            elif wanted == 404:
                assert answer.json() == {"error": {"code": 21, "text": "Error: job does not exist"}}
            elif wanted == 403:
                assert answer.json()["error"]["code"] == 8
            if path == "/v1/jobs" and caller != "owner" and "job_id" in blanks:
                assert blanks["job_id"] not in answer.text  # nobody else sees the owner's jobs
    assert not wrong, "\n".join(wrong)


def _fresh_blanks(base: str, tokens: Tokens, path: str) -> dict[str, str]:
    """What each call needs afresh: a queued job of the owner's, a calendar window, the peer
    back in the group a previous call removed them from."""
    operator = {"Authorization": tokens["operator"] or "", "Content-Type": "application/json"}
    blanks: dict[str, str] = {}
    if "{job_id}" in path or path == "/v1/jobs":
        owner = {"Authorization": tokens["owner"] or ""}
        made = requests.post(base + "/v1/job", data=json.dumps(_JOB), headers=owner, timeout=30)
        assert made.status_code == 200, made.text
        blanks["job_id"] = str(made.json()["job"])
    if "{event_id}" in path:
        window = {"machine": "H2-1", "kind": "maintenance",
                  "start": "2032-01-01T00:00:00", "end": "2032-01-01T01:00:00"}  # fmt: skip
        made = requests.post(
            base + "/v1/admin/calendar", data=json.dumps(window), headers=operator, timeout=30
        )
        assert made.status_code == 200, made.text
        blanks["event_id"] = str(made.json()["id"])
    if path.startswith("/v1/admin/users/{email}"):  # a user of the owner's org no caller is
        made = requests.post(
            base + "/v1/admin/users", data=json.dumps(_new_user()), headers=operator, timeout=30
        )
        assert made.status_code == 200, made.text
        blanks["email"] = str(made.json()["email"])
    if path == "/v1/admin/quotas":
        quota = {"organisation": "default", "kind": "hardware", "credits": 1e6}
        made = requests.put(
            base + "/v1/admin/quotas", data=json.dumps(quota), headers=operator, timeout=30
        )
        assert made.status_code == 200, made.text
    if path.endswith("/members/{email}"):
        added = requests.post(
            base + "/v1/admin/groups/default/extra/members",
            data=json.dumps({"email": SAME_GROUP}), headers=operator, timeout=30,
        )  # fmt: skip
        assert added.status_code == 200, added.text
    return blanks
