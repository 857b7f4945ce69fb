"""What a syntax checker returns for a program: zeros for every output, branches included."""

from __future__ import annotations

from qstation.circuit.program import (
    BitRef,
    Conditional,
    Const,
    Measure,
    Program,
    ReadBit,
    ReadRegister,
    Record,
)
from qstation.worker.execution import all_zero_results


def test_outputs_recorded_only_inside_a_branch_are_still_reported() -> None:
    program = Program(
        1,
        {"m": 1},
        (
            Measure(0, BitRef("m", 0)),
            Record("m", ReadRegister("m"), 1),
            Conditional(ReadBit(BitRef("m", 0)), Record("late", Const(5), 64)),
        ),
    )
    assert all_zero_results(program, 3) == {"m": ["0"] * 3, "late": ["0" * 64] * 3}
