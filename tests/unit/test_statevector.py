"""The exact engine against distributions computed here, on both of its paths."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from qstation.circuit.program import (
    Assign,
    Binary,
    BitRef,
    Conditional,
    Const,
    Gate,
    Measure,
    Program,
    ReadBit,
    ReadRegister,
    Record,
    Reset,
)
from qstation.engines.statevector import StateVectorEngine
from qstation.errors import ExecutionError

ENGINE = StateVectorEngine(memory_limit_bytes=2**30)


def record_all(n_qubits: int, operations: list, register: str = "c") -> Program:  # type: ignore[type-arg]
    measures = [Measure(q, BitRef(register, q)) for q in range(n_qubits)]
    return Program(
        n_qubits,
        {register: n_qubits},
        (*operations, *measures, Record(register, ReadRegister(register), n_qubits)),
    )


def test_bit_flip_sets_the_measured_bit_at_its_index() -> None:
    program = record_all(3, [Gate("U1q", (1,), (1.0, 0.0))])
    assert ENGINE.run(program, 4, seed=0) == {"c": ["010"] * 4}


def test_half_rotation_gives_fair_coin_within_sampling_error() -> None:
    program = record_all(1, [Gate("U1q", (0,), (0.5, 0.25))])
    counts = Counter(ENGINE.run(program, 20_000, seed=1)["c"])
    assert abs(counts["1"] - 10_000) < 4 * np.sqrt(5_000)


def test_same_seed_same_shots_other_seed_other_shots() -> None:
    program = record_all(4, [Gate("U1q", (q,), (0.5, 0.0)) for q in range(4)])
    first = ENGINE.run(program, 200, seed=5)
    assert first == ENGINE.run(program, 200, seed=5)
    assert first != ENGINE.run(program, 200, seed=6)


def test_mid_circuit_reset_runs_trajectories_with_the_right_statistics() -> None:
    # q0 in |+>, entangled with q1 by ZZ, q0 measured then reset and flipped: q0 must read 1.
    operations = [
        Gate("U1q", (0,), (0.5, 0.5)),
        Gate("U1q", (1,), (0.5, 0.5)),
        Gate("ZZ", (0, 1)),
        Measure(0, BitRef("m", 0)),
        Reset(0),
        Gate("U1q", (0,), (1.0, 0.0)),
    ]
    program = Program(
        2,
        {"m": 1, "c": 2},
        (
            *operations,
            Measure(0, BitRef("c", 0)),
            Measure(1, BitRef("c", 1)),
            Record("m", ReadRegister("m"), 1),
            Record("c", ReadRegister("c"), 2),
        ),
    )
    results = ENGINE.run(program, 4000, seed=3)
    assert {shot[-1] for shot in results["c"]} == {"1"}  # q0 reads 1 after reset and flip
    ones = results["m"].count("1")
    assert abs(ones - 2000) < 4 * np.sqrt(1000)


def test_state_beyond_memory_limit_fails_before_allocating() -> None:
    program = record_all(30, [])
    with pytest.raises(
        ExecutionError, match=r"30-qubit state-vector emulation needs about 36\.0 GiB"
    ):
        StateVectorEngine(memory_limit_bytes=2**30).run(program, 1, seed=0)


def test_gate_conditioned_on_a_measured_superposition_follows_each_shots_outcome() -> None:
    # q0 in |+>, measured into m[0]; if m[0] == 1 flip q1; q1 must then always equal m[0].
    program = Program(
        2,
        {"m": 2},
        (
            Gate("U1q", (0,), (0.5, 0.0)),
            Measure(0, BitRef("m", 0)),
            Conditional(
                Binary("eq", ReadBit(BitRef("m", 0)), Const(1)), Gate("U1q", (1,), (1.0, 0.0))
            ),
            Measure(1, BitRef("m", 1)),
            Record("m", ReadRegister("m"), 2),
        ),
    )
    shots = ENGINE.run(program, 2000, seed=4)["m"]
    assert set(shots) == {"00", "11"}
    assert abs(shots.count("11") - 1000) < 4 * np.sqrt(500)


def test_classical_conditional_only_changes_the_shots_where_it_holds() -> None:
    # m[0] random; b := 3 only where m[0] == 1; the quantum part stays sampled once.
    program = Program(
        1,
        {"m": 1, "b": 2},
        (
            Gate("U1q", (0,), (0.5, 0.0)),
            Measure(0, BitRef("m", 0)),
            Conditional(Binary("eq", ReadRegister("m"), Const(1)), Assign("b", Const(3))),
            Record("m", ReadRegister("m"), 1),
            Record("b", ReadRegister("b"), 2),
        ),
    )
    results = ENGINE.run(program, 500, seed=8)
    assert {(m, b) for m, b in zip(results["m"], results["b"], strict=True)} == {
        ("0", "00"),
        ("1", "11"),
    }
