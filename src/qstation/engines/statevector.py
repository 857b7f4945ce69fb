"""Exact state-vector emulation with numpy.

When no quantum step depends on a measurement (every measurement is terminal for its qubit and
no quantum operation is conditional) the circuit is simulated once, all shots are sampled from
the final distribution, and the classical operations are replayed for all shots at once.
Otherwise each shot runs on its own, quantum and classical state interleaved. Only qubits the
program touches are simulated, and the memory a state needs is checked before allocating.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from qstation.circuit.gates import GATES
from qstation.circuit.program import (
    Barrier,
    Conditional,
    Gate,
    Measure,
    Operation,
    Program,
    Record,
    Reset,
    unconditioned,
)
from qstation.engines.classical import ClassicalState, Words, format_outputs
from qstation.engines.randomness import shot_generator, shot_keys, shot_uniforms
from qstation.engines.wasm import WasmModule
from qstation.errors import ExecutionError
from qstation.sizes import describe_bytes

BYTES_PER_AMPLITUDE = 16
PEAK_STATES = 3
"""Peak working memory in states: the state, a gate's output, and the sampling arrays."""
REPLAY_BLOCK = 1024
"""Shots whose classical operations are replayed together."""
WASM_REPLAY_BLOCK = 16
"""The same for programs with WASM calls: each shot of a block holds a live instance, whose
memory may reach :data:`~qstation.engines.wasm.MEMORY_PER_SHOT`."""

_QUANTUM = (Gate, Measure, Reset)


class StateVectorEngine:
    """Runs a program exactly; results depend only on the program, the shots and the seed."""

    def __init__(self, memory_limit_bytes: int) -> None:
        self.memory_limit_bytes = memory_limit_bytes

    def run(
        self, program: Program, n_shots: int, seed: int, wasm: WasmModule | None = None
    ) -> dict[str, list[str]]:
        """``wasm`` is the job's module, needed when the program calls it."""
        qubits = sorted(program.used_qubits())
        self._check_memory(len(qubits))
        simulation = _Simulation(program, {q: i for i, q in enumerate(qubits)}, wasm)
        keys = shot_keys(seed, 0, n_shots)
        if _quantum_part_is_fixed(program):
            return simulation.sample_then_replay(keys)
        return simulation.run_each_shot(keys)

    def _check_memory(self, n_qubits: int) -> None:
        needed = PEAK_STATES * BYTES_PER_AMPLITUDE * 2**n_qubits
        if needed > self.memory_limit_bytes:
            raise ExecutionError(
                f"a {n_qubits}-qubit state-vector emulation needs about {describe_bytes(needed)}, "
                f"above this worker's limit of {describe_bytes(self.memory_limit_bytes)}"
            )


def _quantum_part_is_fixed(program: Program) -> bool:
    """True when one simulation serves every shot: no quantum step depends on a measurement."""
    touched: set[int] = set()
    measured: set[int] = set()
    for operation in program.operations:
        if isinstance(operation, Conditional) and isinstance(unconditioned(operation), _QUANTUM):
            return False
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
    def __init__(self, program: Program, compact: dict[int, int], wasm: WasmModule | None) -> None:
        self.program = program
        self.wasm = wasm
        self.compact = compact
        self.n_qubits = len(compact)
        self.matrices: dict[int, np.ndarray] = {}
        for position, operation in enumerate(program.operations):
            gate = unconditioned(operation)
            if isinstance(gate, Gate):
                matrix = GATES[gate.name].unitary(gate.params)
                self.matrices[position] = matrix.reshape((2,) * (2 * len(gate.qubits)))

    def zero_state(self) -> np.ndarray:
        state = np.zeros((2,) * self.n_qubits, dtype=np.complex128)
        state[(0,) * self.n_qubits] = 1.0
        return state

    def apply_gate(self, state: np.ndarray, position: int, gate: Gate) -> np.ndarray:
        axes = [self.compact[q] for q in gate.qubits]
        arity = len(axes)
        moved = np.tensordot(
            self.matrices[position], state, axes=(list(range(arity, 2 * arity)), axes)
        )
        return np.moveaxis(moved, list(range(arity)), axes)

    # --- one simulation, all shots sampled ----------------------------------------------

    def sample_then_replay(self, keys: np.ndarray) -> dict[str, list[str]]:
        state = self.zero_state()
        for position, operation in enumerate(self.program.operations):
            if isinstance(operation, Gate):
                state = self.apply_gate(state, position, operation)
        cumulative = np.cumsum(np.abs(state.reshape(-1)) ** 2)
        targets = shot_uniforms(keys) * cumulative[-1]
        indices = np.minimum(
            np.searchsorted(cumulative, targets, side="right"), cumulative.size - 1
        ).astype(np.uint64)
        size = REPLAY_BLOCK if self.wasm is None else WASM_REPLAY_BLOCK
        blocks = (slice(first, first + size) for first in range(0, keys.size, size))
        return self._gather(
            keys.size,
            ((block, self._replay(keys[block], indices[block], block.start)) for block in blocks),
        )

    def _replay(
        self, keys: np.ndarray, indices: np.ndarray, first_shot: int
    ) -> dict[str, tuple[Words, Record]]:
        """The classical operations of a block of shots, given their sampled basis states."""
        shift = self.n_qubits - 1
        classical = ClassicalState(self.program, keys, first_shot, self.wasm)
        for operation in self.program.operations:
            if isinstance(operation, Measure):
                bit = np.uint64(shift - self.compact[operation.qubit])
                classical.set_bit(operation.target, (indices >> bit) & np.uint64(1))
            elif not isinstance(operation, (*_QUANTUM, Barrier)):
                classical.apply(operation)
        return classical.outputs

    # --- each shot on its own -----------------------------------------------------------

    def run_each_shot(self, keys: np.ndarray) -> dict[str, list[str]]:
        shots = (slice(shot, shot + 1) for shot in range(keys.size))
        return self._gather(
            keys.size, ((shot, self._run_shot(keys[shot], shot.start)) for shot in shots)
        )

    def _gather(
        self, n_shots: int, parts: Iterable[tuple[slice, dict[str, tuple[Words, Record]]]]
    ) -> dict[str, list[str]]:
        """Every output of every shot, from the outputs of consecutive runs of shots."""
        records = self.program.outputs()
        values = {label: np.zeros(n_shots, dtype=np.uint64) for label in records}
        for shots, outputs in parts:
            for label, (value, _) in outputs.items():
                values[label][shots] = value
        return format_outputs({label: (values[label], records[label]) for label in records})

    def _run_shot(self, key: np.ndarray, shot: int) -> dict[str, tuple[Words, Record]]:
        rng = shot_generator(key[0])
        state = self.zero_state()
        classical = ClassicalState(self.program, key, shot, self.wasm)
        for position, operation in enumerate(self.program.operations):
            state = self._step(position, operation, state, classical, rng)
        return classical.outputs

    def _step(
        self,
        position: int,
        operation: Operation,
        state: np.ndarray,
        classical: ClassicalState,
        rng: np.random.Generator,
    ) -> np.ndarray:
        match operation:
            case Conditional(condition, inner):
                if classical.evaluate(condition)[0]:
                    return self._step(position, inner, state, classical, rng)
            case Gate():
                return self.apply_gate(state, position, operation)
            case Measure(qubit, target):
                outcome = self.collapse(state, self.compact[qubit], rng)
                classical.set_bit(target, np.array([outcome], dtype=np.uint64))
            case Reset(qubit):
                axis = self.compact[qubit]
                if self.collapse(state, axis, rng):
                    return np.flip(state, axis=axis).copy()
            case Barrier():
                pass
            case _:
                classical.apply(operation)
        return state

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
