"""``qstation user add/list/remove`` on the store ``serve`` uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from qstation.store import open_store
from tests.acceptance.service import PASSWORD, ServiceProcess, qstation


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "qstation", *args]
    return subprocess.run(
        command, input=PASSWORD + "\n", capture_output=True, text=True, timeout=60
    )


def test_user_commands_manage_the_accounts_the_server_accepts(tmp_path: Path) -> None:
    store_args = ["--data-dir", str(tmp_path)]
    qstation(
        "user",
        "add",
        "carol@example.com",
        "--group",
        "physics",
        "--password-stdin",
        *store_args,
        stdin=PASSWORD + "\n",
    )
    listing = qstation("user", "list", *store_args)
    assert "carol@example.com\tphysics" in listing
    store = open_store(f"sqlite:///{tmp_path / 'qstation.db'}")
    try:
        stored = store.accounts.get_user_by_email("carol@example.com")
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash
    finally:
        store.close()

    duplicate = run_cli("user", "add", "carol@example.com", "--password-stdin", *store_args)
    assert duplicate.returncode == 1 and "carol@example.com" in duplicate.stderr

    service = ServiceProcess(tmp_path, store_args)
    service.start()
    try:
        login = requests.post(
            service.url + "v1/login",
            data=json.dumps({"email": "carol@example.com", "password": PASSWORD}),
            timeout=30,
        )
        assert login.status_code == 200
        refresh = login.json()["refresh-token"]
        qstation("user", "revoke", "Carol@Example.com", *store_args)
        revoked = requests.post(
            service.url + "v1/login", data=json.dumps({"refresh-token": refresh}), timeout=30
        )
        assert revoked.status_code == 400
        login = requests.post(
            service.url + "v1/login",
            data=json.dumps({"email": "carol@example.com", "password": PASSWORD}),
            timeout=30,
        )
        refresh = login.json()["refresh-token"]
        qstation("user", "remove", "carol@example.com", *store_args)
        assert "carol@example.com" not in qstation("user", "list", *store_args)
        again = requests.post(
            service.url + "v1/login", data=json.dumps({"refresh-token": refresh}), timeout=30
        )
        assert again.status_code == 400 and "Invalid Refresh Token" in again.json()["error"]["text"]
        stale = requests.get(
            service.url + "v1/machine/?config=true",
            headers={"Authorization": login.json()["id-token"]},
            timeout=30,
        )
        assert stale.status_code == 401
    finally:
        service.stop()


@pytest.mark.parametrize("email", ["not-an-email", "two words@example.com"])
def test_user_add_refuses_what_is_not_an_email(tmp_path: Path, email: str) -> None:
    completed = run_cli("user", "add", email, "--password-stdin", "--data-dir", str(tmp_path))
    assert completed.returncode == 1 and "not an email address" in completed.stderr
