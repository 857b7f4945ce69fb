"""Every gate in the table matches pytket's own unitary for the same operation."""

from __future__ import annotations

import numpy as np
import pytest
from pytket.circuit import Circuit, OpType

from qstation.circuit.gates import GATE_BY_OPTYPE, GATES, GateCount, GateSpec

NATIVE = {"U1q", "Rz", "ZZ", "RZZ", "Rxxyyzz"}
STANDARD = {"H", "X", "Y", "Z", "S", "Sdg", "T", "Tdg", "Rx", "Ry", "CX", "CZ", "SWAP", "CCX"}


@pytest.mark.parametrize("spec", GATES.values(), ids=lambda spec: spec.name)
def test_gate_unitary_matches_pytket(spec: GateSpec) -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        params = rng.uniform(-2, 2, spec.n_params).tolist()
        circuit = Circuit(spec.arity).add_gate(spec.optype, params, list(range(spec.arity)))
        np.testing.assert_allclose(spec.unitary(params), circuit.get_unitary(), atol=1e-12)


def test_the_table_holds_the_native_gates_and_the_standard_ones() -> None:
    assert {name for name, spec in GATES.items() if spec.native} == NATIVE
    assert {name for name, spec in GATES.items() if not spec.native} == STANDARD
    assert all(not GATES[name].device_names for name in STANDARD)  # in no device's gate set
    assert GATES["Rxxyyzz"].device_names == {"Rxxyyzz", "TK2"}


def test_every_native_gate_and_only_those_are_found_by_their_pytket_type() -> None:
    assert {spec.name for spec in GATE_BY_OPTYPE.values()} == NATIVE  # no two share a type
    assert GATE_BY_OPTYPE[OpType.Rz].name == "Rz"
    assert len({spec.optype for spec in GATES.values()}) == len(GATES)


@pytest.mark.parametrize(
    ("name", "charged"),
    [
        ("U1q", GateCount(1, 0)),
        ("RZZ", GateCount(0, 1)),
        ("H", GateCount(1, 0)),
        ("Rx", GateCount(1, 0)),
        ("Tdg", GateCount(1, 0)),
        ("CX", GateCount(0, 1)),
        ("CZ", GateCount(0, 1)),
        ("SWAP", GateCount(0, 3)),
        ("CCX", GateCount(9, 6)),
    ],
)
def test_each_gate_is_charged_as_the_native_gates_it_stands_for(
    name: str, charged: GateCount
) -> None:
    assert GATES[name].charged == charged


def test_the_charged_decompositions_of_swap_and_toffoli_are_exact() -> None:
    swap = Circuit(2).CX(0, 1).CX(1, 0).CX(0, 1)
    np.testing.assert_allclose(GATES["SWAP"].unitary([]), swap.get_unitary(), atol=1e-12)
    toffoli = Circuit(3)
    for step in (
        "H 2", "CX 1 2", "Tdg 2", "CX 0 2", "T 2", "CX 1 2", "Tdg 2", "CX 0 2",
        "T 1", "T 2", "H 2", "CX 0 1", "T 0", "Tdg 1", "CX 0 1",
    ):  # fmt: skip
        gate, *qubits = step.split()
        toffoli.add_gate(OpType.from_name(gate), [int(q) for q in qubits])
    np.testing.assert_allclose(GATES["CCX"].unitary([]), toffoli.get_unitary(), atol=1e-12)
    counts = [toffoli.n_1qb_gates(), toffoli.n_2qb_gates()]
    assert counts == list(GATES["CCX"].charged)
