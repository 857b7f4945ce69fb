"""Qubit and result operands: static ids, checked against what the entry point declares.

Result slot ``r`` is the 1-bit temporary register ``result<r>``, so any number of slots fits.
"""

from __future__ import annotations

import pyqir

from qstation.circuit.program import BitRef, ReadBit
from qstation.errors import CompileError
from qstation.frontends.qir.arithmetic import IntValue
from qstation.frontends.qir.context import Context, FunctionTable, ignore
from qstation.frontends.qir.operands import call_args, static_id
from qstation.frontends.qir.reader import EntryPoint


class QubitsAndResults(FunctionTable):
    """Resolves qubit and result operands and counts the qubits the program uses."""

    def __init__(self, context: Context, entry: EntryPoint) -> None:
        super().__init__(
            {
                "__quantum__rt__initialize": ignore,  # qubits start in |0> anyway
                "__quantum__qis__read_result__body": self._read_result,
            }
        )
        self._context = context
        self._declared_qubits = entry.required_num_qubits
        self._declared_results = entry.required_num_results
        self._max_qubit = -1
        self._slots: dict[int, str] = {}  # static result id -> its register

    def n_qubits(self) -> int:
        """The declared count, else one past the highest qubit used."""
        if self._declared_qubits is not None:
            return self._declared_qubits
        return self._max_qubit + 1

    def qubit(self, value: pyqir.Value) -> int:
        qubit = _declared_id(value, "qubit", self._declared_qubits)
        self._max_qubit = max(self._max_qubit, qubit)
        return qubit

    def result(self, value: pyqir.Value) -> BitRef:
        """The slot a measurement writes or a read reads."""
        result = _declared_id(value, "result", self._declared_results)
        register = self._slots.get(result)
        if register is None:
            register = self._slots[result] = self._context.temporary(f"result{result}", 1)
        return BitRef(register, 0)

    def _read_result(self, call: pyqir.Call) -> IntValue:
        (result,) = call_args(call, 1)
        return IntValue(ReadBit(self.result(result)), 1)


def _declared_id(value: pyqir.Value, kind: str, declared: int | None) -> int:
    index = static_id(value, kind)
    if declared is not None and index >= declared:
        raise CompileError(
            f"{kind} {index} is out of range: the entry point declares {declared} {kind}s"
        )
    return index
