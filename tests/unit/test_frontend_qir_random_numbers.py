"""pytket's random-number and shot-number operations, compiled to QIR and run by the engine.

pytket-qir writes them as calls of the runtime (``___random_seed``, ``___random_int_bounded``,
...) in both profiles; the front end maps them onto the program's random operations, whose
semantics ``test_random_numbers`` pins. These tests run the compiled programs on the real
engine, so they check the mapping end to end: values, widths and conditional draws.
"""

from __future__ import annotations

import pytest
from pytket import Circuit
from pytket.qir import QIRProfile

from qstation.circuit.program import (
    Assign,
    Binary,
    Conditional,
    Const,
    DrawRandom,
    IndexRandom,
    Program,
    ReadRegister,
    SeedRandom,
    ShotNumber,
    unconditioned,
)
from qstation.engines.statevector import StateVectorEngine
from qstation.errors import CompileError
from tests.unit.test_frontend_qir import PROFILES, from_body, from_pytket

ENGINE = StateVectorEngine(memory_limit_bytes=2**30)


def run(circuit: Circuit, profile: QIRProfile, shots: int, seed: int) -> dict[str, list[int]]:
    """Each output's value in every shot, as integers (the profiles record different widths)."""
    results = ENGINE.run(from_pytket(circuit, profile), shots, seed)
    return {label: [int(value, 2) for value in values] for label, values in results.items()}


def seeded_circuit(seed: int | None) -> Circuit:
    """Two bounded draws (below 6, then below 1000), an unbounded one first, and the shot number;
    the stream restarts from ``seed`` first unless it is None."""
    circuit = Circuit(1)
    registers = {name: circuit.add_c_register(name, 32) for name in ("any", "die", "wide", "shot")}
    if seed is not None:
        seed_register = circuit.add_c_register("seed", 64)
        circuit.add_c_setreg(seed, seed_register)
        circuit.set_rng_seed(seed_register)
    circuit.get_rng_num(registers["any"])  # no bound set yet: any 32-bit number
    bound = circuit.add_c_register("bound", 32)
    circuit.add_c_setreg(6, bound)
    circuit.set_rng_bound(bound)
    circuit.get_rng_num(registers["die"])
    circuit.add_c_setreg(1000, bound)
    circuit.set_rng_bound(bound)
    circuit.get_rng_num(registers["wide"])
    circuit.get_job_shot_num(registers["shot"])
    return circuit


@pytest.mark.parametrize("profile", PROFILES)
def test_shot_numbers_count_the_shots_from_one(profile: QIRProfile) -> None:
    assert run(seeded_circuit(None), profile, shots=40, seed=3)["shot"] == list(range(1, 41))


@pytest.mark.parametrize("profile", PROFILES)
def test_bounded_draws_stay_below_the_bound_set_last(profile: QIRProfile) -> None:
    values = run(seeded_circuit(None), profile, shots=600, seed=4)

    assert set(values["die"]) == set(range(6))
    assert max(values["wide"]) < 1000 and len(set(values["wide"])) > 300
    assert len(set(values["any"])) > 590  # 32-bit numbers: distinct shots, distinct numbers
    assert max(values["any"]) >= 1 << 31  # unbounded draws use all 32 bits


@pytest.mark.parametrize("profile", PROFILES)
def test_unseeded_draws_repeat_per_job_seed_and_differ_between_seeds(
    profile: QIRProfile,
) -> None:
    circuit = seeded_circuit(None)
    first = run(circuit, profile, shots=50, seed=7)

    assert run(circuit, profile, shots=50, seed=7) == first
    assert run(circuit, profile, shots=50, seed=8)["any"] != first["any"]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_constant_seed_gives_every_shot_and_job_the_same_draws(profile: QIRProfile) -> None:
    circuit = seeded_circuit(20240611)
    one, other = run(circuit, profile, shots=30, seed=1), run(circuit, profile, shots=30, seed=2)

    assert one == other
    for label in ("any", "die", "wide"):
        assert len(set(one[label])) == 1, label
    assert one["shot"] == list(range(1, 31))


def test_both_profiles_give_the_same_values_for_one_job_seed() -> None:
    for seed in (None, 99):
        circuit = seeded_circuit(seed)
        pytket, adaptive = (run(circuit, profile, shots=200, seed=5) for profile in PROFILES)
        assert pytket == adaptive


@pytest.mark.parametrize("profile", PROFILES)
def test_the_index_moves_the_stream_back(profile: QIRProfile) -> None:
    circuit = Circuit(1)
    first, again, index = (circuit.add_c_register(name, 32) for name in ("first", "again", "i"))
    circuit.get_rng_num(first)
    circuit.set_rng_index(index)  # i is 0: back to the stream's start
    circuit.get_rng_num(again)

    values = run(circuit, profile, shots=100, seed=6)

    assert values["first"] == values["again"]
    assert len(set(values["first"])) > 90


@pytest.mark.parametrize("profile", PROFILES)
def test_a_draw_under_a_false_condition_neither_writes_nor_advances_the_stream(
    profile: QIRProfile,
) -> None:
    circuit = Circuit(1)
    flag = circuit.add_c_register("flag", 1)
    maybe, after = circuit.add_c_register("maybe", 32), circuit.add_c_register("after", 32)
    seed = circuit.add_c_register("seed", 64)
    circuit.add_c_setreg(77, seed)
    circuit.set_rng_seed(seed)
    circuit.PhasedX(0.5, 0, 0).Measure(0, flag[0])  # flag is 0 or 1, half the shots each
    circuit.get_rng_num(maybe, condition=flag[0])
    circuit.get_rng_num(after)

    values = run(circuit, profile, shots=200, seed=8)

    shots = list(zip(values["flag"], values["maybe"], values["after"], strict=True))
    assert {flag for flag, _, _ in shots} == {0, 1}
    # Seeded: every shot that skips the draw has the same pair, and so has every shot that draws.
    (skipped,) = {(maybe, after) for flag, maybe, after in shots if flag == 0}
    (drawn,) = {(maybe, after) for flag, maybe, after in shots if flag == 1}
    first_number = drawn[0]
    assert skipped == (0, first_number)  # maybe keeps 0 and after gets the stream's first number
    assert drawn[1] != first_number


# --- the translation itself ----------------------------------------------------------------

_RUNTIME = """
declare void @___random_seed(i64)
declare i32 @___random_int()
declare i32 @___random_int_bounded(i32)
declare void @___set_random_index(i32)
declare i64 @___get_current_shot()
"""


def random_program(body: str) -> Program:
    return from_body(body, extra=_RUNTIME)


def test_each_call_becomes_one_random_operation_and_draws_write_their_own_temporary() -> None:
    program = random_program("""
  %s = call i64 @___get_current_shot()
  call void @___random_seed(i64 %s)
  %i = trunc i64 %s to i32
  call void @___set_random_index(i32 %i)
  %n = call i32 @___random_int_bounded(i32 %i)
  %m = call i32 @___random_int()
  %sum = add i32 %n, %m""")

    assert program.operations == (
        Assign("%s", ShotNumber()),
        SeedRandom(ReadRegister("%s")),
        Assign("%i", ReadRegister("%s")),
        IndexRandom(ReadRegister("%i")),
        DrawRandom("%n", ReadRegister("%i")),
        DrawRandom("%m", Const(0)),
        Assign("%sum", Binary("add", ReadRegister("%n"), ReadRegister("%m"))),
    )
    assert program.temporaries["%n"] == program.temporaries["%m"] == 32
    assert program.temporaries["%s"] == 64
    assert program.registers == {}


def test_a_draw_in_a_branch_runs_under_the_branch_condition() -> None:
    program = random_program("""
  %r = call i1 @__quantum__qis__read_result__body(ptr null)
  br i1 %r, label %draw, label %done
draw:
  %n = call i32 @___random_int_bounded(i32 6)
  br label %done
done:
  %v = phi i32 [ %n, %draw ], [ 7, %entry ]""")

    (draw,) = (op for op in program.operations if isinstance(unconditioned(op), DrawRandom))
    assert isinstance(draw, Conditional)
    assert draw.operation == DrawRandom("%n", Const(6))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  call void (i64, i64) @___random_seed(i64 1, i64 2)", "takes 1 arguments, not 2"),
        ("  %n = call i32 (i32) @___random_int(i32 5)", "takes 0 arguments, not 1"),
        ("  call void @___random_seed(i64 undef)", "unsupported constant operand 'i64 undef'"),
        (
            "  %n = call i128 @___random_int_bounded(i32 5)",
            "128-bit integer; at most 64 bits are supported",
        ),
    ],
)
def test_malformed_random_calls_are_compile_errors(body: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        random_program(body)
