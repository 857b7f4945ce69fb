"""pytket's random numbers and shot numbers, submitted through the real client in all three
program forms (OPENQASM with hqslib1's RNG calls, QIR in the PYTKET and ADAPTIVE profiles)."""

from __future__ import annotations

import numpy as np
import pytest
from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit
from pytket.extensions.quantinuum import Language, QuantinuumBackend

from tests.acceptance.conftest import client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import ServiceProcess

LANGUAGES = [Language.QASM, Language.QIR, Language.PQIR]
SHOTS = 20
DIE = 6
DRAWS = ("any", "roll", "again")


@pytest.fixture(scope="module")
def emulator(service: ServiceProcess) -> QuantinuumBackend:
    return client(service.url, "H1-1E")


def random_circuit(rng_seed: int | None = None) -> Circuit:
    """An unbounded draw, two draws below ``DIE`` and the shot number, after restarting the
    stream from the constant ``rng_seed`` unless it is None."""
    circuit = Circuit(1)
    if rng_seed is not None:
        seed = circuit.add_c_register("seed", 64)
        circuit.add_c_setreg(rng_seed, seed)
        circuit.set_rng_seed(seed)
    circuit.get_rng_num(circuit.add_c_register("any", 32))
    bound = circuit.add_c_register("bound", 32)
    circuit.add_c_setreg(DIE, bound)
    circuit.set_rng_bound(bound)
    circuit.get_rng_num(circuit.add_c_register("roll", 32))
    circuit.get_rng_num(circuit.add_c_register("again", 32))
    circuit.get_job_shot_num(circuit.add_c_register("shot", 32))
    circuit.PhasedX(1, 0, 0).Measure(0, circuit.add_c_register("m", 1)[0])
    return circuit


def run(
    backend: QuantinuumBackend, circuit: Circuit, language: Language, seed: int
) -> dict[str, list[int]]:
    """Each register's value in every shot, in shot order."""
    handle = backend.process_circuit(
        circuit, n_shots=SHOTS, noisy_simulation=False, language=language, options={"seed": seed}
    )
    assert wait_until_done(backend, handle) == StatusEnum.COMPLETED
    result = backend.get_result(handle)
    return {
        register.name: register_values(result.get_shots(cbits=list(register)))
        for register in circuit.c_registers
    }


def register_values(shots: np.ndarray) -> list[int]:
    """Rows of bits, the register's bit 0 first, as numbers."""
    return [sum(int(bit) << index for index, bit in enumerate(row)) for row in shots]


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.name)
def test_the_same_job_seed_gives_the_same_draws_and_another_seed_other_draws(
    emulator: QuantinuumBackend, language: Language
) -> None:
    circuit = random_circuit()
    first = run(emulator, circuit, language, seed=41)

    assert run(emulator, circuit, language, seed=41) == first
    other = run(emulator, circuit, language, seed=42)
    assert other["any"] != first["any"]
    assert len(set(first["any"])) == SHOTS  # 32-bit numbers: every shot draws its own


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.name)
def test_bounded_draws_stay_below_the_bound(
    emulator: QuantinuumBackend, language: Language
) -> None:
    values = run(emulator, random_circuit(), language, seed=43)

    assert set(values["roll"]) | set(values["again"]) <= set(range(DIE))
    assert len(set(values["roll"])) > 1
    assert values["bound"] == [DIE] * SHOTS
    assert values["m"] == [1] * SHOTS


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda language: language.name)
def test_shot_numbers_run_from_one_to_the_shot_count(
    emulator: QuantinuumBackend, language: Language
) -> None:
    assert run(emulator, random_circuit(), language, seed=44)["shot"] == list(range(1, SHOTS + 1))


def test_a_constant_rng_seed_gives_every_shot_and_job_the_same_draws(
    emulator: QuantinuumBackend,
) -> None:
    circuit = random_circuit(rng_seed=123456789)
    jobs = [run(emulator, circuit, language, seed) for language in LANGUAGES for seed in (1, 2)]

    draws = {label: {value for job in jobs for value in job[label]} for label in DRAWS}
    assert all(len(values) == 1 for values in draws.values()), draws  # one value everywhere
    assert draws["roll"] | draws["again"] <= set(range(DIE))
    assert all(job["shot"] == list(range(1, SHOTS + 1)) for job in jobs)


def test_every_form_gives_the_same_draws_for_one_job_seed(emulator: QuantinuumBackend) -> None:
    circuit = random_circuit()
    first, *others = (run(emulator, circuit, language, seed=45) for language in LANGUAGES)
    assert all(other == first for other in others)
