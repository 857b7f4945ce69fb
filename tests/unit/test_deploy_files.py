"""The deployment files (systemd units, container image, Kubernetes manifests) cannot be run
here, but they must not drift from the code: every ``QSTATION_*`` name they set is a setting,
every ``qstation`` command line they run parses, and the manifests are valid YAML."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from qstation.cli.main import cli
from qstation.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
FILES = sorted(path for path in DEPLOY.rglob("*") if path.is_file())


def command_lines(path: Path) -> list[list[str]]:
    text = path.read_text()
    lines = [shlex.split(m) for m in re.findall(r"^ExecStart=\S*qstation (.*)$", text, re.M)]
    for match in re.findall(r'(?:args|CMD):? (\["qstation".*?\])', text):
        lines.append(yaml.safe_load(match)[1:])
    return lines


def test_there_are_deployment_files_and_commands_in_them() -> None:
    assert {path.name for path in FILES} >= {
        "qstation-api.service", "qstation-worker@.service", "Containerfile", "qstation.yaml",
    }  # fmt: skip
    assert sum(len(command_lines(path)) for path in FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_settings_they_name_exist_and_commands_parse(path: Path) -> None:
    fields = {f"QSTATION_{name.upper()}" for name in Settings.model_fields}
    assert set(re.findall(r"QSTATION_[A-Z_]+", path.read_text())) <= fields
    for argv in command_lines(path):
        with click.Context(cli) as context:
            name, command, rest = cli.resolve_command(context, argv)
            assert command is not None, argv
            command.make_context(name or "", rest, parent=context)  # raises on a bad option
    if path.suffix == ".yaml":
        assert all(document for document in yaml.safe_load_all(path.read_text()))
