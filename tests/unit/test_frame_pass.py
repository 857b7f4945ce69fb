"""The compiled classical pass of a frame plan (:mod:`qstation.engines.frame_pass`): what the
kernel reads itself must give the shots that the vectorised classical state gives, its readout
flips and faults must have the model's rates, and a pass over part of a block must give those
shots of the whole block."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from qstation.circuit.program import (
    Assign,
    Binary,
    BitRef,
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
)
from qstation.engines import frame_kernels
from qstation.engines.classical import ClassicalState, format_outputs
from qstation.engines.frame_pass import SAMPLE_BLOCK, _simple_condition
from qstation.engines.randomness import shot_keys
from qstation.engines.stabilizer import StabilizerEngine
from qstation.noise.model import NoiseModel
from tests.unit.test_frames import PAULI_NOISE
from tests.unit.test_stabilizer import STABILIZER

NOISE = replace(PAULI_NOISE, p1=0.05, p2=0.05, p_meas_0=0.05, p_meas_1=0.15)


def rounds(condition: Expression) -> Program:
    """Three rounds of measure q0, correct q1 under ``condition`` on that round's bit, reset."""
    steps: list[Operation] = []
    for round_ in range(3):
        read = ReadBit(BitRef("r", round_))
        steps += [
            Gate("H", (0,)), Gate("CX", (0, 1)), Measure(0, BitRef("r", round_)),
            Conditional(_on(condition, read), Gate("X", (1,))), Reset(0), Gate("CX", (1, 2)),
        ]  # fmt: skip
    steps += [Measure(q, BitRef("m", q)) for q in range(3)]
    records = (Record("r", ReadRegister("r"), 3), Record("m", ReadRegister("m"), 3))
    return Program(3, {"r": 3, "m": 3}, (*steps, *records))


def _on(condition: Expression, read: ReadBit) -> Expression:
    """``condition`` with its placeholder bit (``r[9]``) replaced by ``read``."""
    if condition == ReadBit(BitRef("r", 9)):
        return read
    assert isinstance(condition, Binary)
    return Binary(condition.operator, _on(condition.left, read), condition.right)


PLACEHOLDER = ReadBit(BitRef("r", 9))
READABLE: dict[str, Expression] = {
    "bit equals one": Binary("eq", PLACEHOLDER, Const(1)),
    "bit not zero": Binary("ne", PLACEHOLDER, Const(0)),
    "bit alone": PLACEHOLDER,
}


@pytest.mark.parametrize("readable", READABLE.values(), ids=READABLE)
def test_a_condition_the_kernel_reads_gives_the_shots_the_classical_state_gives(
    readable: Expression,
) -> None:
    """``ugt`` is a condition the kernel leaves to the classical state: the same test, so the
    same shots, whichever reads it."""
    unreadable = Binary("ugt", PLACEHOLDER, Const(0))
    program, reference = rounds(readable), rounds(unreadable)
    corrections = [op for op in program.operations if isinstance(op, Conditional)]
    assert _simple_condition(corrections[0], {"r": 0, "m": 1}) is not None
    others = [op for op in reference.operations if isinstance(op, Conditional)]
    assert _simple_condition(others[0], {"r": 0, "m": 1}) is None
    shots = SAMPLE_BLOCK + 500
    results = STABILIZER.run(program, shots, seed=3, noise=NOISE)
    assert results == STABILIZER.run(reference, shots, seed=3, noise=NOISE)
    assert len(set(results["m"])) == 8  # the noise shows


def test_classical_operations_between_corrections_run_in_program_order() -> None:
    """q1 is flipped where q0 read 0: the condition reads a register that a classical
    operation wrote from the measured bit, between the measurement and the correction."""
    program = Program(2, {"r": 1, "t": 1, "m": 1}, (
        Gate("H", (0,)), Measure(0, BitRef("r", 0)),
        Assign("t", Binary("xor", ReadBit(BitRef("r", 0)), Const(1))),
        Conditional(Binary("eq", ReadRegister("t"), Const(1)), Gate("X", (1,))),
        Measure(1, BitRef("m", 0)),
        Record("r", ReadRegister("r"), 1), Record("m", ReadRegister("m"), 1),
    ))  # fmt: skip
    results = STABILIZER.run(program, 3000, seed=1)
    assert [1 - int(r) for r in results["r"]] == [int(m) for m in results["m"]]
    assert 0.45 < results["r"].count("1") / 3000 < 0.55


def test_readout_flips_have_the_models_rates_for_each_value() -> None:
    program = Program(2, {"c": 2}, (
        Gate("X", (0,)), Measure(0, BitRef("c", 0)), Measure(1, BitRef("c", 1)),
        Record("c", ReadRegister("c"), 2),
    ))  # fmt: skip
    shots = 40_000
    results = STABILIZER.run(program, shots, seed=2, noise=NoiseModel(p_meas_0=0.02, p_meas_1=0.3))
    ones_read_as_zero = sum(value[1] == "0" for value in results["c"]) / shots
    zeros_read_as_one = sum(value[0] == "1" for value in results["c"]) / shots
    assert abs(ones_read_as_zero - 0.3) < 0.01
    assert abs(zeros_read_as_one - 0.02) < 0.003


def test_a_bit_measured_twice_in_a_run_reports_its_last_measurement() -> None:
    """q0 reads 1 and every 1 is reported as 0, then q1 (a 0, never flipped) writes the same
    bit: the bit is q1's, whatever happened to q0's reading."""
    program = Program(2, {"c": 1}, (
        Gate("X", (0,)), Measure(0, BitRef("c", 0)), Measure(1, BitRef("c", 0)),
        Record("c", ReadRegister("c"), 1),
    ))  # fmt: skip
    results = STABILIZER.run(program, 2000, seed=2, noise=NoiseModel(p_meas_1=1.0))
    assert set(results["c"]) == {"0"}
    flipped_first = replace(program, operations=(Gate("X", (1,)), *program.operations[1:]))
    assert set(
        STABILIZER.run(flipped_first, 2000, seed=2, noise=NoiseModel(p_meas_1=1.0))["c"]
    ) == {"0"}  # q1's 1, always reported as 0


@pytest.mark.parametrize("split", [1, 300, SAMPLE_BLOCK - 1])
def test_a_pass_over_part_of_a_block_gives_those_shots_of_the_whole_block(split: int) -> None:
    compiled = StabilizerEngine().compile(rounds(READABLE["bit equals one"]), NOISE)
    frames = compiled.frames
    assert frames is not None
    keys = shot_keys(5, 0, SAMPLE_BLOCK)
    sampled = frames.sample(keys)
    seeds = keys[:1] & np.uint64(2**63 - 1)

    def settled(rows: slice) -> dict[str, list[str]]:
        shots = np.arange(SAMPLE_BLOCK)[rows]
        classical = ClassicalState(compiled.program, keys[rows], shots, None)
        return format_outputs(
            frames.settling.settle(sampled[rows], seeds, rows.start or 0, classical)
        )

    whole = settled(slice(0, SAMPLE_BLOCK))
    first, rest = settled(slice(0, split)), settled(slice(split, SAMPLE_BLOCK))
    assert {label: first[label] + rest[label] for label in whole} == whole
    assert len(set(whole["m"])) == 8


def test_a_pass_of_kernels_and_records_needs_no_classical_state_and_gives_its_outputs() -> None:
    """Records of registers, one taken mid-program and one label recorded twice, are written
    by the pass itself: the same outputs as a pass that keeps a classical state."""
    base = rounds(READABLE["bit equals one"])
    operations = list(base.operations)
    operations.insert(7, Record("early", ReadRegister("r"), 3))  # after round one's correction
    operations.append(Record("m", ReadRegister("r"), 2))  # "m" again: the last record counts
    program = replace(base, operations=tuple(operations))
    frames = StabilizerEngine().compile(program, NOISE).frames
    assert frames is not None and not frames.settling.needs_classical
    keys = shot_keys(3, 0, SAMPLE_BLOCK)
    sampled, seeds = frames.sample(keys), keys[:1] & np.uint64(2**63 - 1)
    alone = format_outputs(frames.settling.settle(sampled, seeds, 0))
    classical = ClassicalState(program, keys, np.arange(SAMPLE_BLOCK), None)
    assert format_outputs(frames.settling.settle(sampled, seeds, 0, classical)) == alone
    assert set(alone) == {"r", "m", "early"}
    assert all(len(value) == 2 for value in alone["m"])
    assert len(set(alone["early"])) > 1 and all(value[0] == "0" for value in alone["early"])


@pytest.mark.parametrize(("held", "constant"), [(2**64 - 1, -1), (1, 2**64 + 1), (3, 7)])
def test_a_constant_is_read_as_a_64_bit_word_as_the_classical_state_reads_it(
    held: int, constant: int
) -> None:
    """``-1`` is the 64-bit word of all ones, and ``2**64 + 1`` is 1; 7 is just not 3."""

    def program(condition: Expression) -> Program:
        return Program(1, {"a": 64, "m": 1}, (
            Assign("a", Const(held)), Conditional(condition, Gate("X", (0,))),
            Measure(0, BitRef("m", 0)), Record("m", ReadRegister("m"), 1),
        ))  # fmt: skip

    readable = program(Binary("eq", ReadRegister("a"), Const(constant)))
    conditional = readable.operations[1]
    assert isinstance(conditional, Conditional)
    assert _simple_condition(conditional, {"a": 0, "m": 1}) is not None
    unreadable = program(Binary("uge", ReadRegister("a"), Const(constant)))
    expected = STABILIZER.run(unreadable, 50, seed=1)["m"]  # held >= constant as 64-bit words
    assert set(expected) == {"1" if held == constant % 2**64 else "0"}
    assert STABILIZER.run(readable, 50, seed=1)["m"] == expected


def test_no_readout_stream_is_a_fault_sites_stream() -> None:
    """Streams are numbered within their family below 2**32; the families differ above."""
    low = np.uint64(2**32 - 1)
    assert int(frame_kernels._READOUT_DOMAIN & low) == 0 == int(frame_kernels._SITE_DOMAIN & low)
    assert frame_kernels._READOUT_DOMAIN != frame_kernels._SITE_DOMAIN
