"""Output recording: each ``*_record_output`` call records a job output named by its label.

The job's results map each label to one MSB-first string per shot, so the outputs of a program
are the labels of its ``result``, ``bool`` and ``int`` records (widths: see
:meth:`OutputRecording._record_int`). Containers group records in the QIR output schemas, but the
results have none: the container markers record nothing, in both spellings.

- QIR 1.0: ``tuple_record_output(i64 n, i8* label)`` and ``array_record_output(i64 n, i8*
  label)`` start a container of ``n`` records.
- The first Base Profile draft, and writers from its time (qat, Q#, CUDA-Q, early pytket-qir):
  the pairs ``tuple_start_record_output()`` ... ``tuple_end_record_output()`` and
  ``array_start_record_output()`` ... ``array_end_record_output()``, sometimes with one label
  argument, which names no output. A container ends where it started, so the pairs must nest in
  the entry point's order (tuple with tuple, array with array); a marker without its partner is a
  compile error naming it.
"""

from __future__ import annotations

from functools import partial

import pyqir

from qstation.circuit.program import MAX_REGISTER_WIDTH, Record
from qstation.errors import CompileError
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
                "__quantum__rt__tuple_start_record_output": partial(self._start, container="tuple"),
                "__quantum__rt__tuple_end_record_output": partial(self._end, container="tuple"),
                "__quantum__rt__array_start_record_output": partial(self._start, container="array"),
                "__quantum__rt__array_end_record_output": partial(self._end, container="array"),
            }
        )
        self._context = context
        self._qubits = qubits
        self._open: list[str] = []  # the containers started and not yet ended, innermost last

    def finish(self) -> None:
        """Check that every container the entry point started has ended."""
        if self._open:
            container = self._open[-1]
            raise CompileError(
                f"'__quantum__rt__{container}_start_record_output' has no matching "
                f"'__quantum__rt__{container}_end_record_output'"
            )

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
        self._context.emit(Record(output_label(label), self._qubits.read(result), 1))

    def _start(self, call: pyqir.Call, container: str) -> None:
        _check_marker_arguments(call)
        self._open.append(container)

    def _end(self, call: pyqir.Call, container: str) -> None:
        _check_marker_arguments(call)
        if not self._open or self._open[-1] != container:
            still_open = f" (the {self._open[-1]} started last is still open)" if self._open else ""
            raise CompileError(
                f"'{call.callee.name}' has no matching "
                f"'__quantum__rt__{container}_start_record_output'{still_open}"
            )
        self._open.pop()


def _check_marker_arguments(call: pyqir.Call) -> None:
    """No arguments, or one label (which names no output, so it is not read)."""
    args = call.args
    if len(args) > 1 or any(not isinstance(arg.type, pyqir.PointerType) for arg in args):
        raise CompileError(f"'{call.callee.name}' takes no arguments or one label")
