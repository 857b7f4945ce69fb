"""The stabilizer engine (stim) against the state-vector engine and the density-matrix model."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from qstation.circuit.program import (
    Binary,
    BitRef,
    Conditional,
    Const,
    Gate,
    Measure,
    Operation,
    Program,
    ReadBit,
    ReadRegister,
    Record,
    Reset,
)
from qstation.engines.frame_pass import SAMPLE_BLOCK
from qstation.engines.stabilizer import StabilizerEngine
from qstation.engines.statevector import StateVectorEngine
from qstation.errors import ExecutionError
from qstation.noise.model import NoiseModel
from tests.unit.test_noisy_emulation import (
    ALL,
    exact_distribution,
    program_with,
    total_variation_bound,
)

STABILIZER = StabilizerEngine()
STATE_VECTOR = StateVectorEngine(memory_limit_bytes=2**30)
SHOTS = 20_000
CLIFFORD_ONE = [("U1q", (0.5, 0.0)), ("U1q", (0.5, 0.5)), ("U1q", (1.0, 0.25)), ("Rz", (0.5,)),
                ("Rz", (1.0,)), ("H", ()), ("S", ()), ("X", ())]  # fmt: skip
CLIFFORD_TWO = [("ZZ", ()), ("RZZ", (0.5,)), ("RZZ", (-0.5,)), ("CX", ()), ("CZ", ())]


def random_clifford(rng: np.random.Generator, n_qubits: int, depth: int) -> list[Operation]:
    operations: list[Operation] = []
    for _ in range(depth):
        if rng.random() < 0.6:
            name, params = CLIFFORD_ONE[rng.integers(len(CLIFFORD_ONE))]
            operations.append(Gate(name, (int(rng.integers(n_qubits)),), params))
        else:
            name, params = CLIFFORD_TWO[rng.integers(len(CLIFFORD_TWO))]
            a, b = rng.choice(n_qubits, 2, replace=False)
            operations.append(Gate(name, (int(a), int(b)), params))
    return operations


def terminal(n_qubits: int, gates: list[Operation]) -> Program:
    return program_with(n_qubits, [*gates, *(Measure(q, BitRef("m", 0)) for q in range(n_qubits))])


def ideal_distribution(program: Program) -> dict[int, float]:
    return exact_distribution(program, NoiseModel())


def tvd(results: dict[str, list[str]], exact: dict[int, float], outcomes: int) -> float:
    counts = Counter(int(value, 2) for value in results["m"])
    shots = sum(counts.values())
    return 0.5 * sum(abs(counts[k] / shots - exact.get(k, 0.0)) for k in range(outcomes))


@pytest.mark.parametrize("seed", range(8))
def test_random_clifford_circuits_sample_the_exact_distribution(seed: int) -> None:
    program = terminal(4, random_clifford(np.random.default_rng(seed), 4, 25))
    results = STABILIZER.run(program, SHOTS, seed=seed)
    assert tvd(results, ideal_distribution(program), 16) < total_variation_bound(16, SHOTS)


def test_noisy_clifford_circuit_matches_the_density_matrix() -> None:
    program = terminal(3, random_clifford(np.random.default_rng(99), 3, 20))
    results = STABILIZER.run(program, SHOTS, seed=1, noise=ALL)
    exact = exact_distribution(program, ALL, coherent_as_z=True)  # it cannot hold a rotation
    assert tvd(results, exact, 8) < total_variation_bound(8, SHOTS)
    assert 0.5 * sum(abs(exact[k] - ideal_distribution(program).get(k, 0)) for k in exact) > 0.1


X_CORRECTION = Gate("X", (1,))


def feedback_program(correction: Gate = X_CORRECTION) -> Program:
    """Measure, correct (by a conditional X unless told), reset, repeat: a B3-like round on 3
    qubits."""
    steps: list[Operation] = []
    for round_ in range(3):
        steps += [
            Gate("H", (0,)), Gate("CX", (0, 1)), Measure(0, BitRef("r", round_)),
            Conditional(Binary("eq", ReadBit(BitRef("r", round_)), Const(1)), correction),
            Reset(0), Gate("CX", (1, 2)),
        ]  # fmt: skip
    steps += [Measure(q, BitRef("m", q)) for q in range(3)]
    records = (Record("r", ReadRegister("r"), 3), Record("m", ReadRegister("m"), 3))
    return Program(3, {"r": 3, "m": 3}, (*steps, *records))


def test_feedback_that_is_not_a_pauli_gives_the_state_vector_engines_shots() -> None:
    """A conditional H is no Pauli correction: such programs run on tableaus in branching
    groups, which draw every shot's outcomes as the state-vector engine does. Coherent
    dephasing is a rotation on the state vector and a Z here; as Z in both engines, the two
    must agree shot for shot."""
    noise = replace(ALL, coherent_dephasing=False)
    program = feedback_program(Gate("H", (1,)))
    stabilizer = STABILIZER.run(program, 2000, seed=4, noise=noise)
    assert stabilizer == STATE_VECTOR.run(program, 2000, seed=4, noise=noise)
    assert len(set(stabilizer["m"])) == 8


def test_ghz_56_gives_only_all_zeros_and_all_ones() -> None:
    gates: list[Operation] = [Gate("H", (0,)), *(Gate("CX", (q, q + 1)) for q in range(55))]
    results = STABILIZER.run(terminal(56, gates), 10_000, seed=2)
    counts = Counter(results["m"])
    assert set(counts) == {"0" * 56, "1" * 56}
    assert abs(counts["0" * 56] - 5000) < 250


def test_shots_depend_only_on_the_seed_and_their_index() -> None:
    program = terminal(5, random_clifford(np.random.default_rng(7), 5, 30))
    longer = STABILIZER.run(program, SAMPLE_BLOCK + 300, seed=9, noise=ALL)
    shorter = STABILIZER.run(program, SAMPLE_BLOCK + 10, seed=9, noise=ALL)
    assert longer["m"][: SAMPLE_BLOCK + 10] == shorter["m"]
    assert STABILIZER.run(program, 500, seed=10)["m"] != STABILIZER.run(program, 500, seed=9)["m"]


def test_a_non_clifford_gate_fails_naming_it() -> None:
    program = terminal(2, [Gate("U1q", (1,), (0.3, 0.1))])
    message = r"Clifford programs only: U1q\(0.3, 0.1\) on qubits \[1\]"
    with pytest.raises(ExecutionError, match=message):
        STABILIZER.run(program, 10, seed=0)
