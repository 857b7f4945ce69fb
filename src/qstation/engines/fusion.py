"""Gate fusion for the state-vector engine: runs of gates become stages (:mod:`.kernels`).

Consecutive one-qubit gates on a qubit multiply into one matrix; diagonal gates on one or two
qubits (Rz, RZZ, ZZMax, CZ, S, T, ...) become terms of one diagonal phase; a stage closes when a
dense gate meets a qubit that a two-qubit phase already holds, and other gates (CX, CCX, ...)
run alone. A compiled H-Series layer (U1q and Rz on every qubit, then RZZ on pairs) is one
stage, two passes over the state instead of one per gate. For the kernels
(:func:`compile_steps`) each dense gate becomes a phase, a real rotation and a phase, and a
stage's phases after its rotations join the next stage's phases before them, so every kernel
call is one diagonal, then real rotations.

Global phases are dropped: every use of a state (sampling, projection, probabilities) is blind to
them.
"""

from __future__ import annotations

import cmath
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from qstation.engines import kernels

_IDENTITY = np.eye(2, dtype=complex)


@dataclass
class Stage:
    """Dense one-qubit gates (compact qubit -> 2x2), then ``exp(i * phase)`` with ``phase`` the
    sum of ``linear[q] * b_q`` and ``pairs[(a, b)] * b_a * b_b`` over the qubits' bits."""

    start: int
    """The position of its first gate in the program."""
    gates: dict[int, np.ndarray] = field(default_factory=dict)
    linear: dict[int, float] = field(default_factory=dict)
    pairs: dict[tuple[int, int], float] = field(default_factory=dict)

    def paired(self, qubit: int) -> bool:
        return any(qubit in pair for pair in self.pairs)

    def add_one_qubit(self, qubit: int, matrix: np.ndarray) -> bool:
        """Fold the gate in; False when it cannot join (its qubit is in a pair already)."""
        if _is_diagonal(matrix):
            self.linear[qubit] = self.linear.get(qubit, 0.0) + _angle(matrix[1, 1], matrix[0, 0])
            return True
        if self.paired(qubit):
            return False
        earlier = self.gates.get(qubit, _IDENTITY)
        if self.linear.get(qubit):
            earlier = np.diag([1.0, cmath.exp(1j * self.linear.pop(qubit))]) @ earlier
        self.gates[qubit] = matrix @ earlier
        return True

    def add_diagonal_pair(self, first: int, second: int, diagonal: np.ndarray) -> None:
        """``diagonal`` over (first, second), first most significant."""
        d00, d01, d10, d11 = diagonal
        self.linear[first] = self.linear.get(first, 0.0) + _angle(d10, d00)
        self.linear[second] = self.linear.get(second, 0.0) + _angle(d01, d00)
        key = (min(first, second), max(first, second))
        self.pairs[key] = self.pairs.get(key, 0.0) + _angle(d11 * d00, d10 * d01)

    def is_empty(self) -> bool:
        return not (self.gates or self.linear or self.pairs)


@dataclass
class DenseGate:
    """A gate no stage takes, applied on its own: ``matrix`` over ``qubits`` (compact, first
    most significant)."""

    start: int
    matrix: np.ndarray
    qubits: tuple[int, ...]


Step = Stage | DenseGate


def fuse(gates: Sequence[tuple[int, tuple[int, ...], np.ndarray]]) -> list[Step]:
    """Steps equal (up to global phase) to applying ``gates``, (position, compact qubits,
    unitary), in order."""
    steps: list[Step] = []
    stage: Stage | None = None
    for position, qubits, matrix in gates:
        if stage is None:
            stage = Stage(position)
        if len(qubits) == 1 and stage.add_one_qubit(qubits[0], matrix):
            continue
        if len(qubits) == 2 and _is_diagonal(matrix):
            stage.add_diagonal_pair(qubits[0], qubits[1], np.diag(matrix))
            continue
        if not stage.is_empty():
            steps.append(stage)
        stage = None
        if len(qubits) == 1:
            stage = Stage(position)
            stage.add_one_qubit(qubits[0], matrix)
        else:
            steps.append(DenseGate(position, matrix, qubits))
    if stage is not None and not stage.is_empty():
        steps.append(stage)
    return steps


@dataclass
class CompiledStage:
    """A diagonal phase, then real rotations, in the kernel's bit numbering: built once and
    applied many times (:func:`compile_steps`)."""

    n_bits: int
    gate_bits: np.ndarray
    rotations: np.ndarray
    """Each gate's (cos, sin): the rotation [[cos, -sin], [sin, cos]]."""
    linear: np.ndarray
    """Each bit's phase angle."""
    pair_a: np.ndarray
    pair_b: np.ndarray
    pair_phase: np.ndarray

    @property
    def is_diagonal(self) -> bool:
        return self.gate_bits.size == 0

    def apply(self, flat_state: np.ndarray) -> None:
        kernels.apply_stage(
            flat_state, self.n_bits, self.gate_bits, self.rotations, self.linear,
            self.pair_a, self.pair_b, self.pair_phase,
        )  # fmt: skip


@dataclass
class _Diagonal:
    """A diagonal phase waiting for the rotations after it, in kernel bits."""

    linear: np.ndarray
    pairs: dict[tuple[int, int], float] = field(default_factory=dict)

    def then_rotations(
        self, n_bits: int, gate_bits: list[int], rotations: list[tuple[float, float]]
    ) -> CompiledStage:
        return CompiledStage(
            n_bits=n_bits,
            gate_bits=np.array(gate_bits, dtype=np.int64),
            rotations=np.array(rotations, dtype=np.float64).reshape(-1, 2),
            linear=self.linear,
            pair_a=np.array([a for a, _ in self.pairs], dtype=np.int64),
            pair_b=np.array([b for _, b in self.pairs], dtype=np.int64),
            pair_phase=np.array(list(self.pairs.values()), dtype=np.float64),
        )

    def is_identity(self) -> bool:
        return not (self.pairs or self.linear.any())


def compile_steps(steps: Sequence[Step], n_qubits: int) -> list[CompiledStage | DenseGate]:
    """``steps`` for the kernels: every stage's dense gates split by :func:`as_rotation`, so
    that each stage's phases after its rotations join the next stage's phases before them,
    and a stage is one diagonal, then real rotations. A diagonal that no rotation follows (at
    the end, or before a dense gate) is a stage of its own; at the end it is the last step, a
    phase that sampling does not see."""

    def bit(qubit: int) -> int:
        return n_qubits - 1 - qubit

    compiled: list[CompiledStage | DenseGate] = []
    pending = _Diagonal(np.zeros(n_qubits))
    for step in steps:
        if isinstance(step, DenseGate):
            if not pending.is_identity():
                compiled.append(pending.then_rotations(n_qubits, [], []))
                pending = _Diagonal(np.zeros(n_qubits))
            compiled.append(step)
            continue
        after = _Diagonal(np.zeros(n_qubits))
        gate_bits, rotations = [], []
        for qubit, matrix in step.gates.items():
            before, rotation, later = as_rotation(matrix)
            pending.linear[bit(qubit)] += before
            after.linear[bit(qubit)] += later
            gate_bits.append(bit(qubit))
            rotations.append(rotation)
        compiled.append(pending.then_rotations(n_qubits, gate_bits, rotations))
        for qubit, angle in step.linear.items():
            after.linear[bit(qubit)] += angle
        after.pairs = {(bit(a), bit(b)): delta for (a, b), delta in step.pairs.items()}
        pending = after
    if not pending.is_identity():
        compiled.append(pending.then_rotations(n_qubits, [], []))
    return compiled


def as_rotation(matrix: np.ndarray) -> tuple[float, tuple[float, float], float]:
    """A one-qubit unitary as ``diag(1, e^{i after}) R diag(1, e^{i before})`` up to global
    phase, with ``R = [[c, -s], [s, c]]`` real: returns ``(before, (c, s), after)``. Each
    angle is read from the larger entries of its row or column, so a rotation by a tiny
    angle (``s`` near 0) keeps its phases exact where they matter."""
    (g00, g01), (g10, g11) = matrix
    c, s = abs(g00), abs(g10)
    norm = np.hypot(c, s)
    c, s = c / norm, s / norm
    # matrix = e^{i a0} [[c, -s e^{i b}], [s e^{i (a1 - a0)}, c e^{i (a1 - a0 + b)}]]
    if c >= s:
        a0, a1_plus_b = cmath.phase(g00), cmath.phase(g11)
        a1 = cmath.phase(g10) if s > 0 else a1_plus_b
        before = a1_plus_b - a1
    else:
        a1, a0_plus_b = cmath.phase(g10), cmath.phase(-g01)
        a0 = cmath.phase(g00) if c > 0 else a0_plus_b
        before = a0_plus_b - a0
    return before, (float(c), float(s)), a1 - a0


def _is_diagonal(matrix: np.ndarray) -> bool:
    return bool(np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0)


def _angle(numerator: complex, denominator: complex) -> float:
    """The phase of ``numerator / denominator`` for unit-modulus entries."""
    return cmath.phase(numerator * denominator.conjugate())
