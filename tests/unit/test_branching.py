"""Shots with feedback run as groups that split only where they differ."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from qstation.circuit.program import (
    Barrier,
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
    SetBit,
)
from qstation.engines.branching import BranchingRun, QuantumState, _settled_from
from qstation.engines.randomness import shot_keys
from qstation.engines.shots import gather
from qstation.engines.statevector import StateVectorEngine
from qstation.engines.vector_state import Simulation, VectorState
from qstation.noise.faults import plan_noise
from qstation.noise.model import NoiseModel
from tests.unit.test_stabilizer import feedback_program


def test_a_thousand_shots_with_three_random_mid_circuit_outcomes_need_eight_groups() -> None:
    program = feedback_program()  # three rounds, each measuring a qubit in |+>
    simulation = Simulation(program, {q: q for q in range(3)}, None)
    run = BranchingRun(program, None, shot_keys(5, 0, 1000), None, lambda: VectorState(simulation))

    groups = list(run.parts(np.arange(1000)))

    assert len(groups) == 8
    assert sorted(np.concatenate([shots for shots, _ in groups]).tolist()) == list(range(1000))
    for shots, outputs in groups:  # every shot of a group measured the same rounds
        rounds, _ = outputs["r"]
        assert len(set(rounds.tolist())) == 1 and shots.size > 50


def test_groups_give_the_same_shots_whatever_shots_run_together() -> None:
    program = feedback_program()
    whole = StateVectorEngine(2**30).run(program, 400, seed=8)
    simulation = Simulation(program, {q: q for q in range(3)}, None)
    run = BranchingRun(program, None, shot_keys(8, 0, 400), None, lambda: VectorState(simulation))
    for shots, outputs in run.parts(np.arange(100, 400, 3)):  # a sparse subset alone
        values, record = outputs["r"]
        for shot, value in zip(shots.tolist(), values.tolist(), strict=True):
            assert format(value, f"0{record.width}b") == whole["r"][shot]


class _OneAtATime:
    """A state vector that applies one gate and measures one qubit at a time only: the
    branching run's own way, against which runs of gates fused into stages and settling the
    rest of a program at once must change no shot."""

    def __init__(self, inner: VectorState) -> None:
        self.inner = inner

    def apply_gate(self, position: int, gate: Gate) -> None:
        self.inner.apply_gate(position, gate)

    def pauli(self, qubit: int, kind: str) -> None:
        self.inner.pauli(qubit, kind)

    def probability_of_one(self, qubit: int) -> float:
        return self.inner.probability_of_one(qubit)

    def project(self, qubit: int, outcome: int, probability: float) -> None:
        self.inner.project(qubit, outcome, probability)

    def copy(self) -> _OneAtATime:
        return _OneAtATime(self.inner.copy())


def mid_circuit_program(rng: np.random.Generator, n_qubits: int = 5) -> Program:
    """Random gates, mid-circuit measurements, feedback and resets, then a tail the way the
    QASM front end orders it: each qubit measured once its last gate has run, between gates on
    the others, in a random order, and the last one measured twice."""
    operations: list[Operation] = []
    bit = 0
    for _ in range(3):
        for q in range(n_qubits):
            operations.append(Gate("U1q", (q,), tuple(rng.random(2))))
        for a in range(0, n_qubits - 1, 2):
            operations.append(Gate("RZZ", (a, a + 1), (float(rng.random()),)))
        q = int(rng.integers(n_qubits))
        operations.append(Measure(q, BitRef("c", bit)))
        condition = Binary("eq", ReadBit(BitRef("c", bit)), Const(1))
        operations.append(Conditional(condition, Gate("X", (int(rng.integers(n_qubits)),))))
        operations.append(Reset(int(rng.integers(n_qubits))))
        bit += 1
    order = [int(q) for q in rng.permutation(n_qubits)]
    for index, q in enumerate(order):  # each measured between gates on those still to come
        operations.append(Gate("U1q", (q,), tuple(rng.random(2))))
        if index + 2 < n_qubits:
            pair = (order[index + 1], order[index + 2])
            operations.append(Gate("RZZ", pair, (float(rng.random()),)))
        operations.append(Measure(q, BitRef("c", bit)))
        flipped = Binary("xor", ReadBit(BitRef("c", bit)), Const(1))
        operations.append(SetBit(BitRef("d", q), flipped))
        bit += 1
    operations.append(Measure(order[-1], BitRef("c", bit)))  # again: the same outcome
    bit += 1
    records = (Record("c", ReadRegister("c"), bit), Record("d", ReadRegister("d"), n_qubits))
    return Program(n_qubits, {"c": bit, "d": n_qubits}, (*operations, *records))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("noisy", [False, True], ids=["noiseless", "noisy"])
def test_runs_of_gates_and_settling_at_once_give_the_shots_of_one_at_a_time(
    seed: int, noisy: bool
) -> None:
    program = mid_circuit_program(np.random.default_rng(seed))
    noise = NoiseModel(
        p1=0.01, p2=0.05, p_meas_0=0.02, p_meas_1=0.05, p_init=0.01, p_crosstalk_meas=0.01,
        p1_emission_ratio=0.3, p2_emission_ratio=0.3,
    )  # fmt: skip
    plan = plan_noise(program, noise, holds_rotations=True) if noisy else None
    simulation = Simulation(program, {q: q for q in range(program.n_qubits)}, None)
    keys = shot_keys(seed, 0, 600)

    def run(new_state: Callable[[], QuantumState]) -> tuple[dict[str, list[str]], int]:
        parts = list(BranchingRun(program, None, keys, plan, new_state).parts(np.arange(600)))
        return gather(program.outputs(), 600, iter(parts)), len(parts)

    settled, settled_groups = run(lambda: VectorState(simulation))
    one_at_a_time, groups = run(lambda: _OneAtATime(VectorState(simulation)))

    assert settled == one_at_a_time
    # the tail's measurements did not split the groups (with noise, only the groups without a
    # fault still to come settle at once)
    assert settled_groups < (groups if noisy else groups / 4)
    assert len(set(settled["c"])) > 20
    if not noisy:  # the repeat gives the same outcome (noise may flip either report)
        assert all(value[0] == value[1] for value in settled["c"])


def test_the_rest_settles_from_where_only_commuting_measurements_and_gates_follow() -> None:
    def measure(q: int) -> Measure:
        return Measure(q, BitRef("c", q))

    condition = Binary("eq", ReadBit(BitRef("c", 0)), Const(1))
    h0, h1 = Gate("H", (0,)), Gate("H", (1,))
    assert _settled_from((h0, measure(0), h1, measure(1))) == 0
    assert _settled_from((h0, measure(0), h0, measure(1))) == 2  # a gate after its measure
    assert _settled_from((measure(0), Reset(1), measure(1))) == 2
    assert _settled_from((measure(0), Conditional(condition, h1), measure(1))) == 2
    assert _settled_from((measure(0), Conditional(condition, measure(1)))) == 2
    assert _settled_from((h0, measure(0), Conditional(condition, SetBit(BitRef("c", 1),
                          Const(1))))) == 0  # fmt: skip


def test_a_conditioned_barrier_among_the_last_measurements_is_skipped_as_a_plain_one() -> None:
    """QIR wraps every operation of an ``if`` block, barriers too, in its condition."""
    condition = Binary("eq", ReadBit(BitRef("c", 0)), Const(1))
    h0 = Gate("H", (0,))
    body = [h0, Measure(0, BitRef("c", 0)), h0, Measure(0, BitRef("c", 1))]
    record = Record("c", ReadRegister("c"), 2)
    with_barrier = Program(2, {"c": 2}, (*body, Conditional(condition, Barrier((1,))), record))
    without = Program(2, {"c": 2}, (*body, record))

    shots = StateVectorEngine(2**30).run(with_barrier, 300, seed=3)

    assert shots == StateVectorEngine(2**30).run(without, 300, seed=3)
    assert len(set(shots["c"])) == 4
