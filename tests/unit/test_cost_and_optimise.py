"""HQC costs by hand, and server-side optimisation that keeps a program's meaning."""

from __future__ import annotations

import numpy as np
import pytest
from pytket.circuit import Circuit

from qstation.circuit.gates import GATES
from qstation.circuit.optimise import optimise
from qstation.circuit.program import BitRef, Gate, Measure, Program, ReadRegister, Record, Reset
from qstation.devices.cost import format_cost, hqc_cost
from qstation.engines.statevector import StateVectorEngine
from tests.programs import gates_of


def seed_program() -> Program:
    gates = [Gate("U1q", (q,), (0.05, 0.02)) for q in range(10)]
    measures = [Measure(q, BitRef("c", q)) for q in range(10)]
    return Program(10, {"c": 10}, (*gates, *measures, Record("c", ReadRegister("c"), 10)))


def test_seed_job_costs_as_the_published_formula_says() -> None:
    # 10 U1q, 0 two-qubit, 10 preparations + 10 measurements, 10 shots.
    assert hqc_cost(seed_program(), 10) == pytest.approx(5 + 10 * (10 + 5 * 20) / 5000)
    assert format_cost(hqc_cost(seed_program(), 10)) == "5.22"


def test_two_qubit_gates_and_resets_are_charged() -> None:
    program = Program(
        2,
        {"c": 1},
        (Gate("ZZ", (0, 1)), Gate("Rz", (0,), (0.3,)), Reset(1), Measure(0, BitRef("c", 0))),
    )
    assert hqc_cost(program, 1000) == pytest.approx(5 + 1000 * (1 + 10 + 5 * 4) / 5000)


def test_standard_gates_are_charged_as_the_native_gates_they_stand_for() -> None:
    gates = [Gate("H", (0,)), Gate("Rx", (1,), (0.25,)), Gate("CX", (0, 1)), Gate("CZ", (1, 2))]
    gates += [Gate("SWAP", (0, 2)), Gate("CCX", (0, 1, 2))]
    program = Program(3, {}, tuple(gates))
    # 1q: H, Rx and the Toffoli's 9; 2q: CX, CZ, three for SWAP and six for the Toffoli.
    assert hqc_cost(program, 100) == pytest.approx(5 + 100 * (11 + 10 * 11 + 5 * 3) / 5000)


def unitary_of(program: Program) -> np.ndarray:
    circuit = Circuit(program.n_qubits)
    for gate in gates_of(program):
        circuit.add_gate(GATES[gate.name].optype, list(gate.params), list(gate.qubits))
    return circuit.get_unitary()


@pytest.mark.parametrize("level", [0, 1, 2])
def test_optimisation_keeps_each_block_unitary_and_the_measurements(level: int) -> None:
    rng = np.random.default_rng(level)
    gates = [Gate("U1q", (q,), tuple(rng.uniform(0, 2, 2))) for q in range(3)]
    gates += [Gate("Rxxyyzz", (0, 1), tuple(rng.uniform(0, 1, 3))), Gate("ZZ", (1, 2))]
    gates += [Gate("U1q", (0,), (0.5, 0.0)), Gate("U1q", (0,), (-0.5, 0.0))]  # cancels
    measures = [Measure(q, BitRef("c", q)) for q in range(3)]
    program = Program(3, {"c": 3}, (*gates, *measures))
    optimised = optimise(program, level)
    assert optimised.operations[-3:] == tuple(measures)
    before, after = unitary_of(program), unitary_of(optimised)
    overlap = abs(np.trace(before.conj().T @ after)) / 8  # equal up to a global phase
    assert overlap == pytest.approx(1.0, abs=1e-9)
    assert {g.name for g in gates_of(optimised)} <= {"U1q", "Rz", "RZZ"}


@pytest.mark.parametrize("level", [0, 1, 2])
def test_optimisation_compiles_standard_gates_to_native_ones(level: int) -> None:
    gates = [Gate("H", (0,)), Gate("CX", (0, 1)), Gate("Ry", (2,), (0.3,)), Gate("T", (1,))]
    gates += [Gate("CCX", (0, 1, 2)), Gate("SWAP", (0, 2)), Gate("CZ", (1, 2)), Gate("Sdg", (0,))]
    gates += [Gate(name, (q,)) for q, name in enumerate(("X", "Y", "Z"))]
    gates += [Gate("S", (1,)), Gate("Tdg", (2,)), Gate("Rx", (0,), (0.7,))]
    program = Program(3, {}, tuple(gates))
    optimised = optimise(program, level)
    overlap = abs(np.trace(unitary_of(program).conj().T @ unitary_of(optimised))) / 8
    assert overlap == pytest.approx(1.0, abs=1e-9)
    assert all(GATES[gate.name].native for gate in gates_of(optimised))


@pytest.mark.parametrize("level", [0, 1, 2])
def test_optimisation_keeps_a_swap_of_qubits(level: int) -> None:
    # X on q0, then Rxxyyzz(1/2, 1/2, 1/2), which is a SWAP up to phase: q1 must read 1.
    swap = Gate("Rxxyyzz", (0, 1), (0.5, 0.5, 0.5))
    program = Program(
        2,
        {"c": 2},
        (
            Gate("U1q", (0,), (1.0, 0.0)),
            swap,
            Measure(0, BitRef("c", 0)),
            Measure(1, BitRef("c", 1)),
            Record("c", ReadRegister("c"), 2),
        ),
    )
    results = StateVectorEngine(2**30).run(optimise(program, level), 5, seed=0)
    assert results == {"c": ["10"] * 5}


@pytest.mark.parametrize("level", [1, 2])
def test_optimisation_removes_gates_that_cancel(level: int) -> None:
    gates = (
        Gate("U1q", (0,), (0.3, 0.1)),
        Gate("U1q", (0,), (-0.3, 0.1)),
        Gate("Rz", (1,), (0.25,)),
        Gate("Rz", (1,), (-0.25,)),
    )
    program = Program(2, {"c": 2}, (*gates, Measure(0, BitRef("c", 0)), Measure(1, BitRef("c", 1))))
    assert gates_of(optimise(program, level)) == []


def test_one_qubit_blocks_squash_to_at_most_two_native_gates_per_qubit() -> None:
    rng = np.random.default_rng(7)
    names = ["U1q", "Rz", "H", "Rx"]
    for _ in range(20):
        gates = []
        for _ in range(rng.integers(1, 12)):
            name = str(rng.choice(names))
            params = tuple(rng.uniform(0, 2, GATES[name].n_params))
            gates.append(Gate(name, (int(rng.integers(4)),), params))
        program = Program(4, {}, tuple(gates))
        optimised = optimise(program, 2)
        overlap = abs(np.trace(unitary_of(program).conj().T @ unitary_of(optimised))) / 16
        assert overlap == pytest.approx(1.0)
        for qubit in range(4):
            assert sum(gate.qubits == (qubit,) for gate in gates_of(optimised)) <= 2
