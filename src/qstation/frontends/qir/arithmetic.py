"""LLVM integer instructions as expressions, each with a bound on its value's bit length.

Expressions follow the engine's arithmetic: unsigned Python ints, wrapped to 64 bits, and
truncated to the width of the register they are assigned to, which is exactly LLVM's modular
arithmetic on ``iN``. Signed forms (``sext``, signed ``icmp``) are rewritten into unsigned ones.

The *significant width* of a value is a bit count it provably fits in. It tells whether a
branch or switch value is a single bit (then it is tested directly). It does not decide how wide
an ``int_record_output`` is written: only a creg's contents have a known width; every other
integer is recorded with 64 bits, since the client needs each string at least as wide as the
register it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyqir

from qstation.circuit.program import Binary, BinaryOperator, Const, Expression
from qstation.errors import CompileError
from qstation.frontends.qir.operands import int_width, mnemonic


@dataclass(frozen=True, slots=True)
class IntValue:
    """An integer operand: how to compute it and how many low bits it can occupy."""

    expression: Expression
    width: int
    creg_width: int | None = None
    """Set when the value is exactly a creg's contents (``get_int_from_creg``): its width."""

    @staticmethod
    def constant(value: int) -> IntValue:
        return IntValue(Const(value), max(1, value.bit_length()))


OperandReader = Callable[[pyqir.Value], IntValue]

_BINARY: dict[pyqir.Opcode, BinaryOperator] = {
    pyqir.Opcode.ADD: "add",
    pyqir.Opcode.SUB: "sub",
    pyqir.Opcode.MUL: "mul",
    pyqir.Opcode.UDIV: "udiv",
    pyqir.Opcode.UREM: "urem",
    pyqir.Opcode.AND: "and",
    pyqir.Opcode.OR: "or",
    pyqir.Opcode.XOR: "xor",
    pyqir.Opcode.SHL: "shl",
    pyqir.Opcode.LSHR: "lshr",
}

_COMPARISONS: dict[pyqir.IntPredicate, BinaryOperator] = {  # every predicate LLVM has
    pyqir.IntPredicate.EQ: "eq",
    pyqir.IntPredicate.NE: "ne",
    pyqir.IntPredicate.ULT: "ult",
    pyqir.IntPredicate.ULE: "ule",
    pyqir.IntPredicate.UGT: "ugt",
    pyqir.IntPredicate.UGE: "uge",
    # signed: flipping the sign bit maps two's complement order onto unsigned order
    pyqir.IntPredicate.SLT: "ult",
    pyqir.IntPredicate.SLE: "ule",
    pyqir.IntPredicate.SGT: "ugt",
    pyqir.IntPredicate.SGE: "uge",
}
_SUPPORTED = {
    *_BINARY,
    pyqir.Opcode.ZEXT,
    pyqir.Opcode.TRUNC,
    pyqir.Opcode.SEXT,
    pyqir.Opcode.ICMP,
    pyqir.Opcode.SELECT,
}
_SIGNED = {
    pyqir.IntPredicate.SLT,
    pyqir.IntPredicate.SLE,
    pyqir.IntPredicate.SGT,
    pyqir.IntPredicate.SGE,
}


def translate_integer_instruction(instruction: pyqir.Instruction, read: OperandReader) -> IntValue:
    """The value ``instruction`` computes, from operands that ``read`` resolves.

    The width is a bound before clamping: the caller clamps it to 1 .. the LLVM type's width.
    """
    opcode = instruction.opcode
    if opcode not in _SUPPORTED:
        raise CompileError(f"unsupported LLVM instruction '{mnemonic(opcode)}'")
    width = int_width(instruction.type, f"the result of {mnemonic(opcode)}")
    operands = instruction.operands
    if opcode in _BINARY:
        left, right = read(operands[0]), read(operands[1])
        return IntValue(
            Binary(_BINARY[opcode], left.expression, right.expression),
            _binary_width(opcode, left, right, width),
        )
    if opcode in (pyqir.Opcode.ZEXT, pyqir.Opcode.TRUNC):
        return read(operands[0])  # assigning to a register of the new width truncates
    if opcode == pyqir.Opcode.SEXT:
        return IntValue(_sign_extend(read(operands[0]), operands[0], width), width)
    if isinstance(instruction, pyqir.ICmp):
        return _compare(instruction.predicate, operands, read)
    return _select(read(operands[0]), read(operands[1]), read(operands[2]))


def _binary_width(opcode: pyqir.Opcode, left: IntValue, right: IntValue, width: int) -> int:
    if opcode == pyqir.Opcode.AND:
        return min(left.width, right.width)
    if opcode in (pyqir.Opcode.OR, pyqir.Opcode.XOR):
        return max(left.width, right.width)
    if opcode == pyqir.Opcode.ADD:
        return max(left.width, right.width) + 1
    shift = _constant(right)
    if opcode == pyqir.Opcode.SHL and shift is not None:
        return left.width + shift
    if opcode == pyqir.Opcode.LSHR and shift is not None:
        return max(left.width - shift, 0)
    if opcode == pyqir.Opcode.MUL:
        for factor, other in ((right, left), (left, right)):
            power = _power_of_two(factor)
            if power is not None:
                return other.width + power
    return width


def _constant(value: IntValue) -> int | None:
    return value.expression.value if isinstance(value.expression, Const) else None


def _power_of_two(value: IntValue) -> int | None:
    constant = _constant(value)
    if constant is None or constant <= 0 or constant & (constant - 1):
        return None
    return constant.bit_length() - 1


def _sign_extend(value: IntValue, operand: pyqir.Value, width: int) -> Expression:
    """``x + sign(x) * (2**width - 2**from)``: the new high bits copy the sign bit."""
    from_width = int_width(operand.type, "the operand of sext")
    sign = Binary("lshr", value.expression, Const(from_width - 1))
    high_bits = (1 << width) - (1 << from_width)
    return Binary("add", value.expression, Binary("mul", sign, Const(high_bits)))


def _compare(
    predicate: pyqir.IntPredicate, operands: list[pyqir.Value], read: OperandReader
) -> IntValue:
    left, right = read(operands[0]).expression, read(operands[1]).expression
    if predicate in _SIGNED:
        sign_bit = Const(1 << (int_width(operands[0].type, "the operand of icmp") - 1))
        left, right = Binary("xor", left, sign_bit), Binary("xor", right, sign_bit)
    return IntValue(Binary(_COMPARISONS[predicate], left, right), 1)


def _select(condition: IntValue, if_true: IntValue, if_false: IntValue) -> IntValue:
    """``c * a + (1 - c) * b`` with ``c`` an ``i1``, so exactly one term survives."""
    chosen = Binary(
        "add",
        Binary("mul", condition.expression, if_true.expression),
        Binary("mul", Binary("sub", Const(1), condition.expression), if_false.expression),
    )
    return IntValue(chosen, max(if_true.width, if_false.width))
