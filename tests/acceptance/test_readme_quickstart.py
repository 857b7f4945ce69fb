"""The README's quickstart, run verbatim as a newcomer would: ``make serve``, then each shell and
Python block of the "Quickstart" section in order, answering the client's login prompts."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```(sh|python)\n(.*?)```", re.DOTALL)
EMAIL, PASSPHRASE = "you@example.com", "a long passphrase"
ZEROS = "{(0, 0, 0, 0, 0, 0, 0, 0, 0, 0): 1.0}"

pytestmark = pytest.mark.slow


def quickstart_blocks() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return BLOCK.findall(section)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_readme_quickstart_works_as_written(tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    assert [kind for kind, _ in blocks] == ["sh", "python", "python"], blocks
    assert _port_free(8000), "the quickstart needs port 8000, which something else holds"
    home = tmp_path / "newcomer"
    home.mkdir()
    # a newcomer's shell: none of the test run's own make variables (``make test ARGS=…``
    # would reach the inner ``make serve``), no QSTATION_ or XDG_ settings
    inherited = ("XDG_", "QSTATION_", "MAKE", "MFLAGS", "ARGS")
    env = {key: value for key, value in os.environ.items() if not key.startswith(inherited)}
    env["HOME"] = str(home)  # the default data directory and the client's config live here
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            ["make", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 600  # make serve may install first
        while _port_free(8000):
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "make serve did not start"
            time.sleep(0.5)
        banner = (tmp_path / "serve.log").read_text()
        shell = subprocess.run(
            ["bash", "-e", "-c", blocks[0][1]], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=600,
        )  # fmt: skip
        assert shell.returncode == 0, shell.stderr
        assert "added you@example.com" in shell.stdout
        outputs = []
        for _, code in blocks[1:]:
            script = tmp_path / f"block{len(outputs)}.py"
            script.write_text(code)
            done = subprocess.run(
                [str(ROOT / ".venv/bin/python"), str(script)], cwd=tmp_path, env=env,
                input=f"{EMAIL}\n{PASSPHRASE}\n", capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            outputs.append(done.stdout)
        assert outputs[1].count(ZEROS) == 2, outputs[1]
        assert "Add users to this store with: qstation user add EMAIL --password-stdin" in banner
    finally:
        _stop(server)


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Ctrl-C to ``make serve`` and what it started; a kill if that is not enough."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
