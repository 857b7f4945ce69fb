"""Helpers for tests that look inside an internal program."""

from __future__ import annotations

from qstation.circuit.program import Gate, Program, Record


def gates_of(program: Program) -> list[Gate]:
    return [op for op in program.operations if isinstance(op, Gate)]


def record_labels(program: Program) -> list[str]:
    """Output labels in the order they are first recorded."""
    return list(dict.fromkeys(op.label for op in program.operations if isinstance(op, Record)))
