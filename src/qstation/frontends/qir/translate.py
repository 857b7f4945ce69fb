"""QIR 1.0 (as pytket-qir writes it, PYTKET and ADAPTIVE profiles) into the internal program form.

Both profiles share one table of functions: the PYTKET profile's creg runtime (``create_creg``,
``mz_to_creg_bit``, ...) and the adaptive profile's result slots (``mz``, ``read_result``) may
even be mixed. So may the dialects of other writers (qat, Q#, CUDA-Q): start/end output markers
(:mod:`.outputs`), allocated qubits and results that measurements return (:mod:`.qubits`).

The translator walks the blocks and their integer instructions; the calls go to the groups of
runtime functions (:mod:`.quantum`: gates, resets, measurements; :mod:`.qubits`: qubit and
result operands; :mod:`.outputs`: output recording; :mod:`.classical`: cregs, random numbers,
shot numbers, WASM), which say how each function translates.

Register naming: the cregs of :mod:`.classical` are the program's registers; everything else is
a temporary: result slots (:mod:`.qubits`), and every integer SSA value ``%x``, assigned once to
a temporary register ``%x`` as wide as its LLVM type, which keeps the program linear in the size
of the module.

Branches (acyclic ones: see :mod:`.control`) become conditional operations. The blocks are laid
out in a topological order; a block on every path from the entry to a ``ret`` is translated as it
is, so a program whose branches all rejoin keeps its unconditional operations where OPENQASM has
them. Any other block ``B`` starts by assigning the 1-bit temporary ``reach(%B)`` once,
unconditionally: the ``or`` over its incoming edges of ``taken(P -> B)``, which is the
predecessor's reaching condition ``and`` the edge's guard. Every operation of ``B`` then runs
under ``reach(%B)``, so a value ``B`` defines keeps its old value (0: each runs at most once) in
the shots that skip ``B``; LLVM's dominance rule lets only a ``phi`` on an edge that was not
taken see that, and a ``phi`` masks each incoming value with its edge's ``taken``. The edges of a
block are mutually exclusive (a shot follows one path), so the ``or`` picks the one taken.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyqir

from qstation.circuit.program import (
    Assign,
    Binary,
    BinaryOperator,
    Conditional,
    Const,
    Expression,
    Operation,
    Program,
    ReadRegister,
    Reset,
)
from qstation.errors import CompileError
from qstation.frontends.qir.arithmetic import IntValue, translate_integer_instruction
from qstation.frontends.qir.classical import ClassicalRuntime
from qstation.frontends.qir.context import RuntimeFunctions
from qstation.frontends.qir.control import ControlFlow, Guard, analyse
from qstation.frontends.qir.operands import int_constant, int_width
from qstation.frontends.qir.outputs import OutputRecording
from qstation.frontends.qir.quantum import QuantumInstructions
from qstation.frontends.qir.qubits import QubitsAndResults
from qstation.frontends.qir.reader import EntryPoint, read_entry_points


def compile_qir(program: str) -> Program:
    """Translate base64 QIR bitcode; every failure, whatever raised it, is a CompileError."""
    try:
        entries = read_entry_points(program)
        if len(entries) == 1:
            return _Translator(entries[0], prefix="").program()
        return _one_after_another(
            [
                (f"@{entry.name or index}", _Translator(entry, prefix=f"{index}:").program())
                for index, entry in enumerate(entries)
            ]
        )
    except CompileError:
        raise
    except Exception as error:
        message = f"{type(error).__name__}: {error}"
        raise CompileError(f"QIR program could not be read: {message}") from error
    except BaseException as error:
        # pyqir reports Rust panics (e.g. a name that is not UTF-8) as pyo3's PanicException,
        # which derives from BaseException; anything else (KeyboardInterrupt, ...) propagates.
        if type(error).__name__ != "PanicException":
            raise
        raise CompileError(f"QIR program could not be read: {error}") from error


def _one_after_another(entries: list[tuple[str, Program]]) -> Program:
    """Several entry points run in module order in every shot, each from qubits in |0>: a qubit
    an earlier entry point used is reset first. Each output label may be recorded by one only."""
    operations: list[Operation] = []
    registers: dict[str, int] = {}
    temporaries: dict[str, int] = {}
    recorded_by: dict[str, str] = {}
    used: set[int] = set()
    for name, program in entries:
        for label in program.outputs():
            if label in recorded_by:
                raise CompileError(
                    f"output label {label!r} is recorded by entry points "
                    f"{recorded_by[label]} and {name}"
                )
            recorded_by[label] = name
        qubits = program.used_qubits()
        operations.extend(Reset(qubit) for qubit in sorted(used & qubits))
        operations.extend(program.operations)
        used |= qubits
        registers.update(program.registers)
        temporaries.update(program.temporaries)
    n_qubits = max(program.n_qubits for _, program in entries)
    return Program(n_qubits, registers, tuple(operations), temporaries)


class _Translator:
    """Walks the blocks once, appending operations and declaring temporaries as it goes; the
    groups of runtime functions translate the calls (it is their :class:`.context.Context`)."""

    def __init__(self, entry: EntryPoint, prefix: str) -> None:
        self._entry = entry  # keeps the LLVM module alive while its values are read
        self._prefix = prefix
        self._operations: list[Operation] = []
        self._temporaries: dict[str, int] = {}  # SSA values, result slots, conditions
        self._values: dict[pyqir.Value, IntValue] = {}  # SSA value -> its temporary register
        self._names: dict[pyqir.Value, str] = {}  # SSA value -> the name LLVM prints
        self._reach: dict[pyqir.BasicBlock, Expression] = {}  # block -> when it runs, if not always
        self._condition: Expression | None = None  # when the block being translated runs
        self._qubits = QubitsAndResults(self, entry)
        self._outputs = OutputRecording(self, self._qubits)
        self._classical = ClassicalRuntime(self, self._qubits)
        self._functions: tuple[RuntimeFunctions, ...] = (
            QuantumInstructions(self, self._qubits),
            self._qubits,
            self._outputs,
            self._classical,  # last: it takes any body-less function marked "wasm"
        )

    def program(self) -> Program:
        flow = analyse(self._entry.blocks)
        self._names = flow.names
        for block in flow.order:
            self._start_block(block, flow)
            *body, _terminator = block.instructions  # the flow analysis read the terminator
            for instruction in body:
                if isinstance(instruction, pyqir.Phi):  # translated by _start_block
                    continue
                value = self._translate(instruction)
                if value is not None:
                    self._define(instruction, value)
        self._outputs.finish()
        return Program(
            self._qubits.n_qubits(),
            self._classical.registers,
            tuple(self._operations),
            self._temporaries,
        )

    # --- the context the runtime functions see -------------------------------------------

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def condition(self) -> Expression | None:
        return self._condition

    def emit(self, operation: Operation) -> None:
        if self._condition is not None:
            operation = Conditional(self._condition, operation)
        self._operations.append(operation)

    def read(self, value: pyqir.Value) -> IntValue:
        known = self._values.get(value)
        if known is not None:
            return known
        if isinstance(value, pyqir.IntConstant):
            return IntValue.constant(int_constant(value, "an integer constant"))
        if isinstance(value, pyqir.Constant):
            raise CompileError(f"unsupported constant operand '{value}'")
        raise CompileError("an integer operand is not a value this front end computes")

    def declare(
        self, instruction: pyqir.Instruction, significant: int, creg_width: int | None = None
    ) -> str:
        name = self._prefix + self._names.get(instruction, "")  # void calls have no name
        width = int_width(instruction.type, f"the value of {name or 'a call'}")
        self._temporaries[name] = width
        self._values[instruction] = IntValue(
            ReadRegister(name), max(1, min(significant, width)), creg_width
        )
        return name

    def temporary(self, name: str, width: int) -> str:
        """A new temporary; a numbered suffix keeps odd block labels from colliding."""
        unique, number = self._prefix + name, 1
        while unique in self._temporaries:
            number += 1
            unique = f"{self._prefix}{name}#{number}"
        self._temporaries[unique] = width
        return unique

    def name_of(self, value: pyqir.Value) -> str:
        return self._names.get(value) or str(value)

    # --- control flow ------------------------------------------------------------------

    def _start_block(self, block: pyqir.BasicBlock, flow: ControlFlow) -> None:
        """Assign the block's reaching condition (unless it always runs), then its phis."""
        self._condition = None
        label = flow.labels[block]
        phis = [i for i in block.instructions if isinstance(i, pyqir.Phi)]
        always = block in flow.always
        taken: dict[pyqir.BasicBlock, Expression] = {}
        for source, guard in flow.predecessors[block] if phis or not always else ():
            edge = _all([self._reach.get(source, Const(1)), self._guard(guard)])
            if len(phis) + (not always) > 1:  # read by the reaching condition and each phi
                edge = self._stored(f"taken(%{flow.labels[source]}->%{label})", edge)
            taken[source] = edge
        if not always:
            reach = self.temporary(f"reach(%{label})", 1)
            self._operations.append(Assign(reach, _any(taken.values())))
            self._reach[block] = ReadRegister(reach)
        for phi in phis:
            self._define(phi, self._phi(phi, taken))
        self._condition = self._reach.get(block)

    def _guard(self, guard: Guard) -> Expression:
        """Whether an edge is taken, given that its source block runs: 0 or 1."""
        if guard.value is None:
            return Const(1)
        value = self.read(guard.value)
        if isinstance(value.expression, Const):
            return Const(int((value.expression.value in guard.cases) != guard.negated))
        if value.width == 1:  # a bit, as every br condition is
            taken = {bit for bit in (0, 1) if (bit in guard.cases) != guard.negated}
            if taken == {1}:
                return value.expression
            if taken == {0}:
                return Binary("eq", value.expression, Const(0))
            return Const(1 if taken else 0)
        comparison: BinaryOperator = "ne" if guard.negated else "eq"
        tests = [Binary(comparison, value.expression, Const(case)) for case in sorted(guard.cases)]
        return _all(tests) if guard.negated else _any(tests)

    def _phi(self, phi: pyqir.Phi, taken: dict[pyqir.BasicBlock, Expression]) -> IntValue:
        """The incoming value of the edge taken: an ``or`` of each value times its ``taken``.

        Edges that are never taken (from blocks the entry does not reach, or guarded by a
        constant that fails) are left out, and a predecessor listed twice (a ``switch`` with two
        cases to this block) brings the same value twice.
        """
        terms: list[Expression] = []
        widths = [1]
        seen: set[pyqir.BasicBlock] = set()
        for value, source in phi.incoming:
            edge = taken.get(source, Const(0))
            if edge == Const(0) or source in seen:
                continue
            seen.add(source)
            incoming = self.read(value)
            widths.append(incoming.width)
            if edge == Const(1) or incoming.expression == Const(0):
                terms.append(incoming.expression)
            elif incoming.expression == Const(1):
                terms.append(edge)
            else:
                terms.append(Binary("mul", edge, incoming.expression))
        kept = [term for term in terms if term != Const(0)]
        return IntValue(_balanced("or", kept) if kept else Const(0), max(widths))

    def _stored(self, name: str, expression: Expression) -> Expression:
        """``expression``, or a temporary holding it when it is more than a read."""
        if isinstance(expression, Const | ReadRegister):
            return expression
        register = self.temporary(name, 1)
        self._operations.append(Assign(register, expression))
        return ReadRegister(register)

    # --- instructions ------------------------------------------------------------------

    def _translate(self, instruction: pyqir.Instruction) -> IntValue | None:
        if isinstance(instruction, pyqir.Call):
            return self._call(instruction)
        return translate_integer_instruction(instruction, self.read)

    def _define(self, instruction: pyqir.Instruction, value: IntValue) -> None:
        register = self.declare(instruction, value.width, value.creg_width)
        self.emit(Assign(register, value.expression))

    def _call(self, call: pyqir.Call) -> IntValue | None:
        callee = call.callee
        if not isinstance(callee, pyqir.Function):
            raise CompileError("indirect calls are not supported")
        for functions in self._functions:
            handler = functions.handler(callee)
            if handler is not None:
                return handler(call)
        raise CompileError(f"unsupported QIR function '{callee.name}'")


def _any(terms: Iterable[Expression]) -> Expression:
    """The ``or`` of 0-or-1 terms, as a balanced tree: engines evaluate expressions recursively."""
    kept = [term for term in terms if term != Const(0)]
    if Const(1) in kept:
        return Const(1)
    return _balanced("or", kept) if kept else Const(0)


def _all(terms: Iterable[Expression]) -> Expression:
    """The ``and`` of 0-or-1 terms, as a balanced tree."""
    kept = [term for term in terms if term != Const(1)]
    if Const(0) in kept:
        return Const(0)
    return _balanced("and", kept) if kept else Const(1)


def _balanced(operator: BinaryOperator, terms: list[Expression]) -> Expression:
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    left, right = _balanced(operator, terms[:middle]), _balanced(operator, terms[middle:])
    return Binary(operator, left, right)
