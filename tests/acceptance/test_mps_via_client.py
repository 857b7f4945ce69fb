"""The MPS engine through the real client: a circuit wider than H2-1E's state vector runs with
``simulator="mps"`` in chunks, and its status carries ``truncation-error`` beside the fields the
client reads; bad MPS options fail the job or are refused, naming the cause."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit
from pytket.extensions.quantinuum import Language, QuantinuumBackend

from tests.acceptance.conftest import ALICE, client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import ServiceProcess

QUBITS = 36  # H2-1E's state vector stops at 32
SHOTS = 1100  # two chunks of at most 1,024
PROGRAM = """OPENQASM 2.0;
include "hqslib1.inc";
qreg q[2];
creg c[2];
U1q(0.5*pi,0.0*pi) q[0];
RZZ(0.5*pi) q[0],q[1];
measure q -> c;
"""


@pytest.fixture(scope="module")
def chunked_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    data: Path = tmp_path_factory.mktemp("mps")
    service = ServiceProcess(data, ["--data-dir", str(data)])
    service.env["QSTATION_CHUNK_SHOTS"] = "1024"
    service.add_user(ALICE)
    service.start()
    yield service
    service.stop()


@pytest.mark.slow  # about 20 s: 40,000 site samples
def test_a_wide_ghz_state_runs_in_chunks_and_reports_its_truncation_error(
    chunked_service: ServiceProcess,
) -> None:
    api = client(chunked_service.url, "H2-1E").api_handler
    backend = QuantinuumBackend(device_name="H2-1E", simulator="mps", api_handler=api)
    circuit = Circuit(QUBITS).H(0)
    for qubit in range(QUBITS - 1):
        circuit.CX(qubit, qubit + 1)
    compiled = backend.get_compiled_circuit(circuit.measure_all())
    handle = backend.process_circuit(compiled, n_shots=SHOTS, noisy_simulation=False)
    assert wait_until_done(backend, handle) == StatusEnum.COMPLETED

    counts = Counter(backend.get_result(handle).get_counts())
    assert set(counts) == {(0,) * QUBITS, (1,) * QUBITS}
    assert abs(counts[(0,) * QUBITS] - SHOTS / 2) < 0.1 * SHOTS
    raw = api.retrieve_job_status(handle[0], use_websocket=False)
    assert raw is not None and 0 <= raw["truncation-error"] < 1e-9  # a GHZ state needs bond 2
    assert json.loads(backend.circuit_status(handle).message)["last-shot"] == SHOTS


@pytest.mark.filterwarnings("ignore:Submission of programs to remote devices:DeprecationWarning")
def test_a_bad_max_bond_fails_the_job_and_a_truncation_error_option_is_refused(
    chunked_service: ServiceProcess,
) -> None:
    emulator = client(chunked_service.url, "H2-1E")
    handle = emulator.submit_program(
        Language.QASM, PROGRAM, n_shots=5, options={"simulator": "mps", "mps-max-bond": 0}
    )
    assert wait_until_done(emulator, handle) == StatusEnum.ERROR
    assert (
        f"1000: Compile error: job {handle[0]}: mps-max-bond must be a positive integer, not 0"
    ) in emulator.circuit_status(handle).message
