"""What every engine shares once its measurements are settled: the classical replay, and
collecting every shot's outputs.

Engines that settle every measurement at once hand the measured bits to :func:`replay`;
programs with feedback run in groups of shots (:mod:`qstation.engines.branching`), whose
outputs :func:`gather` collects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from qstation.circuit.program import (
    Barrier,
    Conditional,
    Gate,
    Measure,
    Program,
    Record,
    Reset,
    unconditioned,
)
from qstation.engines.classical import ClassicalState, Words, format_outputs
from qstation.engines.wasm import WasmModule

REPLAY_BLOCK = 1024
"""Shots whose classical operations are replayed together."""
WASM_REPLAY_BLOCK = 16
"""The same for programs with WASM calls: each shot of a block holds a live instance, whose
memory may reach :data:`~qstation.engines.wasm.MEMORY_PER_SHOT`."""

_QUANTUM = (Gate, Measure, Reset)


def quantum_part_is_fixed(program: Program) -> bool:
    """True when one simulation serves every shot: no quantum step depends on a measurement."""
    touched: set[int] = set()
    measured: set[int] = set()
    for operation in program.operations:
        if isinstance(operation, Conditional) and isinstance(unconditioned(operation), _QUANTUM):
            return False
        if isinstance(operation, Gate):
            if measured.intersection(operation.qubits):
                return False
            touched.update(operation.qubits)
        elif isinstance(operation, Reset):
            if operation.qubit in touched or operation.qubit in measured:
                return False
        elif isinstance(operation, Measure):
            measured.add(operation.qubit)
    return True


# --- classical replay after every measurement is settled -----------------------------------


def replay(
    program: Program,
    wasm: WasmModule | None,
    keys: np.ndarray,
    measured: list[Words],
    first_shot: int = 0,
) -> dict[str, list[str]]:
    """The outputs of all shots of the run (the job's shots from ``first_shot`` on), given
    each measurement's bit (in program order) in every shot."""
    return gather(
        program.outputs(), keys.size, replay_parts(program, wasm, keys, measured, first_shot)
    )


def replay_parts(
    program: Program,
    wasm: WasmModule | None,
    keys: np.ndarray,
    measured: list[Words],
    first_shot: int = 0,
) -> Iterator[tuple[np.ndarray, dict[str, tuple[Words, Record]]]]:
    """The outputs of blocks of shots, whose classical operations run together."""
    size = REPLAY_BLOCK if wasm is None else WASM_REPLAY_BLOCK
    for first in range(0, keys.size, size):
        block = np.arange(first, min(first + size, keys.size))
        bits = [values[block] for values in measured]
        yield block, _replay(program, wasm, keys[block], bits, block + first_shot)


def _replay(
    program: Program,
    wasm: WasmModule | None,
    keys: np.ndarray,
    measured: list[Words],
    shots: np.ndarray,  # indices in the job
) -> dict[str, tuple[Words, Record]]:
    classical = ClassicalState(program, keys, shots, wasm)
    bits = iter(measured)
    for operation in program.operations:
        if isinstance(operation, Measure):
            classical.set_bit(operation.target, next(bits))
        elif not isinstance(unconditioned(operation), (*_QUANTUM, Barrier)):
            classical.apply(operation)  # type: ignore[arg-type]  # classical, or conditioned
    return classical.outputs


def gather(
    records: dict[str, Record],
    n_shots: int,
    parts: Iterable[tuple[np.ndarray, dict[str, tuple[Words, Record]]]],
) -> dict[str, list[str]]:
    """Every output (``records``: the program's, :meth:`Program.outputs`) of every shot, from
    the outputs of consecutive runs of shots."""
    values = {label: np.zeros(n_shots, dtype=np.uint64) for label in records}
    for shots, outputs in parts:
        for label, (value, _) in outputs.items():
            values[label][shots] = value
    return format_outputs({label: (values[label], records[label]) for label in records})


def measurements(program: Program) -> list[Measure]:
    return [op for op in program.operations if isinstance(op, Measure)]
