"""What every engine shares: running shots one by one, and replaying classical operations.

An engine supplies a :class:`QuantumState` (a state vector, a stabilizer tableau); this module
runs a program's shots on it one by one, with interleaved classical state and, when noisy, the
shot's faults applied as they come (leaks, resets, Paulis, measurement flips). Engines that
settle every measurement at once hand the measured bits to :func:`replay` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

import numpy as np

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
from qstation.engines.randomness import shot_generator
from qstation.engines.wasm import WasmModule
from qstation.noise.faults import ElementaryFault, NoisePlan, draw_shot_noise

REPLAY_BLOCK = 1024
"""Shots whose classical operations are replayed together."""
WASM_REPLAY_BLOCK = 16
"""The same for programs with WASM calls: each shot of a block holds a live instance, whose
memory may reach :data:`~qstation.engines.wasm.MEMORY_PER_SHOT`."""

_QUANTUM = (Gate, Measure, Reset)


class QuantumState(Protocol):
    """One shot's qubits, as an engine keeps them."""

    def apply_gate(self, position: int, gate: Gate) -> None: ...

    def pauli(self, qubit: int, kind: str) -> None:
        """Apply X, Y or Z."""

    def measure(self, qubit: int, uniform: float) -> int:
        """Measure in the Z basis and project; outcome 1 when ``uniform`` < P(1)."""


def quantum_part_is_fixed(program: Program) -> bool:
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


# --- classical replay after every measurement is settled -----------------------------------


def replay(
    program: Program, wasm: WasmModule | None, keys: np.ndarray, measured: list[Words]
) -> dict[str, list[str]]:
    """The outputs of all shots, given each measurement's bit (in program order) in every
    shot."""
    return gather(program, keys.size, replay_parts(program, wasm, keys, measured))


def replay_parts(
    program: Program, wasm: WasmModule | None, keys: np.ndarray, measured: list[Words]
) -> Iterator[tuple[slice, dict[str, tuple[Words, Record]]]]:
    """The outputs of blocks of shots, whose classical operations run together."""
    size = REPLAY_BLOCK if wasm is None else WASM_REPLAY_BLOCK
    for first in range(0, keys.size, size):
        block = slice(first, first + size)
        bits = [values[block] for values in measured]
        yield block, _replay(program, wasm, keys[block], bits, first)


def _replay(
    program: Program,
    wasm: WasmModule | None,
    keys: np.ndarray,
    measured: list[Words],
    first_shot: int,
) -> dict[str, tuple[Words, Record]]:
    classical = ClassicalState(program, keys, first_shot, wasm)
    bits = iter(measured)
    for operation in program.operations:
        if isinstance(operation, Measure):
            classical.set_bit(operation.target, next(bits))
        elif not isinstance(operation, (*_QUANTUM, Barrier)):
            classical.apply(operation)
    return classical.outputs


def gather(
    program: Program, n_shots: int, parts: Iterable[tuple[slice, dict[str, tuple[Words, Record]]]]
) -> dict[str, list[str]]:
    """Every output of every shot, from the outputs of consecutive runs of shots."""
    records = program.outputs()
    values = {label: np.zeros(n_shots, dtype=np.uint64) for label in records}
    for shots, outputs in parts:
        for label, (value, _) in outputs.items():
            values[label][shots] = value
    return format_outputs({label: (values[label], records[label]) for label in records})


def measurements(program: Program) -> list[Measure]:
    return [op for op in program.operations if isinstance(op, Measure)]


# --- shot by shot --------------------------------------------------------------------------


def run_each_shot(
    program: Program,
    wasm: WasmModule | None,
    keys: np.ndarray,
    plan: NoisePlan | None,
    new_state: Callable[[int], QuantumState],
) -> dict[str, list[str]]:
    """Every shot on a fresh state from ``new_state(shot)``."""
    return gather(
        program, keys.size, shot_parts(program, wasm, keys, range(keys.size), plan, new_state)
    )


def shot_parts(
    program: Program,
    wasm: WasmModule | None,
    keys: np.ndarray,
    shots: Iterable[int],
    plan: NoisePlan | None,
    new_state: Callable[[int], QuantumState],
) -> Iterator[tuple[slice, dict[str, tuple[Words, Record]]]]:
    """The outputs of the given shots, each run on its own."""
    for shot in shots:
        run = _Shot(program, wasm, keys[shot : shot + 1], shot, plan, new_state(shot))
        yield slice(shot, shot + 1), run.run()


class _Shot:
    def __init__(
        self,
        program: Program,
        wasm: WasmModule | None,
        key: np.ndarray,
        shot: int,
        plan: NoisePlan | None,
        state: QuantumState,
    ) -> None:
        self.program = program
        self.state = state
        self.rng = shot_generator(key[0])
        self.classical = ClassicalState(program, key, shot, wasm)
        self.leaked: set[int] = set()
        self.plan = plan
        self.noise = draw_shot_noise(plan, key[0]) if plan is not None else None
        self.cursor = 0
        self.flip_index = (
            {position: index for index, position in enumerate(plan.measurements)} if plan else {}
        )

    def run(self) -> dict[str, tuple[Words, Record]]:
        self.apply_faults(-1)
        for position, operation in enumerate(self.program.operations):
            if self.step(position, operation):
                self.apply_faults(position)
        return self.classical.outputs

    def step(self, position: int, operation: Operation) -> bool:
        """Run one operation; False when its condition kept it from running."""
        match operation:
            case Conditional(condition, inner):
                if not self.classical.evaluate(condition)[0]:
                    return False
                return self.step(position, inner)
            case Gate(qubits=qubits) if not self.leaked.intersection(qubits):
                self.state.apply_gate(position, operation)
            case Measure(qubit, target):
                outcome = self.measure(qubit, position)
                self.classical.set_bit(target, np.array([outcome], dtype=np.uint64))
            case Reset(qubit):
                self.reset(qubit, self.rng)
            case Gate() | Barrier():
                pass
            case _:
                self.classical.apply(operation)
        return True

    def measure(self, qubit: int, position: int) -> int:
        outcome = 1 if qubit in self.leaked else self.state.measure(qubit, self.rng.random())
        if self.noise is not None and self.plan is not None:
            flip = self.noise.flips[self.flip_index[position]]
            outcome ^= int(flip < (self.plan.p_meas_1 if outcome else self.plan.p_meas_0))
        return outcome

    def reset(self, qubit: int, rng: np.random.Generator) -> None:
        self.leaked.discard(qubit)
        if self.state.measure(qubit, rng.random()):
            self.state.pauli(qubit, "X")

    def apply_faults(self, position: int) -> None:
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
                self.apply_fault(elementary, self.noise.generator)

    def apply_fault(self, fault: ElementaryFault, generator: np.random.Generator) -> None:
        if fault.kind == "reset":
            self.reset(fault.qubit, generator)
        elif fault.qubit in self.leaked:
            pass  # a leaked qubit is out of reach of Paulis and of a second leak
        elif fault.kind == "leak":  # parked in |0>, out of the computation
            if self.state.measure(fault.qubit, generator.random()):
                self.state.pauli(fault.qubit, "X")
            self.leaked.add(fault.qubit)
        else:
            self.state.pauli(fault.qubit, fault.kind)
