"""pytket's classical expressions (``ClExpr``) and bit tuples as internal expressions.

Every translated expression carries its width, so bitwise ``not`` and all-ones constants stay
inside the register they belong to, as pytket defines them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytket.circuit import Bit, ClBitVar, ClExpr, ClOp, ClRegVar, WiredClExpr

from qstation.circuit.program import (
    MAX_REGISTER_WIDTH,
    Binary,
    BinaryOperator,
    BitRef,
    Const,
    Expression,
    ReadBit,
    ReadRegister,
    Unary,
)
from qstation.errors import CompileError

_BINARY: dict[ClOp, BinaryOperator] = {
    ClOp.BitAnd: "and", ClOp.RegAnd: "and",
    ClOp.BitOr: "or", ClOp.RegOr: "or",
    ClOp.BitXor: "xor", ClOp.RegXor: "xor",
    ClOp.BitEq: "eq", ClOp.RegEq: "eq",
    ClOp.BitNeq: "ne", ClOp.RegNeq: "ne",
    ClOp.RegLt: "ult", ClOp.RegGt: "ugt", ClOp.RegLeq: "ule", ClOp.RegGeq: "uge",
    ClOp.RegAdd: "add", ClOp.RegSub: "sub", ClOp.RegMul: "mul", ClOp.RegDiv: "udiv",
    ClOp.RegPow: "pow", ClOp.RegLsh: "shl", ClOp.RegRsh: "lshr",
}  # fmt: skip
_COMPARISONS = {"eq", "ne", "ult", "ugt", "ule", "uge"}


@dataclass(frozen=True)
class Sized:
    expression: Expression
    width: int


def bits_value(bits: Sequence[Bit], registers: dict[str, int]) -> Expression:
    """The integer whose bit ``i`` is ``bits[i]``: a register read when they are a register."""
    names = {bit.reg_name for bit in bits}
    if len(names) == 1:
        (name,) = names
        if [bit.index[0] for bit in bits] == list(range(registers[name])):
            return ReadRegister(name)
    value: Expression = Const(0)
    for position, bit in enumerate(bits):
        term: Expression = ReadBit(BitRef(bit.reg_name, bit.index[0]))
        if position:
            term = Binary("shl", term, Const(position))
        value = term if position == 0 else Binary("or", value, term)
    return value


def _mask(width: int) -> int:
    return (1 << min(width, MAX_REGISTER_WIDTH)) - 1


class ExpressionTranslator:
    """Translates one ``WiredClExpr`` against the bits of the command that carries it."""

    def __init__(self, wired: WiredClExpr, args: Sequence[Bit], registers: dict[str, int]) -> None:
        self.wired = wired
        self.args = args
        self.registers = registers

    def output_bits(self) -> list[Bit]:
        return [self.args[position] for position in self.wired.output_posn]

    def translate(self) -> Sized:
        return self._term(self.wired.expr, len(self.wired.output_posn))

    def _term(self, term: object, context_width: int) -> Sized:
        if isinstance(term, int):
            return Sized(Const(term), max(1, term.bit_length()))
        if isinstance(term, ClBitVar):
            bit = self.args[self.wired.bit_posn[term.index]]
            return Sized(ReadBit(BitRef(bit.reg_name, bit.index[0])), 1)
        if isinstance(term, ClRegVar):
            bits = [self.args[p] for p in self.wired.reg_posn[term.index]]
            return Sized(bits_value(bits, self.registers), len(bits))
        if isinstance(term, ClExpr):
            return self._operation(term, context_width)
        raise CompileError(f"unsupported classical expression term {term!r}")

    def _operation(self, expression: ClExpr, context_width: int) -> Sized:
        operator = expression.op
        if operator in (ClOp.BitZero, ClOp.RegZero):
            return Sized(Const(0), 1)
        if operator == ClOp.BitOne:
            return Sized(Const(1), 1)
        if operator == ClOp.RegOne:
            return Sized(Const(_mask(context_width)), context_width)
        operands = [self._term(arg, context_width) for arg in expression.args]
        if operator in (ClOp.BitNot, ClOp.RegNot):
            (operand,) = operands
            inverted = Binary("xor", operand.expression, Const(_mask(operand.width)))
            return Sized(inverted, operand.width)
        if operator == ClOp.RegNeg:
            (operand,) = operands
            return Sized(Unary("neg", operand.expression), MAX_REGISTER_WIDTH)
        binary = _BINARY.get(operator)
        if binary is None or len(operands) != 2:
            raise CompileError(f"classical operation {operator.name} is not supported")
        left, right = operands
        width = 1 if binary in _COMPARISONS else max(left.width, right.width, context_width)
        return Sized(Binary(binary, left.expression, right.expression), width)
