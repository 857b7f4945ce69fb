"""Noisy emulators through the real client: noise on by default, off on request, tunable."""

from __future__ import annotations

from collections import Counter

import pytest
from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit
from pytket.extensions.quantinuum import Language, QuantinuumBackend

from tests.acceptance.conftest import client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import ServiceProcess

SHOTS = 1000


@pytest.fixture(scope="module")
def emulator(service: ServiceProcess) -> QuantinuumBackend:
    return client(service.url, "H2-1E")


def bell_counts(backend: QuantinuumBackend, **kwargs: object) -> Counter[tuple[int, ...]]:
    circuit = backend.get_compiled_circuit(Circuit(2).H(0).CX(0, 1).measure_all())
    handle = backend.process_circuit(circuit, n_shots=SHOTS, **kwargs)  # type: ignore[arg-type]
    assert wait_until_done(backend, handle) == StatusEnum.COMPLETED
    return backend.get_result(handle).get_counts()


def test_noisy_bell_shows_more_than_two_outcomes_and_noiseless_exactly_two(
    emulator: QuantinuumBackend,
) -> None:
    noisy = bell_counts(emulator, options={"seed": 21})
    exact = bell_counts(emulator, options={"seed": 21}, noisy_simulation=False)

    assert set(exact) == {(0, 0), (1, 1)}
    assert len(noisy) > 2
    assert noisy[(0, 1)] + noisy[(1, 0)] < 0.05 * SHOTS  # H2-1E's faults are rare


def test_error_params_reach_the_emulator(emulator: QuantinuumBackend) -> None:
    flipped = bell_counts(emulator, options={"seed": 22, "error-params": {"p_meas": 0.25}})
    odd = flipped[(0, 1)] + flipped[(1, 0)]
    # one of two bits flipped: 2 * 0.25 * 0.75 = 37.5% of shots, give or take sampling
    assert 0.3 * SHOTS < odd < 0.45 * SHOTS


def test_a_seeded_noisy_job_is_reproducible(emulator: QuantinuumBackend) -> None:
    options = {"seed": 23, "error-params": {"scale": 20}}
    assert bell_counts(emulator, options=options) == bell_counts(emulator, options=options)


def test_the_stabilizer_simulator_runs_a_56_qubit_ghz_state(service: ServiceProcess) -> None:
    api = client(service.url, "H2-1E").api_handler
    backend = QuantinuumBackend(device_name="H2-1E", simulator="stabilizer", api_handler=api)
    circuit = Circuit(56).H(0)
    for qubit in range(55):
        circuit.CX(qubit, qubit + 1)
    compiled = backend.get_compiled_circuit(circuit.measure_all())
    for noisy in (False, True):
        handle = backend.process_circuit(
            compiled, n_shots=SHOTS, noisy_simulation=noisy, options={"seed": 8}
        )
        assert wait_until_done(backend, handle) == StatusEnum.COMPLETED
        counts = backend.get_result(handle).get_counts()
        assert {(0,) * 56, (1,) * 56} <= set(counts)
        assert (len(counts) > 2) == noisy  # only noise adds other outcomes


NON_CLIFFORD = """OPENQASM 2.0;
include "hqslib1.inc";
qreg q[2];
creg c[2];
U1q(0.3*pi,0.1*pi) q[1];
measure q -> c;
"""


@pytest.mark.filterwarnings("ignore:Submission of programs to remote devices:DeprecationWarning")
def test_a_program_the_simulator_cannot_run_fails_naming_the_cause(
    emulator: QuantinuumBackend,
) -> None:
    handle = emulator.submit_program(
        Language.QASM, NON_CLIFFORD, n_shots=5, options={"simulator": "stabilizer"}
    )
    assert wait_until_done(emulator, handle) == StatusEnum.ERROR
    assert (
        f"2000: Execution error: job {handle[0]}: the stabilizer simulator runs Clifford "
        "programs only: U1q(0.3, 0.1) on qubits [1] is not a Clifford gate"
    ) in emulator.circuit_status(handle).message


@pytest.mark.filterwarnings("ignore:Submission of programs to remote devices:DeprecationWarning")
def test_a_simulator_no_engine_has_is_refused_at_submission(emulator: QuantinuumBackend) -> None:
    with pytest.raises(Exception, match="simulator must be one of") as refused:
        emulator.submit_program(
            Language.QASM, NON_CLIFFORD, n_shots=5, options={"simulator": "tensor-network"}
        )
    assert "not 'tensor-network'" in str(refused.value)


@pytest.mark.filterwarnings("ignore:Submission of programs to remote devices:DeprecationWarning")
def test_single_precision_runs_the_job_and_a_bad_precision_fails_it_naming_it(
    emulator: QuantinuumBackend,
) -> None:
    options = {"seed": 24, "error-params": {"scale": 20}}
    double = bell_counts(emulator, options=options)
    single = bell_counts(emulator, options={**options, "precision": "single"})
    assert single == double  # the same seed, and 1e-7 rounding moves no shot of a Bell pair

    handle = emulator.submit_program(
        Language.QASM, NON_CLIFFORD, n_shots=5, options={"precision": "half"}
    )
    assert wait_until_done(emulator, handle) == StatusEnum.ERROR
    assert (
        f"job {handle[0]}: precision must be one of ['double', 'single'], not 'half'"
    ) in emulator.circuit_status(handle).message
