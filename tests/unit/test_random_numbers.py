"""The program's random numbers and shot numbers, as the engine gives them."""

from __future__ import annotations

from qstation.circuit.program import (
    Assign,
    Binary,
    BitRef,
    BoundRandom,
    Conditional,
    Const,
    DrawRandom,
    IndexRandom,
    Measure,
    Operation,
    Program,
    ReadRegister,
    Record,
    SeedRandom,
    ShotNumber,
)
from qstation.engines.statevector import StateVectorEngine

ENGINE = StateVectorEngine(memory_limit_bytes=2**30)


def run(operations: list[Operation], shots: int = 200, seed: int = 1) -> dict[str, list[int]]:
    registers = {"x": 32, "y": 32, "n": 32, "m": 1}
    records = [Record(name, ReadRegister(name), width) for name, width in registers.items()]
    program = Program(1, registers, (*operations, Measure(0, BitRef("m", 0)), *records))
    return {k: [int(v, 2) for v in vs] for k, vs in ENGINE.run(program, shots, seed).items()}


def test_shot_number_counts_the_shots_from_one() -> None:
    assert run([Assign("n", ShotNumber())], shots=50)["n"] == list(range(1, 51))


def test_bounded_numbers_stay_below_their_bound() -> None:
    values = run([BoundRandom(Const(6)), DrawRandom("x"), DrawRandom("y", Const(3))], shots=500)
    assert set(values["x"]) == set(range(6))
    assert set(values["y"]) == set(range(3))


def test_unseeded_streams_differ_per_shot_and_repeat_per_job_seed() -> None:
    first = run([DrawRandom("x")], seed=7)
    assert len(set(first["x"])) > 190  # 32-bit numbers: distinct shots, distinct numbers
    assert run([DrawRandom("x")], seed=7) == first
    assert run([DrawRandom("x")], seed=8) != first


def test_seeded_stream_is_the_same_in_every_shot_and_job() -> None:
    seeded = [SeedRandom(Const(1234)), DrawRandom("x"), DrawRandom("y")]
    one, other = run(seeded, seed=1), run(seeded, seed=2)
    assert one == other
    assert len(set(one["x"])) == 1 and one["x"] != one["y"]


def test_index_moves_the_stream_back() -> None:
    values = run([SeedRandom(Const(5)), DrawRandom("x"), IndexRandom(Const(0)), DrawRandom("y")])
    assert values["x"] == values["y"]


def test_a_draw_under_a_false_condition_does_not_advance_the_stream() -> None:
    never = Binary("eq", Const(0), Const(1))
    skipped = run([SeedRandom(Const(9)), Conditional(never, DrawRandom("y")), DrawRandom("x")])
    plain = run([SeedRandom(Const(9)), DrawRandom("x")])
    assert skipped["x"] == plain["x"] and set(skipped["y"]) == {0}
