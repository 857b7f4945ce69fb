"""The WASM runtime on a real module (tests/data/accumulator.wat, compiled by wasmtime)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import wasmtime

from qstation.circuit.program import (
    Assign,
    Binary,
    CallWasm,
    Conditional,
    Const,
    Gate,
    Measure,
    Program,
    ReadBit,
    ReadRegister,
    Record,
    ShotNumber,
)
from qstation.circuit.program import BitRef as Bit
from qstation.engines.shots import WASM_REPLAY_BLOCK
from qstation.engines.statevector import StateVectorEngine
from qstation.engines.wasm import FUEL_PER_SHOT, WasmModule
from qstation.errors import CompileError, ExecutionError

WAT = Path(__file__).parents[1] / "data" / "accumulator.wat"
ENGINE = StateVectorEngine(memory_limit_bytes=2**30)


def encoded(wat: str) -> str:
    return base64.b64encode(wasmtime.wat2wasm(wat)).decode()


@pytest.fixture(scope="module")
def module() -> WasmModule:
    return WasmModule(encoded(WAT.read_text()))


def call(function: str, *arguments: int, results: tuple[str, ...] = ("r",)) -> CallWasm:
    return CallWasm(function, tuple(Const(a) for a in arguments), results)


def run(program: Program, module: WasmModule, shots: int) -> dict[str, list[int]]:
    for wasm_call in program.wasm_calls():
        module.check(wasm_call)
    results = ENGINE.run(program, shots, seed=5, wasm=module)
    return {label: [int(value, 2) for value in values] for label, values in results.items()}


def accumulating_program(n_qubits: int = 1) -> Program:
    """Per shot: a random bit ``a``; ``s = add(a)`` twice; ``u = add(shot number)``."""
    operations = (
        Gate("U1q", (0,), (0.5, 0.0)),
        Measure(0, Bit("a", 0)),
        CallWasm("add", (ReadRegister("a"),), ("s",)),
        CallWasm("add", (ReadRegister("s"),), ("s",)),
        Assign("u", ShotNumber()),
        CallWasm("add", (ReadRegister("u"),), ("u",)),
        CallWasm("collatz", (Const(27),), ("k",)),
        *(Record(name, ReadRegister(name), 32) for name in "asuk"),
    )
    return Program(n_qubits, {"a": 1, "s": 32, "u": 32, "k": 32}, operations)


def test_state_lasts_one_shot_and_init_starts_every_shot(module: WasmModule) -> None:
    shots = 2 * WASM_REPLAY_BLOCK + 7  # several replay blocks, each with its own instances
    values = run(accumulating_program(), module, shots)

    a = values["a"]
    assert 0 < sum(a) < shots  # both outcomes occur
    assert values["s"] == [2 * bit for bit in a]  # a, then a + a: the total carries over
    assert values["u"] == [2 * bit + shot for shot, bit in enumerate(a, start=1)]
    assert values["k"] == [111] * shots  # 27 takes 111 Collatz steps


def test_a_call_under_a_condition_runs_only_in_the_shots_that_take_it(
    module: WasmModule,
) -> None:
    taken = Binary("eq", ReadBit(Bit("a", 0)), Const(1))
    operations = (
        Gate("U1q", (0,), (0.5, 0.0)),
        Measure(0, Bit("a", 0)),
        Conditional(taken, call("add", 5, results=())),
        CallWasm("add", (Const(0),), ("t",)),
        Record("a", ReadRegister("a"), 1),
        Record("t", ReadRegister("t"), 32),
    )
    values = run(Program(1, {"a": 1, "t": 32}, operations), module, 200)

    assert values["t"] == [5 * bit for bit in values["a"]]
    assert 0 < sum(values["a"]) < 200


def test_arguments_are_twos_complement_and_results_fit_their_register(
    module: WasmModule,
) -> None:
    operations = (
        CallWasm("minus_one", (), ("narrow",)),
        CallWasm("wide_sum", (Const(2**64 - 1), Const(3)), ("wide",)),
        CallWasm("add", (Const(2**32 + 9),), ("low",)),  # only the low 32 bits reach an i32
        *(Record(name, ReadRegister(name), width) for name, width in
          (("narrow", 5), ("wide", 64), ("low", 32))),
    )  # fmt: skip
    values = run(Program(1, {"narrow": 5, "wide": 64, "low": 32}, operations), module, 3)

    assert values == {"narrow": [31] * 3, "wide": [2] * 3, "low": [9] * 3}


@pytest.mark.parametrize(
    ("wasm_call", "message"),
    [
        (call("nowhere", 1), "'nowhere' is not exported"),
        (call("add", 1, 2), "takes 1 arguments, called with 2"),
        (call("reset_total", results=("r",)), "returns 0 values"),
        (call("average", 1), "only i32 and i64"),
    ],
)
def test_calls_the_module_cannot_serve_are_compile_errors(
    module: WasmModule, wasm_call: CallWasm, message: str
) -> None:
    with pytest.raises(CompileError, match=message):
        module.check(wasm_call)


@pytest.mark.parametrize(
    ("cfl", "message"),
    [
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"\0asm garbage").decode(), "is invalid"),
        (
            encoded('(module (import "env" "log" (func (param i32))))'),
            "imports env.log; it must be self-contained",
        ),
        (encoded('(module (func (export "init") (param i32)))'), "init must take no arguments"),
    ],
)
def test_unusable_modules_are_compile_errors(cfl: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        WasmModule(cfl)


@pytest.mark.parametrize(
    ("wasm_call", "message"),
    [
        (call("divide", 1, 0), r"'divide' failed in shot 1: wasm trap: integer divide by zero"),
        (
            call("spin", results=()),
            f"'spin' failed in shot 1: ran out of fuel \\({FUEL_PER_SHOT:,}",
        ),
    ],
)
def test_traps_and_runaway_loops_fail_the_execution_naming_function_and_shot(
    module: WasmModule, wasm_call: CallWasm, message: str
) -> None:
    program = Program(1, {"r": 32}, (wasm_call, Record("r", ReadRegister("r"), 32)))
    with pytest.raises(ExecutionError, match=message):
        run(program, module, 4)


def test_memory_cannot_grow_past_the_per_shot_limit(module: WasmModule) -> None:
    operations = (
        CallWasm("grow", (Const(16),), ("small",)),  # 1 MiB more: fine
        CallWasm("grow", (Const(65536),), ("huge",)),  # 4 GiB: refused with -1
        Record("small", ReadRegister("small"), 32),
        Record("huge", ReadRegister("huge"), 32),
    )
    values = run(Program(1, {"small": 32, "huge": 32}, operations), module, 2)

    assert values == {"small": [1, 1], "huge": [2**32 - 1] * 2}
