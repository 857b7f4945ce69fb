"""What the translator offers the modules that translate runtime-function calls, and how it
finds the handler of a call.

Each group of runtime functions (the quantum instruction set, qubits and results, output
recording, the classical runtime) is a class that receives a :class:`Context` and answers
:meth:`RuntimeFunctions.handler` for the functions it knows. A handler translates one call; it
returns the call's integer value, or None when the call has none (the translator then assigns
nothing) or a pointer (to a qubit or result), which the group that made it keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pyqir

from qstation.circuit.program import Expression, Operation
from qstation.frontends.qir.arithmetic import IntValue

Handler = Callable[[pyqir.Call], IntValue | None]


class Context(Protocol):
    """The translator, as the handlers see it."""

    @property
    def prefix(self) -> str:
        """Starts every register name: each entry point keeps its own registers."""

    @property
    def condition(self) -> Expression | None:
        """When the block being translated runs; None if in every shot."""

    def emit(self, operation: Operation) -> None:
        """Append an operation of the current block, under the block's reaching condition."""

    def read(self, value: pyqir.Value) -> IntValue:
        """An integer operand: a constant or a value defined earlier in the program."""

    def declare(self, instruction: pyqir.Instruction, significant: int) -> str:
        """The temporary that holds ``instruction``'s value, which later reads of it use."""

    def temporary(self, name: str, width: int) -> str:
        """A new temporary register of the entry point."""

    def name_of(self, value: pyqir.Value) -> str:
        """How LLVM prints ``value`` as an operand (``%q``, ``ptr null``), for messages."""


class RuntimeFunctions(Protocol):
    def handler(self, function: pyqir.Function) -> Handler | None:
        """The handler of calls to ``function``, if this group knows it."""


class FunctionTable:
    """A group of runtime functions known by their names."""

    def __init__(self, functions: dict[str, Handler]) -> None:
        self._functions = functions

    def handler(self, function: pyqir.Function) -> Handler | None:
        return self._functions.get(function.name)


def ignore(call: pyqir.Call) -> None:
    """A call that changes nothing in what qstation runs."""
