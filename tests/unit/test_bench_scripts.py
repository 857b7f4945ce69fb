"""Every benchmark script still starts: its imports resolve against today's code and it answers
``--help``. The benchmarks themselves run outside the suite (their timings would mean nothing
beside the tests), so without this a renamed name only shows when someone next measures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(path.name for path in BENCH.glob("*.py") if path.name != "report.py")


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_script_starts_and_answers_help(script: str) -> None:
    answer = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert answer.returncode == 0, answer.stderr
    assert "usage:" in answer.stdout
