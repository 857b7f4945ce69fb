"""Security controls, exercised against a real server the way an attacker or an operator would."""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import psutil
import pytest
import requests

from qstation.security import totp
from tests.acceptance.conftest import ALICE, BOB, client
from tests.acceptance.service import PASSWORD, ServiceProcess, qstation, run_qstation

SEED_QASM = (
    'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[2];\ncreg c[2];\nU1q(0.5*pi,0) q[0];\n'
    "measure q -> c;\n"
)


def login(
    url: str, email: str = ALICE, password: str = PASSWORD, **extra: Any
) -> requests.Response:
    body = json.dumps({"email": email, "password": password, **extra})
    return requests.post(url + "v1/login", data=body, timeout=30)


def token_of(url: str, email: str = ALICE) -> str:
    answer = login(url, email)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id-token"])


def submit(url: str, token: str, **fields: Any) -> requests.Response:
    body = {"machine": "H1-1SC", "language": "OPENQASM 2.0", "program": SEED_QASM, "count": 10}
    body.update(fields)
    return requests.post(
        url + "v1/job", data=json.dumps(body), headers={"Authorization": token}, timeout=30
    )


def server_memory(service: ServiceProcess) -> int:
    """Resident memory of the server and every process it started, in bytes."""
    assert service.process is not None
    root = psutil.Process(service.process.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


@contextlib.contextmanager
def peak_growth(service: ServiceProcess) -> Iterator[list[int]]:
    """Sample the server's memory every 20 ms while the block runs; the list it yields ends up
    holding the largest growth over the memory at the start."""
    before = server_memory(service)
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], server_memory(service) - before)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield peak
    finally:
        done.set()
        watcher.join()
        peak[0] = max(peak[0], server_memory(service) - before)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[ServiceProcess]:
    """A server of its own (throttling and caps must not leak into other tests), no workers."""
    yield from _capped_service(tmp_path)


@pytest.fixture(scope="module")
def unchanged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """One such server for the tests that leave nothing behind (refused requests): a server
    start costs 5 to 7 s."""
    yield from _capped_service(tmp_path_factory.mktemp("unchanged"))


def _capped_service(tmp_path: Path) -> Iterator[ServiceProcess]:
    service = ServiceProcess(tmp_path, ["--data-dir", str(tmp_path / "data")], ["--workers", "0"])
    service.env["QSTATION_MAX_QUEUED_JOBS_PER_USER"] = "3"
    # a chunked body is read (and held) up to the limit before it is refused: 1 MiB here
    service.env["QSTATION_MAX_REQUEST_BYTES"] = str(2**20)
    service.add_user(ALICE)
    service.add_user(BOB)
    service.start()
    yield service
    service.stop()


def test_data_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    data = tmp_path / "data"
    previous = os.umask(0o022)
    try:
        service = ServiceProcess(tmp_path, ["--data-dir", str(data)], ["--workers", "0"])
        service.add_user(ALICE)
        service.start()
        try:
            token_of(service.url)  # makes the key file and writes the WAL
        finally:
            service.stop()
    finally:
        os.umask(previous)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = sorted(data.iterdir())
    assert {path.name for path in files} >= {"qstation.db", "secret.key"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    if os.geteuid() != 0:
        pytest.skip("reading as nobody needs root to switch users")
    for path in (data / "qstation.db", data / "secret.key"):
        as_nobody = subprocess.run(
            ["runuser", "-u", "nobody", "--", "cat", str(path)], capture_output=True, timeout=30
        )
        assert as_nobody.returncode != 0 and b"Permission denied" in as_nobody.stderr
        assert as_nobody.stdout == b""


def test_the_signing_key_is_not_in_the_database(fresh: ServiceProcess) -> None:
    token_of(fresh.url)
    database = (fresh.data_dir / "data" / "qstation.db").read_bytes()
    key = (fresh.data_dir / "data" / "secret.key").read_text().strip()
    assert key.encode() not in database
    assert bytes.fromhex(key) not in database


def test_a_50_mb_body_gets_413_without_the_server_growing(fresh: ServiceProcess) -> None:
    headers = {"Authorization": token_of(fresh.url)}

    def chunks(megabytes: int) -> Iterator[bytes]:
        for _ in range(megabytes):
            yield b" " * 2**20

    def refused(megabytes: int) -> None:
        body = b"{" + b" " * (megabytes * 2**20) + b"}"
        answer = requests.post(fresh.url + "v1/job", data=body, headers=headers, timeout=60)
        assert answer.status_code == 413
        assert "larger than" in answer.json()["error"]["text"]
        streamed = requests.post(
            fresh.url + "v1/job", data=chunks(megabytes), headers=headers, timeout=60
        )  # chunked: no declared length
        assert streamed.status_code == 413 and streamed.json()["error"]["code"] == 2

    for _ in range(4):  # each API process has taken both paths once, with a 2 MB body
        refused(2)
    with peak_growth(fresh) as growth:
        refused(50)
    assert growth[0] < 10 * 2**20, f"grew {growth[0] / 2**20:.1f} MiB"


def test_a_job_whose_results_would_be_huge_is_refused_at_submission(fresh: ServiceProcess) -> None:
    token = token_of(fresh.url)
    registers = "".join(f"creg c{i}[64];\n" for i in range(150))
    program = (
        f'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[1];\n{registers}measure q[0] -> c0[0];\n'
    )
    database = fresh.data_dir / "data" / "qstation.db"
    size_before = database.stat().st_size
    answer = submit(fresh.url, token, program=program, count=10_000)
    assert answer.status_code == 400
    assert "QSTATION_MAX_RESULT_BYTES" in answer.json()["error"]["text"]
    assert database.stat().st_size - size_before < 2**20


def test_a_users_queue_cap_answers_429_and_leaves_others_alone(fresh: ServiceProcess) -> None:
    alice, bob = token_of(fresh.url, ALICE), token_of(fresh.url, BOB)
    for _ in range(3):
        assert submit(fresh.url, alice).status_code == 200
    refused = submit(fresh.url, alice)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert "QSTATION_MAX_QUEUED_JOBS_PER_USER" in refused.json()["error"]["text"]
    assert submit(fresh.url, bob).status_code == 200


ODD_SUBMISSIONS = {
    "deeply nested JSON": "[" * 100_000 + "]" * 100_000,
    "a 5,000-digit integer": '{"count": ' + "9" * 5000 + "}",
    "max-cost 10**400": None,
    "max-cost infinity": None,
    "max-cost -5": None,
    "batch-exec 10**400": None,
    "a lone surrogate in the name": None,
    "a lone surrogate in the program": None,
}


@pytest.mark.parametrize("case", sorted(ODD_SUBMISSIONS))
def test_odd_submissions_get_400_naming_the_problem(unchanged: ServiceProcess, case: str) -> None:
    token = token_of(unchanged.url)
    base = {"machine": "H1-1SC", "language": "OPENQASM 2.0", "program": SEED_QASM, "count": 1}
    raw = ODD_SUBMISSIONS[case]
    if raw is None:
        field, value = {
            "max-cost 10**400": ("max-cost", "1" + "0" * 400),
            "max-cost infinity": ("max-cost", "1e999"),
            "max-cost -5": ("max-cost", "-5"),
            "batch-exec 10**400": ("batch-exec", "1" + "0" * 400),
            "a lone surrogate in the name": ("name", '"\\ud800"'),
            "a lone surrogate in the program": ("program", '"OPENQASM 2.0;\\udfff"'),
        }[case]
        fields = ", ".join(f'"{k}": {json.dumps(v)}' for k, v in base.items() if k != field)
        raw = "{" + fields + f', "{field}": {value}' + "}"
    answer = requests.post(
        unchanged.url + "v1/job", data=raw.encode(), headers={"Authorization": token}, timeout=30
    )
    assert answer.status_code == 400, answer.text
    text = answer.json()["error"]["text"]
    named = {"max-cost": "max-cost", "batch-exec": "batch-exec", "name": "name"}
    for word, field in named.items():
        if word in case:
            assert field in text


def test_odd_reads_get_400(unchanged: ServiceProcess) -> None:
    headers = {"Authorization": token_of(unchanged.url)}
    for path in (
        "v1/jobs?offset=100000000000000000000",
        "v1/jobs?offset=-1",
        "beta/reservation?start=2026-01-01&end=9999-12-31",
        "beta/reservation?start=2026-02-01&end=2026-01-01",
    ):
        answer = requests.get(unchanged.url + path, headers=headers, timeout=30)
        assert answer.status_code in (200, 400), (path, answer.text)
        assert answer.status_code != 500
    last_day = requests.get(
        unchanged.url + "beta/reservation?start=9999-12-30&end=9999-12-31",
        headers=headers,
        timeout=30,
    )
    assert last_day.status_code == 200 and last_day.json() == []
    assert (
        requests.get(
            unchanged.url + "v1/jobs?offset=100000000000000000000", headers=headers
        ).status_code
        == 400
    )
    for odd in (
        '{"email": "\\ud800@x.org", "password": "p"}',
        '{"email": "a@b.c", "password": "\\ud800"}',
    ):
        answer = requests.post(unchanged.url + "v1/login", data=odd, timeout=30)
        assert answer.status_code == 401, answer.text


def test_the_eleventh_wrong_password_in_a_minute_is_throttled_even_when_right(
    fresh: ServiceProcess,
) -> None:
    for _ in range(10):
        assert login(fresh.url, password="not the password").status_code == 401
    throttled = login(fresh.url)  # the right password, now
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    assert login(fresh.url, BOB).status_code == 200  # another account from here: still fine
    audit = qstation("audit", "--action", "login", *fresh.store_args)
    assert audit.count(f"{ALICE}\tlogin\t-\t127.0.0.1\tfailed") == 10
    assert f"{ALICE}\tlogin\t-\t127.0.0.1\trefused" in audit


def test_forty_concurrent_anonymous_logins_stay_under_the_memory_ceiling(
    fresh: ServiceProcess,
) -> None:
    answers: list[int] = []
    threads = [
        threading.Thread(
            target=lambda i=i: answers.append(
                login(fresh.url, f"nobody{i}@example.com", "wrong wrong wrong").status_code
            )
        )
        for i in range(40)
    ]
    with peak_growth(fresh) as growth:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(set(answers)) in ([401], [401, 503], [401, 429], [401, 429, 503])
    # two API processes, each checking at most two passwords (64 MiB apiece) at once
    assert growth[0] < 300 * 2**20, f"grew {growth[0] / 2**20:.0f} MiB"


def test_mfa_with_the_real_client_and_a_wrong_code(
    fresh: ServiceProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = qstation("user", "mfa", "enable", ALICE, *fresh.store_args)
    uri = next(line for line in shown.splitlines() if line.startswith("otpauth://"))
    secret = parse_qs(urlparse(uri).query)["secret"][0]

    first = login(fresh.url)
    assert first.status_code == 401 and first.json()["error"]["code"] == 73
    current = totp.code_at(secret, totp.step_of(time.time()))
    wrong = login(fresh.url, code="000000" if current != "000000" else "111111")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == 73

    prompts: list[str] = []

    def answer_prompt(prompt: str) -> str:
        prompts.append(prompt)
        return totp.code_at(secret, totp.step_of(time.time()))

    monkeypatch.setattr("builtins.input", answer_prompt)
    backend = client(fresh.url, "H1-1SC")
    backend.login()
    assert prompts == ["Enter your MFA verification code: "]
    assert backend.device_state("H1-1SC", backend.api_handler) == "online"
    assert backend.api_handler._cred_store.id_token  # logged in once, kept its tokens


def test_revocation_ends_an_id_token_within_five_seconds(fresh: ServiceProcess) -> None:
    token = token_of(fresh.url)
    headers = {"Authorization": token}
    assert requests.get(fresh.url + "v1/machine/", headers=headers, timeout=30).status_code == 200
    qstation("user", "revoke", ALICE, *fresh.store_args)
    revoked_at = time.monotonic()
    while requests.get(fresh.url + "v1/machine/", headers=headers, timeout=30).status_code == 200:
        assert time.monotonic() - revoked_at < 5, "the revoked id-token still works"
        time.sleep(0.1)
    assert token_of(fresh.url)  # a new login works


def test_a_reused_refresh_token_kills_its_successor(fresh: ServiceProcess) -> None:
    first = login(fresh.url).json()

    def refresh(token: str) -> requests.Response:
        body = json.dumps({"refresh-token": token})
        return requests.post(fresh.url + "v1/login", data=body, timeout=30)

    successor = refresh(first["refresh-token"])
    assert successor.status_code == 200
    replayed = refresh(first["refresh-token"])
    assert (
        replayed.status_code == 400 and replayed.json()["error"]["text"] == "Invalid Refresh Token"
    )
    assert refresh(successor.json()["refresh-token"]).status_code == 400


def test_key_rotation_ends_id_tokens_and_is_audited(fresh: ServiceProcess) -> None:
    token = token_of(fresh.url)
    headers = {"Authorization": token}
    out = qstation("key", "rotate", *fresh.store_args)
    assert "generation 2" in out
    rotated_at = time.monotonic()
    while requests.get(fresh.url + "v1/machine/", headers=headers, timeout=30).status_code == 200:
        assert time.monotonic() - rotated_at < 5, "an id-token of the old key still works"
        time.sleep(0.1)
    assert re.search(
        r"\toperator\tkey\.rotate\tgeneration 2\t", qstation("audit", *fresh.store_args)
    )


def test_a_removed_users_queued_jobs_are_canceled(fresh: ServiceProcess) -> None:
    token = token_of(fresh.url, BOB)
    job = submit(fresh.url, token).json()["job"]
    qstation("user", "remove", BOB, *fresh.store_args)
    alice = token_of(fresh.url)  # bob's jobs are no longer anyone's to read over HTTP
    assert (
        requests.get(fresh.url + f"v1/job/{job}", headers={"Authorization": alice}).status_code
        == 404
    )
    from qstation.store import open_store

    store = open_store(f"sqlite:///{fresh.data_dir / 'data' / 'qstation.db'}")
    try:
        assert store.jobs.get(job, None).status.value == "canceled"
    finally:
        store.close()
    assert "\toperator\tuser.remove\t" + BOB in qstation("audit", *fresh.store_args)


def test_weak_passwords_and_short_token_lifetimes_are_refused(tmp_path: Path) -> None:
    store = ["--data-dir", str(tmp_path / "data")]
    for weak in ("short", "password1234", "aaaaaaaaaaaaaaaa", "carol-carol-carol"):
        refused = run_qstation(
            "user", "add", "carol@example.com", "--password-stdin", *store, stdin=weak + "\n"
        )
        assert refused.returncode == 1 and "password" in refused.stderr, weak
    started = run_qstation("serve", "--port", "1", *store, env={"QSTATION_ID_TOKEN_SECONDS": "60"})
    assert started.returncode != 0 and "id_token_seconds" in started.stderr


def test_serve_with_tls_answers_the_real_client_over_https(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    service = ServiceProcess(
        tmp_path,
        ["--data-dir", str(tmp_path / "data")],
        ["--workers", "0", "--tls-cert", str(cert), "--tls-key", str(key)],
        tls_ca=cert,
    )
    service.add_user(ALICE)
    service.start()
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        assert service.url.startswith("https://")
        backend = client(service.url, "H1-1SC")
        backend.login()
        assert backend.device_state("H1-1SC", backend.api_handler) == "online"
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{service.port}/v1/machine/", timeout=5)
    finally:
        service.stop()
