from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytket.extensions.quantinuum import QuantinuumAPI, QuantinuumBackend

from tests.acceptance.service import PASSWORD, ServiceProcess, close_until_tomorrow

ALICE = "alice@example.com"
BOB = "bob@example.com"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client reads ~/.config/pytket/config.json: keep every test's home its own."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))


def start_service(data_dir: Path, *serve_args: str) -> ServiceProcess:
    service = ServiceProcess(data_dir, ["--data-dir", str(data_dir)], serve_args)
    service.add_user(ALICE)
    service.add_user(BOB)
    service.start()
    return service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    running = start_service(tmp_path_factory.mktemp("qstation"))
    yield running
    running.stop()


CLOSED = "H1-1"
"""The hardware target of :func:`closed_service`, closed by its calendar until tomorrow."""


@pytest.fixture(scope="module")
def closed_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A server (one per test module) whose :data:`CLOSED` target opens only tomorrow: its jobs
    wait, for as long as a test needs."""
    data = tmp_path_factory.mktemp("closed")
    close_until_tomorrow(CLOSED, "--data-dir", str(data))
    running = start_service(data)
    yield running
    running.stop()


def client(url: str, device: str, email: str = ALICE) -> QuantinuumBackend:
    """The unmodified pytket-quantinuum 0.55.8 client; only api_url differs from the hosted one."""
    api = QuantinuumAPI(api_url=url, _QuantinuumAPI__user_name=email, _QuantinuumAPI__pwd=PASSWORD)
    return QuantinuumBackend(device_name=device, api_handler=api)
