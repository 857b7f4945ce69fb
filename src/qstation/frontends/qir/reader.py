"""From a job's ``program`` text (base64 of LLVM bitcode) to the blocks of its QIR entry points."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import pyqir

from qstation.errors import CompileError


@dataclass(frozen=True)
class EntryPoint:
    """An entry point of a module; holding the module keeps its LLVM objects alive."""

    module: pyqir.Module
    name: str
    blocks: list[pyqir.BasicBlock]  # in layout order, the entry block first
    required_num_qubits: int | None
    required_num_results: int | None


def read_entry_points(program: str) -> list[EntryPoint]:
    """Decode, parse and verify ``program`` and return its entry points in module order."""
    module = _parse(_decode(program))
    functions = [function for function in module.functions if pyqir.is_entry_point(function)]
    if not functions:
        raise CompileError('QIR program has no entry point (a function with "entry_point")')
    return [_entry_point(module, function) for function in functions]


def _decode(program: str) -> bytes:
    try:
        # Whitespace is tolerated: some clients wrap long base64 text.
        return base64.b64decode("".join(program.split()), validate=True)
    except (binascii.Error, ValueError):
        raise CompileError("program is not valid base64") from None


def _parse(bitcode: bytes) -> pyqir.Module:
    try:
        module = pyqir.Module.from_bitcode(pyqir.Context(), bitcode)
    except ValueError as error:
        raise CompileError(f"program is not valid LLVM bitcode: {error}") from None
    problem = module.verify()
    if problem is not None:
        raise CompileError(f"program is not a valid LLVM module: {problem.strip()}")
    return module


def _entry_point(module: pyqir.Module, function: pyqir.Function) -> EntryPoint:
    blocks = function.basic_blocks
    if not blocks:
        raise CompileError(f"QIR entry point '{function.name}' has no body")
    if function.params:
        raise CompileError(f"QIR entry point '{function.name}' must not take parameters")
    return EntryPoint(
        module=module,
        name=function.name,
        blocks=blocks,
        required_num_qubits=pyqir.required_num_qubits(function),
        required_num_results=pyqir.required_num_results(function),
    )
