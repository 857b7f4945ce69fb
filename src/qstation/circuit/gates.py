"""The gate table: the single source of truth for gate names, arities, unitaries and pytket types.

Names are the H-Series native gate names as they appear in a device's ``gateset``. Angles are in
half-turns. Unitaries follow pytket's conventions (``tests/unit/test_gates.py`` checks every one
against pytket's own unitary), with the first listed qubit as the most significant index.
"""

from __future__ import annotations

import cmath
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pytket.circuit import OpType

Matrix = np.ndarray


def _rz(angle: float) -> Matrix:
    phase = cmath.exp(-0.5j * cmath.pi * angle)
    return np.diag([phase, phase.conjugate()])


def _rx(angle: float) -> Matrix:
    c, s = np.cos(0.5 * np.pi * angle), np.sin(0.5 * np.pi * angle)
    return np.array([[c, -1j * s], [-1j * s, c]], dtype=complex)


def _phased_x(params: Sequence[float]) -> Matrix:
    theta, phi = params
    product: Matrix = _rz(phi) @ _rx(theta) @ _rz(-phi)
    return product


def _zz_phase(angle: float) -> Matrix:
    phase = cmath.exp(-0.5j * cmath.pi * angle)
    return np.diag([phase, phase.conjugate(), phase.conjugate(), phase])


_PAULI_X = np.array([[0, 1], [1, 0]], dtype=complex)
_PAULI_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_PAULI_Z = np.diag([1, -1]).astype(complex)


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


@dataclass(frozen=True)
class GateSpec:
    name: str
    arity: int
    n_params: int
    optype: OpType
    unitary: Callable[[Sequence[float]], Matrix]
    device_names: frozenset[str]  # gateset entries that admit this gate

    @property
    def is_two_qubit(self) -> bool:
        return self.arity == 2


GATES: dict[str, GateSpec] = {
    spec.name: spec
    for spec in (
        GateSpec("U1q", 1, 2, OpType.PhasedX, _phased_x, frozenset({"U1q"})),
        GateSpec("Rz", 1, 1, OpType.Rz, lambda p: _rz(p[0]), frozenset({"Rz"})),
        GateSpec("ZZ", 2, 0, OpType.ZZMax, lambda p: _zz_phase(0.5), frozenset({"ZZ"})),
        GateSpec("RZZ", 2, 1, OpType.ZZPhase, lambda p: _zz_phase(p[0]), frozenset({"RZZ"})),
        GateSpec("Rxxyyzz", 2, 3, OpType.TK2, _tk2, frozenset({"Rxxyyzz", "TK2"})),
    )
}

GATE_BY_OPTYPE: dict[OpType, GateSpec] = {spec.optype: spec for spec in GATES.values()}
