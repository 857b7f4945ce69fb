"""``qstation.client.QStationBackend`` on current pytket against a real server: the seed
workflow, handles rebuilt from a job ID, and handles shared with the 0.55.8 client."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytket.backends.resulthandle import ResultHandle
from pytket.circuit import Bit, Circuit, Qubit

from qstation.client.backend import QStationBackend
from tests.acceptance.conftest import ALICE, client, start_service
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import PASSWORD, ServiceProcess, run_qstation


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    running = start_service(tmp_path_factory.mktemp("native"))
    yield running
    running.stop()


@pytest.fixture
def logged_in(server: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    done = run_qstation(
        "login", "--url", server.url, "--email", ALICE, "--password-stdin",
        stdin=PASSWORD + "\n", env={"QSTATION_CONFIG_DIR": str(config)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("QSTATION_CONFIG_DIR", str(config))
    return config


def _in_new_process(config: Path, code: str) -> str:
    """Run ``code`` in a fresh interpreter with the stored login; its printed output."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env={"QSTATION_CONFIG_DIR": str(config), "PATH": "/usr/bin:/bin", "HOME": str(config)},
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_seed_workflow_with_the_native_backend(server: ServiceProcess, logged_in: Path) -> None:
    backend = QStationBackend(device_name="H1-1E", url=server.url)
    backend.login()
    circ = Circuit(10)
    for index, qubit in enumerate(circ.qubits):
        circ.PhasedX(0.5 + index / 100, 0.1, qubit)
    handle = backend.process_circuit(circ.measure_all(), n_shots=50, seed=11,
                                     options={"tket-opt-level": 2})  # fmt: skip
    saved = str(handle)
    counts = backend.get_result(handle).get_counts()
    again = _in_new_process(
        logged_in,
        f"""
        from pytket.backends.resulthandle import ResultHandle
        from qstation.client.backend import QStationBackend
        backend = QStationBackend(device_name="H1-1E")
        handle = ResultHandle.from_str({saved!r})
        print(sorted(backend.get_result(handle).get_counts().items()))
    """,
    )
    assert again == str(sorted(counts.items()))
    assert sum(counts.values()) == 50


def _permuting_circuit() -> Circuit:
    """Two registers; the compiled circuit ends in an implicit qubit permutation, so the handle
    carries a non-trivial post-processing circuit."""
    circ = Circuit()
    qubits = [Qubit(i) for i in range(3)]
    for qubit in qubits:
        circ.add_qubit(qubit)
    a = circ.add_c_register("a", 2)
    b = circ.add_c_register("b", 1)
    circ.X(qubits[0]).H(qubits[1]).CX(qubits[1], qubits[2]).SWAP(qubits[0], qubits[2])
    circ.Measure(qubits[0], a[0]).Measure(qubits[1], a[1]).Measure(qubits[2], b[0])
    circ.X(qubits[0])  # after its measurement: goes into the post-processing circuit
    return circ


def test_a_handle_rebuilt_from_the_job_id_gives_the_same_results(
    server: ServiceProcess, logged_in: Path
) -> None:
    backend = QStationBackend(device_name="H1-1E", url=server.url)
    compiled = backend.get_compiled_circuit(_permuting_circuit(), optimisation_level=3)
    permutation = compiled.implicit_qubit_permutation()
    assert any(source != target for source, target in permutation.items())  # qubits permuted
    handle = backend.process_circuit(compiled, n_shots=40, seed=5, noisy_simulation=False)
    assert handle[1] != "null"  # a post-processing circuit travels with the job
    direct = backend.get_result(handle)
    assert set(direct.c_bits) == {Bit("a", 0), Bit("a", 1), Bit("b", 0)}
    rebuilt = _in_new_process(
        logged_in,
        f"""
        from qstation.client.backend import QStationBackend
        backend = QStationBackend(device_name="H1-1E")
        handle = backend.handle_from_job_id({handle[0]!r})
        print(str(handle))
        print(sorted(backend.get_result(handle).get_counts().items()))
    """,
    )
    handle_text, counts_text = rebuilt.splitlines()
    assert ResultHandle.from_str(handle_text) == handle
    assert counts_text == str(sorted(direct.get_counts().items()))


def test_handles_load_in_either_client(server: ServiceProcess, logged_in: Path) -> None:
    native = QStationBackend(device_name="H1-1E", url=server.url)
    old = client(server.url, "H1-1E")
    circuit = native.get_compiled_circuit(_permuting_circuit(), optimisation_level=2)

    made_natively = native.process_circuit(circuit, n_shots=30, seed=9)
    native_counts = native.get_result(made_natively).get_counts()
    loaded_by_old = ResultHandle.from_str(str(made_natively))
    wait_until_done(old, loaded_by_old)
    assert old.get_result(loaded_by_old).get_counts() == native_counts

    made_by_old = old.process_circuit(circuit, n_shots=30, seed=9)
    wait_until_done(old, made_by_old)
    old_counts = old.get_result(made_by_old).get_counts()
    loaded_natively = ResultHandle.from_str(str(made_by_old))
    assert native.get_result(loaded_natively).get_counts() == old_counts


def test_the_native_backend_needs_no_pytket_quantinuum() -> None:
    code = (
        "import sys, qstation.client.backend; "
        "loaded = [m for m in sys.modules if m.startswith('pytket.extensions')]; "
        "print(loaded)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
