"""Fused stages and the fault tree against plain gate-by-gate numpy.

The reference here applies each gate's unitary with ``np.tensordot`` and each fault where the
noise model put it; the engine fuses gates into stages (:mod:`qstation.engines.fusion`), runs
them with compiled kernels in cache-sized tiles, and moves faults to the end of their stage when
they commute. Every state must agree with the reference up to a global phase, on sizes where the
kernels tile (13 and 15 qubits: a high pass and a low pass) and where they do not.
"""

from __future__ import annotations

import numpy as np
import pytest

from qstation.circuit.gates import GATES
from qstation.circuit.program import BitRef, Gate, Measure, Program
from qstation.engines import kernels
from qstation.engines.fusion import as_rotation
from qstation.engines.noisy import FaultTree, LeafOutcomes, apply_pauli
from qstation.engines.randomness import shot_keys, shot_uniforms
from qstation.engines.vector_state import Simulation
from qstation.noise.faults import draw_shot_noise, plan_noise
from qstation.noise.model import NoiseModel

PAULI = {
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.diag([1, -1]).astype(complex),
}
ONE_QUBIT = [("U1q", 2), ("Rz", 1), ("H", 0), ("S", 0), ("T", 0), ("X", 0), ("Rx", 1), ("Ry", 1)]
TWO_QUBIT = [("RZZ", 1), ("ZZ", 0), ("CZ", 0), ("CX", 0), ("SWAP", 0), ("Rxxyyzz", 3)]


def random_program(n_qubits: int, n_gates: int, rng: np.random.Generator) -> Program:
    operations: list[Gate | Measure] = []
    for _ in range(n_gates):
        if n_qubits > 1 and rng.random() < 0.4:
            name, n_params = TWO_QUBIT[rng.integers(len(TWO_QUBIT))]
            qubits = tuple(int(q) for q in rng.choice(n_qubits, 2, replace=False))
        else:
            name, n_params = ONE_QUBIT[rng.integers(len(ONE_QUBIT))]
            qubits = (int(rng.integers(n_qubits)),)
        operations.append(Gate(name, qubits, tuple(rng.uniform(-2, 2, n_params))))
    operations += [Measure(q, BitRef("c", q)) for q in range(n_qubits)]
    return Program(n_qubits, {"c": n_qubits}, tuple(operations))


def layered_program(n_qubits: int, layers: int, rng: np.random.Generator) -> Program:
    """The shape of compiled H-Series code (B2): U1q and Rz on every qubit, RZZ on pairs."""
    operations: list[Gate | Measure] = []
    for _ in range(layers):
        for q in range(n_qubits):
            operations.append(Gate("U1q", (q,), tuple(rng.random(2))))
            operations.append(Gate("Rz", (q,), (float(rng.random()),)))
        pairs = rng.permutation(n_qubits)[: n_qubits // 2 * 2].reshape(-1, 2)
        operations += [Gate("RZZ", (int(a), int(b)), (float(rng.random()),)) for a, b in pairs]
    operations += [Measure(q, BitRef("c", q)) for q in range(n_qubits)]
    return Program(n_qubits, {"c": n_qubits}, tuple(operations))


def reference_apply(state: np.ndarray, matrix: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
    arity = len(qubits)
    tensor = matrix.reshape((2,) * 2 * arity)
    moved = np.tensordot(tensor, state, axes=(list(range(arity, 2 * arity)), list(qubits)))
    return np.moveaxis(moved, list(range(arity)), list(qubits))


def zero_state(n_qubits: int) -> np.ndarray:
    state = np.zeros((2,) * n_qubits, dtype=complex)
    state[(0,) * n_qubits] = 1.0
    return state


def assert_same_up_to_phase(state: np.ndarray, reference: np.ndarray) -> None:
    assert abs(np.vdot(reference.reshape(-1), state.reshape(-1))) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("n_qubits", [1, 3, 8, 13, 15])
def test_fused_stages_give_the_state_of_gate_by_gate_application(n_qubits: int) -> None:
    rng = np.random.default_rng(n_qubits)
    program = random_program(n_qubits, 12 * n_qubits, rng)
    simulation = Simulation(program, {q: q for q in range(n_qubits)}, None)
    reference = zero_state(n_qubits)
    for operation in program.operations:
        if isinstance(operation, Gate):
            matrix = GATES[operation.name].unitary(operation.params)
            reference = reference_apply(reference, matrix, operation.qubits)

    state = simulation.zero_state()
    simulation.advance(state, 0, len(program.operations), frozenset())
    gate_by_gate = simulation.zero_state()  # as branching groups apply gates they run alone
    for position in range(len(program.operations)):
        simulation.advance(gate_by_gate, position, position + 1, frozenset())

    assert_same_up_to_phase(state, reference)
    assert_same_up_to_phase(gate_by_gate, reference)


@pytest.mark.parametrize("n_qubits", [6, 13])
def test_a_compiled_layer_is_one_stage(n_qubits: int) -> None:
    program = layered_program(n_qubits, 5, np.random.default_rng(1))
    simulation = Simulation(program, {q: q for q in range(n_qubits)}, None)

    assert len(simulation.boundaries) == 5


class _KeptLeaves(LeafOutcomes):
    """Also keeps each leaf's state, to compare with the reference shot by shot."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.states: dict[int, np.ndarray] = {}

    def add(self, state: np.ndarray, shots: list[int], leaked_axes: list[int]) -> None:
        super().add(state, shots, leaked_axes)
        for shot in shots:
            self.states[shot] = state.copy()


@pytest.mark.parametrize(("n_qubits", "layered"), [(5, True), (13, True), (13, False), (15, True)])
def test_every_shot_of_the_fault_tree_ends_in_its_own_faults_state(
    n_qubits: int, layered: bool
) -> None:
    """Faults where the model put them, applied gate by gate, against the tree's leaf: the tree
    shares prefixes, fuses stages and moves faults within them, and must not change a shot."""
    rng = np.random.default_rng(100 + n_qubits)
    program = layered_program(n_qubits, 4, rng) if layered else random_program(n_qubits, 80, rng)
    model = NoiseModel(p1=0.05, p2=0.3, p_init=0.02, p_crosstalk_meas=0.05)
    plan = plan_noise(program, model, holds_rotations=True)
    keys = shot_keys(7, 0, 60)
    noises = [draw_shot_noise(plan, key) for key in keys]
    simulation = Simulation(program, {q: q for q in range(n_qubits)}, None)
    leaves = _KeptLeaves(shot_uniforms(keys), n_qubits)

    FaultTree(simulation, leaves, final_phases=True).run(simulation.zero_state(), noises)

    assert sorted(leaves.states) == list(range(60))
    assert sum(len(noise.events) > 1 for noise in noises) > 10  # most shots have several faults
    for shot, noise in enumerate(noises):
        reference = zero_state(n_qubits)
        faults = sorted(noise.events, key=lambda event: event[0])
        for position in range(-1, len(program.operations)):
            operation = program.operations[position] if position >= 0 else None
            if isinstance(operation, Gate):
                matrix = GATES[operation.name].unitary(operation.params)
                reference = reference_apply(reference, matrix, operation.qubits)
            for _, fault in (event for event in faults if event[0] == position):
                for elementary in fault:
                    matrix = PAULI[elementary.kind]
                    reference = reference_apply(reference, matrix, (elementary.qubit,))
        assert_same_up_to_phase(leaves.states[shot], reference)


def test_the_fault_tree_drops_only_a_last_phase_that_no_probability_sees() -> None:
    """As engines run it, a state that reaches the end goes without the program's last
    diagonal (here its last RZZ layer): the same probabilities and samples as with it."""
    rng = np.random.default_rng(5)
    program = layered_program(11, 3, rng)
    plan = plan_noise(program, NoiseModel(p1=0.01, p2=0.05), holds_rotations=True)
    keys = shot_keys(3, 0, 200)
    simulation = Simulation(program, {q: q for q in range(11)}, None)
    runs = []
    for final_phases in (True, False):
        leaves = _KeptLeaves(shot_uniforms(keys), 11)
        noises = [draw_shot_noise(plan, key) for key in keys]
        FaultTree(simulation, leaves, final_phases).run(simulation.zero_state(), noises)
        runs.append(leaves)
    exact, sampled = runs
    assert np.array_equal(sampled.indices, exact.indices)
    overlaps = []
    for shot, state in sampled.states.items():
        assert np.allclose(np.abs(state) ** 2, np.abs(exact.states[shot]) ** 2, atol=1e-12)
        overlaps.append(abs(np.vdot(state, exact.states[shot])))
    assert min(overlaps) < 0.99  # the phase was dropped, not just kept the same


def test_any_one_qubit_unitary_is_a_phase_a_real_rotation_and_a_phase() -> None:
    """Random unitaries, U1q at angles near 0 and 1 (one of ``c``, ``s`` tiny), X, Y, H."""
    rng = np.random.default_rng(7)
    unitaries = [GATES["U1q"].unitary((float(a), float(b))) for a, b in rng.uniform(-4, 4, (50, 2))]
    unitaries += [GATES["U1q"].unitary((t, 0.3)) for t in (1e-12, 1e-7, 1 - 1e-9, 1.0, 2.0)]
    unitaries += [PAULI["X"], PAULI["Y"], GATES["H"].unitary(())]
    for _ in range(50):  # Haar-like: QR of a complex Gaussian matrix
        q, r = np.linalg.qr(rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2)))
        unitaries.append(q @ np.diag(np.diag(r) / np.abs(np.diag(r))))
    for unitary in unitaries:
        before, (c, s), after = as_rotation(unitary)
        rebuilt = np.diag([1, np.exp(1j * after)]) @ [[c, -s], [s, c]]
        rebuilt = rebuilt @ np.diag([1, np.exp(1j * before)])
        assert_same_up_to_phase(rebuilt.reshape(-1) / 2**0.5, unitary.reshape(-1) / 2**0.5)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize(("n_bits", "seed"), [(4, 0), (7, 1), (12, 2), (13, 3), (15, 4), (15, 5)])
def test_a_stage_on_any_bits_with_any_diagonal_is_its_phases_then_its_rotations(
    n_bits: int, seed: int, dtype: type
) -> None:
    """The kernel itself against dense numpy: single-bit and pair phases anywhere, or none at
    all, then real rotations on a random subset of the bits (low, high, and the transposed
    lowest ones)."""
    rng = np.random.default_rng(seed)
    gate_bits = rng.choice(n_bits, int(rng.integers(0, n_bits + 1)), replace=False)
    turns = rng.uniform(-3, 3, gate_bits.size)
    rotations = np.stack([np.cos(turns), np.sin(turns)], axis=1).reshape(-1, 2)
    linear = np.where(rng.random(n_bits) < 0.5, rng.uniform(-3, 3, n_bits), 0.0)
    pairs = rng.choice(n_bits, (int(rng.integers(0, n_bits)), 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pair_phase = rng.uniform(-3, 3, len(pairs))
    state = rng.normal(size=1 << n_bits) + 1j * rng.normal(size=1 << n_bits)
    state /= np.linalg.norm(state)

    index = np.arange(1 << n_bits)
    angles = sum(linear[b] * ((index >> b) & 1) for b in range(n_bits))
    for (a, b), delta in zip(pairs, pair_phase, strict=True):
        angles = angles + delta * ((index >> a) & (index >> b) & 1)
    reference = (state * np.exp(1j * angles)).reshape((2,) * n_bits)  # axis i: bit n - 1 - i
    for bit, (c, s) in zip(gate_bits, rotations, strict=True):
        reference = reference_apply(reference, np.array([[c, -s], [s, c]]), (n_bits - 1 - bit,))

    applied = state.astype(dtype)
    kernels.apply_stage(
        applied, n_bits, gate_bits.astype(np.int64), rotations, linear,
        pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64), pair_phase,
    )  # fmt: skip

    tolerance = 1e-12 if dtype is np.complex128 else 1e-6
    assert np.max(np.abs(applied - reference.reshape(-1))) < tolerance


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("kind", ["X", "Y", "Z"])
def test_a_pauli_on_any_axis_is_its_matrix_up_to_phase(kind: str, dtype: type) -> None:
    """The Pauli kernel, on every axis of a 7-qubit state (bits inside and across words of
    the vector instructions), against the Pauli's matrix applied by numpy."""
    matrices = {"X": [[0, 1], [1, 0]], "Y": [[0, -1j], [1j, 0]], "Z": [[1, 0], [0, -1]]}
    rng = np.random.default_rng(7)
    for axis in range(7):
        state = rng.normal(size=(2,) * 7) + 1j * rng.normal(size=(2,) * 7)
        state /= np.linalg.norm(state)
        reference = reference_apply(state, np.array(matrices[kind]), (axis,))
        applied = state.astype(dtype)
        apply_pauli(applied, axis, kind)
        overlap = abs(np.vdot(reference.reshape(-1), applied.reshape(-1).astype(complex)))
        assert overlap == pytest.approx(1.0, abs=1e-12 if dtype is np.complex128 else 1e-6)
