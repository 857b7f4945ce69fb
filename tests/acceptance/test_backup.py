"""``qstation backup`` while the service runs, ``qstation restore`` into a new store: the
restored service serves the same users, jobs and results, and nothing submitted after the
backup."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from pytket.backends.backend import ResultHandle
from pytket.backends.status import StatusEnum
from pytket.extensions.quantinuum.backends.api_wrappers import QuantinuumAPIError

from tests.acceptance.conftest import ALICE, BOB, client
from tests.acceptance.jobs import small_circuit, wait_until_done
from tests.acceptance.service import ServiceProcess, qstation, run_qstation
from tests.conftest import fresh_postgres_database

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[list[str]]]:
    """The store flags of two empty stores of one kind, the original and the restored one."""
    if request.param == "sqlite":
        yield [["--data-dir", str(tmp_path / name)] for name in ("original", "restored")]
        return
    with ExitStack() as stack:
        urls = [stack.enter_context(fresh_postgres_database()) for _ in range(2)]
        yield [
            ["--database", url, "--data-dir", str(tmp_path / name)]
            for url, name in zip(urls, ("original", "restored"), strict=True)
        ]


def test_a_restored_backup_serves_the_same_users_jobs_and_results(
    two_stores: list[list[str]], tmp_path: Path
) -> None:
    original_flags, restored_flags = two_stores
    Path(original_flags[-1]).mkdir(exist_ok=True)
    original = ServiceProcess(Path(original_flags[-1]), original_flags)
    for email in (ALICE, BOB):
        original.add_user(email)
    original.start()
    backup_file = tmp_path / "qstation.backup"
    try:
        backend = client(original.url, "H1-1E")
        handles = [
            backend.process_circuit(small_circuit(), n_shots=30, options={"seed": seed})
            for seed in range(3)
        ]
        for handle in handles:
            assert wait_until_done(backend, handle) is StatusEnum.COMPLETED
        shots = {str(handle): backend.get_result(handle).get_shots().tolist() for handle in handles}
        qstation("backup", str(backup_file), *original_flags)  # while it serves
        later = backend.process_circuit(small_circuit(), n_shots=30)
        assert wait_until_done(backend, later) is StatusEnum.COMPLETED
        refused = run_qstation("backup", str(backup_file), *original_flags)
        assert refused.returncode == 1 and "exists already" in refused.stderr
    finally:
        original.stop()

    key = "secret.key"  # kept apart from the backup, copied as docs/deployment.md says
    Path(restored_flags[-1]).mkdir(exist_ok=True)
    shutil.copy(Path(original_flags[-1]) / key, Path(restored_flags[-1]) / key)
    assert "restored" in qstation("restore", str(backup_file), *restored_flags)
    again = run_qstation("restore", str(backup_file), *restored_flags)
    assert again.returncode == 1 and "pass --replace" in again.stderr
    users = qstation("user", "list", *restored_flags)
    assert ALICE in users and BOB in users

    restored = ServiceProcess(Path(restored_flags[-1]), restored_flags)
    restored.start()
    try:
        backend = client(restored.url, "H1-1E")
        for saved, expected in shots.items():
            handle = ResultHandle.from_str(saved)
            assert backend.circuit_status(handle).status is StatusEnum.COMPLETED
            assert backend.get_result(handle).get_shots().tolist() == expected
        with pytest.raises(QuantinuumAPIError):
            client(restored.url, "H1-1E").circuit_status(ResultHandle.from_str(str(later)))
        fresh = backend.process_circuit(small_circuit(), n_shots=10)
        assert wait_until_done(backend, fresh) is StatusEnum.COMPLETED
    finally:
        restored.stop()
