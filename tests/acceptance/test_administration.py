"""The administration API as an organisation's administrator and an operator use it."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from tests.acceptance.service import PASSWORD, ServiceProcess, qstation
from tests.acceptance.test_security import login, submit, token_of

ADMIN, OPERATOR = "lead@example.org", "ops@example.org"


def test_an_administrator_runs_their_organisation_and_every_act_is_audited(
    tmp_path: Path,
) -> None:
    store = ["--data-dir", str(tmp_path / "data")]
    service = ServiceProcess(tmp_path, store, ["--workers", "0"])
    qstation("user", "add", ADMIN, "--admin", "--password-stdin", *store, stdin=PASSWORD + "\n")
    qstation(
        "user", "add", OPERATOR, "--operator", "--password-stdin", *store, stdin=PASSWORD + "\n"
    )
    assert f"{ADMIN}\tDEFAULT\t" in qstation("user", "list", *store)
    service.start()
    try:
        admin = {"Authorization": token_of(service.url, ADMIN), "Content-Type": "application/json"}

        def call(method: str, path: str, body: object = None) -> requests.Response:
            data = None if body is None else json.dumps(body)
            return requests.request(
                method, service.url + "v1/admin/" + path, data=data, headers=admin, timeout=30
            )

        added = call("POST", "users", {"email": "new@example.org", "password": PASSWORD})
        assert added.status_code == 200 and added.json()["role"] == "member"
        weak = call("POST", "users", {"email": "weak@example.org", "password": "short"})
        assert weak.status_code == 400 and "at least 12" in weak.json()["error"]["text"]
        promote = call(
            "POST", "users", {"email": "x@example.org", "password": PASSWORD, "role": "operator"}
        )
        assert promote.status_code == 403  # only an operator makes operators
        assert call("POST", "groups", {"name": "lab", "priority": 2}).status_code == 200
        newcomer = token_of(service.url, "new@example.org")
        assert submit(service.url, newcomer, group="lab").status_code == 403
        assert call("POST", "groups/default/lab/members", {"email": "new@example.org"}).ok
        accepted = submit(service.url, newcomer, group="lab")
        assert accepted.status_code == 200
        assert [g["name"] for g in call("GET", "groups").json()] == ["DEFAULT", "lab"]
        quota = call("PUT", "quotas", {"kind": "emulator", "credits": 250})
        assert quota.status_code == 200
        assert call("GET", "quotas").json()[0]["credits"] == 250
        assert call("GET", "calendar").status_code == 403  # operators only
        assert login(service.url, "new@example.org").status_code == 200
        assert call("POST", "users/new@example.org/revoke").status_code == 200

        operator = {"Authorization": token_of(service.url, OPERATOR)}
        entries = requests.get(service.url + "v1/admin/audit", headers=operator, timeout=30).json()
        acts = {(e["actor"], e["action"], e["subject"], e["source"]) for e in entries}
        assert {
            (ADMIN, "user.add", "new@example.org", "127.0.0.1"),
            (ADMIN, "group.add", "default/lab", "127.0.0.1"),
            (ADMIN, "group.add-member", "default/lab", "127.0.0.1"),
            (ADMIN, "quota.set", "default/*", "127.0.0.1"),
            (ADMIN, "user.revoke", "new@example.org", "127.0.0.1"),
            ("new@example.org", "job.submit", accepted.json()["job"], "127.0.0.1"),
        } <= acts
        assert "\tuser.add\t" + ADMIN in qstation("audit", "--actor", "operator", *store)
    finally:
        service.stop()
