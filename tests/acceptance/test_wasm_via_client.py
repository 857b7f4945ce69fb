"""WASM calls through the real client, in all three program forms, run by a real worker.

The module is tests/data/accumulator.wat: ``add`` keeps a running total that ``init`` sets to 0
at the start of every shot, and ``collatz`` counts steps in a loop. The expected values come
from a few lines of Python that follow the same rules.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime
from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit
from pytket.extensions.quantinuum import Language, QuantinuumBackend
from pytket.wasm import WasmFileHandler

from tests.acceptance.conftest import client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import ServiceProcess
from tests.acceptance.test_random_numbers_via_client import register_values

LANGUAGES = [Language.QASM, Language.QIR, Language.PQIR]
SIGNED_LANGUAGES = [Language.QASM]
SHOTS = 30
WAT = Path(__file__).parents[1] / "data" / "accumulator.wat"


@pytest.fixture(scope="module")
def emulator(service: ServiceProcess) -> QuantinuumBackend:
    return client(service.url, "H1-1E")


@pytest.fixture(scope="module")
def wasm(tmp_path_factory: pytest.TempPathFactory) -> WasmFileHandler:
    path = tmp_path_factory.mktemp("wasm") / "accumulator.wasm"
    path.write_bytes(wasmtime.wat2wasm(WAT.read_text()))
    return WasmFileHandler(str(path))


def collatz_steps(n: int) -> int:
    steps = 0
    while n > 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def accumulator_circuit(wasm: WasmFileHandler) -> Circuit:
    """Per shot: random bits ``a``; ``total = add(a)`` twice; ``steps = collatz(total + 25)``;
    then the shot number added to the running total."""
    circuit = Circuit(2)
    a = circuit.add_c_register("a", 2)
    total = circuit.add_c_register("total", 32)
    start = circuit.add_c_register("start", 32)
    steps = circuit.add_c_register("steps", 32)
    shot = circuit.add_c_register("shot", 32)
    circuit.PhasedX(0.5, 0, 0).PhasedX(0.5, 0, 1).Measure(0, a[0]).Measure(1, a[1])
    circuit.add_wasm_to_reg("add", wasm, [a], [total])
    circuit.add_wasm_to_reg("add", wasm, [a], [total])
    circuit.add_c_setreg(25, start)
    circuit.add_clexpr_from_logicexp(start + total, start.to_list())  # type: ignore[operator]
    circuit.add_wasm_to_reg("collatz", wasm, [start], [steps])
    circuit.get_job_shot_num(shot)
    circuit.add_wasm_to_reg("add", wasm, [shot], [shot])
    return circuit


def run(
    backend: QuantinuumBackend, circuit: Circuit, wasm: WasmFileHandler, language: Language
) -> dict[str, list[int]]:
    compiled = backend.get_compiled_circuit(circuit)
    handle = backend.process_circuit(
        compiled, n_shots=SHOTS, language=language, wasm_file_handler=wasm, options={"seed": 7}
    )
    assert wait_until_done(backend, handle) == StatusEnum.COMPLETED, backend.circuit_status(
        handle
    ).message
    result = backend.get_result(handle)
    return {
        register.name: register_values(result.get_shots(cbits=list(register)))
        for register in compiled.c_registers
    }


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.name)
def test_accumulator_and_collatz_keep_state_within_a_shot_and_reset_between_shots(
    emulator: QuantinuumBackend, wasm: WasmFileHandler, language: Language
) -> None:
    values = run(emulator, accumulator_circuit(wasm), wasm, language)

    a = values["a"]
    assert len(set(a)) > 1  # the shots differ, so leaked state would show
    assert values["total"] == [2 * value for value in a]
    assert values["steps"] == [collatz_steps(25 + 2 * value) for value in a]
    assert values["shot"] == [2 * value + shot for shot, value in enumerate(a, start=1)]


def test_every_form_gives_the_same_shots(
    emulator: QuantinuumBackend, wasm: WasmFileHandler
) -> None:
    circuit = accumulator_circuit(wasm)
    first, *others = (run(emulator, circuit, wasm, language) for language in LANGUAGES)
    assert all(other == first for other in others)


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.name)
def test_a_trap_fails_the_job_naming_the_function_and_the_shot(
    emulator: QuantinuumBackend, wasm: WasmFileHandler, language: Language
) -> None:
    circuit = Circuit(1)
    zero = circuit.add_c_register("zero", 32)
    quotient = circuit.add_c_register("quotient", 32)
    circuit.add_wasm_to_reg("divide", wasm, [zero, zero], [quotient])
    circuit.Measure(0, circuit.add_c_register("m", 1)[0])
    handle = emulator.process_circuit(
        emulator.get_compiled_circuit(circuit),
        n_shots=5,
        language=language,
        wasm_file_handler=wasm,
    )
    assert wait_until_done(emulator, handle) == StatusEnum.ERROR
    message = emulator.circuit_status(handle).message
    assert f"2000: Execution error: job {handle[0]}: WASM function 'divide' failed" in message
    assert "shot 1: wasm trap: integer divide by zero" in message


@pytest.mark.parametrize("language", SIGNED_LANGUAGES, ids=lambda language: language.name)
def test_a_negative_word_is_reported_as_the_service_did_and_the_client_refuses_it(
    emulator: QuantinuumBackend, wasm: WasmFileHandler, language: Language
) -> None:
    """``minus_one`` returns the i32 -1: in a 32-bit register (a whole word) the service reported
    it as a negative value, which the client refuses; in a 31-bit register it is all ones."""
    circuit = Circuit(1)
    narrow = circuit.add_c_register("narrow", 31)
    circuit.add_wasm_to_reg("minus_one", wasm, [], [narrow])
    circuit.Measure(0, circuit.add_c_register("m", 1)[0])
    assert run(emulator, circuit, wasm, language)["narrow"] == [2**31 - 1] * SHOTS

    circuit.add_wasm_to_reg("minus_one", wasm, [], [circuit.add_c_register("word", 32)])
    handle = emulator.process_circuit(
        emulator.get_compiled_circuit(circuit), n_shots=3, language=language,
        wasm_file_handler=wasm,
    )  # fmt: skip
    with pytest.raises(ValueError, match="found negative value for creg: word"):
        wait_until_done(emulator, handle)  # the client reads the results with the status


def test_the_syntax_checker_checks_wasm_calls_and_returns_zeros(
    service: ServiceProcess, wasm: WasmFileHandler
) -> None:
    checker = client(service.url, "H1-1SC")
    circuit = checker.get_compiled_circuit(accumulator_circuit(wasm))
    handle = checker.process_circuit(circuit, n_shots=4, wasm_file_handler=wasm)
    assert wait_until_done(checker, handle) == StatusEnum.COMPLETED
    assert set(checker.get_result(handle).get_counts()) == {(0,) * len(circuit.bits)}


CALLS_NOTHERE = """OPENQASM 2.0;
include "hqslib1.inc";
qreg q[1];
creg a[8];
creg t[32];
measure q[0] -> a[0];
t = nothere(a);
"""


@pytest.mark.filterwarnings("ignore:Submission of programs to remote devices:DeprecationWarning")
@pytest.mark.parametrize(
    ("with_module", "cause"),
    [
        (True, "WASM function 'nothere' is not exported by the module"),
        (
            False,
            "the program calls WASM function 'nothere', but the job carries no WASM module (cfl)",
        ),
    ],
)
def test_a_call_the_module_cannot_serve_is_a_compile_error(
    emulator: QuantinuumBackend, wasm: WasmFileHandler, with_module: bool, cause: str
) -> None:
    handle = emulator.submit_program(
        Language.QASM, CALLS_NOTHERE, n_shots=3, wasm_file_handler=wasm if with_module else None
    )
    assert wait_until_done(emulator, handle) == StatusEnum.ERROR
    message = emulator.circuit_status(handle).message
    assert f"1000: Compile error: job {handle[0]}: {cause}" in message, message
