"""The QIR 1.0 front end: pytket-qir output in both profiles, hand-written LLVM, hostile input.

Programs are checked by evaluating them with a tiny reference interpreter for basis states:
circuits flip qubits with ``PhasedX(1, phi)`` and otherwise use only diagonal gates, so every
measurement outcome is known and the classical part must reproduce the expected creg values.
Any other ``PhasedX`` leaves its qubit unknown until a measurement, whose outcome a test gives.
Programs with QIR's standard gates (``h``, ``cnot``, ...) run on the real engine instead.
"""

from __future__ import annotations

import math
import random
from base64 import b64encode
from collections.abc import Iterable

import pyqir
import pytest
from pytket import Circuit
from pytket.circuit.logic_exp import reg_lt
from pytket.qir import QIRFormat, QIRProfile, pytket_to_qir

from qstation.circuit.program import (
    WORD_MASK,
    Assign,
    Barrier,
    Binary,
    BitRef,
    Conditional,
    Const,
    Expression,
    Gate,
    Measure,
    Operation,
    Program,
    ReadBit,
    ReadRegister,
    Record,
    Reset,
    SetBit,
    Unary,
)
from qstation.engines.statevector import StateVectorEngine
from qstation.errors import CompileError
from qstation.frontends.qir import compile_qir
from tests.programs import gates_of, record_labels

PROFILES = [QIRProfile.PYTKET, QIRProfile.ADAPTIVE]
PI = "0x400921FB54442D18"  # math.pi as an LLVM double


# --- helpers ---------------------------------------------------------------------------------


def from_pytket(circuit: Circuit, profile: QIRProfile) -> Program:
    bitcode = pytket_to_qir(circuit, "test", QIRFormat.BINARY, profile=profile)
    assert isinstance(bitcode, bytes)
    return compile_qir(b64encode(bitcode).decode())


def base64_bitcode(llvm_ir: str) -> str:
    return b64encode(pyqir.Module.from_ir(pyqir.Context(), llvm_ir).bitcode).decode()


_LABELS = "\n".join(f'@{name} = internal constant [2 x i8] c"{name}\\00"' for name in "abcde")
_DECLARATIONS = """
declare void @__quantum__qis__phasedx__body(double, double, ptr)
declare void @__quantum__qis__rz__body(double, ptr)
declare void @__quantum__qis__zzmax__body(ptr, ptr)
declare void @__quantum__qis__mz__body(ptr, ptr)
declare void @__quantum__qis__reset__body(ptr)
declare void @__quantum__qis__foo__body(ptr)
declare void @__quantum__qis__h__body(ptr)
declare void @__quantum__qis__x__body(ptr)
declare void @__quantum__qis__y__body(ptr)
declare void @__quantum__qis__z__body(ptr)
declare void @__quantum__qis__s__body(ptr)
declare void @__quantum__qis__s__adj(ptr)
declare void @__quantum__qis__t__body(ptr)
declare void @__quantum__qis__t__adj(ptr)
declare void @__quantum__qis__rx__body(double, ptr)
declare void @__quantum__qis__ry__body(double, ptr)
declare void @__quantum__qis__cnot__body(ptr, ptr)
declare void @__quantum__qis__cx__body(ptr, ptr)
declare void @__quantum__qis__cz__body(ptr, ptr)
declare void @__quantum__qis__swap__body(ptr, ptr)
declare void @__quantum__qis__ccx__body(ptr, ptr, ptr)
declare i1 @__quantum__qis__read_result__body(ptr)
declare void @__quantum__rt__initialize(ptr)
declare void @__quantum__rt__tuple_record_output(i64, ptr)
declare void @__quantum__rt__int_record_output(i64, ptr)
declare void @__quantum__rt__bool_record_output(i1, ptr)
declare void @__quantum__rt__result_record_output(ptr, ptr)
declare ptr @create_creg(i64)
declare void @mz_to_creg_bit(ptr, ptr, i64)
declare void @set_creg_bit(ptr, i64, i1)
declare i1 @get_creg_bit(ptr, i64)
declare i64 @get_int_from_creg(ptr)
declare void @set_creg_to_int(ptr, i64)
"""
_ENTRY = '"entry_point" "required_num_qubits"="2" "required_num_results"="2"'


def qir_module(body: str, attributes: str = _ENTRY, extra: str = "") -> str:
    """A module whose entry point @main runs ``body`` and returns."""
    definition = f"define void @main() #0 {{\nentry:\n{body}\n  ret void\n}}"
    return _with_declarations(definition, attributes, extra)


def _with_declarations(definition: str, attributes: str, extra: str) -> str:
    return (
        f"{_LABELS}\n{definition}\n{extra}\n{_DECLARATIONS}\nattributes #0 = {{ {attributes} }}\n"
    )


def from_body(body: str, attributes: str = _ENTRY, extra: str = "") -> Program:
    return compile_qir(base64_bitcode(qir_module(body, attributes, extra)))


def from_definition(definition: str, attributes: str = _ENTRY) -> Program:
    """Compile a module whose entry point is ``definition`` (``define void @main() #0 {...}``)."""
    return compile_qir(base64_bitcode(_with_declarations(definition, attributes, "")))


def run_program(program: Program, outcomes: Iterable[int] = ()) -> dict[str, str]:
    """Evaluate a program on basis states; outputs as MSB-first bit strings.

    A ``PhasedX`` that is not a flip makes its qubit unknown (None); measuring an unknown qubit
    takes the next of ``outcomes`` and leaves the qubit in that state.
    """
    qubits: list[int | None] = [0] * program.n_qubits
    pending = iter(outcomes)
    registers = dict.fromkeys(program.widths(), 0)
    outputs: dict[str, str] = {}

    def width(register: str) -> int:
        assert register in program.widths(), f"register {register} is not declared"
        assert 0 <= program.widths()[register] <= 64
        return program.widths()[register]

    def set_bit(bit: BitRef, value: int) -> None:
        assert bit.index < width(bit.register)
        registers[bit.register] = registers[bit.register] & ~(1 << bit.index) | (value << bit.index)

    def evaluate(expression: Expression) -> int:
        match expression:
            case Const(value):
                return value & WORD_MASK
            case ReadBit(bit):
                assert bit.index < width(bit.register)
                return registers[bit.register] >> bit.index & 1
            case ReadRegister(register):
                width(register)
                return registers[register]
            case Unary("not", operand):
                return ~evaluate(operand) & WORD_MASK
            case Unary("neg", operand):
                return -evaluate(operand) & WORD_MASK
            case Binary(operator, left, right):
                return _binary(operator, evaluate(left), evaluate(right)) & WORD_MASK
        raise AssertionError(f"unknown expression {expression}")

    def execute(operation: Operation) -> None:
        match operation:
            case Conditional(condition, inner):
                if evaluate(condition):
                    execute(inner)
            case Gate("U1q", (qubit,), (theta, _)):
                state = qubits[qubit]
                if not math.isclose(theta, round(theta)):
                    qubits[qubit] = None  # a superposition until it is measured
                elif state is not None:
                    qubits[qubit] = state ^ round(theta) % 2
            case Gate("Rz" | "RZZ" | "ZZ"):
                pass  # diagonal: a basis state keeps its bits
            case Reset(qubit):
                qubits[qubit] = 0
            case Measure(qubit, target):
                if qubits[qubit] is None:
                    outcome = next(pending, None)
                    assert outcome in (0, 1), "measuring an unknown qubit needs an outcome"
                    qubits[qubit] = outcome
                state = qubits[qubit]
                assert state is not None
                set_bit(target, state)
            case Barrier():
                pass
            case Assign(register, value):
                registers[register] = evaluate(value) & ((1 << width(register)) - 1)
            case SetBit(target, value):
                set_bit(target, evaluate(value) & 1)
            case Record(label, value, bits):
                number = evaluate(value)
                assert 1 <= bits <= 64 and number < 1 << bits, f"{label}={number} overflows {bits}"
                outputs[label] = format(number, f"0{bits}b")
            case _:
                raise AssertionError(f"not a basis-state operation: {operation}")

    for operation in program.operations:
        execute(operation)
    return outputs


def _binary(operator: str, a: int, b: int) -> int:
    match operator:
        case "add":
            return a + b
        case "sub":
            return a - b
        case "mul":
            return a * b
        case "udiv":
            return a // b
        case "urem":
            return a % b
        case "and":
            return a & b
        case "or":
            return a | b
        case "xor":
            return a ^ b
        case "shl":
            return a << b if b < 64 else 0
        case "lshr":
            return a >> b
    comparisons = {
        "eq": a == b,
        "ne": a != b,
        "ult": a < b,
        "ule": a <= b,
        "ugt": a > b,
        "uge": a >= b,
    }
    return int(comparisons[operator])


def int_output(value: int, creg_width: int, profile: QIRProfile) -> str:
    """How ``run_program`` shows the ``int_record_output`` of a creg holding ``value``.

    The PYTKET profile records ``get_int_from_creg``, so the record is as wide as the creg; the
    ADAPTIVE profile has no cregs, only integers, which are recorded with all 64 bits.
    """
    width = creg_width if profile == QIRProfile.PYTKET else 64
    return format(value, f"0{width}b")


def creg_circuit(values: dict[str, tuple[int, int]]) -> Circuit:
    """One qubit per creg bit, flipped to ``value``'s bit, surrounded by diagonal gates."""
    n_qubits = sum(width for width, _ in values.values())
    circuit = Circuit(n_qubits)
    qubit = 0
    measurements = []
    for name, (width, value) in values.items():
        register = circuit.add_c_register(name, width)
        for index in range(width):
            if value >> index & 1:
                circuit.PhasedX(1, 0.25, qubit)
            circuit.Rz(0.3, qubit)
            measurements.append((qubit, register[index]))
            qubit += 1
    for first in range(n_qubits - 1):
        circuit.ZZPhase(0.2, first, first + 1)
    circuit.ZZMax(0, n_qubits - 1)
    for qubit_, bit in reversed(measurements):
        circuit.Measure(qubit_, bit)
    return circuit


# --- pytket-qir programs, both profiles -------------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
def test_native_gates_arrive_in_order_with_half_turn_angles(profile: QIRProfile) -> None:
    circuit = Circuit(3)
    circuit.PhasedX(0.1, 0.2, 0).Rz(0.3, 1).ZZPhase(0.4, 0, 1).ZZMax(1, 2)
    circuit.TK2(0.1, 0.2, 0.3, 0, 2)

    gates = gates_of(from_pytket(circuit, profile))

    assert [(gate.name, gate.qubits) for gate in gates] == [
        ("U1q", (0,)),
        ("Rz", (1,)),
        ("RZZ", (0, 1)),
        ("ZZ", (1, 2)),
        ("Rxxyyzz", (0, 2)),
    ]
    expected = [(0.1, 0.2), (0.3,), (0.4,), (), (0.1, 0.2, 0.3)]
    for gate, params in zip(gates, expected, strict=True):
        assert gate.params == pytest.approx(params, abs=1e-12)


@pytest.mark.parametrize("profile", PROFILES)
def test_barriers_and_resets_keep_their_qubits(profile: QIRProfile) -> None:
    circuit = Circuit(3)
    circuit.add_barrier([0, 2])
    circuit.Reset(1)
    circuit.add_barrier([0, 1, 2])

    program = from_pytket(circuit, profile)

    assert list(program.operations) == [Barrier((0, 2)), Reset(1), Barrier((0, 1, 2))]


@pytest.mark.parametrize("profile", PROFILES)
def test_qubit_count_is_the_declared_one_even_if_unused(profile: QIRProfile) -> None:
    circuit = Circuit(5)
    circuit.Rz(0.5, 1)

    assert from_pytket(circuit, profile).n_qubits == 5


def test_pytket_profile_measures_into_cregs_in_creation_order() -> None:
    circuit = Circuit(2)
    first, second = circuit.add_c_register("a", 2), circuit.add_c_register("b", 3)
    circuit.Measure(0, second[2]).Measure(1, first[0])

    program = from_pytket(circuit, QIRProfile.PYTKET)

    measures = {op for op in program.operations if isinstance(op, Measure)}
    assert measures == {Measure(0, BitRef("creg1", 2)), Measure(1, BitRef("creg0", 0))}
    assert program.registers["creg0"] == 2
    assert program.registers["creg1"] == 3


def test_adaptive_profile_measures_into_one_result_slot_per_qubit() -> None:
    circuit = Circuit(2)
    register = circuit.add_c_register("a", 2)
    circuit.Measure(1, register[0]).Measure(0, register[1])

    program = from_pytket(circuit, QIRProfile.ADAPTIVE)

    measures = {op for op in program.operations if isinstance(op, Measure)}
    assert measures == {Measure(1, BitRef("result1", 0)), Measure(0, BitRef("result0", 0))}
    assert program.temporaries["result0"] == program.temporaries["result1"] == 1
    assert program.registers == {}  # result slots are not classical registers of the user


@pytest.mark.parametrize(
    ("profile", "widths"),
    [(QIRProfile.PYTKET, [("a", 3), ("b", 5)]), (QIRProfile.ADAPTIVE, [("a", 64), ("b", 64)])],
)
def test_records_of_a_3_and_a_5_bit_creg_are_as_wide_as_the_profile_tells(
    profile: QIRProfile, widths: list[tuple[str, int]]
) -> None:
    program = from_pytket(creg_circuit({"a": (3, 0b101), "b": (5, 0b10011)}), profile)

    records = [op for op in program.operations if isinstance(op, Record)]
    assert [(record.label, record.width) for record in records] == widths


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("a", "b"), [(0, 0), (0b101, 0b10011), (0b111, 0b11111), (0b100, 0b10000), (0b010, 0b01110)]
)
def test_measured_bits_reproduce_the_creg_values(profile: QIRProfile, a: int, b: int) -> None:
    program = from_pytket(creg_circuit({"a": (3, a), "b": (5, b)}), profile)

    assert run_program(program) == {"a": int_output(a, 3, profile), "b": int_output(b, 5, profile)}


@pytest.mark.parametrize("profile", PROFILES)
def test_classical_operations_compute_what_pytket_means(profile: QIRProfile) -> None:
    circuit = Circuit(2)
    a, b = circuit.add_c_register("a", 3), circuit.add_c_register("b", 4)
    flags = circuit.add_c_register("flags", 2)
    circuit.PhasedX(1, 0, 0)
    circuit.Measure(0, a[1])  # a = 010
    circuit.add_c_setbits([True], [a[0]])  # a = 011
    circuit.add_c_copybits([a[1]], [a[2]])  # a = 111
    circuit.add_c_setbits([True, False, True, False], b.to_list())  # b = 0101
    circuit.add_clexpr_from_logicexp(a + b, b.to_list())  # b = 7 + 5 = 1100
    circuit.add_clexpr_from_logicexp(reg_lt(a, b), [flags[0]])  # 7 < 12
    circuit.add_clexpr_from_logicexp(a[0] ^ b[0], [flags[1]])  # 1 ^ 0

    assert run_program(from_pytket(circuit, profile)) == {
        "a": int_output(0b111, 3, profile),
        "b": int_output(0b1100, 4, profile),
        "flags": int_output(0b11, 2, profile),
    }


# --- hand-written QIR ---------------------------------------------------------------------------


def test_result_and_bool_outputs_are_one_bit_wide() -> None:
    program = from_body(f"""
  call void @__quantum__rt__initialize(ptr null)
  call void @__quantum__qis__phasedx__body(double {PI}, double 0.0, ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__mz__body(ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 1 to ptr))
  %bit = call i1 @__quantum__qis__read_result__body(ptr inttoptr (i64 1 to ptr))
  %flipped = xor i1 %bit, true
  call void @__quantum__rt__tuple_record_output(i64 2, ptr null)
  call void @__quantum__rt__result_record_output(ptr inttoptr (i64 1 to ptr), ptr @a)
  call void @__quantum__rt__bool_record_output(i1 %flipped, ptr @b)""")

    assert run_program(program) == {"a": "1", "b": "0"}
    assert program.n_qubits == 2
    assert program.temporaries["%bit"] == program.temporaries["%flipped"] == 1


def test_unnamed_values_get_the_numbers_llvm_prints() -> None:
    program = from_body("""
  %0 = call i1 @__quantum__qis__read_result__body(ptr null)
  %1 = zext i1 %0 to i64
  call void @__quantum__rt__int_record_output(i64 %1, ptr @a)""")

    assert program.temporaries == {"result0": 1, "%0": 1, "%1": 64}
    assert program.operations == (
        Assign("%0", ReadBit(BitRef("result0", 0))),
        Assign("%1", ReadRegister("%0")),
        Record("a", ReadRegister("%1"), 64, signed=True),  # only a creg's value is narrower
    )


def test_qubit_count_without_attribute_is_one_past_the_highest_qubit() -> None:
    program = from_body(
        "  call void @__quantum__qis__rz__body(double 1.0, ptr inttoptr (i64 3 to ptr))",
        attributes='"entry_point"',
    )

    assert program.n_qubits == 4
    (gate,) = gates_of(program)
    assert (gate.name, gate.qubits) == ("Rz", (3,))
    assert gate.params == pytest.approx((1 / math.pi,))


def test_integer_instructions_follow_llvm_semantics() -> None:
    program = from_body(f"""
  call void @__quantum__qis__phasedx__body(double {PI}, double 0.0, ptr null)
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  %one = call i1 @__quantum__qis__read_result__body(ptr null)
  %byte = zext i1 %one to i8
  %minus_one = sub i8 0, %byte
  %all_ones = sext i8 %minus_one to i64
  %small = sext i8 %byte to i64
  %nibble = trunc i64 %all_ones to i4
  %nibble64 = zext i4 %nibble to i64
  %negative = icmp slt i8 %minus_one, 0
  %positive = icmp sgt i8 %minus_one, 0
  %above = icmp ugt i8 %minus_one, 200
  %picked = select i1 %negative, i64 6, i64 9
  %shifted = shl i64 %picked, 3
  %halved = lshr i64 %shifted, 1
  %quotient = udiv i64 %halved, 5
  %rest = urem i64 %halved, 5
  %sum = add i64 %quotient, %rest
  %square = mul i64 %sum, %sum
  %flags = zext i1 %positive to i64
  %flag_above = zext i1 %above to i64
  %both = shl i64 %flag_above, 1
  %bits = or i64 %both, %flags
  call void @__quantum__rt__int_record_output(i64 %all_ones, ptr @a)
  call void @__quantum__rt__int_record_output(i64 %nibble64, ptr @b)
  call void @__quantum__rt__int_record_output(i64 %square, ptr @c)
  call void @__quantum__rt__int_record_output(i64 %bits, ptr @d)
  call void @__quantum__rt__int_record_output(i64 %small, ptr @e)""")

    outputs = run_program(program)

    assert outputs == {
        "a": "1" * 64,
        "b": format(0b1111, "064b"),
        "c": format(64, "064b"),
        "d": format(0b10, "064b"),
        "e": format(1, "064b"),
    }
    records = [op for op in program.operations if isinstance(op, Record)]
    assert [record.width for record in records] == [64] * 5


# Bounds on the bits each value can occupy, as the width analysis finds them (%bit is 0 or 1).
# Records do not use them; ``test_frontend_qir_control_flow`` pins them through switches.
SIGNIFICANT_WIDTHS = [
    ("or i64 %bit, 0", 1),
    ("mul i64 %bit, 8", 4),
    ("shl i64 %bit, 5", 6),
    ("or i64 %bit, 12", 4),
    ("xor i64 255, %bit", 8),
    ("and i64 %bit, 12", 1),
    ("add i64 %bit, 7", 4),
    ("lshr i64 4095, 4", 8),
    ("select i1 %one, i64 5, i64 200", 8),
    ("sub i64 %bit, 1", 64),
    ("mul i64 %bit, 3", 64),
    ("udiv i64 %bit, 3", 64),
]


@pytest.mark.parametrize("instruction", [instruction for instruction, _ in SIGNIFICANT_WIDTHS])
def test_int_records_of_computed_values_are_64_bits_wide_whatever_their_bound(
    instruction: str,
) -> None:
    program = from_body(f"""
  %one = call i1 @__quantum__qis__read_result__body(ptr null)
  %bit = zext i1 %one to i64
  %value = {instruction}
  call void @__quantum__rt__int_record_output(i64 %value, ptr @a)""")

    (record,) = (op for op in program.operations if isinstance(op, Record))
    assert record == Record("a", ReadRegister("%value"), 64, signed=True)
    assert len(run_program(program)["a"]) == 64


def test_int_record_of_a_creg_value_is_as_wide_as_the_creg_and_of_anything_else_64_bits() -> None:
    program = from_body(f"""
  %creg = call ptr @create_creg(i64 6)
  call void @__quantum__qis__phasedx__body(double {PI}, double 0.0, ptr null)
  call void @mz_to_creg_bit(ptr null, ptr %creg, i64 5)
  %value = call i64 @get_int_from_creg(ptr %creg)
  %same = or i64 %value, 0
  call void @__quantum__rt__int_record_output(i64 %value, ptr @a)
  call void @__quantum__rt__int_record_output(i64 5, ptr @b)
  call void @__quantum__rt__int_record_output(i64 %same, ptr @c)""")

    assert run_program(program) == {
        "a": "100000",
        "b": format(5, "064b"),
        "c": format(0b100000, "064b"),
    }
    assert program.registers["creg0"] == 6


def test_output_labels_stop_at_the_terminating_nul() -> None:
    program = from_body(
        "  call void @__quantum__rt__int_record_output(i64 1, ptr @label)",
        extra='@label = internal constant [8 x i8] c"0_t1\\00xyz"',
    )

    assert record_labels(program) == ["0_t1"]


# --- the standard instruction set -------------------------------------------------------------

ENGINE = StateVectorEngine(memory_limit_bytes=2**30)
Q = [f"ptr inttoptr (i64 {index} to ptr)" if index else "ptr null" for index in range(3)]


def test_standard_gates_arrive_by_their_table_names_with_half_turn_angles() -> None:
    program = from_body(
        f"""
  call void @__quantum__qis__h__body({Q[0]})
  call void @__quantum__qis__x__body({Q[1]})
  call void @__quantum__qis__y__body({Q[2]})
  call void @__quantum__qis__z__body({Q[0]})
  call void @__quantum__qis__s__body({Q[1]})
  call void @__quantum__qis__s__adj({Q[2]})
  call void @__quantum__qis__t__body({Q[0]})
  call void @__quantum__qis__t__adj({Q[1]})
  call void @__quantum__qis__rx__body(double {PI}, {Q[2]})
  call void @__quantum__qis__ry__body(double -0.5, {Q[0]})
  call void @__quantum__qis__cnot__body({Q[0]}, {Q[1]})
  call void @__quantum__qis__cx__body({Q[2]}, {Q[0]})
  call void @__quantum__qis__cz__body({Q[1]}, {Q[2]})
  call void @__quantum__qis__swap__body({Q[0]}, {Q[2]})
  call void @__quantum__qis__ccx__body({Q[2]}, {Q[1]}, {Q[0]})""",
        attributes='"entry_point" "required_num_qubits"="3"',
    )

    assert [(gate.name, gate.qubits) for gate in gates_of(program)] == [
        ("H", (0,)),
        ("X", (1,)),
        ("Y", (2,)),
        ("Z", (0,)),
        ("S", (1,)),
        ("Sdg", (2,)),
        ("T", (0,)),
        ("Tdg", (1,)),
        ("Rx", (2,)),
        ("Ry", (0,)),
        ("CX", (0, 1)),
        ("CX", (2, 0)),
        ("CZ", (1, 2)),
        ("SWAP", (0, 2)),
        ("CCX", (2, 1, 0)),
    ]
    rx, ry = (gate for gate in gates_of(program) if gate.name in ("Rx", "Ry"))
    assert rx.params == pytest.approx((1.0,))  # radians / pi: half-turns
    assert ry.params == pytest.approx((-0.5 / math.pi,))


def test_h_cnot_x_and_measurements_give_anticorrelated_bits_through_the_engine() -> None:
    program = from_body(f"""
  call void @__quantum__qis__h__body({Q[0]})
  call void @__quantum__qis__cnot__body({Q[0]}, {Q[1]})
  call void @__quantum__qis__x__body({Q[1]})
  call void @__quantum__qis__mz__body({Q[0]}, ptr null)
  call void @__quantum__qis__mz__body({Q[1]}, {Q[1]})
  call void @__quantum__rt__result_record_output(ptr null, ptr @a)
  call void @__quantum__rt__result_record_output({Q[1]}, ptr @b)""")

    results = ENGINE.run(program, 400, seed=12)

    pairs = list(zip(results["a"], results["b"], strict=True))
    assert set(pairs) == {("0", "1"), ("1", "0")}
    assert 140 < pairs.count(("0", "1")) < 260


@pytest.mark.parametrize(
    ("rotation", "radians", "flipped"),
    [("rx", PI, "1"), ("ry", PI, "1"), ("rx", "0.0", "0"), ("ry", "0x401921FB54442D18", "0")],
)
def test_rx_and_ry_angles_are_radians(rotation: str, radians: str, flipped: str) -> None:
    program = from_body(f"""
  call void @__quantum__qis__{rotation}__body(double {radians}, ptr null)
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  call void @__quantum__rt__result_record_output(ptr null, ptr @a)""")

    assert ENGINE.run(program, 20, seed=1) == {"a": [flipped] * 20}  # pi flips, 0 and 2 pi do not


# --- refused programs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "  call void @__quantum__qis__foo__body(ptr null)",
            "unsupported QIR function '__quantum__qis__foo__body'",
        ),
        (
            "  indirectbr ptr blockaddress(@main, %next), [label %next]\nnext:",
            r"QIR control flow \(indirectbr\) is not supported",
        ),
        ("  unreachable\nnext:", r"QIR control flow \(unreachable\) is not supported"),
        ("  %f = fadd double 1.0, 2.0", "unsupported LLVM instruction 'fadd'"),
        ("  %p = alloca i64", "unsupported LLVM instruction 'alloca'"),
        ("  store i64 1, ptr null", "unsupported LLVM instruction 'store'"),
        (
            "  %x = ashr i64 8, 1",
            "unsupported LLVM instruction 'ashr'",
        ),
        (
            "  call void @__quantum__qis__rz__body(double 1.0, ptr inttoptr (i64 5 to ptr))",
            "qubit 5 is out of range: the entry point declares 2 qubits",
        ),
        (
            "  call void @__quantum__qis__mz__body(ptr null, ptr inttoptr (i64 7 to ptr))",
            "result 7 is out of range: the entry point declares 2 results",
        ),
        (
            "  %c = call ptr @create_creg(i64 3)\n"
            "  call void @mz_to_creg_bit(ptr null, ptr %c, i64 3)",
            "creg index 3 is out of range for a creg of width 3",
        ),
        ("  %c = call ptr @create_creg(i64 65)", "at most 64 bits"),
        (
            "  call void @mz_to_creg_bit(ptr null, ptr null, i64 0)",
            "not a register made by create_creg",
        ),
        (
            "  call void @__quantum__qis__rz__body(double 1.0, ptr @a)",
            "qubit must be a static qubit id",
        ),
        (
            "  call void @__quantum__qis__rz__body(double 0x7FF8000000000000, ptr null)",
            "gate angle nan is not a finite number",
        ),
        (
            "  call void @__quantum__qis__rz__body(double poison, ptr null)",
            "gate angles must be floating-point constants",
        ),
        (
            "  call void (ptr) @__quantum__qis__rz__body(ptr null)",
            "'__quantum__qis__rz__body' takes 2 arguments, not 1",
        ),
        (
            "  call void @__quantum__qis__zzmax__body(ptr null, ptr null)",
            "acts twice on the same qubit",
        ),
        (
            "  call void @__quantum__rt__int_record_output(i64 1, ptr null)",
            "output labels must be constant strings",
        ),
        (
            "  call void @__quantum__rt__int_record_output(i64 undef, ptr @a)",
            "unsupported constant operand 'i64 undef'",
        ),
        (
            "  %r = call i1 @__quantum__qis__read_result__body(ptr null)\n"
            "  %w = zext i1 %r to i128",
            "128-bit integer; at most 64 bits are supported",
        ),
    ],
)
def test_unsupported_constructs_are_compile_errors_naming_them(body: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        from_body(body)


def second_entry_point(body: str, name: str = "again") -> str:
    return (
        f"define void @{name}() #1 {{\nentry:\n{body}\n  ret void\n}}\n"
        'attributes #1 = { "entry_point" "required_num_qubits"="3" "required_num_results"="1" }'
    )


def test_entry_points_run_in_module_order_each_from_fresh_qubits() -> None:
    first = (
        "  call void @__quantum__qis__x__body(ptr inttoptr (i64 1 to ptr))\n"
        "  call void @__quantum__qis__mz__body(ptr inttoptr (i64 1 to ptr), ptr null)\n"
        "  call void @__quantum__rt__result_record_output(ptr null, ptr @a)"
    )
    second = (
        "  call void @__quantum__qis__mz__body(ptr inttoptr (i64 1 to ptr), ptr null)\n"
        "  call void @__quantum__qis__x__body(ptr inttoptr (i64 2 to ptr))\n"
        "  call void @__quantum__qis__mz__body("
        "ptr inttoptr (i64 2 to ptr), ptr inttoptr (i64 1 to ptr))\n"
        "  call void @__quantum__rt__result_record_output(ptr null, ptr @b)\n"
        "  call void @__quantum__rt__result_record_output(ptr inttoptr (i64 1 to ptr), ptr @c)"
    )
    program = from_body(first, extra=second_entry_point(second).replace('"1" }', '"2" }'))

    assert program.n_qubits == 3  # the larger of the two declared counts
    assert Reset(1) in program.operations  # qubit 1 was used by @main: fresh for @again
    assert ENGINE.run(program, 5, seed=0) == {"a": ["1"] * 5, "b": ["0"] * 5, "c": ["1"] * 5}


def test_entry_points_keep_their_own_registers_and_values() -> None:
    body = (
        "  %c = call ptr @create_creg(i64 3)\n"
        "  call void @set_creg_to_int(ptr %c, i64 {value})\n"
        "  %0 = call i64 @get_int_from_creg(ptr %c)\n"
        "  call void @__quantum__rt__int_record_output(i64 %0, ptr @{label})"
    )
    program = from_body(
        body.format(value=5, label="a"), extra=second_entry_point(body.format(value=2, label="b"))
    )

    assert run_program(program) == {"a": "101", "b": "010"}


def test_unnamed_entry_points_keep_their_own_registers_too() -> None:
    body = (
        "  %c = call ptr @create_creg(i64 {width})\n"
        "  call void @set_creg_to_int(ptr %c, i64 {value})\n"
        "  %v = call i64 @get_int_from_creg(ptr %c)\n"
        "  call void @__quantum__rt__int_record_output(i64 %v, ptr @{label})"
    )
    unnamed = "\n".join(
        f"define void @{index}() #0 {{\nentry:\n{body.format(**values)}\n  ret void\n}}"
        for index, values in enumerate(
            [{"width": 8, "value": 255, "label": "a"}, {"width": 2, "value": 1, "label": "b"}]
        )
    )
    program = compile_qir(base64_bitcode(_with_declarations(unnamed, _ENTRY, "")))

    assert run_program(program) == {"a": "11111111", "b": "01"}


def test_one_output_label_recorded_by_two_entry_points_is_refused() -> None:
    record = "  call void @__quantum__rt__bool_record_output(i1 true, ptr @a)"

    with pytest.raises(CompileError, match="'a' is recorded by entry points @main and @again"):
        from_body(record, extra=second_entry_point(record))


def test_a_module_without_entry_point_is_refused() -> None:
    with pytest.raises(CompileError, match="QIR program has no entry point"):
        from_body("", attributes='"required_num_qubits"="1"')


def test_an_entry_point_with_parameters_is_refused() -> None:
    text = 'define void @main(i64 %x) #0 {\nentry:\n  ret void\n}\nattributes #0 = {"entry_point"}'

    with pytest.raises(CompileError, match="must not take parameters"):
        compile_qir(base64_bitcode(text))


def test_a_name_pyqir_cannot_decode_is_a_compile_error() -> None:
    body = '  call void @"\\FF"()'  # pyqir panics reading a function name that is not UTF-8

    with pytest.raises(CompileError, match="QIR program could not be read"):
        from_body(body, extra='declare void @"\\FF"()')


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("this is not base64!", "program is not valid base64"),
        ("é", "program is not valid base64"),
        ("", "program is not valid LLVM bitcode"),
        (b64encode(b"BC\xc0\xde" + bytes(64)).decode(), "program is not valid LLVM bitcode"),
        (b64encode(qir_module("").encode()).decode(), "program is not valid LLVM bitcode"),
    ],
)
def test_text_that_is_not_bitcode_is_a_compile_error(program: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        compile_qir(program)


def test_random_bytes_are_compile_errors() -> None:
    generator = random.Random(20240611)
    for _ in range(200):
        data = bytes(generator.randrange(256) for _ in range(generator.randrange(1, 300)))
        with pytest.raises(CompileError, match="not valid LLVM bitcode"):
            compile_qir(b64encode(data).decode())


@pytest.mark.parametrize("profile", PROFILES)
def test_every_truncation_of_valid_bitcode_is_a_compile_error(profile: QIRProfile) -> None:
    circuit = creg_circuit({"a": (2, 0b10)})
    bitcode = pytket_to_qir(circuit, "test", QIRFormat.BINARY, profile=profile)
    assert isinstance(bitcode, bytes)
    for length in range(0, len(bitcode), 5):
        with pytest.raises(CompileError):
            compile_qir(b64encode(bitcode[:length]).decode())


def test_base64_wrapped_over_lines_is_accepted() -> None:
    body = "  call void @__quantum__rt__int_record_output(i64 1, ptr @a)"
    text = base64_bitcode(qir_module(body))
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))

    assert run_program(compile_qir(wrapped)) == {"a": format(1, "064b")}


def test_a_64_bit_output_with_the_top_bit_set_comes_back_negative() -> None:
    program = from_body("""
  call void @__quantum__rt__int_record_output(i64 -1, ptr @a)
  call void @__quantum__rt__int_record_output(i64 9223372036854775807, ptr @b)""")

    results = ENGINE.run(program, 2, seed=0)

    assert results["a"] == ["-" + "0" * 62 + "1"] * 2  # -1: the sign, then the magnitude
    assert results["b"] == ["0" + "1" * 63] * 2  # the largest positive value is unchanged
