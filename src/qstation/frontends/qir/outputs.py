"""Output recording: each ``*_record_output`` call records a job output named by its label.

The job's results map each label to one MSB-first string per shot. Tuple and array markers
group records for output schemas that have containers; the results have none, so the markers
record nothing.
"""

from __future__ import annotations

import pyqir

from qstation.circuit.program import MAX_REGISTER_WIDTH, ReadBit, Record
from qstation.frontends.qir.context import Context, FunctionTable, ignore
from qstation.frontends.qir.operands import call_args, output_label
from qstation.frontends.qir.qubits import QubitsAndResults


class OutputRecording(FunctionTable):
    def __init__(self, context: Context, qubits: QubitsAndResults) -> None:
        super().__init__(
            {
                "__quantum__rt__tuple_record_output": ignore,
                "__quantum__rt__array_record_output": ignore,
                "__quantum__rt__int_record_output": self._record_int,
                "__quantum__rt__bool_record_output": self._record_bool,
                "__quantum__rt__result_record_output": self._record_result,
            }
        )
        self._context = context
        self._qubits = qubits

    def _record_int(self, call: pyqir.Call) -> None:
        value, label = call_args(call, 2)
        number = self._context.read(value)
        # The client reads each output as an MSB-first string as wide as its register; only a
        # creg's contents tell that width (ADAPTIVE QIR has none), so other integers get 64 bits.
        # Other integers are i64 values and keep their sign, as the service reported them.
        width = number.creg_width or MAX_REGISTER_WIDTH
        signed = number.creg_width is None
        self._context.emit(Record(output_label(label), number.expression, width, signed))

    def _record_bool(self, call: pyqir.Call) -> None:
        value, label = call_args(call, 2)
        self._context.emit(Record(output_label(label), self._context.read(value).expression, 1))

    def _record_result(self, call: pyqir.Call) -> None:
        result, label = call_args(call, 2)
        self._context.emit(Record(output_label(label), ReadBit(self._qubits.result(result)), 1))
