"""Qubit and result operands: static ids, qubits the program allocates itself, and results
that measurements return.

Static ids (``ptr null``, ``inttoptr (i64 k to ptr)``) are checked against what the entry point
declares (``required_num_qubits``, ``required_num_results``). Result slot ``r`` is the 1-bit
temporary register ``result<r>``, so any number of slots fits.

Result pointers, as Q# and qat write them: ``%r = call ptr @__quantum__qis__m__body(ptr %q)``
measures into a fresh slot, the 1-bit temporary ``result(%r)``, which ``%r`` then stands for
wherever a result goes (``read_result``, ``result_record_output``, even ``mz``).
``result_get_one()`` and ``result_get_zero()`` are constant results, which nothing may write;
``result_equal(%a, %b)`` compares two results as bits. Reference counts (``result_`` and
``qubit_update_reference_count``) change nothing: no result is ever freed.

Dynamic qubits, as qat, Q# and pyqir's older examples write them (``dynamic_qubit_management``):
``%q = call ptr @__quantum__rt__qubit_allocate()`` (QIR 2.0 adds an ``out_err`` argument, which
must be null here) and ``call void @__quantum__rt__qubit_release(ptr %q)``. Each allocation is
given a static index: the lowest one a release gave back, else the next new one, so the
program's qubit count is the peak number allocated at once. QIR makes the target, not the
program, return every allocated qubit in |0> (a released one may be in any state), so a reused
index is reset where it is allocated again (as a later entry point resets the qubits an earlier
one used). A release gives its index back only if it runs in exactly the shots its
allocation ran in (the same block, or both in every shot); else the index is never reused.
Releasing a qubit that no allocation returned, releasing it twice, using it after its release
and mixing static ids with allocation are compile errors. Qubit arrays are refused.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import partial

import pyqir

from qstation.circuit.program import Binary, BitRef, Const, Expression, ReadBit, Reset
from qstation.errors import CompileError
from qstation.frontends.qir.arithmetic import IntValue
from qstation.frontends.qir.context import Context, FunctionTable, ignore
from qstation.frontends.qir.operands import call_args, static_id
from qstation.frontends.qir.reader import EntryPoint

_ALLOCATE = "__quantum__rt__qubit_allocate"
_QUBIT_ARRAYS = (
    "__quantum__rt__qubit_allocate_array",
    "__quantum__rt__qubit_release_array",
    "__quantum__rt__array_get_element_ptr_1d",
)


@dataclass(frozen=True, slots=True)
class _Allocation:
    index: int
    condition: Expression | None  # when the allocating block runs; None: in every shot


class QubitsAndResults(FunctionTable):
    """Resolves qubit and result operands and counts the qubits the program uses."""

    def __init__(self, context: Context, entry: EntryPoint) -> None:
        super().__init__(
            {
                "__quantum__rt__initialize": ignore,  # qubits start in |0> anyway
                "__quantum__qis__read_result__body": self._read_result,
                "__quantum__rt__result_get_one": partial(self._constant_result, value=1),
                "__quantum__rt__result_get_zero": partial(self._constant_result, value=0),
                "__quantum__rt__result_equal": self._result_equal,
                "__quantum__rt__result_update_reference_count": ignore,
                "__quantum__rt__qubit_update_reference_count": ignore,
                _ALLOCATE: self._allocate,
                "__quantum__rt__qubit_release": self._release,
                **dict.fromkeys(_QUBIT_ARRAYS, _refuse_qubit_array),
            }
        )
        self._context = context
        self._declared_qubits = entry.required_num_qubits
        self._declared_results = entry.required_num_results
        self._max_qubit = -1  # the highest static qubit id used
        self._slots: dict[int, str] = {}  # static result id -> its register
        self._returned: dict[pyqir.Value, BitRef] = {}  # m call -> the slot it measured into
        self._constants: dict[pyqir.Value, int] = {}  # result_get_one/_zero call -> 1 or 0
        self._allocations: dict[pyqir.Value, _Allocation] = {}  # qubit_allocate call -> qubit
        self._released: set[pyqir.Value] = set()
        self._free: list[int] = []  # a heap of the indices releases gave back
        self._allocated = 0  # indices handed out so far

    def n_qubits(self) -> int:
        """The peak number allocated at once, the declared count, else one past the highest
        qubit used."""
        if self._allocations:
            return self._allocated
        if self._declared_qubits is not None:
            return self._declared_qubits
        return self._max_qubit + 1

    def qubit(self, value: pyqir.Value) -> int:
        allocation = self._allocations.get(value)
        if allocation is not None:
            if value in self._released:
                raise CompileError(
                    f"qubit {self._context.name_of(value)} is used after its qubit_release"
                )
            return allocation.index
        qubit = _declared_id(value, "qubit", self._declared_qubits)
        if self._allocations:
            raise _mixed_error()
        self._max_qubit = max(self._max_qubit, qubit)
        return qubit

    def result(self, value: pyqir.Value) -> BitRef:
        """The slot a measurement writes."""
        returned = self._returned.get(value)
        if returned is not None:
            return returned
        if value in self._constants:
            raise CompileError(
                f"{self._context.name_of(value)} is a constant result "
                "(result_get_one or result_get_zero): nothing may write it"
            )
        result = _declared_id(value, "result", self._declared_results)
        register = self._slots.get(result)
        if register is None:
            register = self._slots[result] = self._context.temporary(f"result{result}", 1)
        return BitRef(register, 0)

    def read(self, value: pyqir.Value) -> Expression:
        """A result's bit."""
        constant = self._constants.get(value)
        return Const(constant) if constant is not None else ReadBit(self.result(value))

    def returned_result(self, call: pyqir.Call) -> BitRef:
        """A fresh slot for the result ``call`` returns, which the call's value then stands for."""
        register = self._context.temporary(f"result({self._context.name_of(call)})", 1)
        self._returned[call] = BitRef(register, 0)
        return self._returned[call]

    def _read_result(self, call: pyqir.Call) -> IntValue:
        (result,) = call_args(call, 1)
        return IntValue(self.read(result), 1)

    def _constant_result(self, call: pyqir.Call, value: int) -> None:
        call_args(call, 0)
        self._constants[call] = value

    def _result_equal(self, call: pyqir.Call) -> IntValue:
        first, second = call_args(call, 2)
        return IntValue(Binary("eq", self.read(first), self.read(second)), 1)

    # --- dynamic qubits -------------------------------------------------------------------

    def _allocate(self, call: pyqir.Call) -> None:
        if len(call.args) > 1 or not all(_is_null(arg) for arg in call.args):
            raise CompileError(
                f"'{_ALLOCATE}' takes no arguments or a null out_err "
                "(allocation failures are not reported to the program)"
            )
        if self._max_qubit >= 0:
            raise _mixed_error()
        if self._free:
            index = heapq.heappop(self._free)
            self._context.emit(Reset(index))  # an earlier allocation left it in any state
        else:
            index, self._allocated = self._allocated, self._allocated + 1
            declared = self._declared_qubits
            if declared is not None and self._allocated > declared:
                raise CompileError(
                    f"{self._allocated} qubits are allocated at once, but the entry point "
                    f"declares {declared}"
                )
        self._allocations[call] = _Allocation(index, self._context.condition)

    def _release(self, call: pyqir.Call) -> None:
        (qubit,) = call_args(call, 1)
        name = self._context.name_of(qubit)
        allocation = self._allocations.get(qubit)
        if allocation is None:
            raise CompileError(f"qubit_release of {name}, which no qubit_allocate returned")
        if qubit in self._released:
            raise CompileError(f"qubit {name} is released twice")
        if allocation.condition == self._context.condition:
            self._released.add(qubit)
            heapq.heappush(self._free, allocation.index)


def _declared_id(value: pyqir.Value, kind: str, declared: int | None) -> int:
    index = static_id(value, kind)
    if declared is not None and index >= declared:
        raise CompileError(
            f"{kind} {index} is out of range: the entry point declares {declared} {kind}s"
        )
    return index


def _is_null(value: pyqir.Value) -> bool:
    return isinstance(value, pyqir.Constant) and value.is_null


def _mixed_error() -> CompileError:
    return CompileError(f"an entry point uses static qubit ids or {_ALLOCATE}, not both")


def _refuse_qubit_array(call: pyqir.Call) -> None:
    raise CompileError(
        f"'{call.callee.name}': qubit arrays are not supported; allocate each qubit with "
        f"{_ALLOCATE}"
    )
