"""OPENQASM 2.0 with ``include "hqslib1.inc";`` into the internal program form.

pytket's own reader parses the text; this module translates the resulting commands and refuses
what the engines do not run, naming the construct. hqslib1's runtime calls (random numbers, the
shot number, WASM) are read by :mod:`.statements` and placed in source order between the runs
of ordinary statements that pytket parses. The reader lowers ``if (a >= 3)`` and similar
conditions to a ``RangePredicate`` into a scratch bit followed by a ``Conditional``; scratch
registers it invents are temporaries, while every register the program text declares is a job
output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pytket._tket.circuit import (
    Circuit,
    ClExprOp,
    Command,
    CopyBitsOp,
    Op,
    OpType,
    RangePredicateOp,
    SetBitsOp,
)
from pytket._tket.circuit import Conditional as ConditionalOp
from pytket._tket.unit_id import Bit, Qubit, UnitID
from pytket.passes import DecomposeBoxes
from pytket.qasm.qasm import circuit_from_qasm_str

from qstation.circuit.gates import GATE_BY_OPTYPE
from qstation.circuit.program import (
    MAX_REGISTER_WIDTH,
    Assign,
    Barrier,
    Binary,
    BinaryOperator,
    BitRef,
    BoundRandom,
    CallWasm,
    ClassicalOperation,
    Conditional,
    Const,
    DrawRandom,
    Expression,
    Gate,
    IndexRandom,
    Measure,
    Operation,
    Program,
    ReadBit,
    ReadRegister,
    Record,
    Reset,
    SeedRandom,
    SetBit,
    ShotNumber,
    signed_registers,
)
from qstation.errors import CompileError
from qstation.frontends.qasm.expressions import ExpressionTranslator, bits_value
from qstation.frontends.qasm.plain import plain_circuit
from qstation.frontends.qasm.statements import (
    CallStatement,
    Condition,
    ExternCall,
    RandomNumber,
    RandomSetter,
    ShotNumberRead,
    split_program,
)

_CREG_DECLARATION = re.compile(r"\bcreg\s+([A-Za-z_][A-Za-z0-9_]*)\s*\[")
_COMPARISON: dict[str, BinaryOperator] = {
    "==": "eq", "!=": "ne", "<": "ult", ">": "ugt", "<=": "ule", ">=": "uge",
}  # fmt: skip
_RANDOM_SETTERS: dict[str, type[SeedRandom | BoundRandom | IndexRandom]] = {
    "RNGseed": SeedRandom,
    "RNGbound": BoundRandom,
    "RNGindex": IndexRandom,
}


def compile_qasm(text: str) -> Program:
    """Parse ``text`` and translate it; every failure is a :class:`CompileError`."""
    split = split_program(text)
    parts: list[Circuit | CallStatement]
    if split.has_calls:
        header = _parse(split.header())
        parts = [
            part if isinstance(part, CallStatement) else _parse(part) for part in split.parts()
        ]
    else:
        header = _parse(text)
        parts = [header]
    declared_widths = {register.name: register.size for register in header.c_registers}
    declared = [
        name for name in dict.fromkeys(_CREG_DECLARATION.findall(text)) if name in declared_widths
    ]
    translator = _Translator({q: i for i, q in enumerate(header.qubits)}, declared_widths)
    operations: list[Operation] = []
    for part in parts:
        if isinstance(part, CallStatement):
            operations.extend(translator.call(part))
            continue
        for register in part.c_registers:  # pytket's scratch registers differ between parses
            if register.size > translator.widths.get(register.name, 0):
                translator.widths[register.name] = register.size
        for command in part.get_commands():
            operations.extend(translator.operations(command.op, command.args, command))
    widths = translator.widths
    signed = signed_registers(operations, widths)
    operations.extend(
        Record(name, ReadRegister(name), widths[name], name in signed) for name in declared
    )
    registers = {name: widths[name] for name in declared}
    temporaries = {name: width for name, width in widths.items() if name not in registers}
    temporaries.update(translator.temporaries)
    return Program(header.n_qubits, registers, tuple(operations), temporaries)


def _parse(text: str) -> Circuit:
    """The circuit ``text`` describes, with user-defined gates expanded into their bodies."""
    plain = plain_circuit(text)
    if plain is not None:
        return plain
    try:
        circuit = circuit_from_qasm_str(text, maxwidth=MAX_REGISTER_WIDTH)
        DecomposeBoxes().apply(circuit)
        return circuit
    except Exception as error:  # the reader raises lark, pytket and plain Python errors alike
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CompileError(f"invalid OPENQASM 2.0: {type(error).__name__}: {first_line}") from None


def _bit(bit: Bit) -> BitRef:
    return BitRef(bit.reg_name, bit.index[0])


class _Translator:
    def __init__(self, qubit_index: dict[Qubit, int], widths: dict[str, int]) -> None:
        self.qubit_index = qubit_index
        self.widths = widths
        self.temporaries: dict[str, int] = {}  # values held for several operations

    def operations(self, op: Op, args: Sequence[UnitID], command: Command) -> list[Operation]:
        """The operations for one command; ``command`` only names the construct in errors."""
        bits = [arg for arg in args if isinstance(arg, Bit)]
        qubits = tuple(self.qubit_index[arg] for arg in args if isinstance(arg, Qubit))
        optype = op.type
        if isinstance(op, ConditionalOp):
            return self._conditional(op, args, command)
        if optype == OpType.Measure:
            return [Measure(qubits[0], _bit(bits[0]))]
        if optype == OpType.Reset:
            return [Reset(qubits[0])]
        if optype == OpType.Barrier:
            return [Barrier(qubits)]
        if isinstance(op, SetBitsOp):
            return self._write(bits, Const(sum(int(v) << i for i, v in enumerate(op.values))))
        if isinstance(op, CopyBitsOp):
            half = len(bits) // 2
            return self._write(bits[half:], bits_value(bits[:half], self.widths))
        if isinstance(op, RangePredicateOp):
            tested = bits_value(bits[:-1], self.widths)
            inside = Binary(
                "and",
                Binary("uge", tested, Const(op.lower)),
                Binary("ule", tested, Const(op.upper)),
            )
            return [SetBit(_bit(bits[-1]), inside)]
        if isinstance(op, ClExprOp):
            translator = ExpressionTranslator(op.expr, bits, self.widths)
            return self._write(translator.output_bits(), translator.translate().expression)
        spec = GATE_BY_OPTYPE.get(optype)
        if spec is None:
            raise CompileError(f"operation {optype.name} ({command}) is not supported")
        params = tuple(_half_turns(p, command) for p in op.params)
        return [Gate(spec.name, qubits, params)]

    def call(self, statement: CallStatement) -> list[Operation]:
        """The operation of one hqslib1 runtime call, conditional when the source says so."""
        operation = self._call(statement)
        if statement.condition is None:
            return [operation]
        return [Conditional(self._condition(statement.condition, statement), operation)]

    def _call(self, statement: CallStatement) -> ClassicalOperation:
        match statement.call:
            case RandomSetter(function, register):
                return _RANDOM_SETTERS[function](self._read(register, statement))
            case RandomNumber(register):
                self._read(register, statement)
                return DrawRandom(register)
            case ShotNumberRead(register):
                self._read(register, statement)
                return Assign(register, ShotNumber())
            case ExternCall(function, arguments, results):
                for register in results:
                    self._read(register, statement)
                values = tuple(self._read(register, statement) for register in arguments)
                return CallWasm(function, values, results)
        raise AssertionError(f"unknown runtime call {statement.call!r}")  # pragma: no cover

    def _condition(self, condition: Condition, statement: CallStatement) -> Expression:
        tested: Expression = self._read(condition.register, statement)
        if condition.index is not None:
            if condition.index >= self.widths[condition.register]:
                raise CompileError(
                    f"bit {condition.index} is outside {condition.register} in {statement.text!r}"
                )
            tested = ReadBit(BitRef(condition.register, condition.index))
        return Binary(_COMPARISON[condition.operator], tested, Const(condition.value))

    def _read(self, register: str, statement: CallStatement) -> ReadRegister:
        if register not in self.widths:
            raise CompileError(f"register {register!r} in {statement.text!r} is not declared")
        return ReadRegister(register)

    def _conditional(
        self, op: ConditionalOp, args: Sequence[UnitID], command: Command
    ) -> list[Operation]:
        condition_bits = [arg for arg in args[: op.width] if isinstance(arg, Bit)]
        condition: Expression = Binary(
            "eq", bits_value(condition_bits, self.widths), Const(op.value)
        )
        inner = self.operations(op.op, args[op.width :], command)
        if len(inner) == 1:
            return [Conditional(condition, inner[0])]
        # The first operation may change the condition's bits: decide once, before any runs.
        hold, held = self._hold(condition, 1)
        return [hold, *(Conditional(held, operation) for operation in inner)]

    def _hold(self, value: Expression, width: int) -> tuple[Operation, ReadRegister]:
        """Keep ``value`` in a new temporary, so later writes cannot change what it was."""
        name = f"tk_held{len(self.temporaries)}"
        self.temporaries[name] = width
        return Assign(name, value), ReadRegister(name)

    def _write(self, targets: list[Bit], value: Expression) -> list[Operation]:
        """Bit ``i`` of ``value`` into ``targets[i]``: one assignment for a whole register."""
        target = bits_value(targets, self.widths)
        if isinstance(target, ReadRegister):
            return [Assign(target.register, value)]
        if len(targets) == 1 or isinstance(value, Const):
            return [SetBit(_bit(bit), _shifted(value, i)) for i, bit in enumerate(targets)]
        hold, held = self._hold(value, len(targets))  # the targets may be among its inputs
        return [hold, *(SetBit(_bit(bit), _shifted(held, i)) for i, bit in enumerate(targets))]


def _shifted(expression: Expression, position: int) -> Expression:
    return expression if position == 0 else Binary("lshr", expression, Const(position))


def _half_turns(param: object, command: Command) -> float:
    try:
        return float(param)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CompileError(f"symbolic angle {param} in {command} is not allowed") from None
