"""The noise model's parameters: catalogue defaults, a job's error-params, scale factors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from qstation.circuit.program import Gate, Program
from qstation.devices.catalogue import DeviceCatalogue
from qstation.errors import CompileError
from qstation.noise.dephasing import ROUND_MS, dephasing_periods
from qstation.noise.model import NOISELESS, noise_model

CATALOGUE = DeviceCatalogue.load()
H1E = CATALOGUE.get("H1-1E")


def test_emulators_default_to_the_published_parameters() -> None:
    model = noise_model(H1E, {})
    assert (model.p1, model.p2, model.p_meas_0, model.p_meas_1) == (2.1e-5, 8.8e-4, 1e-3, 4e-3)
    assert (model.p_init, model.p_crosstalk_meas, model.p_crosstalk_init) == (
        3.62e-5, 1.45e-5, 5.02e-6,
    )  # fmt: skip
    assert (model.p1_emission_ratio, model.p2_emission_ratio) == (0.54, 0.43)
    assert noise_model(CATALOGUE.get("H2-1E"), {}).p2 == 1.28e-3


@pytest.mark.parametrize(
    ("device", "options"),
    [("H1-1E", {"error-model": False}), ("H1-1", {}), ("H1-1SC", {})],
)
def test_no_noise_when_turned_off_or_not_an_emulator(device: str, options: dict) -> None:
    assert noise_model(CATALOGUE.get(device), options) == NOISELESS


def test_error_params_override_then_scales_multiply() -> None:
    params = {
        "p1": 0.01, "p2": 0.02, "p_meas": [0.1, 0.2], "scale": 2.0, "p2_scale": 1.5,
        "meas_scale": 0.5, "emission_scale": 0.5, "leakage_scale": 0.5,
    }  # fmt: skip
    model = noise_model(H1E, {"error-params": params})
    assert model.p1 == pytest.approx(0.02)
    assert model.p2 == pytest.approx(0.06)
    assert (model.p_meas_0, model.p_meas_1) == pytest.approx((0.1, 0.2))
    assert model.p1_emission_ratio == pytest.approx(0.27)
    assert model.leakage_fraction == pytest.approx(0.25)
    assert model.p_init == pytest.approx(2 * 3.62e-5)


def test_one_p_meas_serves_both_outcomes_and_probabilities_are_clipped() -> None:
    model = noise_model(H1E, {"error-params": {"p_meas": 0.3, "scale": 5}})
    assert (model.p_meas_0, model.p_meas_1) == (1.0, 1.0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"p3": 0.1}, "unknown error-params key 'p3'"),
        ({"p1": "high"}, "p1 must be a finite number"),
        ({"p2": -0.1}, "p2 must not be negative"),
        ({"p_meas": [0.1]}, "p_meas must be a finite number"),
        ([1, 2], "error-params must be an object"),
    ],
)
def test_bad_error_params_are_compile_errors_naming_the_key(params: object, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        noise_model(H1E, {"error-params": params})


def test_dephasing_comes_from_the_catalogue_and_the_job() -> None:
    default = noise_model(H1E, {})
    assert (default.quadratic_dephasing_rate, default.linear_dephasing_rate) == (0.122, 0.0)
    assert (default.coherent_to_incoherent_factor, default.gate_zones) == (2.5, 5)
    assert default.coherent_dephasing and default.idle_dephasing and default.transport_dephasing
    params = {
        "quadratic_dephasing_rate": 0.5, "linear_dephasing_rate": 0.01, "memory_scale": 3,
        "scale": 2, "coherent_dephasing": False, "idle_dephasing": False,
        "coherent_to_incoherent_factor": 1.5,
    }  # fmt: skip
    model = noise_model(H1E, {"error-params": params})
    assert model.quadratic_dephasing_rate == pytest.approx(3.0)  # a rate: not clipped to 1
    assert model.linear_dephasing_rate == pytest.approx(0.06)
    assert (model.coherent_dephasing, model.idle_dephasing, model.transport_dephasing) == (
        False, False, True,
    )  # fmt: skip
    assert model.coherent_to_incoherent_factor == 1.5
    assert noise_model(CATALOGUE.get("H2-1E"), {}).gate_zones == 4


def test_a_dephasing_switch_must_be_a_boolean() -> None:
    with pytest.raises(CompileError, match="coherent_dephasing must be true or false"):
        noise_model(H1E, {"error-params": {"coherent_dephasing": 1}})


def gates(*pairs: tuple[int, int]) -> Program:
    operations = [Gate("U1q", (0,), (0.5, 0.0)), *(Gate("ZZ", pair) for pair in pairs)]
    return Program(4, {}, tuple(operations))


@pytest.mark.parametrize(
    ("zones", "idle", "expected"),
    [
        # one zone: (2, 3) waits a round; (1, 2) then waits for 2, and 1 idles a round
        (1, True, [(1, 0, 1), (1, 1, 1), (2, 2, 2), (2, 3, 2), (3, 1, 2), (3, 2, 1)]),
        (2, True, [(1, 0, 1), (1, 1, 1), (2, 2, 1), (2, 3, 1), (3, 1, 1), (3, 2, 1)]),
        (1, False, [(1, 0, 1), (1, 1, 1), (2, 2, 1), (2, 3, 1), (3, 1, 1), (3, 2, 1)]),
    ],
)
def test_the_dephasing_schedule_counts_waiting_and_transport_rounds(
    zones: int, idle: bool, expected: list[tuple[int, int, int]]
) -> None:
    model = replace(NOISELESS, quadratic_dephasing_rate=1.0, gate_zones=zones, idle_dephasing=idle)
    periods = dephasing_periods(gates((0, 1), (2, 3), (1, 2)), model)
    assert [(p.position, p.qubit, p.duration) for p in periods] == [
        (position, qubit, rounds * ROUND_MS) for position, qubit, rounds in expected
    ]


@pytest.mark.parametrize(
    ("half_turns", "factor"),
    [(0.5, 1.0), (-0.5, 1.0), (0.25, (1.2 * 0.25 + 0.4) / (1.2 * 0.5 + 0.4)),
     (-0.25, (1.6 * 0.25 + 0.2) / (1.6 * 0.5 + 0.2)), (1.75, (1.6 * 0.25 + 0.2) / 1.0)],
)  # fmt: skip
def test_rzz_fault_probability_follows_the_angle_fit(half_turns: float, factor: float) -> None:
    params = {"p2": 0.01, "przz_a": 1.6, "przz_b": 0.2, "przz_c": 1.2, "przz_d": 0.4}
    model = noise_model(H1E, {"error-params": params})
    assert model.two_qubit_fault_probability(half_turns) == pytest.approx(0.01 * factor)
    assert model.two_qubit_fault_probability(None) == 0.01
