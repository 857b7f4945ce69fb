"""The classical runtime of pytket-qir: the PYTKET profile's cregs, random numbers, shot
numbers and WASM calls.

Cregs: the n-th ``create_creg`` makes register ``creg<n>`` (the label recorded later names the
output, not the register).

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

import pyqir

from qstation.circuit.program import (
    MAX_REGISTER_WIDTH,
    Assign,
    Binary,
    BitRef,
    CallWasm,
    Const,
    DrawRandom,
    Expression,
    IndexRandom,
    Measure,
    ReadBit,
    ReadRegister,
    SeedRandom,
    SetBit,
    ShotNumber,
)
from qstation.errors import CompileError
from qstation.frontends.qir.arithmetic import IntValue
from qstation.frontends.qir.context import Context, FunctionTable, Handler
from qstation.frontends.qir.operands import call_args, int_constant, int_width
from qstation.frontends.qir.qubits import QubitsAndResults

_RANDOM_WIDTH = 32  # every drawn number is below 2**32, whatever its bound


class ClassicalRuntime(FunctionTable):
    def __init__(self, context: Context, qubits: QubitsAndResults) -> None:
        super().__init__(
            {
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
        )
        self._context = context
        self._qubits = qubits
        self.registers: dict[str, int] = {}
        """The program's cregs, name -> width, in creation order."""
        self._cregs: dict[pyqir.Value, str] = {}  # create_creg call -> register

    def handler(self, function: pyqir.Function) -> Handler | None:
        known = super().handler(function)
        if known is None and not function.basic_blocks and "wasm" in function.attributes.func:
            return self._call_wasm
        return known

    # --- the PYTKET profile's classical registers --------------------------------------

    def _creg(self, value: pyqir.Value) -> str:
        register = self._cregs.get(value)
        if register is None:
            raise CompileError("a creg argument is not a register made by create_creg")
        return register

    def _creg_bit(self, creg: pyqir.Value, index: pyqir.Value) -> BitRef:
        register = self._creg(creg)
        bit = int_constant(index, "a creg index")
        width = self.registers[register]
        if bit >= width:
            raise CompileError(f"creg index {bit} is out of range for a creg of width {width}")
        return BitRef(register, bit)

    def _create_creg(self, call: pyqir.Call) -> None:
        (size,) = call_args(call, 1)
        width = int_constant(size, "the width of create_creg")
        if width > MAX_REGISTER_WIDTH:
            raise CompileError(f"create_creg({width}): at most {MAX_REGISTER_WIDTH} bits")
        register = f"{self._context.prefix}creg{len(self._cregs)}"
        self._cregs[call] = register
        self.registers[register] = width

    def _mz_to_creg_bit(self, call: pyqir.Call) -> None:
        qubit, creg, index = call_args(call, 3)
        self._context.emit(Measure(self._qubits.qubit(qubit), self._creg_bit(creg, index)))

    def _set_creg_bit(self, call: pyqir.Call) -> None:
        creg, index, value = call_args(call, 3)
        bit = self._creg_bit(creg, index)
        self._context.emit(SetBit(bit, self._context.read(value).expression))

    def _get_creg_bit(self, call: pyqir.Call) -> IntValue:
        creg, index = call_args(call, 2)
        return IntValue(ReadBit(self._creg_bit(creg, index)), 1)

    def _set_creg_to_int(self, call: pyqir.Call) -> None:
        creg, value = call_args(call, 2)
        register = self._creg(creg)
        self._context.emit(Assign(register, self._context.read(value).expression))

    def _get_int_from_creg(self, call: pyqir.Call) -> IntValue:
        (creg,) = call_args(call, 1)
        register = self._creg(creg)
        width = self.registers[register]
        return IntValue(ReadRegister(register), width, creg_width=width)

    # --- random numbers and shot numbers -------------------------------------------------

    def _random_seed(self, call: pyqir.Call) -> None:
        (seed,) = call_args(call, 1)
        self._context.emit(SeedRandom(self._context.read(seed).expression))

    def _random_int(self, call: pyqir.Call) -> None:
        call_args(call, 0)
        self._draw(call, Const(0))

    def _random_int_bounded(self, call: pyqir.Call) -> None:
        (bound,) = call_args(call, 1)
        self._draw(call, self._context.read(bound).expression)

    def _draw(self, call: pyqir.Call, bound: Expression) -> None:
        """The draw writes the call's value itself: no ``Assign`` follows it."""
        self._context.emit(DrawRandom(self._context.declare(call, _RANDOM_WIDTH), bound))

    def _set_random_index(self, call: pyqir.Call) -> None:
        (index,) = call_args(call, 1)
        self._context.emit(IndexRandom(self._context.read(index).expression))

    def _get_current_shot(self, call: pyqir.Call) -> IntValue:
        call_args(call, 0)
        return IntValue(ShotNumber(), MAX_REGISTER_WIDTH)

    # --- WASM ------------------------------------------------------------------------------

    def _call_wasm(self, call: pyqir.Call) -> None:
        """The call writes its value itself, like a draw: no ``Assign`` follows it."""
        function = call.callee.name
        # A value goes in as its QIR type's bits, constants and computed values alike.
        arguments = tuple(
            _truncated(
                self._context.read(argument).expression,
                int_width(argument.type, f"an argument of WASM function {function!r}"),
            )
            for argument in call.args
        )
        is_void = call.type.is_void
        results = () if is_void else (self._context.declare(call, MAX_REGISTER_WIDTH),)
        self._context.emit(CallWasm(function, arguments, results))


def _truncated(expression: Expression, width: int) -> Expression:
    if width >= MAX_REGISTER_WIDTH:
        return expression
    return Binary("and", expression, Const((1 << width) - 1))
