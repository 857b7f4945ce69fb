"""QIR branches and phis: pytket-qir's conditionals in both profiles, hand-written LLVM graphs.

Branches become conditional operations in one flat list. The reference interpreter of
``test_frontend_qir`` runs them with given outcomes for the measurements of unknown qubits, so
every combination of outcomes must reproduce the creg values the circuit means; and the quantum
operations must be the circuit's commands, conditional exactly where the commands are, in the
same order, as the OPENQASM front end sees them.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from typing import Any

import pytest
from pytket import Circuit
from pytket.circuit import OpType
from pytket.circuit.logic_exp import (
    reg_eq,
    reg_geq,
    reg_gt,
    reg_leq,
    reg_lt,
    reg_neq,
)
from pytket.qasm import circuit_to_qasm_str
from pytket.qir import QIRProfile

from qstation.circuit.program import (
    Assign,
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
    Unary,
    unconditioned,
)
from qstation.errors import CompileError
from qstation.frontends.qasm import compile_qasm
from tests.oracle import BasisStateOracle
from tests.unit.test_frontend_qir import (
    PI,
    PROFILES,
    SIGNIFICANT_WIDTHS,
    from_body,
    from_definition,
    from_pytket,
    int_output,
    run_program,
)

HALF_PI = "0x3FF921FB54442D18"  # PhasedX(pi/2, pi/2) leaves a basis state unknown
UNKNOWN_Q0 = f"""
  call void @__quantum__qis__phasedx__body(double {HALF_PI}, double {HALF_PI}, ptr null)
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  %r = call i1 @__quantum__qis__read_result__body(ptr null)"""
Q1, Q2 = "ptr inttoptr (i64 1 to ptr)", "ptr inttoptr (i64 2 to ptr)"
FLIP_Q1 = f"call void @__quantum__qis__phasedx__body(double {PI}, double 0.0, {Q1})"
_GATE_NAMES = {
    OpType.PhasedX: "U1q",
    OpType.Rz: "Rz",
    OpType.ZZPhase: "RZZ",
    OpType.ZZMax: "ZZ",
    OpType.Measure: "Measure",
    OpType.Reset: "Reset",
}


# --- helpers ---------------------------------------------------------------------------------


def _quantum(program: Program) -> list[tuple[bool, str, tuple[int, ...]]]:
    """Each quantum operation: whether it is conditional, its kind and its qubits."""
    found = []
    for operation in program.operations:
        match unconditioned(operation):
            case Gate(name, qubits):
                found.append((isinstance(operation, Conditional), name, qubits))
            case Measure(qubit) | Reset(qubit) as inner:
                found.append((isinstance(operation, Conditional), type(inner).__name__, (qubit,)))
    return found


def _commands(circuit: Circuit) -> list[tuple[bool, str, tuple[int, ...]]]:
    """The same for a circuit's commands, in the order its QASM and QIR writers use."""
    found = []
    for command in circuit.get_commands():
        op, conditional = command.op, command.op.type == OpType.Conditional
        inner = op.op if conditional else op  # type: ignore[attr-defined]
        if inner.type in _GATE_NAMES:
            qubits = tuple(qubit.index[0] for qubit in command.qubits)
            found.append((conditional, _GATE_NAMES[inner.type], qubits))
    return found


def _unknown(circuit: Circuit, *qubits: int) -> None:
    for qubit in qubits:
        circuit.PhasedX(0.5, 0.5, qubit)


def _outcomes(count: int) -> list[tuple[int, ...]]:
    return list(itertools.product((0, 1), repeat=count))


def _conditionals(program: Program) -> list[Operation]:
    return [op for op in program.operations if isinstance(op, Conditional)]


def _switch_on_one(value: str, label: str, after: str) -> str:
    """LLVM that goes through block ``label`` when ``value`` is 1, then on to block ``after``."""
    return f"""  switch i64 {value}, label %{after} [ i64 1, label %{label} ]
{label}:
  br label %{after}
{after}:"""


def _tests_a_bit(program: Program, label: str, value: str) -> bool:
    """Whether the switch into ``label`` on ``value`` (by ``_switch_on_one``) became a bit test.

    A value the width analysis bounds to one bit is its own guard; any other is compared to 1.
    """
    (reach,) = (
        op.value
        for op in program.operations
        if isinstance(op, Assign) and op.register == f"reach(%{label})"
    )
    if reach == ReadRegister(value):
        return True
    assert reach == Binary("eq", ReadRegister(value), Const(1))
    return False


def _depth(expression: Expression) -> int:
    match expression:
        case Binary(_, left, right):
            return 1 + max(_depth(left), _depth(right))
        case Unary(_, operand):
            return 1 + _depth(operand)
    return 1


# --- pytket-qir conditionals, both profiles ---------------------------------------------------


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("value", [0, 1])
@pytest.mark.parametrize("outcome", [0, 1])
def test_a_gate_conditional_on_a_bit_runs_where_the_bit_has_the_value(
    profile: QIRProfile, value: int, outcome: int
) -> None:
    circuit = Circuit(2)
    m = circuit.add_c_register("m", 2)
    _unknown(circuit, 0)
    circuit.Measure(0, m[0])
    circuit.PhasedX(1, 0, 1, condition_bits=[m[0]], condition_value=value)
    circuit.Measure(1, m[1])

    program = from_pytket(circuit, profile)

    assert _quantum(program) == [
        (False, "U1q", (0,)),
        (False, "Measure", (0,)),
        (True, "U1q", (1,)),
        (False, "Measure", (1,)),  # after the join: on every path, so not conditional
    ]
    flipped = int(outcome == value)
    assert run_program(program, [outcome]) == {"m": int_output(2 * flipped + outcome, 2, profile)}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        (lambda a: reg_eq(a, 2), lambda a: a == 2),
        (lambda a: reg_neq(a, 2), lambda a: a != 2),
        (lambda a: reg_lt(a, 2), lambda a: a < 2),
        (lambda a: reg_gt(a, 1), lambda a: a > 1),
        (lambda a: reg_leq(a, 0), lambda a: a <= 0),
        (lambda a: reg_geq(a, 3), lambda a: a >= 3),
    ],
)
def test_a_gate_conditional_on_a_register_value_runs_where_the_value_matches(
    profile: QIRProfile,
    condition: Callable[[Any], Any],
    holds: Callable[[int], bool],
) -> None:
    circuit = Circuit(3)
    a, flag = circuit.add_c_register("a", 2), circuit.add_c_register("flag", 1)
    _unknown(circuit, 0, 1)
    circuit.Measure(0, a[0]).Measure(1, a[1])
    circuit.PhasedX(1, 0, 2, condition=condition(a))
    circuit.Measure(2, flag[0])

    program = from_pytket(circuit, profile)

    assert _quantum(program) == _commands(circuit)
    seen = set()
    for outcomes in _outcomes(2):
        outputs = run_program(program, outcomes)
        value = int(outputs["a"], 2)
        seen.add(value)
        assert outputs["flag"] == int_output(holds(value), 1, profile), (outcomes, outputs)
    assert seen == {0, 1, 2, 3}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("outcome", [0, 1])
def test_conditional_set_bits_and_copies_happen_only_where_the_condition_holds(
    profile: QIRProfile, outcome: int
) -> None:
    circuit = Circuit(1)
    m, b = circuit.add_c_register("m", 1), circuit.add_c_register("b", 3)
    _unknown(circuit, 0)
    circuit.Measure(0, m[0])
    circuit.add_c_setbits([True, False], [b[0], b[1]], condition_bits=[m[0]], condition_value=1)
    circuit.add_c_setbits([True], [b[1]], condition_bits=[m[0]], condition_value=0)
    circuit.add_c_copybits([m[0]], [b[2]], condition_bits=[m[0]], condition_value=1)

    program = from_pytket(circuit, profile)

    expected = 0b101 if outcome else 0b010
    assert run_program(program, [outcome]) == {
        "m": int_output(outcome, 1, profile),
        "b": int_output(expected, 3, profile),
    }


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("outcome", [0, 1])
def test_conditional_reset_and_measure(profile: QIRProfile, outcome: int) -> None:
    circuit = Circuit(3)
    m = circuit.add_c_register("m", 3)
    _unknown(circuit, 0)
    circuit.Measure(0, m[0])
    circuit.PhasedX(1, 0, 1).PhasedX(1, 0, 2)
    circuit.Reset(1, condition_bits=[m[0]], condition_value=1)
    circuit.Measure(1, m[1])
    circuit.Measure(2, m[2], condition_bits=[m[0]], condition_value=1)

    program = from_pytket(circuit, profile)

    assert _quantum(program) == _commands(circuit)
    assert {kind for conditional, kind, _ in _quantum(program) if conditional} == {
        "Reset",
        "Measure",
    }
    assert run_program(program, [outcome]) == {
        "m": int_output(0b101 if outcome else 0b010, 3, profile)
    }


def _chain(circuit: Circuit) -> None:
    """Measure, then gates conditional on the outcomes, then measure again, three times."""
    m, n = circuit.add_c_register("m", 3), circuit.add_c_register("n", 2)
    _unknown(circuit, 0)
    circuit.Measure(0, m[0])
    circuit.PhasedX(0.5, 0.5, 1, condition_bits=[m[0]], condition_value=1)  # unknown if m0
    circuit.Measure(1, m[1])
    circuit.PhasedX(1, 0, 2, condition_bits=[m[0]], condition_value=1)
    circuit.PhasedX(1, 0, 2, condition_bits=[m[1]], condition_value=1)
    circuit.Measure(2, m[2])  # m0 xor m1
    circuit.PhasedX(0.5, 0.5, 3, condition_bits=[m[2]], condition_value=1)  # unknown if m2
    circuit.Measure(3, n[0])
    circuit.PhasedX(1, 0, 3, condition_bits=[n[0]], condition_value=1)  # back to 0
    circuit.Rz(0.25, 3, condition_bits=[n[0]], condition_value=0)
    circuit.Measure(3, n[1])


def _chain_outputs(outcomes: tuple[int, ...], profile: QIRProfile) -> dict[str, str]:
    """What ``_chain`` records: each unknown qubit measured takes the next outcome."""
    pending = iter(outcomes)
    m0 = next(pending)
    m1 = next(pending) if m0 else 0
    m2 = m0 ^ m1
    n0 = next(pending) if m2 else 0
    return {"m": int_output(4 * m2 + 2 * m1 + m0, 3, profile), "n": int_output(n0, 2, profile)}


@pytest.mark.parametrize("profile", PROFILES)
def test_measure_conditional_gate_measure_chains_give_the_creg_values_for_every_outcome(
    profile: QIRProfile,
) -> None:
    circuit = Circuit(4)
    _chain(circuit)

    program = from_pytket(circuit, profile)

    assert _quantum(program) == _commands(circuit)
    for outcomes in _outcomes(3):
        assert run_program(program, outcomes) == _chain_outputs(outcomes, profile), outcomes


@pytest.mark.parametrize("profile", PROFILES)
def test_quantum_operations_are_conditional_exactly_where_the_circuit_commands_are(
    profile: QIRProfile,
) -> None:
    circuit = Circuit(3)
    m, a = circuit.add_c_register("m", 2), circuit.add_c_register("a", 3)
    _unknown(circuit, 0)
    circuit.Measure(0, a[0]).Measure(1, a[1])
    circuit.PhasedX(1, 0, 1, condition=reg_eq(a, 2))
    circuit.add_c_setbits([True, False], [m[0], m[1]], condition=reg_eq(a, 2))
    circuit.Measure(1, m[1], condition_bits=[a[0]], condition_value=0)
    circuit.Reset(0, condition_bits=[a[1]], condition_value=1)
    circuit.Rz(0.25, 2).ZZPhase(0.1, 1, 2)
    circuit.PhasedX(1, 0, 2, condition=reg_lt(a, 2))
    circuit.ZZMax(0, 2, condition_bits=[m[0], m[1]], condition_value=1)  # a whole register
    circuit.Measure(2, m[0])

    program = from_pytket(circuit, profile)

    assert _quantum(program) == _commands(circuit)
    assert any(conditional for conditional, _, _ in _quantum(program))
    assert not all(conditional for conditional, _, _ in _quantum(program))


@pytest.mark.parametrize("profile", PROFILES)
def test_a_circuit_without_conditions_has_no_conditional_operations(profile: QIRProfile) -> None:
    circuit = Circuit(2)
    m = circuit.add_c_register("m", 2)
    circuit.PhasedX(1, 0, 0).ZZMax(0, 1).Measure(0, m[0]).Measure(1, m[1])

    program = from_pytket(circuit, profile)

    assert not _conditionals(program)
    assert all(name.startswith(("%", "result")) for name in program.temporaries)
    assert run_program(program) == {"m": int_output(0b01, 2, profile)}


def _random_classical_circuit(generator: random.Random) -> Circuit:
    """Basis-state circuits mixing every kind of condition pytket-qir writes as a branch."""
    n_qubits = generator.randint(2, 4)
    circuit = Circuit(n_qubits)
    a, b = circuit.add_c_register("a", 3), circuit.add_c_register("b", 2)
    m = circuit.add_c_register("m", n_qubits)
    bits = [*a, *b, *m]
    for _ in range(generator.randint(1, 14)):
        step, q = generator.randrange(12), generator.randrange(n_qubits)
        flag = generator.choice(bits)
        if step == 0:
            circuit.PhasedX(1.0, generator.choice([0.0, 0.5]), q)
        elif step == 1:
            circuit.Rz(0.25, q).ZZPhase(0.5, q, (q + 1) % n_qubits)
        elif step == 2:
            circuit.Measure(q, m[generator.randrange(n_qubits)])
        elif step == 3:
            circuit.Reset(q)
        elif step == 4:
            value = generator.randint(0, 1)
            circuit.PhasedX(1.0, 0.0, q, condition_bits=[flag], condition_value=value)
        elif step == 5:
            test = generator.choice([reg_eq, reg_lt, reg_gt])
            value = generator.randint(1 if test is reg_lt else 0, 7)  # pytket: a < 0 is invalid
            circuit.PhasedX(1.0, 0.0, q, condition=test(a, value))
        elif step == 6:
            circuit.add_c_setbits([generator.random() < 0.5 for _ in a], list(a))
        elif step == 7:
            source, target = generator.choice(list(m)), generator.choice([*a, *b])
            circuit.add_c_copybits([source], [target], condition_bits=[b[0]], condition_value=1)
        elif step == 8:
            target = m[generator.randrange(n_qubits)]
            circuit.Measure(q, target, condition_bits=[flag], condition_value=1)
        elif step == 9:
            circuit.Reset(q, condition_bits=[flag], condition_value=generator.randint(0, 1))
        elif step == 10:
            condition = reg_eq(b, generator.randint(0, 3))
            circuit.add_c_setbits([True], [flag], condition=condition)
        else:
            value = generator.randint(0, 3)
            other = (q + 1) % n_qubits
            circuit.ZZMax(q, other, condition_bits=list(b), condition_value=value)
    for q in range(n_qubits):
        circuit.Measure(q, m[q])
    return circuit


def _per_qubit(
    operations: list[tuple[bool, str, tuple[int, ...]]],
) -> dict[int, list[tuple[bool, str, tuple[int, ...]]]]:
    found: dict[int, list[tuple[bool, str, tuple[int, ...]]]] = {}
    for operation in operations:
        for qubit in operation[2]:
            found.setdefault(qubit, []).append(operation)
    return found


@pytest.mark.parametrize("seed", range(4))
def test_random_classical_circuits_agree_with_the_oracle_and_with_openqasm(seed: int) -> None:
    generator = random.Random(seed)
    for _ in range(25):
        circuit = _random_classical_circuit(generator)
        expected = BasisStateOracle(circuit).register_values()
        qasm = compile_qasm(circuit_to_qasm_str(circuit, header="hqslib1"))
        for profile in PROFILES:
            program = from_pytket(circuit, profile)

            outputs = run_program(program)
            values = {name: int(outputs[name], 2) for name in ("a", "b", "m")}
            assert values == {name: expected[name] for name in values}, circuit.get_commands()
            widths = {name: len(outputs[name]) for name in values}
            registers = {"a": 3, "b": 2, "m": circuit.n_qubits}
            assert widths == (
                registers if profile == QIRProfile.PYTKET else dict.fromkeys(values, 64)
            )
            # The commands' order is the order of the OPENQASM text pytket writes; the QASM
            # front end reads that text back into a circuit whose commands may interleave
            # operations on different qubits differently, so only each qubit's story is equal.
            assert _quantum(program) == _commands(circuit)
            assert _per_qubit(_quantum(program)) == _per_qubit(_quantum(qasm))


# --- hand-written LLVM -----------------------------------------------------------------------


def test_a_diamond_with_phis_assigns_the_value_of_the_edge_taken() -> None:
    program = from_body(f"""{UNKNOWN_Q0}
  br i1 %r, label %then, label %else
then:
  {FLIP_Q1}
  %one = zext i1 %r to i64
  %five = add i64 %one, 4
  br label %join
else:
  %two = or i64 2, 0
  br label %join
join:
  %p = phi i64 [ %five, %then ], [ %two, %else ]
  %q = phi i1 [ true, %then ], [ false, %else ]
  call void @__quantum__qis__mz__body(ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 1 to ptr))
  call void @__quantum__rt__int_record_output(i64 %p, ptr @a)
  call void @__quantum__rt__bool_record_output(i1 %q, ptr @b)
  call void @__quantum__rt__result_record_output(ptr inttoptr (i64 1 to ptr), ptr @c)""")

    then, otherwise = ReadRegister("reach(%then)"), ReadRegister("reach(%else)")
    assert program.operations[3:] == (
        Assign("reach(%then)", ReadRegister("%r")),
        Conditional(then, Gate("U1q", (1,), (1.0, 0.0))),
        Conditional(then, Assign("%one", ReadRegister("%r"))),
        Conditional(then, Assign("%five", Binary("add", ReadRegister("%one"), Const(4)))),
        Assign("reach(%else)", Binary("eq", ReadRegister("%r"), Const(0))),
        Conditional(otherwise, Assign("%two", Binary("or", Const(2), Const(0)))),
        Assign(
            "%p",
            Binary(
                "or",
                Binary("mul", then, ReadRegister("%five")),
                Binary("mul", otherwise, ReadRegister("%two")),
            ),
        ),
        Assign("%q", then),  # the value on the else edge is 0
        Measure(1, BitRef("result1", 0)),
        Record("a", ReadRegister("%p"), 64, signed=True),  # not a creg's value
        Record("b", ReadRegister("%q"), 1),
        Record("c", ReadBit(BitRef("result1", 0)), 1),
    )
    assert program.temporaries["reach(%then)"] == program.temporaries["reach(%else)"] == 1
    assert run_program(program, [1]) == {"a": format(5, "064b"), "b": "1", "c": "1"}
    assert run_program(program, [0]) == {"a": format(2, "064b"), "b": "0", "c": "0"}


_NESTED = f"""
define void @main() #0 {{
entry:
  {UNKNOWN_Q0.strip()}
  br i1 %r, label %outer, label %end
outer:
  call void @__quantum__qis__phasedx__body(double {HALF_PI}, double {HALF_PI}, {Q1})
  call void @__quantum__qis__mz__body({Q1}, {Q1})
  %r1 = call i1 @__quantum__qis__read_result__body({Q1})
  %seen = zext i1 %r1 to i64
  br i1 %r1, label %inner, label %right
right:
  call void @__quantum__qis__phasedx__body(double {PI}, double 0.0, {Q2})
  br label %inner
inner:
  %v = phi i64 [ 3, %outer ], [ 12, %right ]
  %twice = phi i64 [ %seen, %outer ], [ 2, %right ]
  call void @__quantum__qis__mz__body({Q2}, {Q2})
  call void @__quantum__rt__int_record_output(i64 %twice, ptr @c)
  br label %end
end:
  %w = phi i64 [ %v, %inner ], [ 7, %entry ]
  call void @__quantum__rt__int_record_output(i64 %w, ptr @a)
  call void @__quantum__rt__result_record_output({Q2}, ptr @b)
  ret void
}}"""
_THREE = '"entry_point" "required_num_qubits"="3" "required_num_results"="3"'


def test_nested_branches_run_inner_blocks_under_both_conditions() -> None:
    program = from_definition(_NESTED, _THREE)

    assert run_program(program, [0]) == {"a": format(7, "064b"), "b": "0"}
    assert run_program(program, [1, 0]) == {
        "a": format(12, "064b"),
        "b": "1",
        "c": format(2, "064b"),
    }
    assert run_program(program, [1, 1]) == {
        "a": format(3, "064b"),
        "b": "0",
        "c": format(1, "064b"),
    }
    conditional = {
        (type(op.operation).__name__, getattr(op.operation, "qubit", None))
        for op in program.operations
        if isinstance(op, Conditional)
    }
    assert ("Measure", 1) in conditional
    assert ("Measure", 2) in conditional
    assert ("Record", None) in conditional
    # %inner is conditional and has phis: an edge that is more than a read is computed once
    assert "taken(%outer->%inner)" in program.temporaries
    assert "taken(%right->%inner)" not in program.temporaries
    assert program.temporaries["reach(%inner)"] == 1
    assert {"reach(%entry)", "reach(%end)"}.isdisjoint(program.temporaries)


def test_a_block_every_path_passes_through_is_unconditional_even_after_a_skip() -> None:
    program = from_body(f"""{UNKNOWN_Q0}
  br i1 %r, label %first, label %join
first:
  br label %second
second:
  {FLIP_Q1}
  br label %join
join:
  call void @__quantum__qis__mz__body(ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 1 to ptr))
  call void @__quantum__rt__result_record_output(ptr inttoptr (i64 1 to ptr), ptr @a)""")

    assert program.operations[-2:] == (
        Measure(1, BitRef("result1", 0)),
        Record("a", ReadBit(BitRef("result1", 0)), 1),
    )
    assert Assign("reach(%second)", ReadRegister("reach(%first)")) in program.operations
    assert run_program(program, [1]) == {"a": "1"}
    assert run_program(program, [0]) == {"a": "0"}


def test_a_ret_ends_a_path_so_what_follows_a_branch_to_it_is_conditional() -> None:
    program = from_body(f"""{UNKNOWN_Q0}
  br i1 %r, label %done, label %more
more:
  {FLIP_Q1}
  call void @__quantum__rt__int_record_output(i64 1, ptr @a)
  ret void
done:
  call void @__quantum__rt__int_record_output(i64 2, ptr @a)""")

    assert _quantum(program)[-1] == (True, "U1q", (1,))
    records = [op for op in program.operations if isinstance(unconditioned(op), Record)]
    assert all(isinstance(op, Conditional) for op in records)
    assert run_program(program, [0]) == {"a": format(1, "064b")}
    assert run_program(program, [1]) == {"a": format(2, "064b")}


def test_a_branch_with_both_targets_the_same_is_not_a_condition() -> None:
    program = from_body(f"""{UNKNOWN_Q0}
  br i1 %r, label %next, label %next
next:
  {FLIP_Q1}""")

    assert not _conditionals(program)
    assert "reach(%next)" not in program.temporaries


def test_a_branch_on_a_constant_keeps_both_blocks_under_conditions() -> None:
    program = from_body(f"""
  br i1 false, label %never, label %middle
never:
  {FLIP_Q1}
  br label %middle
middle:
  switch i64 2, label %last [ i64 2, label %always  i64 3, label %last ]
always:
  call void @__quantum__qis__phasedx__body(double {PI}, double 0.0, ptr null)
  br label %last
last:
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  call void @__quantum__qis__mz__body(ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 1 to ptr))
  call void @__quantum__rt__result_record_output(ptr null, ptr @a)
  call void @__quantum__rt__result_record_output(ptr inttoptr (i64 1 to ptr), ptr @b)""")

    # Operations stay where the module has them, as OPENQASM keeps an `if` it cannot decide.
    assert _quantum(program) == [
        (True, "U1q", (1,)),
        (True, "U1q", (0,)),
        (False, "Measure", (0,)),
        (False, "Measure", (1,)),
    ]
    assert Assign("reach(%never)", Const(0)) in program.operations
    assert Assign("reach(%always)", Const(1)) in program.operations
    assert run_program(program) == {"a": "1", "b": "0"}


@pytest.mark.parametrize("profile", PROFILES)
def test_a_condition_on_a_bit_nothing_wrote_keeps_its_gate_conditional(
    profile: QIRProfile,
) -> None:
    circuit = Circuit(2)
    m, never = circuit.add_c_register("m", 2), circuit.add_c_register("never", 2)
    circuit.PhasedX(1, 0, 1, condition_bits=[never[0]], condition_value=1)  # adaptive: br false
    circuit.PhasedX(1, 0, 0, condition_bits=[never[1]], condition_value=0)  # adaptive: br true
    circuit.Measure(0, m[0]).Measure(1, m[1])

    program = from_pytket(circuit, profile)

    assert _quantum(program) == _commands(circuit)
    assert sorted(_quantum(program))[2:] == [(True, "U1q", (0,)), (True, "U1q", (1,))]
    assert int(run_program(program)["m"], 2) == 0b01


def test_blocks_the_entry_does_not_reach_are_left_out() -> None:
    program = from_body(f"""
  {FLIP_Q1}
  ret void
dead:
  call void @__quantum__qis__foo__body(ptr null)
  br i1 true, label %deader, label %dead
deader:
  %x = phi i64 [ 1, %dead ]
  unreachable
never:""")

    assert _quantum(program) == [(False, "U1q", (1,))]


def test_switch_takes_the_block_of_its_case_or_the_default() -> None:
    program = from_body("""
  call void @__quantum__qis__phasedx__body(double 1.0, double 0.0, ptr null)
  call void @__quantum__qis__phasedx__body(double 1.0, double 0.0, ptr inttoptr (i64 1 to ptr))
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  call void @__quantum__qis__mz__body(ptr inttoptr (i64 1 to ptr), ptr inttoptr (i64 1 to ptr))
  %low = call i1 @__quantum__qis__read_result__body(ptr null)
  %high = call i1 @__quantum__qis__read_result__body(ptr inttoptr (i64 1 to ptr))
  %l = zext i1 %low to i2
  %h = zext i1 %high to i2
  %h2 = shl i2 %h, 1
  %v = or i2 %l, %h2
  switch i2 %v, label %join [ i2 0, label %zero  i2 3, label %join  i2 1, label %one ]
zero:
  br label %join
one:
  br label %join
join:
  %p = phi i64 [ 10, %zero ], [ 33, %one ], [ 77, %entry ], [ 77, %entry ]
  call void @__quantum__rt__int_record_output(i64 %p, ptr @a)""")

    for low, high in _outcomes(2):
        value = {0: 10, 1: 33}.get(2 * high + low, 77)
        assert run_program(program, [low, high]) == {"a": format(value, "064b")}


def test_a_phi_is_as_wide_as_its_widest_incoming_value() -> None:
    program = from_body(f"""{UNKNOWN_Q0}
  %bit = zext i1 %r to i64
  br i1 %r, label %big, label %join
big:
  br label %join
join:
  %p = phi i64 [ 21, %big ], [ %bit, %entry ]
  %top = lshr i64 %p, 4
  %below = lshr i64 %p, 3
{_switch_on_one("%top", "top_set", "next")}
{_switch_on_one("%below", "below_one", "end")}
  call void @__quantum__rt__int_record_output(i64 %p, ptr @a)""")

    # 21 has 5 bits: %p >> 4 is a bit, %p >> 3 may not be
    assert _tests_a_bit(program, "top_set", "%top")
    assert not _tests_a_bit(program, "below_one", "%below")
    (record,) = (op for op in program.operations if isinstance(op, Record))
    assert record.width == 64
    assert run_program(program, [1]) == {"a": format(21, "064b")}
    assert run_program(program, [0]) == {"a": format(0, "064b")}


@pytest.mark.parametrize(("instruction", "width"), SIGNIFICANT_WIDTHS)
def test_a_switch_on_a_value_the_width_analysis_bounds_to_one_bit_tests_the_bit(
    instruction: str, width: int
) -> None:
    """``value >> (width - 1)`` is a bit to the translator and ``value >> (width - 2)`` is not,
    which pins the width the analysis finds; the runs check that the bound holds."""
    for shift in range(max(width - 2, 0), width):
        program = from_body(f"""
  call void @__quantum__qis__phasedx__body(double {HALF_PI}, double {HALF_PI}, ptr null)
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  %one = call i1 @__quantum__qis__read_result__body(ptr null)
  %bit = zext i1 %one to i64
  %value = {instruction}
  %top = lshr i64 %value, {shift}
{_switch_on_one("%top", "case", "join")}
  %taken = phi i1 [ true, %case ], [ false, %entry ]
  call void @__quantum__rt__int_record_output(i64 %top, ptr @a)
  call void @__quantum__rt__bool_record_output(i1 %taken, ptr @b)""")

        is_a_bit = shift == width - 1
        assert _tests_a_bit(program, "case", "%top") == is_a_bit, shift
        for outcome in (0, 1):
            outputs = run_program(program, [outcome])
            top = int(outputs["a"], 2)
            assert top <= 1 or not is_a_bit, (shift, outcome, top)
            assert outputs["b"] == str(int(top == 1)), (shift, outcome, top)


def test_unnamed_blocks_and_values_take_the_numbers_llvm_prints() -> None:
    program = from_definition("""
define void @main() #0 {
  call void @__quantum__qis__phasedx__body(double 1.0, double 1.0, ptr null)
  call void @__quantum__qis__mz__body(ptr null, ptr null)
  %1 = call i1 @__quantum__qis__read_result__body(ptr null)
  br i1 %1, label %2, label %4
2:
  %3 = xor i1 %1, true
  br label %4
4:
  %5 = phi i1 [ %3, %2 ], [ true, %0 ]
  call void @__quantum__rt__bool_record_output(i1 %5, ptr @a)
  ret void
}""")

    assert list(program.temporaries) == ["result0", "%1", "reach(%2)", "%3", "%5"]
    assert run_program(program, [0]) == {"a": "1"}
    assert run_program(program, [1]) == {"a": "0"}


# --- refused and large graphs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            f"""{UNKNOWN_Q0}
  br label %head
head:
  br i1 %r, label %body, label %exit
body:
  br label %head
exit:""",
            "QIR loops are not supported: block 'body' branches back to 'head'",
        ),
        (
            f"""{UNKNOWN_Q0}
  br label %spin
spin:
  br i1 %r, label %spin, label %exit
exit:""",
            "QIR loops are not supported: block 'spin' branches back to 'spin'",
        ),
        (
            """
  br label %spin
spin:
  br label %spin
exit:""",
            "QIR loops are not supported: block 'spin' branches back to 'spin'",
        ),
        (
            f"""{UNKNOWN_Q0}
  br i1 %r, label %stop, label %exit
stop:
  unreachable
exit:""",
            r"QIR control flow \(unreachable\) is not supported",
        ),
    ],
)
def test_loops_and_other_terminators_are_compile_errors(body: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        from_body(body)


def test_long_chains_and_wide_joins_stay_linear_and_shallow() -> None:
    count = 1500
    blocks = "\n".join(
        f"""  br i1 %r, label %if{i}, label %join{i}
if{i}:
  call void @__quantum__qis__rz__body(double 1.0, ptr inttoptr (i64 1 to ptr))
  br label %join{i}
join{i}:"""
        for i in range(count)
    )
    cases = " ".join(f"i64 {i}, label %case{i}" for i in range(count))
    targets = "\n".join(f"case{i}:\n  br label %wide" for i in range(count))
    incoming = ", ".join(f"[ {i + 1}, %case{i} ]" for i in range(count))
    program = from_body(f"""{UNKNOWN_Q0}
  %bit = zext i1 %r to i64
  %index = mul i64 %bit, 3
{blocks}
  switch i64 %index, label %wide [ {cases} ]
{targets}
wide:
  %p = phi i64 {incoming}, [ 0, %join{count - 1} ]
  call void @__quantum__rt__int_record_output(i64 %p, ptr @a)""")

    assert len(program.operations) < 20 * count
    depths = []
    for operation in program.operations:
        match unconditioned(operation):
            case Assign(_, value) | Record(_, value, _):
                depths.append(_depth(value))
    assert max(depths) <= 16
    assert run_program(program, [1]) == {"a": format(4, "064b")}
    assert run_program(program, [0]) == {"a": format(1, "064b")}


def test_a_creg_made_in_a_branch_is_declared_for_every_shot() -> None:
    program = from_body(f"""{UNKNOWN_Q0}
  br i1 %r, label %make, label %join
make:
  %c = call ptr @create_creg(i64 2)
  call void @set_creg_bit(ptr %c, i64 1, i1 true)
  %v = call i64 @get_int_from_creg(ptr %c)
  call void @__quantum__rt__int_record_output(i64 %v, ptr @a)
  br label %join
join:""")

    assert program.registers == {"creg0": 2}
    assert run_program(program, [1]) == {"a": "10"}
    assert run_program(program, [0]) == {}


def test_bits_of_the_pytket_runtime_steer_branches() -> None:
    program = from_body(f"""
  %c = call ptr @create_creg(i64 1)
  call void @__quantum__qis__phasedx__body(double {HALF_PI}, double {HALF_PI}, ptr null)
  call void @mz_to_creg_bit(ptr null, ptr %c, i64 0)
  %b = call i1 @get_creg_bit(ptr %c, i64 0)
  br i1 %b, label %reset, label %join
reset:
  call void @__quantum__qis__reset__body(ptr null)
  br label %join
join:
  call void @mz_to_creg_bit(ptr null, ptr %c, i64 0)
  %v = call i64 @get_int_from_creg(ptr %c)
  call void @__quantum__rt__int_record_output(i64 %v, ptr @a)""")

    assert run_program(program, [1]) == {"a": "0"}
    assert run_program(program, [0]) == {"a": "0"}
    assert (True, "Reset", (0,)) in _quantum(program)
