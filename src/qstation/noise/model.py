"""The H-Series emulator noise model: parameters from the device, overrides from the job.

The parameters are the device's emulator ``noise_specs`` (the published defaults), overridden
by the job's ``error-params`` option with the documented keys, then multiplied by the documented
scale factors. What each parameter does to a program is :mod:`qstation.noise.faults`; the
formulas and what is approximated are in docs/noise-model.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from qstation.devices.catalogue import Device, SystemType
from qstation.errors import CompileError


@dataclass(frozen=True)
class NoiseModel:
    p1: float = 0.0
    """Fault probability of a one-qubit gate (``U1q``; ``Rz`` is virtual and exact)."""
    p2: float = 0.0
    """Fault probability of a two-qubit gate at a quarter turn (``ZZ``, ``RZZ(pi/2)``)."""
    p_meas_0: float = 0.0
    """Probability that a measured 0 is reported as 1."""
    p_meas_1: float = 0.0
    """Probability that a measured 1 is reported as 0."""
    p_init: float = 0.0
    """Probability that a qubit prepared in |0> (at the start or by a reset) is in |1>."""
    p_crosstalk_meas: float = 0.0
    """Probability that a measurement dephases each other qubit."""
    p_crosstalk_init: float = 0.0
    """Probability that a reset resets each other qubit too."""
    p1_emission_ratio: float = 0.0
    """Fraction of one-qubit faults that are spontaneous emission, not depolarizing."""
    p2_emission_ratio: float = 0.0
    """Fraction of two-qubit faults that are spontaneous emission, not depolarizing."""
    leakage_fraction: float = 0.5
    """Fraction of an emission that leaks the qubit (the rest: X or Y, equally)."""
    przz_a: float = 1.0
    przz_b: float = 0.0
    przz_c: float = 1.0
    przz_d: float = 0.0
    przz_power: float = 1.0
    quadratic_dephasing_rate: float = 0.0
    """Coherent rotation per millisecond of waiting or transport (:mod:`.dephasing`)."""
    linear_dephasing_rate: float = 0.0
    """Probability of a Z per millisecond of waiting or transport."""
    coherent_to_incoherent_factor: float = 1.0
    """Weight of the rotation's error when it is applied as a Z instead."""
    coherent_dephasing: bool = True
    transport_dephasing: bool = True
    idle_dephasing: bool = True
    gate_zones: int = 0
    """Two-qubit gates that can run at once (the device's ``n_gate_zones``); 0: no limit."""

    @property
    def dephases(self) -> bool:
        rates = self.quadratic_dephasing_rate or self.linear_dephasing_rate
        return bool(rates) and (self.idle_dephasing or self.transport_dephasing)

    @property
    def is_noiseless(self) -> bool:
        probabilities = (
            self.p1, self.p2, self.p_meas_0, self.p_meas_1, self.p_init, self.p_crosstalk_meas,
            self.p_crosstalk_init,
        )  # fmt: skip
        return not any(probabilities) and not self.dephases

    def two_qubit_fault_probability(self, half_turns: float | None) -> float:
        """``p2`` scaled by the RZZ angle fit: ``(a |t|^power + b)`` for negative angles and
        ``(c |t|^power + d)`` for positive ones (``t`` the angle in half-turns, reduced to
        (-1, 1]), the mean of ``b`` and ``d`` at 0, normalised so a quarter turn gives ``p2``.
        ``None`` is a gate without an RZZ angle (``ZZ``, ``Rxxyyzz``): ``p2`` itself."""
        if half_turns is None:
            return self.p2
        t = math.remainder(half_turns, 2.0)
        if t == -1.0:
            t = 1.0
        if t < 0:
            fit = self.przz_a * abs(t) ** self.przz_power + self.przz_b
            norm = self.przz_a * 0.5**self.przz_power + self.przz_b
        elif t > 0:
            fit = self.przz_c * t**self.przz_power + self.przz_d
            norm = self.przz_c * 0.5**self.przz_power + self.przz_d
        else:
            fit = (self.przz_b + self.przz_d) / 2
            norm = (self.przz_a + self.przz_c) * 0.5**self.przz_power / 2 + fit
        return _probability(self.p2 * fit / norm)


NOISELESS = NoiseModel()

_SPEC_PATHS = {  # NoiseModel field -> path in the emulator ``noise_specs`` schema
    "p1": ("1q_fault_probability", "p1"),
    "p2": ("2q_fault_probability", "p2"),
    "p_meas_0": ("bit_flip_measurement_probability", "p_meas_0"),
    "p_meas_1": ("bit_flip_measurement_probability", "p_meas_1"),
    "p_init": ("init_fault_probability", "p_init"),
    "p_crosstalk_meas": ("crosstalk_probability", "p_crosstalk_meas"),
    "p_crosstalk_init": ("crosstalk_probability", "p_crosstalk_init"),
    "p1_emission_ratio": ("ratio_spontaneous_emission", "p1_emission_ratio"),
    "p2_emission_ratio": ("ratio_spontaneous_emission", "p2_emission_ratio"),
    "przz_a": ("fit_parameters", "przz_a"),
    "przz_b": ("fit_parameters", "przz_b"),
    "przz_c": ("fit_parameters", "przz_c"),
    "przz_d": ("fit_parameters", "przz_d"),
    "przz_power": ("fit_parameters", "przz_power"),
    "quadratic_dephasing_rate": ("dephasing_rates", "quadratic_dephasing_rate"),
    "linear_dephasing_rate": ("dephasing_rates", "linear_dephasing_rate"),
}
_DIRECT_KEYS = set(_SPEC_PATHS) - {"p_meas_0", "p_meas_1"} | {"coherent_to_incoherent_factor"}
_SWITCHES = ("coherent_dephasing", "transport_dephasing", "idle_dephasing")
_SCALES: dict[str, tuple[str, ...]] = {  # scale factor -> the fields it multiplies
    "p1_scale": ("p1",),
    "p2_scale": ("p2",),
    "meas_scale": ("p_meas_0", "p_meas_1"),
    "init_scale": ("p_init",),
    "crosstalk_scale": ("p_crosstalk_meas", "p_crosstalk_init"),
    "emission_scale": ("p1_emission_ratio", "p2_emission_ratio"),
    "leakage_scale": ("leakage_fraction",),
    "memory_scale": ("quadratic_dephasing_rate", "linear_dephasing_rate"),
}
_ERROR_PROBABILITIES = (
    "p1", "p2", "p_meas_0", "p_meas_1", "p_init", "p_crosstalk_meas", "p_crosstalk_init"
)  # fmt: skip
_SCALED_BY_SCALE = (*_ERROR_PROBABILITIES, "quadratic_dephasing_rate", "linear_dephasing_rate")
_PROBABILITIES = (
    *_ERROR_PROBABILITIES,
    "p1_emission_ratio",
    "p2_emission_ratio",
    "leakage_fraction",
)
"""Capped at 1; the dephasing rates are per millisecond, not probabilities."""


def noise_model(device: Device, options: dict[str, Any]) -> NoiseModel:
    """The model a job on ``device`` runs with: none unless the device is an emulator and the
    job leaves ``error-model`` on (the documented default)."""
    if device.system_type is not SystemType.EMULATOR or options.get("error-model", True) is False:
        return NOISELESS
    values: dict[str, Any] = dataclasses.asdict(NOISELESS)
    specs = device.wire.get("noise_specs") or {}
    for name, (section, key) in _SPEC_PATHS.items():
        value = (specs.get(section) or {}).get(key)
        if value is not None:
            values[name] = float(value)
    if isinstance(specs.get("coherent_to_incoherent_factor"), int | float):
        values["coherent_to_incoherent_factor"] = float(specs["coherent_to_incoherent_factor"])
    values["gate_zones"] = int(device.wire.get("n_gate_zones") or 0)
    overrides = options.get("error-params") or {}
    if not isinstance(overrides, dict):
        raise CompileError(f"error-params must be an object, not {overrides!r}")
    scales = {"scale": 1.0, **{name: 1.0 for name in _SCALES}}
    for key, value in overrides.items():
        if key == "p_meas":
            values["p_meas_0"], values["p_meas_1"] = _meas_pair(value)
        elif key in _DIRECT_KEYS:
            values[key] = _number(key, value)
        elif key in _SWITCHES:
            if not isinstance(value, bool):
                raise CompileError(f"error-params {key} must be true or false, not {value!r}")
            values[key] = value
        elif key in scales:
            scales[key] = _number(key, value)
        else:
            raise CompileError(f"unknown error-params key {key!r}")
    for scale, fields in _SCALES.items():
        for name in fields:
            values[name] *= scales[scale]
    for name in _SCALED_BY_SCALE:
        values[name] *= scales["scale"]
    for name in _PROBABILITIES:
        values[name] = _probability(values[name])
    return NoiseModel(**values)


def _number(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CompileError(f"error-params {key} must be a finite number, not {value!r}")
    if value < 0:
        raise CompileError(f"error-params {key} must not be negative, not {value!r}")
    return float(value)


def _meas_pair(value: object) -> tuple[float, float]:
    """``p_meas`` is one probability for both outcomes, or a pair (for 0, for 1)."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return _number("p_meas", value[0]), _number("p_meas", value[1])
    number = _number("p_meas", value)
    return number, number


def _probability(value: float) -> float:
    return min(1.0, max(0.0, value))
