"""Checked readers for the operands of QIR calls: their number, qubits, results, angles, labels.

pyqir's own helpers trust their argument: ``extract_byte_string`` on anything but a constant
global reads arbitrary memory, ``ptr_id`` folds any constant pointer (a global, ``undef``) and
reads the result as an integer without checking, and ``IntConstant.value`` panics on integers
wider than 64 bits. A submitted program is untrusted, so every reader here checks the kind of
value first and refuses with a :class:`CompileError` instead.
"""

from __future__ import annotations

import math
import re

import pyqir

from qstation.circuit.program import MAX_REGISTER_WIDTH
from qstation.errors import CompileError

# How LLVM prints the two spellings of a static qubit or result id.
_STATIC_ID = re.compile(r"ptr (?:null|inttoptr \(i\d+ (\d+) to ptr\))")


def mnemonic(opcode: pyqir.Opcode) -> str:
    """The LLVM spelling of an opcode (``Opcode.GET_ELEMENT_PTR`` -> ``getelementptr``)."""
    return str(opcode).rpartition(".")[2].replace("_", "").lower()


def call_args(call: pyqir.Call, count: int) -> list[pyqir.Value]:
    """The arguments of a call to a function that takes ``count`` of them."""
    args = call.args
    if len(args) != count:
        raise CompileError(f"'{call.callee.name}' takes {count} arguments, not {len(args)}")
    return args


def int_width(type_: pyqir.Type, what: str) -> int:
    """The width of an integer type, refusing what a register cannot hold."""
    if not isinstance(type_, pyqir.IntType):
        raise CompileError(f"{what} must be an integer")
    width = type_.width
    if width > MAX_REGISTER_WIDTH:
        raise CompileError(
            f"{what} is a {width}-bit integer; at most {MAX_REGISTER_WIDTH} bits are supported"
        )
    return width


def int_constant(value: pyqir.Value, what: str) -> int:
    """The unsigned value of a constant integer operand, such as a creg index."""
    if not isinstance(value, pyqir.IntConstant):
        raise CompileError(f"{what} must be a constant integer")
    int_width(value.type, what)
    return value.value


def static_id(value: pyqir.Value, what: str) -> int:
    """The index of a static qubit or result: ``ptr null`` or ``ptr inttoptr (i64 k to ptr)``."""
    if isinstance(value, pyqir.Constant) and isinstance(value.type, pyqir.PointerType):
        match = _STATIC_ID.fullmatch(str(value))
        if match is not None:
            return int(match.group(1) or 0)
    raise CompileError(f"{what} must be a static {what} id (ptr null or inttoptr of a constant)")


def angle(value: pyqir.Value) -> float:
    """A constant rotation angle, converted from QIR's radians to half-turns."""
    if not isinstance(value, pyqir.FloatConstant):
        raise CompileError("gate angles must be floating-point constants")
    radians = value.value
    if not math.isfinite(radians):
        raise CompileError(f"gate angle {radians} is not a finite number")
    return radians / math.pi


def output_label(value: pyqir.Value) -> str:
    """The text of an output label: a constant global holding a NUL-terminated byte string."""
    data = _byte_array(value)
    if data is None:
        raise CompileError("output labels must be constant strings")
    try:
        return data.partition(b"\0")[0].decode()
    except UnicodeDecodeError:
        raise CompileError(f"output label {data!r} is not valid UTF-8") from None


def _byte_array(value: pyqir.Value) -> bytes | None:
    if not (isinstance(value, pyqir.GlobalVariable) and value.is_constant):
        return None
    initializer = value.initializer
    if not isinstance(initializer, pyqir.ArrayConstant):
        return None
    element = initializer.type.element if isinstance(initializer.type, pyqir.ArrayType) else None
    if not (isinstance(element, pyqir.IntType) and element.width == 8):
        return None
    data = bytearray()
    for byte in initializer.elements:
        if not isinstance(byte, pyqir.IntConstant):
            return None
        data.append(byte.value)
    return bytes(data)
