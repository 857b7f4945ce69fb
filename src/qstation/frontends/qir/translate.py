"""QIR 1.0 (as pytket-qir writes it, PYTKET and ADAPTIVE profiles) into the internal program form.

Only straight-line entry points are translated for now. Both profiles share one table of
functions: the PYTKET profile's creg runtime (``create_creg``, ``mz_to_creg_bit``, ...) and the
adaptive profile's result slots (``mz``, ``read_result``) may even be mixed.

Register naming: the n-th ``create_creg`` makes register ``creg<n>`` (the label recorded later
names the output, not the register); result slot ``r`` is the 1-bit register ``result<r>``, so
any number of slots fits; every integer SSA value ``%x`` is assigned once to a temporary register
``%x`` as wide as its LLVM type, which keeps the program linear in the size of the module.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyqir

from qstation.circuit.gates import GATES
from qstation.circuit.program import (
    MAX_REGISTER_WIDTH,
    Assign,
    Barrier,
    BitRef,
    Gate,
    Measure,
    Operation,
    Program,
    ReadBit,
    ReadRegister,
    Record,
    Reset,
    SetBit,
)
from qstation.errors import CompileError
from qstation.frontends.qir.arithmetic import IntValue, translate_integer_instruction
from qstation.frontends.qir.operands import (
    angle,
    int_constant,
    int_width,
    output_label,
    static_id,
)
from qstation.frontends.qir.reader import EntryPoint, control_flow_error, read_entry_point


def compile_qir(program: str) -> Program:
    """Translate base64 QIR bitcode; every failure, whatever raised it, is a CompileError."""
    try:
        return _Translator(read_entry_point(program)).program()
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


_GATES = {  # QIR function -> gate table name; arity and parameter count come from the table
    "__quantum__qis__phasedx__body": "U1q",
    "__quantum__qis__rz__body": "Rz",
    "__quantum__qis__rzz__body": "RZZ",
    "__quantum__qis__zzmax__body": "ZZ",
    "__quantum__qis__rxxyyzz__body": "Rxxyyzz",
}
_BARRIER = re.compile(r"__quantum__qis__barrier([1-9][0-9]*)__body")
_CONTROL_FLOW = {
    pyqir.Opcode.BR,
    pyqir.Opcode.SWITCH,
    pyqir.Opcode.INDIRECT_BR,
    pyqir.Opcode.CALL_BR,
    pyqir.Opcode.INVOKE,
    pyqir.Opcode.PHI,
}

_Handler = Callable[[pyqir.Call], IntValue | None]


class _Translator:
    """Walks the entry block once, appending operations and declaring registers as it goes."""

    def __init__(self, entry: EntryPoint) -> None:
        self._entry = entry  # keeps the LLVM module alive while its values are read
        self._operations: list[Operation] = []
        self._registers: dict[str, int] = {}  # the program's cregs
        self._temporaries: dict[str, int] = {}  # SSA values and result slots
        self._cregs: dict[pyqir.Value, str] = {}  # create_creg call -> register
        self._values: dict[pyqir.Value, IntValue] = {}  # SSA value -> its temporary register
        self._next_number = 0 if entry.block_is_named else 1  # LLVM's numbering of %N
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
        }

    def program(self) -> Program:
        for instruction in self._entry.instructions:
            name = self._ssa_name(instruction)
            value = self._translate(instruction)
            if value is not None:
                self._define(instruction, name, value)
        declared = self._entry.required_num_qubits
        n_qubits = declared if declared is not None else self._max_qubit + 1
        return Program(n_qubits, self._registers, tuple(self._operations), self._temporaries)

    # --- instructions ------------------------------------------------------------------

    def _translate(self, instruction: pyqir.Instruction) -> IntValue | None:
        opcode = instruction.opcode
        if opcode == pyqir.Opcode.RET:  # verified to end the only block; its value is unused
            return None
        if opcode in _CONTROL_FLOW:
            raise control_flow_error(opcode)
        if isinstance(instruction, pyqir.Call):
            return self._call(instruction)
        return translate_integer_instruction(instruction, self._read)

    def _ssa_name(self, instruction: pyqir.Instruction) -> str:
        """The name LLVM prints for the instruction's value; every value takes one in order."""
        if instruction.type.is_void:
            return ""
        if instruction.name:
            return f"%{instruction.name}"
        number, self._next_number = self._next_number, self._next_number + 1
        return f"%{number}"

    def _define(self, instruction: pyqir.Instruction, name: str, value: IntValue) -> None:
        width = int_width(instruction.type, f"the value of {name or 'a call'}")
        self._temporaries[name] = width
        self._operations.append(Assign(name, value.expression))
        self._values[instruction] = IntValue(ReadRegister(name), max(1, min(value.width, width)))

    def _read(self, value: pyqir.Value) -> IntValue:
        """An integer operand: a constant or a value defined earlier in the block."""
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
            self._operations.append(Barrier(tuple(self._qubit(q) for q in qubits)))
            return None
        handler = self._handlers.get(name)
        if handler is None:
            raise CompileError(f"unsupported QIR function '{name}'")
        return handler(call)

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
        register = f"result{result}"
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
        self._operations.append(Gate(gate, qubits, params))

    def _reset(self, call: pyqir.Call) -> None:
        (qubit,) = self._args(call, 1)
        self._operations.append(Reset(self._qubit(qubit)))

    def _mz(self, call: pyqir.Call) -> None:
        qubit, result = self._args(call, 2)
        self._operations.append(Measure(self._qubit(qubit), self._result(result)))

    def _read_result(self, call: pyqir.Call) -> IntValue:
        (result,) = self._args(call, 1)
        return IntValue(ReadBit(self._result(result)), 1)

    # --- output recording --------------------------------------------------------------

    def _record_int(self, call: pyqir.Call) -> None:
        value, label = self._args(call, 2)
        number = self._read(value)
        self._operations.append(Record(output_label(label), number.expression, number.width))

    def _record_bool(self, call: pyqir.Call) -> None:
        value, label = self._args(call, 2)
        self._operations.append(Record(output_label(label), self._read(value).expression, 1))

    def _record_result(self, call: pyqir.Call) -> None:
        result, label = self._args(call, 2)
        self._operations.append(Record(output_label(label), ReadBit(self._result(result)), 1))

    def _no_operation(self, call: pyqir.Call) -> None:
        return None

    # --- the PYTKET profile's classical registers --------------------------------------

    def _create_creg(self, call: pyqir.Call) -> None:
        (size,) = self._args(call, 1)
        width = int_constant(size, "the width of create_creg")
        if width > MAX_REGISTER_WIDTH:
            raise CompileError(f"create_creg({width}): at most {MAX_REGISTER_WIDTH} bits")
        register = f"creg{len(self._cregs)}"
        self._cregs[call] = register
        self._registers[register] = width

    def _mz_to_creg_bit(self, call: pyqir.Call) -> None:
        qubit, creg, index = self._args(call, 3)
        self._operations.append(Measure(self._qubit(qubit), self._creg_bit(creg, index)))

    def _set_creg_bit(self, call: pyqir.Call) -> None:
        creg, index, value = self._args(call, 3)
        bit = self._creg_bit(creg, index)
        self._operations.append(SetBit(bit, self._read(value).expression))

    def _get_creg_bit(self, call: pyqir.Call) -> IntValue:
        creg, index = self._args(call, 2)
        return IntValue(ReadBit(self._creg_bit(creg, index)), 1)

    def _set_creg_to_int(self, call: pyqir.Call) -> None:
        creg, value = self._args(call, 2)
        register = self._creg(creg)
        self._operations.append(Assign(register, self._read(value).expression))

    def _get_int_from_creg(self, call: pyqir.Call) -> IntValue:
        (creg,) = self._args(call, 1)
        register = self._creg(creg)
        return IntValue(ReadRegister(register), self._registers[register])
