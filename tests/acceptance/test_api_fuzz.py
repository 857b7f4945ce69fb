"""schemathesis, a property-based API fuzzer, against every route of /openapi.json: no 5xx."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.conftest import ALICE
from tests.acceptance.service import PASSWORD, ServiceProcess, qstation
from tests.acceptance.test_security import token_of


@pytest.mark.slow
def test_the_fuzzer_finds_no_server_error(tmp_path: Path) -> None:
    store = ["--data-dir", str(tmp_path / "data")]
    service = ServiceProcess(tmp_path, store, ["--workers", "0"])
    # an operator, so that the administration routes are fuzzed too, not only refused
    qstation("user", "add", ALICE, "--operator", "--password-stdin", *store, stdin=PASSWORD + "\n")
    service.start()
    try:
        token = token_of(service.url)
        fuzzer = Path(sys.executable).parent / "st"
        run = subprocess.run(
            [
                str(fuzzer), "run", service.url + "openapi.json",
                "--checks", "not_a_server_error",
                "--header", f"Authorization: {token}",
                "--max-examples", "25", "--max-time", "45", "--workers", "1",
                "--seed", "20261129",
            ],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        )  # fmt: skip
    finally:
        service.stop()
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert counts is not None and counts[1] == counts[2] and int(counts[1]) > 500, run.stdout[
        -1500:
    ]
    assert "Traceback" not in service.log_path.read_text()
