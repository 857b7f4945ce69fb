"""Where a noise model can put faults into a program, and how each shot's faults are drawn.

A *site* is a place in the program (after the operation at ``position``; -1 is the start of the
shot) where a fault happens with ``probability``, and then is one of ``outcomes`` with the given
conditional weights. A fault is one or more elementary faults: a Pauli on a qubit, a leak (the
qubit leaves the computational space: it is collapsed, later gates on it do nothing, it reads as
1 when measured, and a reset brings it back), or a reset of the qubit (reset crosstalk).

Each shot draws its faults from its own stream (:func:`noise_generator`), site by site in
program order, so a shot's faults depend only on the job seed and the shot's index. Measurement
flips are classical: one uniform per shot and measurement, compared with ``p_meas_0`` or
``p_meas_1`` once the measured value is known.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import product
from typing import Literal

import numpy as np

from qstation.circuit.gates import GATES
from qstation.circuit.program import Gate, Measure, Program, Reset, unconditioned
from qstation.noise.dephasing import dephasing_periods, z_probability
from qstation.noise.model import NoiseModel

FaultKind = Literal["X", "Y", "Z", "leak", "reset"]
_NON_IDENTITY: tuple[FaultKind, ...] = ("X", "Y", "Z")
_PAULIS = ("I", *_NON_IDENTITY)
_NOISE_DOMAIN = np.uint64(0x6E0153_0000_0002)


@dataclass(frozen=True, slots=True)
class ElementaryFault:
    kind: FaultKind
    qubit: int


Fault = tuple[ElementaryFault, ...]


LocalFault = tuple[tuple[FaultKind, int], ...]
"""A fault on a site's own qubits, numbered 0, 1, ... in the site's order."""


@dataclass(frozen=True, eq=False)
class Channel:
    """What a fault is once it happens: one of ``outcomes`` (on the site's qubits, numbered
    locally) with the given cumulative weights. One object per kind of fault and parameters
    (cached), shared by every site of that kind, so an engine can translate it once."""

    outcomes: tuple[LocalFault, ...]
    weights: np.ndarray  # cumulative, ending at 1.0

    @cached_property
    def is_pauli(self) -> bool:
        """Every outcome is Paulis only (no leak, no reset)."""
        return all(kind in _NON_IDENTITY for outcome in self.outcomes for kind, _ in outcome)


@dataclass(frozen=True)
class Site:
    position: int
    probability: float
    channel: Channel
    qubits: tuple[int, ...]

    @cached_property
    def outcomes(self) -> tuple[Fault, ...]:
        return tuple(
            tuple(ElementaryFault(kind, self.qubits[local]) for kind, local in outcome)
            for outcome in self.channel.outcomes
        )

    @property
    def weights(self) -> np.ndarray:
        return self.channel.weights


@dataclass(frozen=True)
class NoisePlan:
    """The sites of one program under one model, and the measurements' flip probabilities."""

    sites: list[Site]
    measurements: list[int]
    """Positions of the program's measurements, in order."""
    p_meas_0: float
    p_meas_1: float

    @cached_property
    def probabilities(self) -> np.ndarray:
        """Each site's fault probability, in site order (read once per shot drawn)."""
        return np.array([site.probability for site in self.sites])

    def reported(self, bits: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """The bits a measurement reports: each measured bit flipped where its shot's uniform
        for that measurement falls below the flip probability of its value (0→1 or 1→0)."""
        threshold = np.where(bits == 1, self.p_meas_1, self.p_meas_0)
        return bits ^ (uniforms < threshold).astype(np.uint64)


def plan_noise(program: Program, model: NoiseModel, holds_rotations: bool) -> NoisePlan:
    """``program`` comes from :func:`~qstation.noise.dephasing.with_dephasing_points`, with
    the same ``holds_rotations``: whether the engine runs coherent dephasing as gates;
    otherwise dephasing is all Z faults."""
    used = sorted(program.used_qubits())
    sites = [Site(-1, model.p_init, _ONE_FAULT["X"], (q,)) for q in used]
    dephasing: dict[int, list[Site]] = defaultdict(list)  # after the Rz before the gate
    for period in dephasing_periods(program, model):
        probability = z_probability(model, period.duration, holds_rotations)
        site = Site(period.position - 1, probability, _ONE_FAULT["Z"], (period.qubit,))
        dephasing[period.position].append(site)
    measurements: list[int] = []
    for position, operation in enumerate(map(unconditioned, program.operations)):
        sites.extend(dephasing.get(position, []))
        if isinstance(operation, Gate):
            sites.extend(_gate_sites(position, operation, model))
        elif isinstance(operation, Measure):
            measurements.append(position)
            for other in used:
                if other != operation.qubit:  # a full dephasing: Z half the time
                    sites.append(
                        Site(position, model.p_crosstalk_meas / 2, _ONE_FAULT["Z"], (other,))
                    )
        elif isinstance(operation, Reset):
            sites.append(Site(position, model.p_init, _ONE_FAULT["X"], (operation.qubit,)))
            for other in used:
                if other != operation.qubit:
                    sites.append(
                        Site(position, model.p_crosstalk_init, _ONE_FAULT["reset"], (other,))
                    )
    return NoisePlan([site for site in sites if site.probability > 0], measurements,
                     model.p_meas_0, model.p_meas_1)  # fmt: skip


def _gate_sites(position: int, gate: Gate, model: NoiseModel) -> Iterator[Site]:
    spec = GATES[gate.name]
    if gate.name == "Rz":  # virtual: a frame change, no physical operation
        return
    one = _one_qubit_channel(model.p1_emission_ratio, model.leakage_fraction)
    two = _two_qubit_channel(model.p2_emission_ratio, model.leakage_fraction)
    if spec.native:
        if spec.arity == 1:
            yield Site(position, model.p1, one, gate.qubits)
        else:
            angle = gate.params[0] if gate.name == "RZZ" else None
            yield Site(position, model.two_qubit_fault_probability(angle), two, gate.qubits)
        return
    # A standard gate: the faults of the native gates it is charged as, on its qubits in turn.
    qubits = gate.qubits
    for index in range(spec.charged.one_qubit):
        yield Site(position, model.p1, one, (qubits[index % len(qubits)],))
    pairs: list[tuple[int, ...]] = [(a, b) for a in qubits for b in qubits if a < b]
    for index in range(spec.charged.two_qubit if pairs else 0):
        yield Site(position, model.p2, two, pairs[index % len(pairs)])


def _emission(qubit: int, leakage: float) -> list[tuple[tuple[FaultKind, int], float]]:
    """Spontaneous emission on one qubit: a leak, or else X or Y equally."""
    return [(("X", qubit), (1 - leakage) / 2), (("Y", qubit), (1 - leakage) / 2),
            (("leak", qubit), leakage)]  # fmt: skip


@lru_cache(maxsize=256)
def _one_qubit_channel(emission: float, leakage: float) -> Channel:
    outcomes: list[tuple[LocalFault, float]] = [
        (((pauli, 0),), (1 - emission) / 3) for pauli in _NON_IDENTITY
    ]
    outcomes += [((fault,), emission * weight) for fault, weight in _emission(0, leakage)]
    return _channel(outcomes)


@lru_cache(maxsize=256)
def _two_qubit_channel(emission: float, leakage: float) -> Channel:
    """Depolarizing (the 15 non-identity Paulis equally), or emission on each qubit."""
    outcomes: list[tuple[LocalFault, float]] = []
    for paulis in product(_PAULIS, repeat=2):
        if set(paulis) == {"I"}:
            continue
        fault = tuple((pauli, local) for local, pauli in enumerate(paulis) if pauli != "I")
        outcomes.append((fault, (1 - emission) / 15))  # type: ignore[arg-type]
    for combination in product(_emission(0, leakage), _emission(1, leakage)):
        weight = emission * float(np.prod([w for _, w in combination]))
        outcomes.append((tuple(fault for fault, _ in combination), weight))
    return _channel(outcomes)


def _channel(outcomes: list[tuple[LocalFault, float]]) -> Channel:
    kept = [(fault, weight) for fault, weight in outcomes if weight > 0]
    weights = np.cumsum([weight for _, weight in kept])
    return Channel(tuple(fault for fault, _ in kept), weights / weights[-1])


_ONE_FAULT = {kind: _channel([(((kind, 0),), 1.0)]) for kind in ("X", "Z", "reset")}


def noise_generator(key: np.uint64) -> np.random.Generator:
    """A shot's stream for its faults, apart from the streams its outcomes come from."""
    return np.random.default_rng(int(np.uint64(key) ^ _NOISE_DOMAIN))


@dataclass
class ShotNoise:
    """One shot's faults, in program order, and its measurement-flip uniforms."""

    events: list[tuple[int, Fault]]  # (site position, fault)
    flips: np.ndarray  # one uniform per measurement
    generator: np.random.Generator  # for the randomness its faults need later (leak collapses)


def draw_shot_noise(plan: NoisePlan, key: np.uint64) -> ShotNoise:
    generator = noise_generator(key)
    probabilities = plan.probabilities
    hits = np.flatnonzero(generator.random(probabilities.size) < probabilities)
    events = []
    for index in hits:
        site = plan.sites[index]
        choice = int(np.searchsorted(site.weights, generator.random(), side="right"))
        events.append((site.position, site.outcomes[min(choice, len(site.outcomes) - 1)]))
    flips = generator.random(len(plan.measurements))
    return ShotNoise(events, flips, generator)
