"""Noisy state-vector emulation that simulates each distinct noise realisation once.

Every shot first draws its faults (:mod:`qstation.noise.faults`). Shots then run together as a
tree: all start on one state; where some shots' next fault is due, they branch off onto a copy
with the fault applied, and the rest go on. So shots that agree on their faults up to a point
share the simulation up to that point, and the fault-free majority is simulated once. A fault
that needs a random outcome (a leak or a reset collapses its qubit) splits its branch by each
shot's own draw. Every leaf samples its shots' outcomes from its final state, with the same
per-shot uniforms the exact engine uses; measurement flips are applied to the measured bits.
The result is exactly the noise model's distribution: each shot's faults are drawn from it, and
its outcome from the state those faults give.

Only programs whose quantum part is fixed (terminal measurements) take this path; the others
run in branching groups of shots (:mod:`qstation.engines.branching`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qstation.circuit.program import Gate, Measure
from qstation.noise.faults import ElementaryFault, Fault, NoisePlan, ShotNoise

_PAULI_MATRICES = {
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def apply_pauli(state: np.ndarray, axis: int, pauli: str) -> np.ndarray:
    moved = np.tensordot(_PAULI_MATRICES[pauli], state, axes=([1], [axis]))
    return np.moveaxis(moved, 0, axis)


def probabilities(state: np.ndarray) -> np.ndarray:
    """|amplitude|^2 in the state's C order, flat, in one array of half a state's size."""
    squared = np.empty(state.shape, dtype=np.float64)
    np.abs(state, out=squared)
    np.square(squared, out=squared)
    return squared.reshape(-1)


def probability_of_one(state: np.ndarray, axis: int) -> float:
    return float(np.sum(np.abs(np.take(state, 1, axis=axis)) ** 2))


def project_to_zero(state: np.ndarray, axis: int, outcome: int, probability: float) -> np.ndarray:
    """The state after measuring ``outcome`` on ``axis`` (with that ``probability``), with the
    qubit then set to |0> (a reset, or a leaked qubit parked in |0>)."""
    kept = np.take(state, outcome, axis=axis) / np.sqrt(probability)
    projected = np.zeros_like(state)
    index: list[slice | int] = [slice(None)] * state.ndim
    index[axis] = 0
    projected[tuple(index)] = kept
    return projected


@dataclass
class _Member:
    shot: int
    noise: ShotNoise
    cursor: int = 0  # the next of its events

    def next_position(self) -> int | None:
        events = self.noise.events
        return events[self.cursor][0] if self.cursor < len(events) else None


@dataclass
class Leaf:
    """Shots that ended on one state, with the qubits (program numbering) leaked in them."""

    state: np.ndarray
    shots: list[int]
    leaked: frozenset[int]


class FaultTree:
    """Runs the tree of shots for a program whose quantum part is fixed."""

    def __init__(
        self,
        operations: list[object],
        compact: dict[int, int],
        apply_gate: Callable[[np.ndarray, int, Gate], np.ndarray],
    ) -> None:
        self.operations = operations
        self.compact = compact
        self.apply_gate = apply_gate
        self.leaves: list[Leaf] = []

    def run(self, state: np.ndarray, noises: list[ShotNoise]) -> list[Leaf]:
        members = [_Member(shot, noise) for shot, noise in enumerate(noises)]
        self._branch(state, frozenset(), members, 0)
        return self.leaves

    def _branch(
        self, state: np.ndarray, leaked: frozenset[int], members: list[_Member], next_op: int
    ) -> None:
        """Apply the operations from ``next_op`` on; faults at position ``p`` come after
        operation ``p`` (at -1: before the first)."""
        operation_index = next_op
        while True:
            due: dict[Fault, list[_Member]] = defaultdict(list)
            staying: list[_Member] = []
            for member in members:
                if member.next_position() == operation_index - 1:
                    fault = member.noise.events[member.cursor][1]
                    member.cursor += 1
                    due[fault].append(member)
                else:
                    staying.append(member)
            for fault, group in due.items():
                for child_state, child_leaked, child_group in self._apply(
                    state, leaked, fault, group
                ):
                    self._branch(child_state, child_leaked, child_group, operation_index)
            members = staying
            if not members:
                return
            if operation_index == len(self.operations):
                self.leaves.append(Leaf(state, [m.shot for m in members], leaked))
                return
            operation = self.operations[operation_index]
            if isinstance(operation, Gate) and not leaked.intersection(operation.qubits):
                state = self.apply_gate(state, operation_index, operation)
            operation_index += 1

    def _apply(
        self, state: np.ndarray, leaked: frozenset[int], fault: Fault, group: list[_Member]
    ) -> list[tuple[np.ndarray, frozenset[int], list[_Member]]]:
        """The branches a fault makes of one branch's shots: one, or two for a collapse."""
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
        axis = self.compact[fault.qubit]
        if fault.kind in _PAULI_MATRICES:
            if fault.qubit in leaked:
                return [(state, leaked, group)]
            return [(apply_pauli(state, axis, fault.kind), leaked, group)]
        if fault.kind == "leak" and fault.qubit in leaked:
            return [(state, leaked, group)]
        after = leaked | {fault.qubit} if fault.kind == "leak" else leaked - {fault.qubit}
        one = probability_of_one(state, axis)
        split: dict[int, list[_Member]] = {0: [], 1: []}
        for member in group:
            split[int(member.noise.generator.random() < one)].append(member)
        return [
            (project_to_zero(state, axis, outcome, one if outcome else 1.0 - one), after, shots)
            for outcome, shots in split.items()
            if shots
        ]


def measured_bits(
    leaves: list[Leaf],
    compact: dict[int, int],
    measurements: list[Measure],
    uniforms: np.ndarray,
    plan: NoisePlan,
    noises: list[ShotNoise],
) -> list[np.ndarray]:
    """Each measurement's reported bit in every shot: sampled from its leaf's state (leaked
    qubits read 1), then flipped with the model's probabilities."""
    n_shots = uniforms.size
    n_qubits = len(compact)
    indices = np.zeros(n_shots, dtype=np.uint64)
    leaked_mask = np.zeros(n_shots, dtype=np.uint64)
    for leaf in leaves:
        shots = np.array(leaf.shots)
        cumulative = probabilities(leaf.state)
        np.cumsum(cumulative, out=cumulative)
        targets = uniforms[shots] * cumulative[-1]
        found = np.searchsorted(cumulative, targets, side="right")
        indices[shots] = np.minimum(found, cumulative.size - 1).astype(np.uint64)
        mask = sum(1 << (n_qubits - 1 - compact[q]) for q in leaf.leaked)
        leaked_mask[shots] = np.uint64(mask)
    flips = np.array([noise.flips for noise in noises]).reshape(n_shots, len(measurements))
    bits = []
    for index, measurement in enumerate(measurements):
        shift = np.uint64(n_qubits - 1 - compact[measurement.qubit])
        bit = ((indices | leaked_mask) >> shift) & np.uint64(1)
        threshold = np.where(bit == 1, plan.p_meas_1, plan.p_meas_0)
        bits.append(bit ^ (flips[:, index] < threshold).astype(np.uint64))
    return bits
