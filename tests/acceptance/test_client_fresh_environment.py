"""The native client in a fresh environment: qstation installed with the newest pytket on the
registry and without pytket-quantinuum, running docs/client.md's seed workflow verbatim."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.conftest import ALICE, start_service
from tests.acceptance.service import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)

pytestmark = pytest.mark.slow


def _run(command: list[str], **options: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, **options)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done  # type: ignore[no-any-return]


def test_the_seed_workflow_runs_on_the_newest_pytket_without_pytket_quantinuum(
    tmp_path: Path,
) -> None:
    venv = tmp_path / "fresh"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    _run([python, "-m", "pip", "install", "--quiet", str(ROOT)])
    installed = json.loads(_run([python, "-m", "pip", "list", "--format", "json"]).stdout)
    names = {package["name"].lower(): package["version"] for package in installed}
    assert "pytket-quantinuum" not in names
    newest = _run([python, "-m", "pip", "index", "versions", "pytket"]).stdout
    assert names["pytket"] == re.search(r"pytket \(([^)]+)\)", newest).group(1)  # type: ignore[union-attr]

    service = start_service(tmp_path / "server")
    try:
        config = tmp_path / "config"
        env = {"QSTATION_CONFIG_DIR": str(config), "QSTATION_LEDGER": str(config / "ledger"),
               "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}  # fmt: skip
        _run([str(venv / "bin" / "qstation"), "login", "--url", service.url, "--email", ALICE,
              "--password-stdin"], input=PASSWORD + "\n", env=env)  # fmt: skip
        blocks = PYTHON_BLOCK.findall((ROOT / "docs" / "client.md").read_text())
        assert len(blocks) == 2
        for index, code in enumerate(blocks):
            script = tmp_path / f"seed{index}.py"
            script.write_text(code)
            done = _run([python, str(script)], cwd=tmp_path, env=env)
        assert done.stdout.strip() == "{(0, 0, 0, 0, 0, 0, 0, 0, 0, 0): 1.0}"
    finally:
        service.stop()
