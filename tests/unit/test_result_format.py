"""How an engine writes its outputs (:func:`qstation.engines.classical.format_outputs`): each
value as ``format_output`` writes it, in shot order, whatever the width, sign and repetition."""

from __future__ import annotations

import numpy as np
import pytest

from qstation.circuit.program import Const, Record
from qstation.engines.classical import format_output, format_outputs


@pytest.mark.parametrize("width", [1, 5, 18, 32, 63, 64])
@pytest.mark.parametrize("signed", [False, True])
def test_every_value_is_written_as_format_output_writes_it(width: int, signed: bool) -> None:
    rng = np.random.default_rng(width)
    top = np.uint64(64 - width)
    kinds = rng.integers(0, 2**63, 40, dtype=np.uint64) * np.uint64(2) + np.uint64(1) >> top
    values = rng.choice(np.concatenate([kinds, [np.uint64(0)]]), 3000)  # repeats, in any order
    record = Record("c", Const(0), width, signed)
    written = format_outputs({"c": (values, record)})["c"]
    assert written == [format_output(int(value), record) for value in values]
    assert len(set(written)) == len(set(values.tolist()))
    if signed and width in (32, 64):
        assert any(text.startswith("-") for text in written)


def test_no_shots_write_nothing() -> None:
    record = Record("c", Const(0), 3)
    assert format_outputs({"c": (np.zeros(0, dtype=np.uint64), record)}) == {"c": []}


def test_many_distinct_values_are_each_written_as_their_own() -> None:
    """Nearly every shot different: the table of distinct values fills to a third and its
    slots collide."""
    values = np.random.default_rng(7).integers(0, 2**20, 3000, dtype=np.uint64)
    record = Record("c", Const(0), 20)
    assert format_outputs({"c": (values, record)})["c"] == [format(int(v), "020b") for v in values]
