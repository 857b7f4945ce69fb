"""A small sample of the front-end fuzz run, so every CI run throws damaged programs at them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).parents[2] / "bench" / "fuzz_frontends.py"


def test_damaged_programs_end_as_results_or_compile_errors(tmp_path: Path) -> None:
    report = tmp_path / "fuzz.md"
    completed = subprocess.run(
        [sys.executable, str(HARNESS), "--count", "400", "--seed", "7", "--report", str(report)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = report.read_text()
    assert "Fuzzed 400 mutated programs" in summary
    assert "| compile error |" in summary and "| completed |" in summary
    assert "while running" not in summary and "internal error" not in summary
