"""``qstation.client.QStationBackend`` on current pytket against a real server: the seed
workflow, handles rebuilt from a job ID, and handles shared with the 0.55.8 client."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytket.backends.resulthandle import ResultHandle
from pytket.circuit import Bit, Circuit, Qubit

from qstation.client.backend import QStationBackend
from tests.acceptance.conftest import ALICE, CLOSED, client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import (
    PASSWORD,
    ServiceProcess,
    qstation,
    run_qstation,
)


@pytest.fixture(scope="module")
def server(closed_service: ServiceProcess) -> ServiceProcess:
    return closed_service


@pytest.fixture
def logged_in(server: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    done = run_qstation(
        "login", "--url", server.url, "--email", ALICE, "--password-stdin",
        stdin=PASSWORD + "\n", env={"QSTATION_CONFIG_DIR": str(config)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    monkeypatch.setenv("QSTATION_CONFIG_DIR", str(config))
    monkeypatch.setenv("QSTATION_LEDGER", str(config / "ledger.sqlite3"))
    return config


def _in_new_process(config: Path, code: str) -> str:
    """Run ``code`` in a fresh interpreter with the stored login; its printed output."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env={"QSTATION_CONFIG_DIR": str(config), "QSTATION_LEDGER": str(config / "ledger.sqlite3"),
             "PATH": "/usr/bin:/bin", "HOME": str(config)},
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
    handle = backend.process_circuit(
        compiled, n_shots=40, seed=5, noisy_simulation=False, postprocess=True
    )
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

    made_natively = native.process_circuit(circuit, n_shots=30, seed=9, postprocess=True)
    native_counts = native.get_result(made_natively).get_counts()
    loaded_by_old = ResultHandle.from_str(str(made_natively))
    wait_until_done(old, loaded_by_old)
    assert old.get_result(loaded_by_old).get_counts() == native_counts

    made_by_old = old.process_circuit(circuit, n_shots=30, seed=9, postprocess=True)
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


def test_a_job_whose_waiter_was_killed_is_found_in_the_ledger_and_all_come_back(
    server: ServiceProcess, logged_in: Path
) -> None:
    ledger = logged_in / "ledger.sqlite3"
    waiter = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            from pytket.circuit import Circuit
            from qstation.client.backend import QStationBackend
            backend = QStationBackend(device_name={CLOSED!r})
            circ = Circuit(2).PhasedX(0.5, 0, 0).ZZPhase(0.5, 0, 1).measure_all()
            handle = backend.process_circuit(circ, n_shots=25, name="waited for", tags=["run-7"])
            backend.get_result(handle)
        """)],
        env={"QSTATION_CONFIG_DIR": str(logged_in), "QSTATION_LEDGER": str(ledger),
             "PATH": "/usr/bin:/bin", "HOME": str(logged_in)},
    )  # fmt: skip
    backend = QStationBackend(device_name=CLOSED)
    deadline = time.monotonic() + 120
    while not backend.jobs(name="waited for"):
        assert waiter.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    waiter.send_signal(signal.SIGKILL)  # killed while waiting for its job
    waiter.wait()
    (entry,) = backend.jobs(tag="run-7")
    assert entry.status == "queued" and entry.circuit_hash and entry.machine == CLOSED
    assert ledger.stat().st_mode & 0o777 == 0o600

    now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    window = [(now + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M") for h in (-1, 1)]
    qstation("calendar", "add", CLOSED, "online", *window, *server.store_args)  # open it now
    counts = _in_new_process(
        logged_in,
        f"""
        from pytket.backends.resulthandle import ResultHandle
        from qstation.client.backend import QStationBackend
        backend = QStationBackend(device_name={CLOSED!r})
        (entry,) = backend.jobs(tag="run-7")
        print(sum(backend.get_result(ResultHandle.from_str(entry.handle)).get_counts().values()))
    """,
    )
    assert counts == "25"
    (entry,) = backend.jobs(tag="run-7")
    assert entry.status == "completed" and entry.results is not None  # cached on disk

    everything = {j["job"] for j in _all_jobs(server)}
    ledger.unlink()
    assert backend.jobs() == []
    assert backend.reconcile() == len(everything)
    assert {entry.job_id for entry in backend.jobs(limit=10_000)} == everything
    assert backend.reconcile() == 0  # nothing new the second time


def _all_jobs(server: ServiceProcess) -> list[dict[str, object]]:
    from qstation.client.session import ServiceSession

    with ServiceSession(server.url) as session:
        return list(session.call("GET", "/v1/jobs", limit=500)["jobs"])


def test_many_jobs_are_waited_for_at_once_and_progress_shows_on_a_terminal(
    server: ServiceProcess, logged_in: Path
) -> None:
    import asyncio
    import io

    from qstation.client.progress import Progress

    backend = QStationBackend(device_name="H1-1E", url=server.url)
    circuits = [
        Circuit(2).PhasedX(0.5, i / 10, 0).ZZPhase(0.3, 0, 1).measure_all() for i in range(5)
    ]
    handles = backend.process_circuits(circuits, n_shots=30, seed=2)
    together = asyncio.run(QStationBackend("H1-1E", url=server.url).get_results_async(handles))
    one_by_one = [backend.get_result(handle) for handle in handles]
    assert [r.get_counts() for r in together] == [r.get_counts() for r in one_by_one]

    shown = io.StringIO()
    progress = Progress(shown, enabled=True)
    progress.show({"job": "abc", "status": "queued", "queue-position": 3, "count": 30,
                   "last-shot": None, "cost": None})  # fmt: skip
    progress.show({"job": "abc", "status": "running", "count": 30, "last-shot": 10,
                   "cost": "1.2"})  # fmt: skip
    progress.done()
    first = "job abc: queued, position 3 in the queue, 0/30 shots"
    second = "job abc: running, 10/30 shots, 1.2 HQC".ljust(len(first))  # covers the first
    assert shown.getvalue() == f"\r{first}\r{second}\n"
    assert Progress(io.StringIO()).enabled is False  # not a terminal: silent


def test_qir_wasm_batches_and_cost(server: ServiceProcess, logged_in: Path, tmp_path: Path) -> None:
    import wasmtime
    from pytket.wasm import WasmFileHandler

    from tests.acceptance.test_wasm_via_client import WAT, accumulator_circuit

    backend = QStationBackend(device_name="H1-1E", url=server.url)
    info = backend.backend_info
    assert info.device_name == "H1-1E" and info.n_nodes == int(backend.device["n_qubits"])

    circuit = Circuit(2).PhasedX(0.5, 0, 0).ZZPhase(0.5, 0, 1).measure_all()
    as_qasm, as_qir = (
        backend.process_circuit(circuit, n_shots=40, seed=4, language=language)
        for language in ("QASM", "QIR")
    )
    assert backend.get_result(as_qir).get_shots().tolist() == (
        backend.get_result(as_qasm).get_shots().tolist()
    )  # one seed, the same shots in either language

    path = tmp_path / "accumulator.wasm"
    path.write_bytes(wasmtime.wat2wasm(WAT.read_text()))
    wasm = WasmFileHandler(str(path))
    with_wasm = backend.process_circuit(
        accumulator_circuit(wasm), n_shots=10, wasm_file_handler=wasm, noisy_simulation=False
    )
    assert sum(backend.get_result(with_wasm).get_counts().values()) == 10

    first = backend.start_batch(500, circuit, n_shots=10)
    last = backend.add_to_batch(first, circuit, n_shots=10, batch_end=True)
    for handle in (first, last):
        assert sum(backend.get_result(handle).get_counts().values()) == 10

    hqcs = backend.cost(circuit, n_shots=100)
    assert hqcs > 5  # the published formula's base, plus the gates' share
    old = client(server.url, "H1-1E")
    assert old.cost(circuit, n_shots=100, syntax_checker="H1-1SC") == pytest.approx(hqcs)
