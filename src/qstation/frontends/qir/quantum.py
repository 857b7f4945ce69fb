"""The quantum instruction set: gates, barriers, resets and measurements (``mz`` into a result
slot, ``m`` returning one).

Gates: the native ones as pytket-qir writes them (``phasedx``, ``rz``, ``rzz``, ``zzmax``,
``rxxyyzz``) and QIR's standard instruction set as pyqir's ``qis`` module writes it (``h``, ``x``,
``y``, ``z``, ``s``, ``s__adj``, ``t``, ``t__adj``, ``rx``, ``ry``, ``cnot`` or ``cx``, ``cz``,
``swap``, ``ccx``), which become the gate table's standard gates. QIR angles are radians; the
program's are half-turns, so every angle is divided by pi.
"""

from __future__ import annotations

import re
from functools import partial

import pyqir

from qstation.circuit.gates import GATES
from qstation.circuit.program import Barrier, Gate, Measure, Reset
from qstation.errors import CompileError
from qstation.frontends.qir.context import Context, FunctionTable, Handler
from qstation.frontends.qir.operands import angle, call_args
from qstation.frontends.qir.qubits import QubitsAndResults

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


class QuantumInstructions(FunctionTable):
    def __init__(self, context: Context, qubits: QubitsAndResults) -> None:
        super().__init__(
            {
                "__quantum__qis__reset__body": self._reset,
                "__quantum__qis__mz__body": self._mz,
                "__quantum__qis__m__body": self._m,
            }
        )
        self._context = context
        self._qubits = qubits

    def handler(self, function: pyqir.Function) -> Handler | None:
        name = function.name
        gate = _GATES.get(name)
        if gate is not None:
            return partial(self._gate, gate=gate)
        barrier = _BARRIER.fullmatch(name)
        if barrier is not None:
            return partial(self._barrier, width=int(barrier.group(1)))
        return super().handler(function)

    def _gate(self, call: pyqir.Call, gate: str) -> None:
        spec = GATES[gate]
        args = call_args(call, spec.n_params + spec.arity)
        params = tuple(angle(arg) for arg in args[: spec.n_params])
        qubits = tuple(self._qubits.qubit(arg) for arg in args[spec.n_params :])
        if len(set(qubits)) != len(qubits):
            raise CompileError(f"'{call.callee.name}' acts twice on the same qubit {qubits}")
        self._context.emit(Gate(gate, qubits, params))

    def _barrier(self, call: pyqir.Call, width: int) -> None:
        qubits = call_args(call, width)
        self._context.emit(Barrier(tuple(self._qubits.qubit(q) for q in qubits)))

    def _reset(self, call: pyqir.Call) -> None:
        (qubit,) = call_args(call, 1)
        self._context.emit(Reset(self._qubits.qubit(qubit)))

    def _mz(self, call: pyqir.Call) -> None:
        qubit, result = call_args(call, 2)
        self._context.emit(Measure(self._qubits.qubit(qubit), self._qubits.result(result)))

    def _m(self, call: pyqir.Call) -> None:
        """The measurement returns its result: see :mod:`.qubits`."""
        (qubit,) = call_args(call, 1)
        self._context.emit(Measure(self._qubits.qubit(qubit), self._qubits.returned_result(call)))
