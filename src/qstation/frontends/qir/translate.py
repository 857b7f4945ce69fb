"""QIR 1.0 (as pytket-qir writes it, PYTKET and ADAPTIVE profiles) into the internal program form.

Both profiles share one table of functions: the PYTKET profile's creg runtime (``create_creg``,
``mz_to_creg_bit``, ...) and the adaptive profile's result slots (``mz``, ``read_result``) may
even be mixed.

Gates: the native ones as pytket-qir writes them (``phasedx``, ``rz``, ``rzz``, ``zzmax``,
``rxxyyzz``) and QIR's standard instruction set as pyqir's ``qis`` module writes it (``h``, ``x``,
``y``, ``z``, ``s``, ``s__adj``, ``t``, ``t__adj``, ``rx``, ``ry``, ``cnot`` or ``cx``, ``cz``,
``swap``, ``ccx``), which become the gate table's standard gates. QIR angles are radians; the
program's are half-turns, so every angle is divided by pi.

Register naming: the n-th ``create_creg`` makes register ``creg<n>`` (the label recorded later
names the output, not the register); result slot ``r`` is the 1-bit register ``result<r>``, so
any number of slots fits; every integer SSA value ``%x`` is assigned once to a temporary register
``%x`` as wide as its LLVM type, which keeps the program linear in the size of the module.

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

Random numbers and shot numbers, as pytket-qir 2.0 writes pytket's operations in both profiles:

- ``set_rng_seed(r)``: ``call void @___random_seed(i64 %r)`` becomes ``SeedRandom(%r)``.
- ``set_rng_bound(r)`` writes no call: pytket-qir keeps the value ``r`` holds at that point and
  passes it to every later ``get_rng_num``. So the bound is the register's value when
  ``set_rng_bound`` ran, and ``BoundRandom`` is never needed. A condition on ``set_rng_bound``
  does not survive: the ADAPTIVE profile applies the bound always, and pytket-qir 2.0.2 fails to
  write the PYTKET profile (LLVM's verifier: "Instruction does not dominate all uses").
- ``get_rng_num(r)``: ``%n = call i32 @___random_int_bounded(i32 %bound)`` after a
  ``set_rng_bound``, ``%n = call i32 @___random_int()`` before any; they become
  ``DrawRandom(%n, bound=%bound)`` and ``DrawRandom(%n, bound=0)`` (a bound of 0 draws any
  32-bit number). The draw itself writes the call's temporary ``%n``, as wide as the call's type,
  under the block's reaching condition like every other operation; pytket-qir then copies ``%n``
  into ``r``.
- ``set_rng_index(r)``: ``call void @___set_random_index(i32 %i)`` becomes ``IndexRandom(%i)``.
- ``get_job_shot_num(r)``: ``%s = call i64 @___get_current_shot()`` assigns ``ShotNumber()``
  (1 in a job's first shot, n in its last) to ``%s``.

WASM: a call to a function declared without a body and marked with the ``"wasm"`` attribute, as
pytket-qir declares ``declare i64 @add(i64) #1`` with ``attributes #1 = { "wasm" }``, becomes
``CallWasm``; its value (if not void) is the call's temporary, as wide as the call's type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pyqir

from qstation.circuit.gates import GATES
from qstation.circuit.program import (
    MAX_REGISTER_WIDTH,
    Assign,
    Barrier,
    Binary,
    BinaryOperator,
    BitRef,
    CallWasm,
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
)
from qstation.errors import CompileError
from qstation.frontends.qir.arithmetic import IntValue, translate_integer_instruction
from qstation.frontends.qir.control import ControlFlow, Guard, analyse
from qstation.frontends.qir.operands import (
    angle,
    int_constant,
    int_width,
    output_label,
    static_id,
)
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


_GATES = {  # QIR function -> gate table name; arity and parameter count come from the table
    # the native gates, as pytket-qir writes them
    "__quantum__qis__phasedx__body": "U1q",
    "__quantum__qis__rz__body": "Rz",
    "__quantum__qis__rzz__body": "RZZ",
    "__quantum__qis__zzmax__body": "ZZ",
    "__quantum__qis__rxxyyzz__body": "Rxxyyzz",
    # the standard instruction set, as pyqir's ``qis`` module writes it (``cx`` as Q# does)
    "__quantum__qis__h__body": "H",
    "__quantum__qis__x__body": "X",
    "__quantum__qis__y__body": "Y",
    "__quantum__qis__z__body": "Z",
    "__quantum__qis__s__body": "S",
    "__quantum__qis__s__adj": "Sdg",
    "__quantum__qis__t__body": "T",
    "__quantum__qis__t__adj": "Tdg",
    "__quantum__qis__rx__body": "Rx",
    "__quantum__qis__ry__body": "Ry",
    "__quantum__qis__cnot__body": "CX",
    "__quantum__qis__cx__body": "CX",
    "__quantum__qis__cz__body": "CZ",
    "__quantum__qis__swap__body": "SWAP",
    "__quantum__qis__ccx__body": "CCX",
}
_BARRIER = re.compile(r"__quantum__qis__barrier([1-9][0-9]*)__body")
_RANDOM_WIDTH = 32  # every drawn number is below 2**32, whatever its bound

_Handler = Callable[[pyqir.Call], IntValue | None]


class _Translator:
    """Walks the blocks once, appending operations and declaring registers as it goes."""

    def __init__(self, entry: EntryPoint, prefix: str) -> None:
        self._entry = entry  # keeps the LLVM module alive while its values are read
        self._prefix = prefix  # starts every register name: entry points keep their own
        self._operations: list[Operation] = []
        self._registers: dict[str, int] = {}  # the program's cregs
        self._temporaries: dict[str, int] = {}  # SSA values and result slots
        self._cregs: dict[pyqir.Value, str] = {}  # create_creg call -> register
        self._values: dict[pyqir.Value, IntValue] = {}  # SSA value -> its temporary register
        self._names: dict[pyqir.Value, str] = {}  # SSA value -> the name LLVM prints
        self._reach: dict[pyqir.BasicBlock, Expression] = {}  # block -> when it runs, if not always
        self._condition: Expression | None = None  # when the block being translated runs
        self._max_qubit = -1
        self._handlers: dict[str, _Handler] = {
            "__quantum__qis__reset__body": self._reset,
            "__quantum__qis__mz__body": self._mz,
            "__quantum__qis__read_result__body": self._read_result,
            "__quantum__rt__initialize": self._no_operation,  # qubits start in |0> anyway
            "__quantum__rt__tuple_record_output": self._no_operation,  # grouping markers
            "__quantum__rt__array_record_output": self._no_operation,
            "__quantum__rt__int_record_output": self._record_int,
            "__quantum__rt__bool_record_output": self._record_bool,
            "__quantum__rt__result_record_output": self._record_result,
            "create_creg": self._create_creg,
            "mz_to_creg_bit": self._mz_to_creg_bit,
            "set_creg_bit": self._set_creg_bit,
            "get_creg_bit": self._get_creg_bit,
            "set_creg_to_int": self._set_creg_to_int,
            "get_int_from_creg": self._get_int_from_creg,
            "___random_seed": self._random_seed,
            "___random_int": self._random_int,
            "___random_int_bounded": self._random_int_bounded,
            "___set_random_index": self._set_random_index,
            "___get_current_shot": self._get_current_shot,
        }

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
        declared = self._entry.required_num_qubits
        n_qubits = declared if declared is not None else self._max_qubit + 1
        return Program(n_qubits, self._registers, tuple(self._operations), self._temporaries)

    def _emit(self, operation: Operation) -> None:
        """Append an operation of the current block, under the block's reaching condition."""
        if self._condition is not None:
            operation = Conditional(self._condition, operation)
        self._operations.append(operation)

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
            reach = self._temporary(f"reach(%{label})", 1)
            self._operations.append(Assign(reach, _any(taken.values())))
            self._reach[block] = ReadRegister(reach)
        for phi in phis:
            self._define(phi, self._phi(phi, taken))
        self._condition = self._reach.get(block)

    def _guard(self, guard: Guard) -> Expression:
        """Whether an edge is taken, given that its source block runs: 0 or 1."""
        if guard.value is None:
            return Const(1)
        value = self._read(guard.value)
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
            incoming = self._read(value)
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
        register = self._temporary(name, 1)
        self._operations.append(Assign(register, expression))
        return ReadRegister(register)

    def _temporary(self, name: str, width: int) -> str:
        """A new temporary; a numbered suffix keeps odd block labels from colliding."""
        unique, number = self._prefix + name, 1
        while unique in self._temporaries:
            number += 1
            unique = f"{self._prefix}{name}#{number}"
        self._temporaries[unique] = width
        return unique

    # --- instructions ------------------------------------------------------------------

    def _translate(self, instruction: pyqir.Instruction) -> IntValue | None:
        if isinstance(instruction, pyqir.Call):
            return self._call(instruction)
        return translate_integer_instruction(instruction, self._read)

    def _define(self, instruction: pyqir.Instruction, value: IntValue) -> None:
        register = self._declare(instruction, value.width, value.creg_width)
        self._emit(Assign(register, value.expression))

    def _declare(
        self, instruction: pyqir.Instruction, significant: int, creg_width: int | None = None
    ) -> str:
        """The temporary that holds ``instruction``'s value, which later reads of it use."""
        name = self._prefix + self._names.get(instruction, "")  # void calls have no name
        width = int_width(instruction.type, f"the value of {name or 'a call'}")
        self._temporaries[name] = width
        self._values[instruction] = IntValue(
            ReadRegister(name), max(1, min(significant, width)), creg_width
        )
        return name

    def _read(self, value: pyqir.Value) -> IntValue:
        """An integer operand: a constant or a value defined earlier in the program."""
        known = self._values.get(value)
        if known is not None:
            return known
        if isinstance(value, pyqir.IntConstant):
            return IntValue.constant(int_constant(value, "an integer constant"))
        if isinstance(value, pyqir.Constant):
            raise CompileError(f"unsupported constant operand '{value}'")
        raise CompileError("an integer operand is not a value this front end computes")

    def _call(self, call: pyqir.Call) -> IntValue | None:
        callee = call.callee
        if not isinstance(callee, pyqir.Function):
            raise CompileError("indirect calls are not supported")
        name = callee.name
        gate = _GATES.get(name)
        if gate is not None:
            self._gate(call, gate)
            return None
        barrier = _BARRIER.fullmatch(name)
        if barrier is not None:
            qubits = self._args(call, int(barrier.group(1)))
            self._emit(Barrier(tuple(self._qubit(q) for q in qubits)))
            return None
        handler = self._handlers.get(name)
        if handler is not None:
            return handler(call)
        if not callee.basic_blocks and "wasm" in callee.attributes.func:
            self._call_wasm(call, name)
            return None
        raise CompileError(f"unsupported QIR function '{name}'")

    @staticmethod
    def _args(call: pyqir.Call, count: int) -> list[pyqir.Value]:
        args = call.args
        if len(args) != count:
            raise CompileError(f"'{call.callee.name}' takes {count} arguments, not {len(args)}")
        return args

    # --- operands ----------------------------------------------------------------------

    @staticmethod
    def _declared_id(value: pyqir.Value, kind: str, declared: int | None) -> int:
        index = static_id(value, kind)
        if declared is not None and index >= declared:
            raise CompileError(
                f"{kind} {index} is out of range: the entry point declares {declared} {kind}s"
            )
        return index

    def _qubit(self, value: pyqir.Value) -> int:
        qubit = self._declared_id(value, "qubit", self._entry.required_num_qubits)
        self._max_qubit = max(self._max_qubit, qubit)
        return qubit

    def _result(self, value: pyqir.Value) -> BitRef:
        result = self._declared_id(value, "result", self._entry.required_num_results)
        register = f"{self._prefix}result{result}"
        self._temporaries.setdefault(register, 1)
        return BitRef(register, 0)

    def _creg(self, value: pyqir.Value) -> str:
        register = self._cregs.get(value)
        if register is None:
            raise CompileError("a creg argument is not a register made by create_creg")
        return register

    def _creg_bit(self, creg: pyqir.Value, index: pyqir.Value) -> BitRef:
        register = self._creg(creg)
        bit = int_constant(index, "a creg index")
        width = self._registers[register]
        if bit >= width:
            raise CompileError(f"creg index {bit} is out of range for a creg of width {width}")
        return BitRef(register, bit)

    # --- quantum instructions ----------------------------------------------------------

    def _gate(self, call: pyqir.Call, gate: str) -> None:
        spec = GATES[gate]
        args = self._args(call, spec.n_params + spec.arity)
        params = tuple(angle(arg) for arg in args[: spec.n_params])
        qubits = tuple(self._qubit(arg) for arg in args[spec.n_params :])
        if len(set(qubits)) != len(qubits):
            raise CompileError(f"'{call.callee.name}' acts twice on the same qubit {qubits}")
        self._emit(Gate(gate, qubits, params))

    def _reset(self, call: pyqir.Call) -> None:
        (qubit,) = self._args(call, 1)
        self._emit(Reset(self._qubit(qubit)))

    def _mz(self, call: pyqir.Call) -> None:
        qubit, result = self._args(call, 2)
        self._emit(Measure(self._qubit(qubit), self._result(result)))

    def _read_result(self, call: pyqir.Call) -> IntValue:
        (result,) = self._args(call, 1)
        return IntValue(ReadBit(self._result(result)), 1)

    # --- output recording --------------------------------------------------------------

    def _record_int(self, call: pyqir.Call) -> None:
        value, label = self._args(call, 2)
        number = self._read(value)
        # The client reads each output as an MSB-first string as wide as its register; only a
        # creg's contents tell that width (ADAPTIVE QIR has none), so other integers get 64 bits.
        # Other integers are i64 values and keep their sign, as the service reported them.
        width = number.creg_width or MAX_REGISTER_WIDTH
        signed = number.creg_width is None
        self._emit(Record(output_label(label), number.expression, width, signed))

    def _record_bool(self, call: pyqir.Call) -> None:
        value, label = self._args(call, 2)
        self._emit(Record(output_label(label), self._read(value).expression, 1))

    def _record_result(self, call: pyqir.Call) -> None:
        result, label = self._args(call, 2)
        self._emit(Record(output_label(label), ReadBit(self._result(result)), 1))

    def _no_operation(self, call: pyqir.Call) -> None:
        return None

    # --- the PYTKET profile's classical registers --------------------------------------

    def _create_creg(self, call: pyqir.Call) -> None:
        (size,) = self._args(call, 1)
        width = int_constant(size, "the width of create_creg")
        if width > MAX_REGISTER_WIDTH:
            raise CompileError(f"create_creg({width}): at most {MAX_REGISTER_WIDTH} bits")
        register = f"{self._prefix}creg{len(self._cregs)}"
        self._cregs[call] = register
        self._registers[register] = width

    def _mz_to_creg_bit(self, call: pyqir.Call) -> None:
        qubit, creg, index = self._args(call, 3)
        self._emit(Measure(self._qubit(qubit), self._creg_bit(creg, index)))

    def _set_creg_bit(self, call: pyqir.Call) -> None:
        creg, index, value = self._args(call, 3)
        bit = self._creg_bit(creg, index)
        self._emit(SetBit(bit, self._read(value).expression))

    def _get_creg_bit(self, call: pyqir.Call) -> IntValue:
        creg, index = self._args(call, 2)
        return IntValue(ReadBit(self._creg_bit(creg, index)), 1)

    def _set_creg_to_int(self, call: pyqir.Call) -> None:
        creg, value = self._args(call, 2)
        register = self._creg(creg)
        self._emit(Assign(register, self._read(value).expression))

    def _get_int_from_creg(self, call: pyqir.Call) -> IntValue:
        (creg,) = self._args(call, 1)
        register = self._creg(creg)
        width = self._registers[register]
        return IntValue(ReadRegister(register), width, creg_width=width)

    # --- random numbers and shot numbers -------------------------------------------------

    def _random_seed(self, call: pyqir.Call) -> None:
        (seed,) = self._args(call, 1)
        self._emit(SeedRandom(self._read(seed).expression))

    def _random_int(self, call: pyqir.Call) -> None:
        self._args(call, 0)
        self._draw(call, Const(0))

    def _random_int_bounded(self, call: pyqir.Call) -> None:
        (bound,) = self._args(call, 1)
        self._draw(call, self._read(bound).expression)

    def _draw(self, call: pyqir.Call, bound: Expression) -> None:
        """The draw writes the call's value itself: no ``Assign`` follows it."""
        self._emit(DrawRandom(self._declare(call, _RANDOM_WIDTH), bound))

    def _set_random_index(self, call: pyqir.Call) -> None:
        (index,) = self._args(call, 1)
        self._emit(IndexRandom(self._read(index).expression))

    def _get_current_shot(self, call: pyqir.Call) -> IntValue:
        self._args(call, 0)
        return IntValue(ShotNumber(), MAX_REGISTER_WIDTH)

    # --- WASM ------------------------------------------------------------------------------

    def _call_wasm(self, call: pyqir.Call, function: str) -> None:
        """The call writes its value itself, like a draw: no ``Assign`` follows it."""
        # A value goes in as its QIR type's bits, constants and computed values alike.
        arguments = tuple(
            _truncated(
                self._read(argument).expression,
                int_width(argument.type, f"an argument of WASM function {function!r}"),
            )
            for argument in call.args
        )
        is_void = call.type.is_void
        results = () if is_void else (self._declare(call, MAX_REGISTER_WIDTH),)
        self._emit(CallWasm(function, arguments, results))


def _truncated(expression: Expression, width: int) -> Expression:
    if width >= MAX_REGISTER_WIDTH:
        return expression
    return Binary("and", expression, Const((1 << width) - 1))


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
