"""The fault rules every engine follows (:mod:`qstation.noise.apply`)."""

from __future__ import annotations

import pytest

from qstation.noise.apply import Action, Effect, effect_of
from qstation.noise.faults import ElementaryFault, FaultKind

LEAKED = frozenset({3})


@pytest.mark.parametrize(
    ("kind", "qubit", "effect"),
    [
        ("X", 1, Effect(Action.PAULI, LEAKED)),
        ("Z", 3, Effect(Action.NOTHING, LEAKED)),  # a leaked qubit is out of reach
        ("leak", 1, Effect(Action.COLLAPSE, frozenset({1, 3}))),
        ("leak", 3, Effect(Action.NOTHING, LEAKED)),  # no second leak
        ("reset", 3, Effect(Action.COLLAPSE, frozenset())),  # a reset brings it back
        ("reset", 1, Effect(Action.COLLAPSE, LEAKED)),
    ],
)
def test_a_fault_acts_on_a_branch_by_its_kind_and_the_qubits_leaked_so_far(
    kind: FaultKind, qubit: int, effect: Effect
) -> None:
    assert effect_of(ElementaryFault(kind, qubit), LEAKED) == effect
