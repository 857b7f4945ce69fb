"""The gate table: the single source of truth for gate names, arities, unitaries and pytket types.

Two kinds of gate share the table. *Native* gates carry the H-Series names that appear in a
device's ``gateset``. *Standard* gates are QIR's quantum instruction set (``h``, ``cnot``, ``rx``,
...), which hand-written or uncompiled QIR uses and the hosted service compiles to native gates.
Standard gates run as they are here, and :mod:`qstation.devices.cost` charges each as the native
gates a compilation would roughly turn it into (:attr:`GateSpec.charged`).

Angles are in half-turns. Unitaries follow pytket's conventions (``tests/unit/test_gates.py``
checks every one against pytket's own unitary), with the first listed qubit as the most
significant index.
"""

from __future__ import annotations

import cmath
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from pytket.circuit import OpType

Matrix = np.ndarray


def _rz(angle: float) -> Matrix:
    phase = cmath.exp(-0.5j * cmath.pi * angle)
    return np.diag([phase, phase.conjugate()])


def _rx(angle: float) -> Matrix:
    c, s = np.cos(0.5 * np.pi * angle), np.sin(0.5 * np.pi * angle)
    return np.array([[c, -1j * s], [-1j * s, c]], dtype=complex)


def _ry(angle: float) -> Matrix:
    c, s = np.cos(0.5 * np.pi * angle), np.sin(0.5 * np.pi * angle)
    return np.array([[c, -s], [s, c]], dtype=complex)


def _phased_x(params: Sequence[float]) -> Matrix:
    theta, phi = params
    product: Matrix = _rz(phi) @ _rx(theta) @ _rz(-phi)
    return product


def _zz_phase(angle: float) -> Matrix:
    phase = cmath.exp(-0.5j * cmath.pi * angle)
    return np.diag([phase, phase.conjugate(), phase.conjugate(), phase])


def _phase(turns: float) -> Matrix:
    """diag(1, e^(i pi turns)): Z, S, T and their inverses."""
    return np.diag([1, cmath.exp(1j * cmath.pi * turns)])


def _controlled(target: Matrix, controls: int) -> Matrix:
    """``target`` on the last qubit when all ``controls`` (the first qubits) are 1."""
    matrix = np.eye(2 ** (controls + 1), dtype=complex)
    matrix[-2:, -2:] = target
    return matrix


_PAULI_X = np.array([[0, 1], [1, 0]], dtype=complex)
_PAULI_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_PAULI_Z = np.diag([1, -1]).astype(complex)
_HADAMARD = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
_SWAP = np.eye(4, dtype=complex)[[0, 2, 1, 3]]


def _tk2(params: Sequence[float]) -> Matrix:
    a, b, c = params
    generator = (
        a * np.kron(_PAULI_X, _PAULI_X)
        + b * np.kron(_PAULI_Y, _PAULI_Y)
        + c * np.kron(_PAULI_Z, _PAULI_Z)
    )
    eigenvalues, eigenvectors = np.linalg.eigh(generator)
    return np.asarray(
        eigenvectors @ np.diag(np.exp(-0.5j * np.pi * eigenvalues)) @ eigenvectors.conj().T
    )


class GateCount(NamedTuple):
    """Gates as the HQC formula counts them."""

    one_qubit: int
    two_qubit: int


@dataclass(frozen=True)
class GateSpec:
    name: str
    arity: int
    n_params: int
    optype: OpType
    unitary: Callable[[Sequence[float]], Matrix]
    native: bool
    """An H-Series native gate; else a standard gate that the service compiles to native ones."""
    device_names: frozenset[str]
    """The ``gateset`` entries that admit this gate; empty for a standard gate."""
    charged: GateCount
    """The native gates the cost formula charges for it: itself for a native gate; for a standard
    gate, the two-qubit gates of its textbook decomposition into CX (one per CX or CZ) and that
    decomposition's one-qubit gates. Compiling to the native gate set adds one-qubit gates around
    each two-qubit one and may merge others, so this approximates the compiled program's count."""


def _native(
    name: str,
    arity: int,
    n_params: int,
    optype: OpType,
    unitary: Callable[[Sequence[float]], Matrix],
    device_names: Sequence[str] = (),
) -> GateSpec:
    admitted = frozenset(device_names or (name,))
    return GateSpec(name, arity, n_params, optype, unitary, True, admitted, _one_gate(arity))


def _standard(
    name: str,
    arity: int,
    n_params: int,
    optype: OpType,
    unitary: Callable[[Sequence[float]], Matrix],
    charged: GateCount | None = None,
) -> GateSpec:
    counted = _one_gate(arity) if charged is None else charged
    return GateSpec(name, arity, n_params, optype, unitary, False, frozenset(), counted)


def _one_gate(arity: int) -> GateCount:
    return GateCount(1, 0) if arity == 1 else GateCount(0, 1)


GATES: dict[str, GateSpec] = {
    spec.name: spec
    for spec in (
        _native("U1q", 1, 2, OpType.PhasedX, _phased_x),
        _native("Rz", 1, 1, OpType.Rz, lambda p: _rz(p[0])),
        _native("ZZ", 2, 0, OpType.ZZMax, lambda p: _zz_phase(0.5)),
        _native("RZZ", 2, 1, OpType.ZZPhase, lambda p: _zz_phase(p[0])),
        _native("Rxxyyzz", 2, 3, OpType.TK2, _tk2, ("Rxxyyzz", "TK2")),
        _standard("H", 1, 0, OpType.H, lambda p: _HADAMARD),
        _standard("X", 1, 0, OpType.X, lambda p: _PAULI_X),
        _standard("Y", 1, 0, OpType.Y, lambda p: _PAULI_Y),
        _standard("Z", 1, 0, OpType.Z, lambda p: _PAULI_Z),
        _standard("S", 1, 0, OpType.S, lambda p: _phase(0.5)),
        _standard("Sdg", 1, 0, OpType.Sdg, lambda p: _phase(-0.5)),
        _standard("T", 1, 0, OpType.T, lambda p: _phase(0.25)),
        _standard("Tdg", 1, 0, OpType.Tdg, lambda p: _phase(-0.25)),
        _standard("Rx", 1, 1, OpType.Rx, lambda p: _rx(p[0])),
        _standard("Ry", 1, 1, OpType.Ry, lambda p: _ry(p[0])),
        _standard("CX", 2, 0, OpType.CX, lambda p: _controlled(_PAULI_X, 1)),
        _standard("CZ", 2, 0, OpType.CZ, lambda p: _controlled(_PAULI_Z, 1)),
        _standard("SWAP", 2, 0, OpType.SWAP, lambda p: _SWAP, GateCount(0, 3)),
        # 6 CX, 2 H and 7 T or Tdg: the usual decomposition without ancillas
        _standard("CCX", 3, 0, OpType.CCX, lambda p: _controlled(_PAULI_X, 2), GateCount(9, 6)),
    )
}

GATE_BY_OPTYPE: dict[OpType, GateSpec] = {
    spec.optype: spec for spec in GATES.values() if spec.native
}
"""The native gates by pytket type, for circuits read back from pytket: the optimiser's output
(rebased to native gates) and OPENQASM programs, which must hold native gates only (qelib1's
``h``, ``cx``, ... stay refused there, as docs/protocol.md says)."""
