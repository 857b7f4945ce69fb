"""What a drawn fault does to a branch of shots, and which bits a measurement reports: the
rules every engine follows, written once. Engines differ only in how they change their state
(a state vector, a stim tableau, a matrix-product state)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from qstation.noise.faults import ElementaryFault, ShotNoise


class Action(Enum):
    NOTHING = "nothing"
    PAULI = "pauli"
    """Apply the fault's Pauli (its ``kind``) to its qubit."""
    COLLAPSE = "collapse"
    """Collapse the qubit by each shot's own draw and put it in |0>."""


@dataclass(frozen=True, slots=True)
class Effect:
    action: Action
    leaked: frozenset[int]
    """The branch's leaked qubits after the fault."""


def effect_of(fault: ElementaryFault, leaked: frozenset[int]) -> Effect:
    """A leaked qubit is out of the computation: Paulis and a second leak do nothing to it. A
    leak parks its qubit in |0>, out of the computation (a collapse, which the shots draw); a
    reset (crosstalk) collapses its qubit to |0> and brings a leaked one back."""
    qubit = fault.qubit
    if fault.kind == "reset":
        return Effect(Action.COLLAPSE, leaked - {qubit})
    if qubit in leaked:
        return Effect(Action.NOTHING, leaked)
    if fault.kind == "leak":
        return Effect(Action.COLLAPSE, leaked | {qubit})
    return Effect(Action.PAULI, leaked)


def flip_uniforms(noises: Sequence[ShotNoise], n_measurements: int) -> np.ndarray:
    """The shots' measurement-flip uniforms: one row per shot, one column per measurement."""
    return np.array([noise.flips for noise in noises]).reshape(len(noises), n_measurements)
