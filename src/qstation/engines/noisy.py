"""Noisy state-vector emulation that simulates each distinct noise realisation once.

Every shot first draws its faults (:mod:`qstation.noise.faults`). Shots then run together as a
tree: all start on one state; where some shots' next fault is due, they branch off onto a copy
with the fault applied, and the rest go on. So shots that agree on their faults up to a point
share the simulation up to that point, and the fault-free majority is simulated once. The tree
advances a fused stage at a time (:mod:`.fusion`); a fault that commutes with the rest of its
stage is moved to the stage's end, so its branch starts from the shared state after the stage,
and only the others split a stage. A fault that needs a random outcome (a leak or a reset
collapses its qubit) splits its branch by each shot's own draw. Every leaf samples its shots'
outcomes from its final state as soon as it is reached, with the same per-shot uniforms the
exact engine uses; measurement flips are applied to the measured bits.
The result is exactly the noise model's distribution: each shot's faults are drawn from it, and
its outcome from the state those faults give.

Only programs whose quantum part is fixed (terminal measurements) take this path; the others
run in branching groups of shots (:mod:`qstation.engines.branching`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from qstation.circuit.program import Measure
from qstation.engines import kernels
from qstation.noise.apply import Action, effect_of, flip_uniforms
from qstation.noise.faults import ElementaryFault, Fault, NoisePlan, ShotNoise

_PAULIS = {
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, 1], [-1, 0]], dtype=complex),  # i Y: Y up to global phase, real
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def apply_pauli(state: np.ndarray, axis: int, pauli: str) -> None:
    """In place, on a contiguous state shaped with one length-2 axis per qubit (global phase
    dropped)."""
    kernels.one_qubit(state.reshape(-1), state.ndim - 1 - axis, _PAULIS[pauli])


def probability_of_one(state: np.ndarray, axis: int) -> float:
    return float(np.sum(np.abs(np.take(state, 1, axis=axis)) ** 2, dtype=np.float64))


def project_to_zero(state: np.ndarray, axis: int, outcome: int, probability: float) -> np.ndarray:
    """The state after measuring ``outcome`` on ``axis`` (with that ``probability``), with the
    qubit then set to |0> (a reset, or a leaked qubit parked in |0>)."""
    kept = np.take(state, outcome, axis=axis) / np.sqrt(probability)
    projected = np.zeros_like(state)
    index: list[slice | int] = [slice(None)] * state.ndim
    index[axis] = 0
    projected[tuple(index)] = kept
    return projected


def sample_indices(state: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Basis indices (C order) drawn from ``state``: the first index whose cumulative
    probability exceeds ``uniform * total``, one pass over the state for all uniforms."""
    flat = state.reshape(-1)
    total = float(np.vdot(flat, flat).real)
    order = np.argsort(uniforms, kind="stable")
    found = np.empty(uniforms.size, dtype=np.int64)
    found[order] = kernels.sample_sorted(flat, uniforms[order] * total)
    return found


class Stepper(Protocol):
    """How the tree moves a state forward: in place, through the operations ``[start, stop)``,
    skipping gates on leaked qubits, in fused stages between boundaries."""

    n_operations: int

    def advance(
        self,
        state: np.ndarray,
        start: int,
        stop: int,
        leaked: frozenset[int],
        phases: bool = True,
    ) -> None:
        """Without the diagonal phase that ends the operations unless ``phases``."""
        ...

    def next_boundary(self, position: int) -> int:
        """The first stage boundary after ``position``."""
        ...

    def boundary_before(self, position: int) -> int:
        """The last stage boundary at or before ``position``."""
        ...

    def deferred(self, position: int, fault: Fault) -> int:
        """The latest position, up to the end of its stage, to which a fault after
        ``position`` can move without changing the state (it commutes with what lies between)."""
        ...

    def axis(self, qubit: int) -> int: ...


@dataclass
class _Member:
    shot: int
    events: list[tuple[int, Fault]]
    generator: np.random.Generator
    cursor: int = 0  # the next of its events

    def next_position(self) -> int | None:
        return self.events[self.cursor][0] if self.cursor < len(self.events) else None


@dataclass
class LeafOutcomes:
    """Each shot's sampled basis index and leaked qubits, filled leaf by leaf, so a leaf's
    state can go as soon as it is sampled."""

    uniforms: np.ndarray
    n_qubits: int
    indices: np.ndarray = field(init=False)
    leaked_mask: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.indices = np.zeros(self.uniforms.size, dtype=np.uint64)
        self.leaked_mask = np.zeros(self.uniforms.size, dtype=np.uint64)

    def add(self, state: np.ndarray, shots: list[int], leaked_axes: list[int]) -> None:
        chosen = np.array(shots)
        self.indices[chosen] = sample_indices(state, self.uniforms[chosen]).astype(np.uint64)
        mask = sum(1 << (self.n_qubits - 1 - axis) for axis in leaked_axes)
        self.leaked_mask[chosen] = np.uint64(mask)

    def bits(
        self,
        compact: dict[int, int],
        measurements: list[Measure],
        plan: NoisePlan,
        noises: list[ShotNoise],
    ) -> list[np.ndarray]:
        """Each measurement's reported bit in every shot (leaked qubits read 1), flipped with
        the model's probabilities."""
        flips = flip_uniforms(noises, len(measurements))
        bits = []
        for index, measurement in enumerate(measurements):
            shift = np.uint64(self.n_qubits - 1 - compact[measurement.qubit])
            bit = ((self.indices | self.leaked_mask) >> shift) & np.uint64(1)
            bits.append(plan.reported(bit, flips[:, index]))
        return bits


def _due(member: _Member) -> int:
    position = member.next_position()
    assert position is not None, "only members with a fault ahead are asked"
    return position


def _split_at(members: list[_Member], limit: int) -> tuple[list[_Member], list[_Member]]:
    """The members with a fault due before ``limit``, and the others."""
    before: list[_Member] = []
    after: list[_Member] = []
    for member in members:
        position = member.next_position()
        (before if position is not None and position < limit else after).append(member)
    return before, after


class FaultTree:
    """Runs the tree of shots for a program whose quantum part is fixed. States are changed in
    place; a branch works on its own copy. A state that reaches the program's end goes
    without its last diagonal phase, which neither the faults after it (Paulis, collapses)
    nor sampling see, unless ``final_phases`` (to compare states)."""

    def __init__(
        self, stepper: Stepper, outcomes: LeafOutcomes, final_phases: bool = False
    ) -> None:
        self.stepper = stepper
        self.outcomes = outcomes
        self.final_phases = final_phases

    def run(self, state: np.ndarray, noises: list[ShotNoise]) -> None:
        members = [
            _Member(shot, self._deferred(noise.events), noise.generator)
            for shot, noise in enumerate(noises)
        ]
        self._branch(state, frozenset(), members, 0)

    def _deferred(self, events: list[tuple[int, Fault]]) -> list[tuple[int, Fault]]:
        """Each fault moved as late in its stage as it commutes, but never past the shot's
        next fault, so the faults keep their order."""
        moved = []
        for index, (position, fault) in enumerate(events):
            limit = events[index + 1][0] if index + 1 < len(events) else self.stepper.n_operations
            moved.append((min(self.stepper.deferred(position, fault), limit), fault))
        return moved

    def _branch(
        self, state: np.ndarray, leaked: frozenset[int], members: list[_Member], position: int
    ) -> None:
        """Apply the operations from ``position`` on; faults at position ``p`` come after
        operation ``p`` (at -1: before the first)."""
        while True:
            due: dict[Fault, list[_Member]] = defaultdict(list)
            staying: list[_Member] = []
            for member in members:
                if member.next_position() == position - 1:
                    due[member.events[member.cursor][1]].append(member)
                    member.cursor += 1
                else:
                    staying.append(member)
            alone = not staying and len(due) == 1
            for fault, group in due.items():
                branch = state if alone else state.copy()
                for child in self._apply(branch, leaked, fault, group):
                    self._branch(*child, position)
            members = staying
            if not members:
                return
            if position == self.stepper.n_operations:
                self.outcomes.add(
                    state, [m.shot for m in members], [self.stepper.axis(q) for q in leaked]
                )
                return
            stop = self.stepper.next_boundary(position)
            ahead = [_due(m) + 1 for m in members if m.next_position() is not None]
            next_due = min(ahead, default=self.stepper.n_operations)
            if next_due >= stop:
                # No fault inside the next stage: run every stage up to the one a fault is in.
                reach = self.stepper.boundary_before(next_due)
                self._advance(state, position, reach, leaked)
                position = reach
                continue
            # Shots with a fault inside the next stage leave it where the fault is due.
            inside, through = _split_at(members, stop - 1)
            if not through:
                self._advance(state, position, next_due, leaked)
                position = next_due
                continue
            branch = state.copy()
            self._advance(branch, position, next_due, leaked)
            self._branch(branch, leaked, inside, next_due)
            self._advance(state, position, stop, leaked)
            members = through
            position = stop

    def _advance(self, state: np.ndarray, start: int, stop: int, leaked: frozenset[int]) -> None:
        phases = stop < self.stepper.n_operations or self.final_phases
        self.stepper.advance(state, start, stop, leaked, phases)

    def _apply(
        self, state: np.ndarray, leaked: frozenset[int], fault: Fault, group: list[_Member]
    ) -> list[tuple[np.ndarray, frozenset[int], list[_Member]]]:
        """The branches a fault makes of one branch's shots (on ``state``, which it owns): one,
        or two for a collapse."""
        branches = [(state, leaked, group)]
        for elementary in fault:
            branches = [
                branch
                for current in branches
                for branch in self._apply_elementary(*current, elementary)
            ]
        return branches

    def _apply_elementary(
        self,
        state: np.ndarray,
        leaked: frozenset[int],
        group: list[_Member],
        fault: ElementaryFault,
    ) -> list[tuple[np.ndarray, frozenset[int], list[_Member]]]:
        axis = self.stepper.axis(fault.qubit)
        effect = effect_of(fault, leaked)
        if effect.action is Action.PAULI:
            apply_pauli(state, axis, fault.kind)
        if effect.action is not Action.COLLAPSE:
            return [(state, leaked, group)]
        one = probability_of_one(state, axis)
        split: dict[int, list[_Member]] = {0: [], 1: []}
        for member in group:
            split[int(member.generator.random() < one)].append(member)
        return [
            (
                project_to_zero(state, axis, outcome, one if outcome else 1.0 - one),
                effect.leaked,
                shots,
            )
            for outcome, shots in split.items()
            if shots
        ]
