"""What the syntax checker calls a program that does not fit its device."""

from __future__ import annotations

import base64

import pytest
from pytket.circuit import Circuit
from pytket.qir import QIRFormat, QIRProfile, pytket_to_qir

from qstation.circuit.program import BitRef, Gate, Measure, Program
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
