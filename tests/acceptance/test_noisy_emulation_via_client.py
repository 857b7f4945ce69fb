"""Noisy emulators through the real client: noise on by default, off on request, tunable."""

from __future__ import annotations

from collections import Counter

import pytest
from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit
from pytket.extensions.quantinuum import QuantinuumBackend

from tests.acceptance.conftest import client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import ServiceProcess

SHOTS = 1000


@pytest.fixture(scope="module")
def emulator(service: ServiceProcess) -> QuantinuumBackend:
    return client(service.url, "H2-1E")


def bell_counts(backend: QuantinuumBackend, **kwargs: object) -> Counter[tuple[int, ...]]:
    circuit = backend.get_compiled_circuit(Circuit(2).H(0).CX(0, 1).measure_all())
    handle = backend.process_circuit(circuit, n_shots=SHOTS, **kwargs)  # type: ignore[arg-type]
    assert wait_until_done(backend, handle) == StatusEnum.COMPLETED
    return backend.get_result(handle).get_counts()


def test_noisy_bell_shows_more_than_two_outcomes_and_noiseless_exactly_two(
    emulator: QuantinuumBackend,
) -> None:
    noisy = bell_counts(emulator, options={"seed": 21})
    exact = bell_counts(emulator, options={"seed": 21}, noisy_simulation=False)

    assert set(exact) == {(0, 0), (1, 1)}
    assert len(noisy) > 2
    assert noisy[(0, 1)] + noisy[(1, 0)] < 0.05 * SHOTS  # H2-1E's faults are rare


def test_error_params_reach_the_emulator(emulator: QuantinuumBackend) -> None:
    flipped = bell_counts(emulator, options={"seed": 22, "error-params": {"p_meas": 0.25}})
    odd = flipped[(0, 1)] + flipped[(1, 0)]
    # one of two bits flipped: 2 * 0.25 * 0.75 = 37.5% of shots, give or take sampling
    assert 0.3 * SHOTS < odd < 0.45 * SHOTS


def test_a_seeded_noisy_job_is_reproducible(emulator: QuantinuumBackend) -> None:
    options = {"seed": 23, "error-params": {"scale": 20}}
    assert bell_counts(emulator, options=options) == bell_counts(emulator, options=options)
