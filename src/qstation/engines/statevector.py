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
from qstation.engines.noisy import FaultTree, apply_pauli, measured_bits, probability_of_one
from qstation.engines.randomness import shot_generator, shot_keys, shot_uniforms
from qstation.engines.wasm import WasmModule
from qstation.errors import ExecutionError
from qstation.noise.faults import ElementaryFault, NoisePlan, draw_shot_noise, plan_noise
from qstation.noise.model import NOISELESS, NoiseModel
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
        self,
        program: Program,
        n_shots: int,
        seed: int,
        wasm: WasmModule | None = None,
        noise: NoiseModel = NOISELESS,
    ) -> dict[str, list[str]]:
        """``wasm`` is the job's module, needed when the program calls it."""
        qubits = sorted(program.used_qubits())
        self._check_memory(len(qubits))
        simulation = _Simulation(program, {q: i for i, q in enumerate(qubits)}, wasm)
        keys = shot_keys(seed, 0, n_shots)
        plan = None if noise.is_noiseless else plan_noise(program, noise)
        if _quantum_part_is_fixed(program):
            if plan is None:
                return simulation.sample_then_replay(keys)
            return simulation.sample_noisy_then_replay(keys, plan)
        return simulation.run_each_shot(keys, plan)

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
        shift = self.n_qubits - 1
        measured = [
            (indices >> np.uint64(shift - self.compact[measurement.qubit])) & np.uint64(1)
            for measurement in self.measurements()
        ]
        return self.replay(keys, measured)

    def sample_noisy_then_replay(self, keys: np.ndarray, plan: NoisePlan) -> dict[str, list[str]]:
        """The fixed quantum part under noise: one tree of fault branches (:mod:`.noisy`)."""
        noises = [draw_shot_noise(plan, key) for key in keys]
        tree = FaultTree(list(self.program.operations), self.compact, self.apply_gate)
        leaves = tree.run(self.zero_state(), noises)
        measured = measured_bits(
            leaves, self.compact, self.measurements(), shot_uniforms(keys), plan, noises
        )
        return self.replay(keys, measured)

    def measurements(self) -> list[Measure]:
        return [op for op in self.program.operations if isinstance(op, Measure)]

    def replay(self, keys: np.ndarray, measured: list[Words]) -> dict[str, list[str]]:
        """The classical operations of all shots, given each measurement's bit in every shot,
        in blocks of shots."""
        size = REPLAY_BLOCK if self.wasm is None else WASM_REPLAY_BLOCK
        blocks = (slice(first, first + size) for first in range(0, keys.size, size))
        return self._gather(
            keys.size,
            (
                (block, self._replay(keys[block], [bits[block] for bits in measured], block.start))
                for block in blocks
            ),
        )

    def _replay(
        self, keys: np.ndarray, measured: list[Words], first_shot: int
    ) -> dict[str, tuple[Words, Record]]:
        """The classical operations of a block of shots."""
        classical = ClassicalState(self.program, keys, first_shot, self.wasm)
        bits = iter(measured)
        for operation in self.program.operations:
            if isinstance(operation, Measure):
                classical.set_bit(operation.target, next(bits))
            elif not isinstance(operation, (*_QUANTUM, Barrier)):
                classical.apply(operation)
        return classical.outputs

    # --- each shot on its own -----------------------------------------------------------

    def run_each_shot(
        self, keys: np.ndarray, plan: NoisePlan | None = None
    ) -> dict[str, list[str]]:
        shots = (slice(shot, shot + 1) for shot in range(keys.size))
        return self._gather(
            keys.size, ((shot, self._run_shot(keys[shot], shot.start, plan)) for shot in shots)
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

    def _run_shot(
        self, key: np.ndarray, shot: int, plan: NoisePlan | None
    ) -> dict[str, tuple[Words, Record]]:
        rng = shot_generator(key[0])
        trajectory = _Trajectory(self.zero_state(), rng, plan, key[0])
        classical = ClassicalState(self.program, key, shot, self.wasm)
        trajectory.apply_faults(-1, self.compact)
        for position, operation in enumerate(self.program.operations):
            if self._step(position, operation, trajectory, classical):
                trajectory.apply_faults(position, self.compact)
        return classical.outputs

    def _step(
        self,
        position: int,
        operation: Operation,
        trajectory: _Trajectory,
        classical: ClassicalState,
    ) -> bool:
        """Run one operation of a shot; False when its condition kept it from running."""
        match operation:
            case Conditional(condition, inner):
                if not classical.evaluate(condition)[0]:
                    return False
                return self._step(position, inner, trajectory, classical)
            case Gate(qubits=qubits) if not trajectory.leaked.intersection(qubits):
                trajectory.state = self.apply_gate(trajectory.state, position, operation)
            case Measure(qubit, target):
                outcome = trajectory.measure(self.compact[qubit], qubit, position)
                classical.set_bit(target, np.array([outcome], dtype=np.uint64))
            case Reset(qubit):
                trajectory.reset(self.compact[qubit], qubit)
            case Gate() | Barrier():
                pass
            case _:
                classical.apply(operation)
        return True


class _Trajectory:
    """One shot's quantum state, with its faults (if noisy) applied as they come."""

    def __init__(
        self, state: np.ndarray, rng: np.random.Generator, plan: NoisePlan | None, key: np.uint64
    ) -> None:
        self.state = state
        self.rng = rng
        self.leaked: set[int] = set()
        self.plan = plan
        self.noise = draw_shot_noise(plan, key) if plan is not None else None
        self.cursor = 0
        self.flip_index = (
            {position: index for index, position in enumerate(plan.measurements)} if plan else {}
        )

    def measure(self, axis: int, qubit: int, position: int) -> int:
        outcome = 1 if qubit in self.leaked else self.collapse(axis)
        if self.noise is not None and self.plan is not None:
            flip = self.noise.flips[self.flip_index[position]]
            outcome ^= int(flip < (self.plan.p_meas_1 if outcome else self.plan.p_meas_0))
        return outcome

    def reset(self, axis: int, qubit: int) -> None:
        self.leaked.discard(qubit)
        if self.collapse(axis):
            self.state = np.flip(self.state, axis=axis).copy()

    def collapse(self, axis: int, rng: np.random.Generator | None = None) -> int:
        """Measure one qubit: sample, project and renormalise."""
        one = probability_of_one(self.state, axis)
        outcome = int((rng or self.rng).random() < one)
        index: list[slice | int] = [slice(None)] * self.state.ndim
        index[axis] = 1 - outcome
        self.state[tuple(index)] = 0.0
        self.state /= np.sqrt(one if outcome else 1.0 - one)
        return outcome

    def apply_faults(self, position: int, compact: dict[int, int]) -> None:
        """The shot's faults due after the operation at ``position``."""
        if self.noise is None:
            return
        events = self.noise.events
        while self.cursor < len(events) and events[self.cursor][0] <= position:
            event_position, fault = events[self.cursor]
            self.cursor += 1
            if event_position < position:
                continue  # after an operation whose condition kept it from running
            for elementary in fault:
                self._apply(elementary, compact[elementary.qubit])

    def _apply(self, fault: ElementaryFault, axis: int) -> None:
        if fault.kind in ("X", "Y", "Z"):
            if fault.qubit not in self.leaked:
                self.state = apply_pauli(self.state, axis, fault.kind)
        elif fault.kind == "reset":
            self.leaked.discard(fault.qubit)
            if self.collapse(axis, self.noise.generator if self.noise else None):
                self.state = np.flip(self.state, axis=axis).copy()
        elif fault.qubit not in self.leaked:  # a leak: parked in |0>, out of the computation
            if self.collapse(axis, self.noise.generator if self.noise else None):
                self.state = np.flip(self.state, axis=axis).copy()
            self.leaked.add(fault.qubit)
