"""Noiseless emulator jobs through the real client: correlations, statistics, reproducibility."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from pytket.circuit import Circuit
from pytket.extensions.quantinuum import Language, QuantinuumBackend
from scipy.stats import chisquare

from tests.acceptance.conftest import client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import ServiceProcess

pytestmark = pytest.mark.usefixtures("service")


@pytest.fixture(scope="module")
def emulator(service: ServiceProcess) -> QuantinuumBackend:
    return client(service.url, "H1-1E")


def run(
    backend: QuantinuumBackend, circuit: Circuit, shots: int, **kwargs: object
) -> Counter[tuple[int, ...]]:
    handle = backend.process_circuit(
        backend.get_compiled_circuit(circuit), n_shots=shots, noisy_simulation=False, **kwargs
    )
    wait_until_done(backend, handle)
    return backend.get_result(handle).get_counts()


@pytest.mark.parametrize("n_qubits", [2, 5])
def test_bell_and_ghz_circuits_give_only_correlated_outcomes(
    emulator: QuantinuumBackend, n_qubits: int
) -> None:
    circuit = Circuit(n_qubits).H(0)
    for target in range(1, n_qubits):
        circuit.CX(0, target)
    counts = run(emulator, circuit.measure_all(), 400)
    assert set(counts) == {(0,) * n_qubits, (1,) * n_qubits}
    assert 120 < counts[(0,) * n_qubits] < 280


def random_native_circuit(n_qubits: int, layers: int, rng: np.random.Generator) -> Circuit:
    circuit = Circuit(n_qubits)
    for _ in range(layers):
        for qubit in range(n_qubits):
            circuit.PhasedX(*rng.uniform(0, 2, 2).tolist(), qubit)
            circuit.Rz(float(rng.uniform(0, 2)), qubit)
        order = rng.permutation(n_qubits)
        for a, b in zip(order[::2], order[1::2], strict=False):
            circuit.ZZPhase(float(rng.uniform(0, 2)), int(a), int(b))
    return circuit


def test_random_circuit_statistics_match_exact_probabilities(emulator: QuantinuumBackend) -> None:
    n_qubits, shots = 6, 2000
    circuit = random_native_circuit(n_qubits, 4, np.random.default_rng(7))
    # pytket's unitary is big-endian in qubit order: qubit 0 is the most significant index bit.
    probabilities = np.abs(circuit.get_unitary()[:, 0]) ** 2
    counts = run(emulator, circuit.copy().measure_all(), shots, options={"seed": 11})
    observed = np.zeros(2**n_qubits)
    for bits, count in counts.items():
        observed[int("".join(map(str, bits)), 2)] = count
    assert observed.sum() == shots
    significant = probabilities * shots >= 5  # chi-square needs populated bins; pool the rest
    observed_bins = np.append(observed[significant], observed[~significant].sum())
    expected_bins = np.append(probabilities[significant], probabilities[~significant].sum()) * shots
    _, p_value = chisquare(observed_bins, expected_bins * observed_bins.sum() / expected_bins.sum())
    assert p_value > 0.001


def shots_of(
    backend: QuantinuumBackend, circuit: Circuit, language: Language, seed: int
) -> np.ndarray:
    handle = backend.process_circuit(
        circuit, n_shots=300, options={"seed": seed}, noisy_simulation=False, language=language
    )
    wait_until_done(backend, handle)
    return backend.get_result(handle).get_shots()


def test_qir_and_qasm_submissions_give_identical_shots_for_one_seed(
    emulator: QuantinuumBackend,
) -> None:
    circuit = random_native_circuit(5, 3, np.random.default_rng(3))
    circuit.add_c_register("extra", 2)
    circuit.measure_all()
    circuit.Measure(circuit.qubits[0], circuit.get_c_register("extra")[1])
    qir = shots_of(emulator, circuit, Language.QIR, seed=99)
    assert len({tuple(row) for row in qir}) > 1  # a real distribution, not a constant
    np.testing.assert_array_equal(qir, shots_of(emulator, circuit, Language.QASM, seed=99))
    np.testing.assert_array_equal(qir, shots_of(emulator, circuit, Language.PQIR, seed=99))


def test_job_without_seed_gets_a_generated_seed_recorded_and_reproducible(
    emulator: QuantinuumBackend,
) -> None:
    circuit = random_native_circuit(4, 3, np.random.default_rng(5)).measure_all()
    handle = emulator.process_circuit(circuit, n_shots=200, noisy_simulation=False)
    wait_until_done(emulator, handle)
    status = emulator.api_handler.retrieve_job_status(handle[0], use_websocket=False)
    assert status is not None
    seed = status["seed"]
    assert isinstance(seed, int)
    replay = emulator.process_circuit(
        circuit, n_shots=200, noisy_simulation=False, options={"seed": seed}
    )
    wait_until_done(emulator, replay)
    np.testing.assert_array_equal(
        emulator.get_result(handle).get_shots(), emulator.get_result(replay).get_shots()
    )
