"""Every gate in the table matches pytket's own unitary for the same operation."""

from __future__ import annotations

import numpy as np
import pytest
from pytket.circuit import Circuit

from qstation.circuit.gates import GATE_BY_OPTYPE, GATES, GateSpec


@pytest.mark.parametrize("spec", GATES.values(), ids=lambda spec: spec.name)
def test_gate_unitary_matches_pytket(spec: GateSpec) -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        params = rng.uniform(-2, 2, spec.n_params).tolist()
        circuit = Circuit(spec.arity).add_gate(spec.optype, params, list(range(spec.arity)))
        np.testing.assert_allclose(spec.unitary(params), circuit.get_unitary(), atol=1e-12)


def test_every_native_gate_is_found_by_its_pytket_type() -> None:
    assert {spec.name for spec in GATE_BY_OPTYPE.values()} == set(GATES)
    assert GATES["Rxxyyzz"].device_names == {"Rxxyyzz", "TK2"}
