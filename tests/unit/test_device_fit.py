"""What the syntax checker calls a program that does not fit its device."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from pytket.circuit import Circuit
from pytket.qir import QIRFormat, QIRProfile, pytket_to_qir

from qstation.circuit.gates import GATES
from qstation.circuit.program import BitRef, Conditional, Const, Gate, Measure, Program
from qstation.devices.catalogue import DeviceCatalogue
from qstation.devices.validation import check_program_fits
from qstation.errors import CompileError
from qstation.frontends.qir import compile_qir

H1_1E = DeviceCatalogue.load().get("H1-1E")


@pytest.mark.parametrize("profile", [QIRProfile.PYTKET, QIRProfile.ADAPTIVE])
def test_front_end_temporaries_do_not_count_as_classical_registers(profile: QIRProfile) -> None:
    circuit = Circuit(4)
    for index in range(70):
        register = circuit.add_c_register(f"r{index}", 20)
        circuit.Measure(index % 4, register[index % 20])
    bitcode = pytket_to_qir(circuit, "wide", QIRFormat.BINARY, profile=profile)
    assert isinstance(bitcode, bytes)
    program = compile_qir(base64.b64encode(bitcode).decode())
    assert len(program.widths()) > 70  # plenty of temporaries in the ADAPTIVE profile
    check_program_fits(program, H1_1E)


def test_too_many_classical_registers_is_a_compile_error() -> None:
    registers = {f"c{i}": 1 for i in range(H1_1E.n_classical_registers + 1)}
    program = Program(1, registers, (Measure(0, BitRef("c0", 0)),))
    with pytest.raises(CompileError, match="4001 classical registers but H1-1E allows 4000"):
        check_program_fits(program, H1_1E)


def test_gate_outside_the_gate_set_and_too_many_qubits_are_named() -> None:
    with pytest.raises(CompileError, match="program uses 21 qubits but H1-1E has 20"):
        check_program_fits(Program(21, {}, ()), H1_1E)
    tk2_only = DeviceCatalogue.load().get("H1-1SC")
    assert "TK2" in tk2_only.gateset
    check_program_fits(Program(2, {}, (Gate("Rxxyyzz", (0, 1), (0.1, 0.2, 0.3)),)), tk2_only)


def test_standard_gates_fit_every_device_as_the_service_compiles_them() -> None:
    gates = tuple(
        Gate(name, tuple(range(spec.arity)), (0.25,) * spec.n_params)
        for name, spec in GATES.items()
        if not spec.native
    )
    program = Program(3, {}, (*gates, Conditional(Const(1), Gate("H", (0,)))))
    for device in DeviceCatalogue.load():
        check_program_fits(program, device)


def test_a_native_gate_missing_from_the_gate_set_is_still_refused() -> None:
    no_zz = replace(H1_1E, gateset=H1_1E.gateset - {"ZZ"})
    program = Program(2, {}, (Gate("H", (0,)), Conditional(Const(1), Gate("ZZ", (0, 1)))))
    with pytest.raises(
        CompileError, match=r"gate ZZ on qubits \[0, 1\] is not in H1-1E's gate set"
    ):
        check_program_fits(program, no_zz)
