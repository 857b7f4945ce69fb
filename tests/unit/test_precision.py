"""The state-vector engine in single precision (``precision: single``): the documented error
against double, the same shots but for those rounding moves across a sampling boundary, and half
the memory."""

from __future__ import annotations

import numpy as np
import pytest

from qstation.circuit.program import BitRef, Gate, Measure, Operation, Program, ReadRegister, Record
from qstation.devices.catalogue import DeviceCatalogue
from qstation.engines.statevector import StateVectorEngine
from qstation.engines.vector_state import Simulation
from qstation.errors import CompileError, ExecutionError
from qstation.noise.model import NoiseModel

NOISE = NoiseModel(p1=1e-3, p2=1e-2, p_meas_0=1e-3, p_meas_1=3e-3, przz_a=0, przz_b=1,
                   przz_c=0, przz_d=1)  # fmt: skip


def random_layers(n_qubits: int, layers: int, seed: int = 2026) -> Program:
    """B2's circuit family (../shared/bench/circuits.md) on ``n_qubits``."""
    rng = np.random.default_rng(seed)
    operations: list[Operation] = []
    for _ in range(layers):
        operations += [Gate("U1q", (q,), tuple(rng.random(2))) for q in range(n_qubits)]
        operations += [Gate("Rz", (q,), (float(rng.random()),)) for q in range(n_qubits)]
        pairs = rng.permutation(n_qubits)[: n_qubits // 2 * 2].reshape(-1, 2)
        operations += [Gate("RZZ", (int(a), int(b)), (float(rng.random()),)) for a, b in pairs]
    operations += [Measure(q, BitRef("c", q)) for q in range(n_qubits)]
    operations.append(Record("c", ReadRegister("c"), n_qubits))
    return Program(n_qubits, {"c": n_qubits}, tuple(operations))


def final_state(program: Program, dtype: type) -> np.ndarray:
    compact = {q: q for q in range(program.n_qubits)}
    simulation = Simulation(program, compact, None, np.dtype(dtype))
    state = simulation.zero_state()
    simulation.advance(state, 0, len(program.operations), frozenset())
    return state.reshape(-1)


def test_single_precision_states_stay_within_the_documented_error_of_double() -> None:
    """docs/noise-model.md, "Precision": B2 at 20 qubits, 10 layers."""
    program = random_layers(20, 10)
    double, single = final_state(program, np.complex128), final_state(program, np.complex64)
    assert single.dtype == np.complex64
    amplitude_error = float(np.max(np.abs(single - double)))
    probabilities = np.abs(double) ** 2, np.abs(single.astype(np.complex128)) ** 2
    total_variation = 0.5 * float(np.sum(np.abs(probabilities[0] - probabilities[1])))
    assert amplitude_error < 1e-7 and total_variation < 1e-5  # measured: 7.8e-9, 4.6e-7
    assert amplitude_error > 0  # single precision did run: it rounds


def test_single_precision_gives_the_shots_of_double_but_where_rounding_moves_one() -> None:
    program = random_layers(12, 8)
    double = StateVectorEngine(2**30).run(program, 2000, seed=5, noise=NOISE)["c"]
    single = StateVectorEngine(2**30, precision="single").run(program, 2000, seed=5, noise=NOISE)
    same = sum(a == b for a, b in zip(double, single["c"], strict=True))
    assert same >= 0.99 * len(double)
    assert len(set(double)) > 100  # a spread distribution: a misplaced shot would show


def test_single_precision_fits_a_qubit_more_in_the_same_memory() -> None:
    limit = int(2.25 * 16 * 2**20)  # a 20-qubit double-precision state at its peak
    program = random_layers(21, 1)
    device = DeviceCatalogue.load().get("H2-1E")
    StateVectorEngine(limit, precision="single").fits(program, device)
    with pytest.raises(ExecutionError, match="21-qubit state-vector emulation needs about"):
        StateVectorEngine(limit).fits(program, device)


@pytest.mark.parametrize("value", ["half", 32, None])
def test_a_precision_that_is_not_single_or_double_is_refused_naming_it(value: object) -> None:
    with pytest.raises(CompileError, match=f"precision must be one of .*, not {value!r}"):
        StateVectorEngine.of(2**30, 1, {"precision": value})
