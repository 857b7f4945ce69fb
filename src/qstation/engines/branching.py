"""Shots that run together and split only where they differ.

A group of shots shares one quantum state and a vectorised classical state. It splits where
its shots part ways: at a measurement or reset whose outcome is random (each shot draws its own
uniform, from its own stream, in the order a shot run alone would), at a condition on a quantum
operation that holds in some of its shots only, and at a fault some of its shots have (when
noisy). A program with k mid-circuit measurements thus needs at most 2^k simulations instead of
one per shot, and every shot's result is exactly what running it alone would give.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

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
from qstation.engines.randomness import shot_generator
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
        self.generators: dict[int, np.random.Generator] = {}
        self.noises: dict[int, ShotNoise] = {}
        self.flip_index = (
            {position: index for index, position in enumerate(plan.measurements)} if plan else {}
        )

    def parts(self, shots: np.ndarray) -> Parts:
        """Each final group's shots and outputs. With WASM calls the shots run in batches, as
        every shot in flight holds a WASM instance."""
        size = shots.size if self.wasm is None else WASM_REPLAY_BLOCK
        for first in range(0, shots.size, max(size, 1)):
            yield from self._batch(shots[first : first + size])

    def _batch(self, shots: np.ndarray) -> Parts:
        for shot in map(int, shots):
            self.generators[shot] = shot_generator(self.keys[shot])
            if self.plan is not None:
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
                branches = self._collapse(group, qubit, self._draw(group, self.generators))
                for branch, outcome in branches:
                    self._record(branch, position, target, outcome)
                return [branch for branch, _ in branches]
            case Reset(qubit):
                return self._reset(
                    replace(group, leaked=group.leaked - {qubit}), qubit, self.generators
                )
        raise AssertionError(f"not a quantum operation: {operation!r}")  # pragma: no cover

    def _record(self, group: _Group, position: int, target: object, outcome: int) -> None:
        """Write a measured bit, after the measurement flip each shot draws, if noisy."""
        values = np.full(group.shots.size, outcome, dtype=np.uint64)
        if self.plan is not None:
            flip = self.flip_index[position]
            uniforms = np.array([self.noises[int(s)].flips[flip] for s in group.shots])
            values = self.plan.reported(values, uniforms)
        group.classical.set_bit(target, values)  # type: ignore[arg-type]

    @staticmethod
    def _draw(group: _Group, generators: dict[int, np.random.Generator]) -> np.ndarray:
        return np.array([generators[int(shot)].random() for shot in group.shots])

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

    def _reset(
        self, group: _Group, qubit: int, generators: dict[int, np.random.Generator]
    ) -> list[_Group]:
        branches = self._collapse(group, qubit, self._draw(group, generators))
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
        generators = {int(s): self.noises[int(s)].generator for s in group.shots}
        return self._reset(replace(group, leaked=effect.leaked), fault.qubit, generators)
