"""The internal program form every front end produces and every engine runs.

A program is a flat list of operations over ``n_qubits`` qubits and named classical registers
(Python ints of a declared width, unsigned, up to 64 bits). Quantum operations are gates from
:mod:`qstation.circuit.gates` (angles in half-turns, the H-Series convention), measurements into
one register bit, resets and barriers. Classical operations assign the value of an expression to
a register or to one bit. :class:`Record` captures a value as a named job output at the point it
runs, which is how both languages report results: QASM records every creg at the end, QIR
records what ``__quantum__rt__*_record_output`` calls name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

MAX_REGISTER_WIDTH = 64
WORD_MASK = (1 << MAX_REGISTER_WIDTH) - 1


@dataclass(frozen=True, slots=True)
class BitRef:
    register: str
    index: int

    def __str__(self) -> str:
        return f"{self.register}[{self.index}]"


# --- classical expressions -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Const:
    value: int


@dataclass(frozen=True, slots=True)
class ReadBit:
    bit: BitRef


@dataclass(frozen=True, slots=True)
class ReadRegister:
    register: str


UnaryOperator = Literal["not", "neg"]
BinaryOperator = Literal[
    "add", "sub", "mul", "udiv", "urem", "pow", "and", "or", "xor", "shl", "lshr",
    "eq", "ne", "ult", "ule", "ugt", "uge",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Unary:
    operator: UnaryOperator
    operand: Expression


@dataclass(frozen=True, slots=True)
class Binary:
    operator: BinaryOperator
    left: Expression
    right: Expression


@dataclass(frozen=True, slots=True)
class ShotNumber:
    """The number of the running shot in its job: 1 for the first, n for the last."""


Expression = Const | ReadBit | ReadRegister | Unary | Binary | ShotNumber


# --- operations ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Gate:
    name: str  # a key of qstation.circuit.gates.GATES
    qubits: tuple[int, ...]
    params: tuple[float, ...] = ()  # half-turns


@dataclass(frozen=True, slots=True)
class Measure:
    qubit: int
    target: BitRef


@dataclass(frozen=True, slots=True)
class Reset:
    qubit: int


@dataclass(frozen=True, slots=True)
class Barrier:
    qubits: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Assign:
    """Set a whole register to an expression's value (truncated to the register width)."""

    register: str
    value: Expression


@dataclass(frozen=True, slots=True)
class SetBit:
    """Set one bit to the lowest bit of an expression's value."""

    target: BitRef
    value: Expression


@dataclass(frozen=True, slots=True)
class Record:
    """Capture ``value`` as job output ``label``, written as a ``width``-bit binary string.

    A ``signed`` output whose top bit is set is written as ``-`` and the magnitude of its
    two's-complement value, padded to ``width`` characters, as the service wrote negative
    integers (see :func:`signed_registers`).
    """

    label: str
    value: Expression
    width: int
    signed: bool = False


@dataclass(frozen=True, slots=True)
class Conditional:
    """Run ``operation`` only in the shots where ``condition`` is non-zero.

    Every branch of a program becomes conditional operations in one flat list (QASM's ``if``
    directly, QIR's branches by their reaching conditions), so engines, costing and checks see
    all branches, as the published cost formula charges them.
    """

    condition: Expression
    operation: Operation


@dataclass(frozen=True, slots=True)
class SeedRandom:
    """Restart the shot's random stream from ``seed`` at position 0 (hqslib1 ``RNGseed``)."""

    seed: Expression


@dataclass(frozen=True, slots=True)
class BoundRandom:
    """Draw later numbers below ``bound``; 0 means any 32-bit number (hqslib1 ``RNGbound``)."""

    bound: Expression


@dataclass(frozen=True, slots=True)
class IndexRandom:
    """Move the shot's random stream to position ``index`` (hqslib1 ``RNGindex``)."""

    index: Expression


@dataclass(frozen=True, slots=True)
class DrawRandom:
    """Assign the stream's next number to ``register``, below ``bound`` if given, else below
    the last :class:`BoundRandom` (hqslib1 ``RNGnum``, QIR ``___random_int_bounded``)."""

    register: str
    bound: Expression | None = None


@dataclass(frozen=True, slots=True)
class CallWasm:
    """Call ``function`` of the job's WASM module (``cfl``) with ``arguments``; its results go,
    in order, to the ``results`` registers (truncated to their widths)."""

    function: str
    arguments: tuple[Expression, ...]
    results: tuple[str, ...] = ()


RandomOperation = SeedRandom | BoundRandom | IndexRandom | DrawRandom
QuantumOperation = Gate | Measure | Reset | Barrier
ClassicalOperation = Assign | SetBit | Record | RandomOperation | CallWasm
Operation = QuantumOperation | ClassicalOperation | Conditional


def unconditioned(operation: Operation) -> Operation:
    """The operation a (possibly nested) conditional would run."""
    while isinstance(operation, Conditional):
        operation = operation.operation
    return operation


def signed_registers(operations: Iterable[Operation], widths: Mapping[str, int]) -> set[str]:
    """The registers whose outputs keep a sign, as the service reported them.

    The service kept a register's value as a signed integer in a machine word: 32 bits, 64 for
    registers wider than 32 (pytket-phir declares every creg ``i32`` or ``i64``; PECOS printed a
    negative value as ``-`` and its magnitude). A value only a WASM call (an ``i32`` result of
    -1) or arithmetic (``a - b`` below zero) can make negative stays negative in a register as
    wide as its word; narrower registers keep the low bits. Measured bits, constants, copies,
    random draws and shot numbers are never negative, so registers only they write stay
    unsigned.
    """
    computed: set[str] = set()
    for operation in map(unconditioned, operations):
        if isinstance(operation, CallWasm):
            computed.update(operation.results)
        elif isinstance(operation, Assign) and isinstance(operation.value, Unary | Binary):
            computed.add(operation.register)
    return {name for name in computed if widths.get(name) in (32, 64)}


@dataclass(frozen=True)
class Program:
    n_qubits: int
    registers: dict[str, int]
    """The program's own classical registers, name -> width, in declaration order."""
    operations: tuple[Operation, ...]
    temporaries: dict[str, int] = field(default_factory=dict)
    """Registers a front end made for itself (QIR SSA values, result slots); not the user's."""

    def outputs(self) -> dict[str, Record]:
        """Each output label's first record, conditional or not, in the order first recorded."""
        records: dict[str, Record] = {}
        for operation in map(unconditioned, self.operations):
            if isinstance(operation, Record):
                records.setdefault(operation.label, operation)
        return records

    def wasm_calls(self) -> list[CallWasm]:
        return [op for op in map(unconditioned, self.operations) if isinstance(op, CallWasm)]

    def widths(self) -> dict[str, int]:
        """Every register the operations may touch, with its width."""
        return {**self.registers, **self.temporaries}

    def used_qubits(self) -> set[int]:
        used: set[int] = set()
        for op in map(unconditioned, self.operations):
            if isinstance(op, Gate):
                used.update(op.qubits)
            elif isinstance(op, Measure | Reset):
                used.add(op.qubit)
        return used
