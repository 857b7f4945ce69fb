"""Exact state-vector emulation with numpy.

When every measurement is terminal (nothing quantum follows it on that qubit) the circuit is
simulated once and all shots are sampled from the final distribution; otherwise each shot runs
as its own trajectory. Only qubits the program touches are simulated, and the memory a state
needs is checked against the limit before anything is allocated.
"""

from __future__ import annotations

import numpy as np

from qstation.circuit.gates import GATES
from qstation.circuit.program import Barrier, Gate, Measure, Program, Reset
from qstation.engines.classical import ClassicalState
from qstation.engines.randomness import shot_generator, shot_keys, shot_uniforms
from qstation.errors import ExecutionError
from qstation.sizes import describe_bytes

BYTES_PER_AMPLITUDE = 16
PEAK_STATES = 3
"""Peak working memory in states: the state, a gate's output, and the sampling arrays."""


class StateVectorEngine:
    """Runs a program exactly; results depend only on the program, the shots and the seed."""

    def __init__(self, memory_limit_bytes: int) -> None:
        self.memory_limit_bytes = memory_limit_bytes

    def run(self, program: Program, n_shots: int, seed: int) -> dict[str, list[str]]:
        qubits = sorted(program.used_qubits())
        self._check_memory(len(qubits))
        simulation = _Simulation(program, {q: i for i, q in enumerate(qubits)})
        keys = shot_keys(seed, 0, n_shots)
        if _measurements_are_terminal(program):
            outcomes = simulation.sample_terminal(keys)
        else:
            outcomes = simulation.run_trajectories(keys)
        classical = ClassicalState(program, n_shots)
        measurement_index = 0
        for operation in program.operations:
            if isinstance(operation, Measure):
                classical.set_bit(operation.target, outcomes[measurement_index])
                measurement_index += 1
            elif not isinstance(operation, Gate | Reset | Barrier):
                classical.apply(operation)
        return classical.results()

    def _check_memory(self, n_qubits: int) -> None:
        needed = PEAK_STATES * BYTES_PER_AMPLITUDE * 2**n_qubits
        if needed > self.memory_limit_bytes:
            raise ExecutionError(
                f"a {n_qubits}-qubit state-vector emulation needs about {describe_bytes(needed)}, "
                f"above this worker's limit of {describe_bytes(self.memory_limit_bytes)}"
            )


def _measurements_are_terminal(program: Program) -> bool:
    touched: set[int] = set()
    measured: set[int] = set()
    for operation in program.operations:
        if isinstance(operation, Gate):
            if measured.intersection(operation.qubits):
                return False
            touched.update(operation.qubits)
        elif isinstance(operation, Reset):
            if operation.qubit in touched or operation.qubit in measured:
                return False
        elif isinstance(operation, Measure):
            measured.add(operation.qubit)
    return True


class _Simulation:
    def __init__(self, program: Program, compact: dict[int, int]) -> None:
        self.program = program
        self.compact = compact
        self.n_qubits = len(compact)
        self.matrices = {
            i: GATES[op.name].unitary(op.params).reshape((2,) * (2 * len(op.qubits)))
            for i, op in enumerate(program.operations)
            if isinstance(op, Gate)
        }

    def zero_state(self) -> np.ndarray:
        state = np.zeros((2,) * self.n_qubits, dtype=np.complex128)
        state[(0,) * self.n_qubits] = 1.0
        return state

    def apply_gate(self, state: np.ndarray, position: int, gate: Gate) -> np.ndarray:
        axes = [self.compact[q] for q in gate.qubits]
        arity = len(axes)
        matrix = self.matrices[position]
        moved = np.tensordot(matrix, state, axes=(list(range(arity, 2 * arity)), axes))
        return np.moveaxis(moved, list(range(arity)), axes)

    def sample_terminal(self, keys: np.ndarray) -> list[np.ndarray]:
        state = self.zero_state()
        for position, operation in enumerate(self.program.operations):
            if isinstance(operation, Gate):
                state = self.apply_gate(state, position, operation)
        cumulative = np.cumsum(np.abs(state.reshape(-1)) ** 2)
        targets = shot_uniforms(keys) * cumulative[-1]
        indices = np.minimum(
            np.searchsorted(cumulative, targets, side="right"), cumulative.size - 1
        ).astype(np.uint64)
        shift = self.n_qubits - 1
        return [
            (indices >> np.uint64(shift - self.compact[op.qubit])) & np.uint64(1)
            for op in self.program.operations
            if isinstance(op, Measure)
        ]

    def run_trajectories(self, keys: np.ndarray) -> list[np.ndarray]:
        n_measurements = sum(isinstance(op, Measure) for op in self.program.operations)
        outcomes = np.zeros((n_measurements, keys.size), dtype=np.uint64)
        for shot, key in enumerate(keys):
            rng = shot_generator(key)
            state = self.zero_state()
            measurement_index = 0
            for position, operation in enumerate(self.program.operations):
                if isinstance(operation, Gate):
                    state = self.apply_gate(state, position, operation)
                elif isinstance(operation, Measure):
                    outcome = self.collapse(state, self.compact[operation.qubit], rng)
                    outcomes[measurement_index, shot] = outcome
                    measurement_index += 1
                elif isinstance(operation, Reset):
                    axis = self.compact[operation.qubit]
                    if self.collapse(state, axis, rng):
                        state = np.flip(state, axis=axis).copy()
        return list(outcomes)

    @staticmethod
    def collapse(state: np.ndarray, axis: int, rng: np.random.Generator) -> int:
        """Measure one qubit in place: sample, project and renormalise."""
        one = np.take(state, 1, axis=axis)
        probability_one = float(np.sum(np.abs(one) ** 2))
        outcome = int(rng.random() < probability_one)
        index: list[slice | int] = [slice(None)] * state.ndim
        index[axis] = 1 - outcome
        state[tuple(index)] = 0.0
        state /= np.sqrt(probability_one if outcome else 1.0 - probability_one)
        return outcome
