"""OPENQASM 2.0 with ``include "hqslib1.inc";`` into the internal program form.

pytket's own reader parses the text (it round-trips everything pytket's writer emits for the
hqslib1 header); this module translates the resulting commands and refuses what the engines do
not run yet, naming the construct.
"""

from __future__ import annotations

from pytket.circuit import Bit, Circuit, Command, OpType, Qubit
from pytket.qasm.qasm import circuit_from_qasm_str

from qstation.circuit.gates import GATE_BY_OPTYPE
from qstation.circuit.program import (
    MAX_REGISTER_WIDTH,
    Barrier,
    BitRef,
    Gate,
    Measure,
    Operation,
    Program,
    ReadRegister,
    Record,
    Reset,
)
from qstation.errors import CompileError


def compile_qasm(text: str) -> Program:
    """Parse ``text`` and translate it; every failure is a :class:`CompileError`."""
    circuit = _parse(text)
    qubit_index = {qubit: i for i, qubit in enumerate(circuit.qubits)}
    operations: list[Operation] = [
        _translate(command, qubit_index) for command in circuit.get_commands()
    ]
    registers = {register.name: register.size for register in circuit.c_registers}
    operations.extend(Record(name, ReadRegister(name), width) for name, width in registers.items())
    return Program(circuit.n_qubits, registers, tuple(operations))


def _parse(text: str) -> Circuit:
    try:
        return circuit_from_qasm_str(text, maxwidth=MAX_REGISTER_WIDTH)
    except Exception as error:  # the reader raises lark, pytket and plain Python errors alike
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CompileError(f"invalid OPENQASM 2.0: {type(error).__name__}: {first_line}") from None


def _bit(bit: Bit) -> BitRef:
    return BitRef(bit.reg_name, bit.index[0])


def _translate(command: Command, qubit_index: dict[Qubit, int]) -> Operation:
    optype = command.op.type
    qubits = tuple(qubit_index[arg] for arg in command.args if isinstance(arg, Qubit))
    if optype == OpType.Measure:
        (target,) = (arg for arg in command.args if isinstance(arg, Bit))
        return Measure(qubits[0], _bit(target))
    if optype == OpType.Reset:
        return Reset(qubits[0])
    if optype == OpType.Barrier:
        return Barrier(qubits)
    spec = GATE_BY_OPTYPE.get(optype)
    if spec is None:
        raise CompileError(f"operation {optype.name} ({command}) is not supported yet")
    params = tuple(_half_turns(p, command) for p in command.op.params)
    return Gate(spec.name, qubits, params)


def _half_turns(param: object, command: Command) -> float:
    try:
        return float(param)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CompileError(f"symbolic angle {param} in {command} is not allowed") from None
