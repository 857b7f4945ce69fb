"""hqslib1's runtime calls in OPENQASM: random numbers, the shot number and WASM calls."""

from __future__ import annotations

import pytest

from qstation.circuit.program import (
    Assign,
    Binary,
    BitRef,
    BoundRandom,
    CallWasm,
    Conditional,
    Const,
    DrawRandom,
    Gate,
    IndexRandom,
    Measure,
    ReadBit,
    ReadRegister,
    SeedRandom,
    ShotNumber,
)
from qstation.errors import CompileError
from qstation.frontends.qasm import compile_qasm
from qstation.frontends.qasm.statements import split_program

HEADER = 'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[2];\ncreg c[2];\n'
REGISTERS = "creg seed[64];\ncreg b[32];\ncreg r[32];\ncreg s[32];\n"


def body(program_text: str) -> list[object]:
    """The operations before the final records."""
    return [op for op in compile_qasm(program_text).operations if type(op).__name__ != "Record"]


def test_rng_and_shot_number_calls_become_operations_in_source_order() -> None:
    text = HEADER + REGISTERS + (
        "RNGseed(seed);\nRNGbound(b);\nRNGindex(b);\nr = RNGnum();\ns = JOB_shotnum;\n"
    )  # fmt: skip
    assert body(text) == [
        SeedRandom(ReadRegister("seed")),
        BoundRandom(ReadRegister("b")),
        IndexRandom(ReadRegister("b")),
        DrawRandom("r"),
        Assign("s", ShotNumber()),
    ]


def test_calls_between_quantum_statements_stay_between_them() -> None:
    text = HEADER + REGISTERS + (
        "U1q(0.5*pi,0) q[0];\nmeasure q[0] -> c[0];\nr = RNGnum();\n"
        "if(c[0]==1) RNGseed(seed);\nmeasure q[1] -> c[1];\nif(c==3) r = RNGnum();\n"
    )  # fmt: skip
    assert body(text) == [
        Gate("U1q", (0,), (0.5, 0.0)),
        Measure(0, BitRef("c", 0)),
        DrawRandom("r"),
        Conditional(
            Binary("eq", ReadBit(BitRef("c", 0)), Const(1)), SeedRandom(ReadRegister("seed"))
        ),
        Measure(1, BitRef("c", 1)),
        Conditional(Binary("eq", ReadRegister("c"), Const(3)), DrawRandom("r")),
    ]


def test_wasm_calls_take_and_give_whole_registers() -> None:
    text = HEADER + "creg a[8];\ncreg t[32];\nt = collatz(a);\nreset_total();\nt = add(a, t);\n"
    assert body(text) == [
        CallWasm("collatz", (ReadRegister("a"),), ("t",)),
        CallWasm("reset_total", (), ()),
        CallWasm("add", (ReadRegister("a"), ReadRegister("t")), ("t",)),
    ]


def test_conditions_on_calls_use_every_comparison() -> None:
    text = (
        HEADER
        + REGISTERS
        + "".join(
            f"if(c{operator}2) r = RNGnum();\n" for operator in ("==", "!=", "<", ">", "<=", ">=")
        )
    )
    operators = [op.condition.operator for op in body(text)]  # type: ignore[attr-defined]
    assert operators == ["eq", "ne", "ult", "ugt", "ule", "uge"]


def test_gate_definitions_and_comments_do_not_confuse_the_split() -> None:
    text = (
        HEADER
        + "// a comment; with RNGnum() in it\n"
        + "gate twice(t) a { Rz(t) a; Rz(t) a; }\n"
        + REGISTERS
        + "twice(0.25*pi) q[1];\nr = RNGnum(); // trailing\n"
    )
    split = split_program(text)
    declarations = [split.statements[index].strip() for index in sorted(split.declarations)]
    assert sum(declaration.startswith("gate") for declaration in declarations) == 1
    assert body(text) == [
        Gate("Rz", (1,), (0.25,)),
        Gate("Rz", (1,), (0.25,)),
        DrawRandom("r"),
    ]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("RNGseed(nothere);", "register 'nothere' in 'RNGseed\\(nothere\\);' is not declared"),
        ("t = nothere(a);", "register 'a' in 't = nothere\\(a\\);' is not declared"),
        ("RNGseed(seed, b);", "malformed hqslib1 runtime call"),
        ("r = RNGnum(b);", "malformed hqslib1 runtime call"),
        ("if(c[5]==1) r = RNGnum();", "bit 5 is outside c"),
        ("if(c==18446744073709551616) r = RNGnum();", "exceeds 64 bits"),
        ("if(c[0]==2) r = RNGnum();", "a bit condition must be"),
        ("if(c[0]>=1) r = RNGnum();", "a bit condition must be"),
        ("r = RNGnum()", "ends inside a statement"),
        ("}", "unbalanced"),
    ],
)
def test_malformed_calls_are_compile_errors_naming_them(statement: str, message: str) -> None:
    text = HEADER + REGISTERS + "creg t[32];\n" + statement + "\n"
    with pytest.raises(CompileError, match=message):
        compile_qasm(text)


def test_registers_only_the_calls_write_are_outputs_too() -> None:
    text = HEADER + REGISTERS + "s = JOB_shotnum;\n"
    program = compile_qasm(text)
    assert list(program.outputs()) == ["c", "seed", "b", "r", "s"]
    assert program.outputs()["s"].width == 32


def test_word_wide_registers_a_wasm_call_or_arithmetic_writes_are_signed_outputs() -> None:
    text = (
        HEADER
        + REGISTERS
        + (
            "creg t[32];\ncreg narrow[31];\ncreg w[64];\ncreg k[32];\n"
            "t = add(b);\nnarrow = add(b);\nw = seed - b;\nk = 7;\n"
            "r = RNGnum();\ns = JOB_shotnum;\n"
        )
    )
    outputs = compile_qasm(text).outputs()
    signed = {label for label, record in outputs.items() if record.signed}
    assert signed == {"t", "w"}  # not narrow, nor set, drawn or counted ones


def test_a_huge_qreg_is_refused_before_pytket_tries_to_make_it() -> None:
    text = HEADER.replace("qreg q[2]", "qreg q[299999999999999999999]") + "measure q[1] -> c[1];\n"
    with pytest.raises(CompileError, match="declares 299999999999999999999 qubits; at most 1024"):
        compile_qasm(text)


def test_reader_errors_in_a_program_with_calls_name_the_source_line() -> None:
    text = HEADER + REGISTERS + "r = RNGnum();\nmeasure q[0] -> c[0];\nmeasure q[1] -> -> c[1];\n"
    line = text.splitlines().index("measure q[1] -> -> c[1];") + 1
    with pytest.raises(CompileError, match=f"line {line}"):
        compile_qasm(text)
