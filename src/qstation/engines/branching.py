"""Shots that run together and split only where they differ.

A group of shots shares one quantum state and a vectorised classical state. It splits where
its shots part ways: at a measurement or reset whose outcome is random (each shot draws its own
uniform, from its own stream, in the order a shot run alone would), at a condition on a quantum
operation that holds in some of its shots only, and at a fault some of its shots have (when
noisy). A program with k mid-circuit measurements thus needs at most 2^k simulations instead of
one per shot, and every shot's result is exactly what running it alone would give.

Where only gates and measurements that commute with them remain (a program's last
measurements, which the QASM front end puts between the gates of other qubits), a group whose
shots have no fault to come and whose state can measure many qubits at once
(:class:`MeasuresInOrder`: the state vector's) runs those gates, then settles every remaining
measurement together, by the chain rule in program order with the uniforms each shot would draw
measuring one at a time: the same shots, without a group per outcome.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

import numpy as np

from qstation.circuit.program import (
    Barrier,
    Gate,
    Measure,
    Operation,
    Program,
    Record,
    Reset,
    unconditioned,
)
from qstation.engines.classical import ClassicalState, Words
from qstation.engines.randomness import shot_draws
from qstation.engines.shots import WASM_REPLAY_BLOCK
from qstation.engines.wasm import WasmModule
from qstation.noise.apply import Action, effect_of
from qstation.noise.faults import ElementaryFault, Fault, NoisePlan, ShotNoise, draw_shot_noise

_QUANTUM = (Gate, Measure, Reset)


class QuantumState(Protocol):
    """The qubits of a group of shots, as an engine keeps them."""

    def apply_gate(self, position: int, gate: Gate) -> None: ...

    def pauli(self, qubit: int, kind: str) -> None:
        """Apply X, Y or Z."""

    def probability_of_one(self, qubit: int) -> float: ...

    def project(self, qubit: int, outcome: int, probability: float) -> None:
        """Keep the part where ``qubit`` is ``outcome`` (of that ``probability``), normalised."""

    def copy(self) -> QuantumState: ...


@runtime_checkable
class MeasuresInOrder(Protocol):
    """A state that can settle a run of measurements at once (an engine's option)."""

    def measure_in_order(self, qubits: list[int], uniforms: np.ndarray) -> np.ndarray:
        """Each shot's outcomes (shots x measurements, uint64) of measuring ``qubits`` one
        after another, shot ``s`` drawing measurement ``i`` with ``uniforms[s, i]``: 1 where it
        is below the chance of 1 given the shot's outcomes before, as measuring one at a time
        would draw."""
        ...


@runtime_checkable
class AppliesRuns(Protocol):
    """A state that applies a run of gates at once (an engine's option), so a state vector
    fuses them into stages instead of a pass over the state per gate."""

    def apply_run(self, start: int, stop: int, leaked: frozenset[int]) -> None:
        """The gates among positions ``[start, stop)``, none conditioned, but those on
        ``leaked`` (the operations between them have no effect on the state)."""
        ...


@dataclass
class _Group:
    state: QuantumState
    classical: ClassicalState
    shots: np.ndarray  # the members' indices in the job
    leaked: frozenset[int]
    cursors: np.ndarray  # each member's next fault event
    due_at: np.ndarray  # the position of that event (past the last operation if none)

    def part(self, members: np.ndarray, state: QuantumState) -> _Group:
        return _Group(
            state, self.classical.subset(members), self.shots[members], self.leaked,
            self.cursors[members], self.due_at[members],
        )  # fmt: skip


Parts = Iterator[tuple[np.ndarray, dict[str, tuple[Words, Record]]]]


class BranchingRun:
    def __init__(
        self,
        program: Program,
        wasm: WasmModule | None,
        keys: np.ndarray,
        plan: NoisePlan | None,
        new_state: Callable[[], QuantumState],
        first_shot: int = 0,
    ) -> None:
        """``keys`` are the shot keys of the run (shots ``first_shot`` on of the job);
        :meth:`parts` runs some of them."""
        self.first_shot = first_shot
        self.program = program
        self.operations = program.operations
        self.wasm = wasm
        self.keys = keys
        self.plan = plan
        self.new_state = new_state
        self.draws = np.zeros(keys.size, dtype=np.uint64)
        """How many outcome uniforms each shot has drawn (:func:`shot_draws`)."""
        self.noises: dict[int, ShotNoise] = {}
        self.flip_index = (
            {position: index for index, position in enumerate(plan.measurements)} if plan else {}
        )
        self.settled_from = _settled_from(program.operations)
        self.gates_until = _gates_until(program.operations)

    def parts(self, shots: np.ndarray) -> Parts:
        """Each final group's shots and outputs. With WASM calls the shots run in batches, as
        every shot in flight holds a WASM instance."""
        size = shots.size if self.wasm is None else WASM_REPLAY_BLOCK
        for first in range(0, shots.size, max(size, 1)):
            yield from self._batch(shots[first : first + size])

    def _batch(self, shots: np.ndarray) -> Parts:
        if self.plan is not None:
            for shot in map(int, shots):
                self.noises[shot] = draw_shot_noise(self.plan, self.keys[shot])
        classical = ClassicalState(
            self.program, self.keys[shots], shots + self.first_shot, self.wasm
        )
        cursors = np.zeros(shots.size, dtype=int)
        due_at = np.array([self._due_at(int(shot), 0) for shot in shots], dtype=int)
        root = _Group(self.new_state(), classical, shots, frozenset(), cursors, due_at)
        stack: list[tuple[_Group, int, bool]] = [(root, 0, True)]
        while stack:
            group, position, ran = stack.pop()
            yield from self._advance(group, position, ran, stack)

    def _advance(
        self, group: _Group, position: int, ran: bool, stack: list[tuple[_Group, int, bool]]
    ) -> Parts:
        """Run ``group`` from the operation at ``position`` until it ends or splits; ``ran``
        tells whether the operation before ran in it (its faults apply only then)."""
        while True:
            remaining = self._faults(group, position - 1, ran, stack)
            if remaining is None:
                return
            group = remaining
            if position == len(self.operations):
                yield group.shots, group.classical.outputs
                return
            if self._settles_the_rest(group, position):
                self._measure_the_rest(group, position)
                yield group.shots, group.classical.outputs
                return
            stop = self._run_stop(group, position)
            if stop > position + 1 and isinstance(group.state, AppliesRuns):
                group.state.apply_run(position, stop, group.leaked)
                position, ran = stop, True
                continue
            branches = self._step(group, position, self.operations[position])
            for branch, branch_ran in branches[1:]:
                stack.append((branch, position + 1, branch_ran))
            group, ran = branches[0]
            position += 1

    # --- operations ----------------------------------------------------------------------

    def _step(
        self, group: _Group, position: int, operation: Operation
    ) -> list[tuple[_Group, bool]]:
        """The groups after one operation, each with whether the operation ran in it."""
        inner = unconditioned(operation)
        if not isinstance(inner, _QUANTUM):
            if not isinstance(inner, Barrier):
                group.classical.apply(operation)  # type: ignore[arg-type]
            return [(group, True)]
        taken = group.classical.taken(operation)
        if not taken.any():
            return [(group, False)]
        if taken.all():
            return [(branch, True) for branch in self._quantum(group, position, inner)]
        skipping = group.part(np.flatnonzero(~taken), group.state.copy())
        running = group.part(np.flatnonzero(taken), group.state)
        return [
            *((branch, True) for branch in self._quantum(running, position, inner)),
            (skipping, False),
        ]

    def _quantum(self, group: _Group, position: int, operation: Operation) -> list[_Group]:
        match operation:
            case Gate(qubits=qubits):
                if not group.leaked.intersection(qubits):
                    group.state.apply_gate(position, operation)
                return [group]
            case Measure(qubit, target):
                if qubit in group.leaked:
                    self._record(group, position, target, 1)
                    return [group]
                branches = self._collapse(group, qubit, self._draw(group)[:, 0])
                for branch, outcome in branches:
                    self._record(branch, position, target, outcome)
                return [branch for branch, _ in branches]
            case Reset(qubit):
                group = replace(group, leaked=group.leaked - {qubit})
                return self._reset(group, qubit, self._draw(group)[:, 0])
        raise AssertionError(f"not a quantum operation: {operation!r}")  # pragma: no cover

    def _run_stop(self, group: _Group, position: int) -> int:
        """Where the run of unconditioned gates from ``position`` that the group can take at
        once ends: at the first other operation, after the operation a member's next fault
        follows, and where the rest could settle at once."""
        stop = min(int(self.gates_until[position]), int(group.due_at.min()) + 1)
        return min(stop, self.settled_from) if position < self.settled_from else stop

    def _settles_the_rest(self, group: _Group, position: int) -> bool:
        """Whether the group can run the rest of the program as its gates, then every
        measurement at once: the program allows it from here (:func:`_settled_from`), none of
        its shots has a fault still to come, and its state can (:class:`MeasuresInOrder`)."""
        return (
            position >= self.settled_from
            and isinstance(group.state, MeasuresInOrder)
            and bool(np.all(group.due_at >= len(self.operations)))
        )

    def _measure_the_rest(self, group: _Group, position: int) -> None:
        """The remaining operations: first their gates, then their measurements together,
        then their classical operations with each measured bit written where it was measured.
        The outcomes, and the uniforms each shot draws, are those of measuring one at a time
        in program order, without a split into a group per outcome."""
        rest = list(enumerate(self.operations[position:], position))
        if isinstance(group.state, AppliesRuns):
            group.state.apply_run(position, len(self.operations), group.leaked)
        else:
            for at, operation in rest:
                if isinstance(operation, Gate) and not group.leaked.intersection(operation.qubits):
                    group.state.apply_gate(at, operation)
        measured = [op.qubit for _, op in rest if isinstance(op, Measure)]
        live = [qubit for qubit in measured if qubit not in group.leaked]
        outcomes = np.zeros((group.shots.size, 0), dtype=np.uint64)
        if live:
            state: MeasuresInOrder = group.state  # type: ignore[assignment]
            outcomes = state.measure_in_order(live, self._draw(group, len(live)))
        columns = iter(outcomes.T)
        for at, operation in rest:
            if isinstance(operation, Measure):
                leaked = operation.qubit in group.leaked
                self._record(group, at, operation.target, 1 if leaked else next(columns))
            elif not isinstance(unconditioned(operation), Gate | Barrier):
                group.classical.apply(operation)  # type: ignore[arg-type]

    def _record(
        self, group: _Group, position: int, target: object, outcome: int | np.ndarray
    ) -> None:
        """Write a measured bit (one, or each shot's), after the measurement flip each shot
        draws, if noisy."""
        values = np.full(group.shots.size, outcome, dtype=np.uint64)
        if self.plan is not None:
            flip = self.flip_index[position]
            uniforms = np.array([self.noises[int(s)].flips[flip] for s in group.shots])
            values = self.plan.reported(values, uniforms)
        group.classical.set_bit(target, values)  # type: ignore[arg-type]

    def _draw(self, group: _Group, count: int = 1) -> np.ndarray:
        """Each member's next ``count`` outcome uniforms (members x count)."""
        made = self.draws[group.shots]
        self.draws[group.shots] = made + np.uint64(count)
        counters = made[:, np.newaxis] + np.arange(count, dtype=np.uint64)
        return shot_draws(self.keys[group.shots][:, np.newaxis], counters)

    @staticmethod
    def _collapse(group: _Group, qubit: int, uniforms: np.ndarray) -> list[tuple[_Group, int]]:
        """Measure ``qubit``: each shot's outcome is 1 where its uniform is below P(1)."""
        one = group.state.probability_of_one(qubit)
        ones = uniforms < one
        if ones.all() or not ones.any():
            outcome = int(ones.all())
            group.state.project(qubit, outcome, one if outcome else 1.0 - one)
            return [(group, outcome)]
        zero_state = group.state.copy()
        zero_state.project(qubit, 0, 1.0 - one)
        group.state.project(qubit, 1, one)
        return [
            (group.part(np.flatnonzero(ones), group.state), 1),
            (group.part(np.flatnonzero(~ones), zero_state), 0),
        ]

    def _reset(self, group: _Group, qubit: int, uniforms: np.ndarray) -> list[_Group]:
        branches = self._collapse(group, qubit, uniforms)
        for branch, outcome in branches:
            if outcome:
                branch.state.pauli(qubit, "X")
        return [branch for branch, _ in branches]

    # --- faults --------------------------------------------------------------------------

    def _faults(
        self, group: _Group, position: int, ran: bool, stack: list[tuple[_Group, int, bool]]
    ) -> _Group | None:
        """Apply the faults due after the operation at ``position``: members with the same
        next fault branch off together (onto the stack); the rest stay in ``group`` (None when
        no member stays)."""
        if self.plan is None:
            return group
        at = np.flatnonzero(group.due_at == position)
        if at.size == 0:
            return group
        due: dict[Fault, list[int]] = defaultdict(list)
        staying = np.ones(group.shots.size, dtype=bool)
        for member in map(int, at):
            shot = int(group.shots[member])
            events = self.noises[shot].events
            cursor = int(group.cursors[member])
            if ran:
                due[events[cursor][1]].append(member)
                staying[member] = False
                continue
            while cursor < len(events) and events[cursor][0] == position:
                cursor += 1  # the operation did not run in this shot: nor do its faults
            group.cursors[member] = cursor
            group.due_at[member] = self._due_at(shot, cursor)
        for fault, members in due.items():
            branch = group.part(np.array(members), group.state.copy())
            branch.cursors += 1
            branch.due_at = np.array(
                [
                    self._due_at(int(shot), int(cursor))
                    for shot, cursor in zip(branch.shots, branch.cursors, strict=True)
                ]
            )
            for child in self._apply_fault(branch, fault):
                stack.append((child, position + 1, True))
        remaining = np.flatnonzero(staying)
        return group.part(remaining, group.state) if remaining.size else None

    def _due_at(self, shot: int, cursor: int) -> int:
        """Where a shot's fault number ``cursor`` is due; past the program when it has no more."""
        events = self.noises[shot].events if self.plan is not None else []
        return events[cursor][0] if cursor < len(events) else len(self.operations)

    def _apply_fault(self, group: _Group, fault: Fault) -> list[_Group]:
        groups = [group]
        for elementary in fault:
            groups = [
                child for current in groups for child in self._elementary(current, elementary)
            ]
        return groups

    def _elementary(self, group: _Group, fault: ElementaryFault) -> list[_Group]:
        effect = effect_of(fault, group.leaked)
        if effect.action is Action.PAULI:
            group.state.pauli(fault.qubit, fault.kind)
        if effect.action is not Action.COLLAPSE:
            return [group]
        uniforms = np.array([self.noises[int(s)].generator.random() for s in group.shots])
        return self._reset(replace(group, leaked=effect.leaked), fault.qubit, uniforms)


def _gates_until(operations: tuple[Operation, ...]) -> np.ndarray:
    """For each position, the end of the run of unconditioned gates that starts there (the
    position itself where none does)."""
    until = np.arange(len(operations) + 1)
    for position in reversed(range(len(operations))):
        if isinstance(operations[position], Gate):
            until[position] = until[position + 1]
    return until


def _settled_from(operations: tuple[Operation, ...]) -> int:
    """The first position from which the rest of the program can run as its gates, then its
    measurements together: no reset or conditioned quantum operation follows, and no gate acts
    on a qubit after its measurement (so every measurement commutes with the gates after it).
    The program's length when that holds nowhere."""
    gated_later: set[int] = set()
    start = len(operations)
    for position in reversed(range(len(operations))):
        operation = operations[position]
        inner = unconditioned(operation)
        if (isinstance(inner, _QUANTUM) and inner is not operation) or isinstance(inner, Reset):
            break
        if isinstance(inner, Measure) and inner.qubit in gated_later:
            break
        if isinstance(inner, Gate):
            gated_later.update(inner.qubits)
        start = position
    return start
