"""The classical pass of a frame plan: measurements, corrections and classical operations in
program order, compiled once per program into flat tables.

A measurement reports its sampled bit, flipped by the corrections its shot took so far and by
its readout flip; a correction, where its condition holds, flips the later measurements it
reaches, and may fault. The kernels (:mod:`qstation.engines.frame_kernels`) run the stretches of
measurements and corrections; classical operations between them, and corrections with conditions
the kernels do not read, run vectorised in :class:`~qstation.engines.classical.ClassicalState`.
So every program has one pass, and the same shots whichever part reads a condition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qstation.circuit.program import (
    Barrier,
    Binary,
    Conditional,
    Const,
    Expression,
    Gate,
    Measure,
    Operation,
    Program,
    ReadBit,
    ReadRegister,
    Record,
    Reset,
    unconditioned,
)
from qstation.engines.classical import ClassicalState, Words, width_mask
from qstation.engines.frame_kernels import CORRECTION, GROUP, PassTables, run_ops

SAMPLE_BLOCK = 1024
"""Shots a sampler block holds: the unit a shot's randomness is seeded by."""

_ALL_BITS = (1 << 64) - 1


@dataclass(frozen=True)
class ConditionedFaults:
    """A fault site of a correction: drawn only in the shots where the correction runs."""

    probability: float
    weights: np.ndarray  # cumulative, ending at 1.0
    flipped: tuple[np.ndarray, ...]  # each outcome's: the measurements it flips


@dataclass(frozen=True)
class Correction:
    """A Pauli gate under a condition, as the measurements it flips where it runs."""

    flipped: np.ndarray  # the measurements it flips (indices)
    faults: tuple[ConditionedFaults, ...]


@dataclass(frozen=True)
class _RegisterRecord:
    """A record of a register's value as it stands (most programs' only classical steps)."""

    register: int
    mask: np.uint64
    record: Record


_Stretch = np.ndarray | _RegisterRecord | Operation | tuple[int, Conditional]
"""Kernel ops (rows of (kind, index)), a register's record, a classical operation, or a
correction (by number) whose condition the kernel cannot read."""


class FramePass:
    """A program's pass, compiled once into flat tables the kernel reads."""

    def __init__(
        self,
        program: Program,
        corrections: dict[int, Correction],
        p_meas_0: float,
        p_meas_1: float,
    ) -> None:
        names = list(program.widths())
        self.registers = names
        number = {name: index for index, name in enumerate(names)}
        self.has_corrections = bool(corrections)

        measured: list[tuple[int, int]] = []  # (register, bit) of each measurement
        groups: list[list[int]] = []  # measurement indices of each run of measurements
        stretches: list[_Stretch] = []
        ops: list[tuple[int, int]] = []
        conditions: list[tuple[int, int, int, int, int]] = []
        flips: list[np.ndarray] = []
        sites: list[list[ConditionedFaults]] = []

        def close_ops() -> None:
            if ops:
                stretches.append(np.array(ops, dtype=np.int64))
                ops.clear()

        for position, operation in enumerate(program.operations):
            inner = unconditioned(operation)
            if isinstance(operation, Measure):
                target = operation.target
                if not ops or ops[-1][0] != GROUP:
                    ops.append((GROUP, len(groups)))
                    groups.append([])
                groups[-1].append(len(measured))
                measured.append((number[target.register], target.index))
            elif position in corrections:
                assert isinstance(operation, Conditional)
                correction = corrections[position]
                index = len(conditions)
                simple = _simple_condition(operation, number)
                conditions.append(simple or (0, 0, 0, 0, 0))
                flips.append(correction.flipped)
                sites.append(list(correction.faults))
                if simple is not None:
                    ops.append((CORRECTION, index))
                else:
                    close_ops()
                    stretches.append((index, operation))
            elif isinstance(operation, Record) and isinstance(operation.value, ReadRegister):
                close_ops()
                register = number[operation.value.register]
                mask = width_mask(operation.width)
                stretches.append(_RegisterRecord(register, mask, operation))
            elif not isinstance(inner, Gate | Reset | Barrier):
                close_ops()
                stretches.append(operation)
        close_ops()
        self.stretches = tuple(stretches)
        self.needs_classical = any(
            not isinstance(stretch, np.ndarray | _RegisterRecord) for stretch in stretches
        )
        """Whether the pass runs operations of a classical state (given to :meth:`settle`)."""

        every_site = [site for per_correction in sites for site in per_correction]
        flip_bounds, flip_columns = _flattened(flips)
        weight_bounds, weights = _flattened([s.weights for s in every_site], np.float64)
        outcome_bounds, outcome_columns = _flattened(
            [outcome for site in every_site for outcome in site.flipped]
        )
        runs, run_bounds = _runs(groups, measured)
        self.tables = PassTables(
            measure=np.array(measured or [(0, 0)], dtype=np.int64).reshape(-1, 2),
            survives=_survivors(groups, measured),
            runs=runs,
            run_bounds=run_bounds,
            conditions=np.array(conditions or [(0,) * 5], dtype=np.uint64).reshape(-1, 5),
            flip_bounds=flip_bounds,
            flip_columns=flip_columns,
            site_bounds=np.cumsum([0] + [len(s) for s in sites], dtype=np.int64),
            site_probability=np.array([s.probability for s in every_site], dtype=np.float64),
            weight_bounds=weight_bounds,
            weights=weights,
            outcome_first=np.cumsum([0] + [len(s.flipped) for s in every_site], dtype=np.int64),
            outcome_bounds=outcome_bounds,
            outcome_columns=outcome_columns,
            p_meas_0=float(p_meas_0),
            p_meas_1=float(p_meas_1),
            block=SAMPLE_BLOCK,
        )

    def settle(
        self,
        sampled: np.ndarray,
        seeds: np.ndarray,
        first_local: int,
        classical: ClassicalState | None = None,
    ) -> dict[str, tuple[Words, Record]]:
        """Run the pass over some shots, and return their outputs: ``sampled`` (bool, shots x
        measurements) their records as stim drew them, ``seeds`` the seeds of the blocks they
        lie in, and ``first_local`` the first shot's place in its block. ``classical``, the
        shots' classical state, is needed when :attr:`needs_classical`; the pass writes its
        registers and outputs."""
        n_shots = sampled.shape[0]
        words = np.zeros((len(self.registers), n_shots), dtype=np.uint64)
        rows = list(words)  # one view per register, the arrays the classical state holds
        outputs: dict[str, tuple[Words, Record]] = {}
        if classical is not None:
            classical.words.update(zip(self.registers, rows, strict=True))
            outputs = classical.outputs
        sampled = np.ascontiguousarray(sampled.T)  # a measurement per row
        flipped = np.zeros(sampled.shape if self.has_corrections else (0, 0), dtype=np.bool_)
        taken = np.zeros(0, dtype=np.bool_)  # none given: the kernel reads the condition
        for stretch in self.stretches:
            if isinstance(stretch, np.ndarray):
                run_ops(stretch, sampled, flipped, words, seeds, first_local, taken, self.tables)
            elif isinstance(stretch, _RegisterRecord):
                value = rows[stretch.register] & stretch.mask
                outputs[stretch.record.label] = (value, stretch.record)
            elif isinstance(stretch, tuple):
                assert classical is not None, "a pass that needs a classical state is given one"
                index, operation = stretch
                ops = np.array([(CORRECTION, index)], dtype=np.int64)
                given = classical.taken(operation)
                run_ops(ops, sampled, flipped, words, seeds, first_local, given, self.tables)
            else:
                assert classical is not None, "a pass that needs a classical state is given one"
                classical.apply(stretch)  # type: ignore[arg-type]
                for name, row in zip(self.registers, rows, strict=True):
                    if classical.words[name] is not row:  # it wrote a new array
                        row[:] = classical.words[name]
                        classical.words[name] = row
        return outputs


def _simple_condition(
    operation: Conditional, number: dict[str, int]
) -> tuple[int, int, int, int, int] | None:
    """A condition the kernel reads, as (register, shift, mask, value, negated): it holds where
    ``(word >> shift) & mask == value`` differs from ``negated``. Bits and registers compared
    with constants, or tested for non-zero; None for anything else."""
    if isinstance(operation.operation, Conditional):
        return None
    condition: Expression = operation.condition
    negated = 0
    if isinstance(condition, Binary) and condition.operator in ("eq", "ne"):
        if not isinstance(condition.right, Const):
            return None
        value, read = condition.right.value, condition.left
        negated = int(condition.operator == "ne")
    else:  # non-zero: not equal to zero
        value, read, negated = 0, condition, 1
    if isinstance(read, ReadBit):
        register, shift, mask = read.bit.register, read.bit.index, 1
    elif isinstance(read, ReadRegister):
        register, shift, mask = read.register, 0, _ALL_BITS
    else:
        return None
    value &= _ALL_BITS  # as the classical state reads a constant: a 64-bit word
    if value > mask:  # never equal
        value, mask = 1, 0
    return number[register], shift, mask, value, negated


def _survivors(groups: list[list[int]], measured: list[tuple[int, int]]) -> np.ndarray:
    """Whether each measurement's bit is still its own at the end of its group (a later one
    in the same group may write the same bit)."""
    survives = np.ones(max(1, len(measured)), dtype=np.bool_)
    for group in groups:
        seen: set[tuple[int, int]] = set()
        for index in reversed(group):
            survives[index] = measured[index] not in seen
            seen.add(measured[index])
    return survives


def _runs(
    groups: list[list[int]], measured: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Each group as runs of measurements that write consecutive bits of one register, in
    order: rows of (register, first bit, first measurement, length); and each group's rows."""
    runs: list[tuple[int, int, int, int]] = []
    bounds = [0]
    for group in groups:
        for index in group:
            register, bit = measured[index]
            last = runs[-1] if len(runs) > bounds[-1] else None
            if last is not None and last[0] == register and last[1] + last[3] == bit:
                runs[-1] = (register, last[1], last[2], last[3] + 1)
            else:
                runs.append((register, bit, index, 1))
        bounds.append(len(runs))
    return (
        np.array(runs or [(0, 0, 0, 0)], dtype=np.int64).reshape(-1, 4),
        np.array(bounds, dtype=np.int64),
    )


def _flattened(
    arrays: Sequence[np.ndarray], dtype: type = np.int64
) -> tuple[np.ndarray, np.ndarray]:
    """Arrays as one, with bounds: array ``i`` is ``flat[bounds[i]:bounds[i + 1]]``."""
    bounds = np.cumsum([0] + [len(a) for a in arrays], dtype=np.int64)
    flat = np.concatenate([np.asarray(a, dtype=dtype) for a in arrays] or [np.zeros(0, dtype)])
    return bounds, flat.astype(dtype)
