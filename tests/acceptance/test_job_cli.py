"""The job commands against a real server, as a user on another machine runs them: a stored
login, then ``jobs``, ``job show|results|cancel|wait``, ``machines`` and ``usage``."""

from __future__ import annotations

import json
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from qstation.results import results_csv
from tests.acceptance.conftest import ALICE, CLOSED
from tests.acceptance.service import (
    PASSWORD,
    ServiceProcess,
    run_qstation,
)

NATIVE = 'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[2];\ncreg c[2];\n' \
    "U1q(0.5*pi,0.0*pi) q[0];\nmeasure q -> c;\n"  # fmt: skip
NOT_NATIVE = 'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[1];\ncreg c[1];\nh q[0];\n'


class Cli:
    """The real CLI with a config directory of its own."""

    def __init__(self, config: Path, url: str) -> None:
        self.env = {"QSTATION_CONFIG_DIR": str(config)}
        self.url = url

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_qstation(*args, stdin=stdin, env=self.env)

    def json(self, *args: str, exit_status: int = 0) -> object:
        done = self.run(*args, "--json")
        assert done.returncode == exit_status, done.stderr
        return json.loads(done.stdout)


@pytest.fixture(scope="module")
def server(closed_service: ServiceProcess) -> ServiceProcess:
    return closed_service


@pytest.fixture
def cli(server: ServiceProcess, tmp_path: Path) -> Cli:
    made = Cli(tmp_path / "config", server.url)
    done = made.run("login", "--url", server.url, "--email", ALICE, "--password-stdin",
                    stdin=PASSWORD + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return made


def _submit(server: ServiceProcess, program: str, machine: str, name: str) -> str:
    token = requests.post(
        server.url + "v1/login", data=json.dumps({"email": ALICE, "password": PASSWORD}),
        timeout=30,
    ).json()["id-token"]  # fmt: skip
    body = {"machine": machine, "language": "OPENQASM 2.0", "program": program, "count": 20,
            "name": name, "options": {"seed": 3}}  # fmt: skip
    answer = requests.post(server.url + "v1/job", data=json.dumps(body),
                           headers={"Authorization": token}, timeout=30)  # fmt: skip
    return str(answer.json()["job"])


def test_the_login_is_private_and_every_command_needs_one(cli: Cli, tmp_path: Path) -> None:
    stored = tmp_path / "config" / "login.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert PASSWORD not in stored.read_text()
    stranger = Cli(tmp_path / "nobody", cli.url)
    done = stranger.run("jobs")
    assert done.returncode == 1 and "not logged in" in done.stderr
    wrong = stranger.run("login", "--url", cli.url, "--email", ALICE, "--password-stdin",
                         stdin="not the passphrase at all\n")  # fmt: skip
    assert wrong.returncode == 1 and "Invalid username or password" in wrong.stderr


def test_list_show_and_results_agree_with_the_api(server: ServiceProcess, cli: Cli) -> None:
    job_id = _submit(server, NATIVE, "H1-1E", "cli sweep 1")
    assert cli.run("job", "wait", job_id).returncode == 0
    listed = cli.json("jobs", "--name", "cli sweep")
    assert [j["job"] for j in listed["jobs"]] == [job_id]  # type: ignore[index]
    shown = cli.json("job", "show", job_id)
    assert shown["status"] == "completed" and len(shown["results"]["c"]) == 20  # type: ignore[index]
    text = cli.run("job", "show", job_id).stdout
    assert "c: 20 shots" in text and "█" in text
    as_csv = cli.run("job", "results", job_id, "--format", "csv").stdout
    assert as_csv == results_csv(shown["results"])  # type: ignore[index]
    as_json = json.loads(cli.run("job", "results", job_id).stdout)
    assert as_json == shown["results"]  # type: ignore[index]
    assert cli.json("jobs", "--status", "failed", "--name", "cli sweep") == {
        "jobs": [], "offset": 0, "next-offset": None,
    }  # fmt: skip


def test_wait_exits_with_the_jobs_ending(server: ServiceProcess, cli: Cli) -> None:
    completed = _submit(server, NATIVE, "H1-1E", "ends well")
    failed = _submit(server, NOT_NATIVE, "H1-1E", "ends badly")
    queued = _submit(server, CLOSED and NATIVE, CLOSED, "waits")
    assert cli.run("job", "wait", completed).returncode == 0
    assert cli.run("job", "wait", completed, failed).returncode == 3
    timed_out = cli.run("job", "wait", queued, "--timeout", "1")
    assert timed_out.returncode == 5 and "queued" in timed_out.stdout
    assert cli.run("job", "cancel", queued, "--yes").returncode == 0
    assert cli.run("job", "wait", queued).returncode == 4
    found = cli.json("job", "wait", failed, exit_status=3)
    assert found[failed]["status"] == "failed"  # type: ignore[index]
    assert failed in found[failed]["error"]  # type: ignore[index]


def test_cancel_asks_first_and_takes_filters(server: ServiceProcess, cli: Cli) -> None:
    first = _submit(server, NATIVE, CLOSED, "bulk a")
    second = _submit(server, NATIVE, CLOSED, "bulk b")
    declined = cli.run("job", "cancel", "--name", "bulk", stdin="n\n")
    assert declined.returncode == 1 and "Cancel 2 job(s)?" in declined.stdout
    assert cli.json("job", "show", first)["status"] == "queued"  # type: ignore[index]
    assert cli.run("job", "cancel", first, "--name", "bulk").returncode == 2  # both ways: no
    finished_only = cli.run("job", "cancel", "--status", "completed", "--yes")
    assert finished_only.returncode == 0 and "no unfinished job matches" in finished_only.stdout
    assert cli.json("job", "show", first)["status"] == "queued"  # type: ignore[index]
    accepted = cli.run("job", "cancel", "--name", "bulk", stdin="y\n")
    assert accepted.returncode == 0
    for job_id in (first, second):
        assert cli.json("job", "show", job_id)["status"] == "canceled"  # type: ignore[index]


def test_machines_and_usage(server: ServiceProcess, cli: Cli) -> None:
    job_id = _submit(server, NATIVE, "H1-1E", "charged")
    assert cli.run("job", "wait", job_id).returncode == 0
    found = cli.json("machines")
    states = {m["name"]: m["state"] for m in found["machines"]}  # type: ignore[index]
    assert states[CLOSED] == "offline" and states["H1-1E"] == "online"
    assert any(w["machine"] == CLOSED for w in found["calendar"])  # type: ignore[index]
    used = cli.json("usage")
    emulator = next(e for e in used["month"] if e["group"] is None and e["kind"] == "emulator")  # type: ignore[index]
    assert emulator["spent"] > 0
    assert "no limit" in cli.run("usage").stdout


def test_an_expired_token_is_renewed_once_for_commands_run_together(
    cli: Cli, tmp_path: Path
) -> None:
    stored = tmp_path / "config" / "login.json"
    login = json.loads(stored.read_text())
    stored.write_text(json.dumps({**login, "id_token_expires": 0}))
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: cli.run("jobs", "--limit", "1"), range(4)))
    assert [done.returncode for done in outcomes] == [0, 0, 0, 0], [o.stderr for o in outcomes]
    renewed = json.loads(stored.read_text())
    assert renewed["refresh_token"] != login["refresh_token"]
    assert cli.run("jobs", "--limit", "1").returncode == 0  # the family was not revoked


def test_logout_forgets_the_login(cli: Cli, tmp_path: Path) -> None:
    assert cli.run("jobs", "--limit", "1").returncode == 0
    done = cli.run("logout")
    assert done.returncode == 0 and "logged out" in done.stdout
    assert not (tmp_path / "config" / "login.json").exists()
    assert "not logged in" in cli.run("jobs").stderr
    assert "no stored login" in cli.run("logout").stdout
