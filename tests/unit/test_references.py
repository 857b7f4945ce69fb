"""The generated references in docs/reference/ match the code they describe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_references_are_current() -> None:
    checked = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "references.py"), "--check"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr


def test_every_setting_and_command_is_in_its_reference() -> None:
    from qstation.cli.main import cli
    from qstation.settings import Settings

    settings = (ROOT / "docs" / "reference" / "settings.md").read_text()
    commands = (ROOT / "docs" / "reference" / "cli.md").read_text()
    for name, field in Settings.model_fields.items():
        assert f"`QSTATION_{name.upper()}`" in settings
        assert field.description, f"setting {name} has no docstring to document it by"
    for name in cli.commands:
        assert f"## `qstation {name}" in commands
