"""The noisy engine against an exact density-matrix computation of the same noise model.

The density-matrix model below is written from docs/noise-model.md, not from the engine: a
state is a set of sectors, one per (leaked qubits, bits measured so far), each an unnormalised
density matrix. Each channel alone, then all together, with probabilities large enough to
matter: 20,000 shots must lie within sampling error of the exact distribution (total-variation
distance below the 99.9% bound of the Bretagnolle-Huber-Carol inequality).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import replace
from itertools import product

import numpy as np
import pytest

from qstation.circuit.gates import GATES
from qstation.circuit.program import (
    Binary,
    BitRef,
    Conditional,
    Const,
    Gate,
    Measure,
    Operation,
    Program,
    ReadBit,
    ReadRegister,
    Record,
    Reset,
)
from qstation.engines.stabilizer import StabilizerEngine
from qstation.engines.statevector import StateVectorEngine
from qstation.noise.model import NoiseModel

SHOTS = 20_000
ENGINE = StateVectorEngine(memory_limit_bytes=2**30)
I2 = np.eye(2, dtype=complex)
PAULI = {
    "I": I2,
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.diag([1, -1]).astype(complex),
}
P0 = np.diag([1, 0]).astype(complex)
P1 = np.diag([0, 1]).astype(complex)
LOWER = np.array([[0, 1], [0, 0]], dtype=complex)  # |0><1|

Sector = tuple[frozenset[int], tuple[int, ...]]


class DensityModel:
    """The noise model's exact outcome distribution, sector by sector."""

    def __init__(self, n_qubits: int, model: NoiseModel) -> None:
        self.n = n_qubits
        self.model = model
        rho = np.zeros((2**n_qubits, 2**n_qubits), dtype=complex)
        rho[0, 0] = 1.0
        self.sectors: dict[Sector, np.ndarray] = {(frozenset(), ()): rho}

    def full(self, single: np.ndarray, qubit: int) -> np.ndarray:
        factors = [single if q == qubit else I2 for q in range(self.n)]
        matrix = factors[0]
        for factor in factors[1:]:
            matrix = np.kron(matrix, factor)
        return matrix

    def full_gate(self, unitary: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
        """``unitary`` on ``qubits`` (the first most significant), identity elsewhere."""
        dim = 2**self.n
        matrix = np.zeros((dim, dim), dtype=complex)
        k = len(qubits)
        for column in range(dim):
            bits = [(column >> (self.n - 1 - q)) & 1 for q in range(self.n)]
            local = sum(bits[q] << (k - 1 - i) for i, q in enumerate(qubits))
            for row_local in range(2**k):
                row_bits = list(bits)
                for i, q in enumerate(qubits):
                    row_bits[q] = (row_local >> (k - 1 - i)) & 1
                row = sum(b << (self.n - 1 - q) for q, b in enumerate(row_bits))
                matrix[row, column] += unitary[row_local, local]
        return matrix

    def each(self, action: object) -> None:
        """Replace every sector by what ``action(sector, rho)`` yields (sector, rho) pairs."""
        result: dict[Sector, np.ndarray] = defaultdict(lambda: 0)  # type: ignore[arg-type]
        for sector, rho in self.sectors.items():
            for new_sector, new_rho in action(sector, rho):  # type: ignore[operator]
                result[new_sector] = result[new_sector] + new_rho
        self.sectors = dict(result)

    # --- channels ------------------------------------------------------------------------

    def pauli(self, rho: np.ndarray, paulis: dict[int, str], leaked: frozenset[int]) -> np.ndarray:
        matrix = np.eye(2**self.n, dtype=complex)
        for qubit, name in paulis.items():
            if qubit not in leaked:
                matrix = self.full(PAULI[name], qubit) @ matrix
        return matrix @ rho @ matrix.conj().T

    def reset_rho(self, rho: np.ndarray, qubit: int) -> np.ndarray:
        a, b = self.full(P0, qubit), self.full(LOWER, qubit)
        return a @ rho @ a.conj().T + b @ rho @ b.conj().T

    def emission_terms(self, qubit: int) -> list[tuple[str, float]]:
        leak = self.model.leakage_fraction
        return [("X", (1 - leak) / 2), ("Y", (1 - leak) / 2), ("leak", leak)]

    def apply_faults(
        self, sector: Sector, rho: np.ndarray, fault: dict[int, str]
    ) -> tuple[Sector, np.ndarray]:
        """Elementary faults on qubits: Paulis, "leak" or "reset"."""
        leaked, bits = sector
        paulis = {q: f for q, f in fault.items() if f in PAULI}
        rho = self.pauli(rho, paulis, leaked)
        for qubit, kind in fault.items():
            if kind == "leak" and qubit not in leaked:
                rho = self.reset_rho(rho, qubit)
                leaked = leaked | {qubit}
            elif kind == "reset":
                rho = self.reset_rho(rho, qubit)
                leaked = leaked - {qubit}
        return (leaked, bits), rho

    def channel(self, probability: float, faults: list[tuple[dict[int, str], float]]) -> None:
        """With ``probability`` one of ``faults`` (weights summing to 1), else nothing."""

        def act(sector: Sector, rho: np.ndarray):  # type: ignore[no-untyped-def]
            yield sector, (1 - probability) * rho
            for fault, weight in faults:
                new_sector, new_rho = self.apply_faults(sector, rho, fault)
                yield new_sector, probability * weight * new_rho

        self.each(act)

    def one_qubit_faults(self, qubit: int) -> list[tuple[dict[int, str], float]]:
        e = self.model.p1_emission_ratio
        faults = [({qubit: p}, (1 - e) / 3) for p in "XYZ"]
        return faults + [({qubit: kind}, e * w) for kind, w in self.emission_terms(qubit)]

    def two_qubit_faults(self, a: int, b: int) -> list[tuple[dict[int, str], float]]:
        e = self.model.p2_emission_ratio
        faults = [
            ({a: pa, b: pb}, (1 - e) / 15)
            for pa, pb in product("IXYZ", repeat=2)
            if pa + pb != "II"
        ]
        for (ka, wa), (kb, wb) in product(self.emission_terms(a), self.emission_terms(b)):
            faults.append(({a: ka, b: kb}, e * wa * wb))
        return faults

    def rzz_factor(self, half_turns: float | None) -> float:
        m = self.model
        if half_turns is None:
            return 1.0
        negative = m.przz_a * 0.5**m.przz_power + m.przz_b
        positive = m.przz_c * 0.5**m.przz_power + m.przz_d
        t = half_turns
        if t < 0:
            return (m.przz_a * abs(t) ** m.przz_power + m.przz_b) / negative
        if t > 0:
            return (m.przz_c * t**m.przz_power + m.przz_d) / positive
        return ((m.przz_b + m.przz_d) / 2) / ((negative + positive) / 2)

    # --- operations ----------------------------------------------------------------------

    def start(self, used: list[int]) -> None:
        for qubit in used:
            self.channel(self.model.p_init, [({qubit: "X"}, 1.0)])

    def gate(self, gate: Gate) -> None:
        unitary = self.full_gate(GATES[gate.name].unitary(gate.params), gate.qubits)

        def act(sector: Sector, rho: np.ndarray):  # type: ignore[no-untyped-def]
            skip = sector[0].intersection(gate.qubits)
            yield sector, rho if skip else unitary @ rho @ unitary.conj().T

        self.each(act)
        if gate.name == "Rz":
            return
        if len(gate.qubits) == 1:
            self.channel(self.model.p1, self.one_qubit_faults(gate.qubits[0]))
        else:
            angle = gate.params[0] if gate.name == "RZZ" else None
            probability = min(1.0, self.model.p2 * self.rzz_factor(angle))
            self.channel(probability, self.two_qubit_faults(*gate.qubits))

    def measure(self, qubit: int, used: list[int]) -> None:
        def act(sector: Sector, rho: np.ndarray):  # type: ignore[no-untyped-def]
            leaked, bits = sector
            if qubit in leaked:
                yield (leaked, (*bits, 1)), rho
                return
            for outcome, projector in ((0, P0), (1, P1)):
                full = self.full(projector, qubit)
                yield (leaked, (*bits, outcome)), full @ rho @ full

        self.each(act)
        for other in used:
            if other != qubit:
                self.channel(self.model.p_crosstalk_meas, [({other: "Z"}, 0.5), ({}, 0.5)])

    def reset(self, qubit: int, used: list[int]) -> None:
        self.channel(1.0, [({qubit: "reset"}, 1.0)])
        self.channel(self.model.p_init, [({qubit: "X"}, 1.0)])
        for other in used:
            if other != qubit:
                self.channel(self.model.p_crosstalk_init, [({other: "reset"}, 1.0)])

    def distribution(self) -> dict[int, float]:
        """Reported measurement bits (the first measurement as bit 0) -> probability."""
        m = self.model
        result: dict[int, float] = defaultdict(float)
        for (_, bits), rho in self.sectors.items():
            weight = float(np.real(np.trace(rho)))
            for reported in product((0, 1), repeat=len(bits)):
                p = weight
                for true, seen in zip(bits, reported, strict=True):
                    flip = m.p_meas_1 if true else m.p_meas_0
                    p *= flip if seen != true else 1 - flip
                result[sum(b << i for i, b in enumerate(reported))] += p
        return dict(result)


ROUND_MS = 0.25  # docs/noise-model.md, "Dephasing"


def dephasing_before_gates(
    program: Program, model: NoiseModel
) -> dict[int, list[tuple[int, float]]]:
    """The documented schedule: position of a multi-qubit gate -> (qubit, milliseconds) of
    waiting (rounds since the qubit was last free) and transport (one round) before it."""
    free: dict[int, int] = defaultdict(int)
    gates_in_round: dict[int, int] = defaultdict(int)
    periods: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for position, operation in enumerate(program.operations):
        if not isinstance(operation, Gate) or len(operation.qubits) < 2:
            continue
        start = max(free[q] for q in operation.qubits)
        while model.gate_zones and gates_in_round[start] == model.gate_zones:
            start += 1
        gates_in_round[start] += 1
        for qubit in operation.qubits:
            waited = start - free[qubit] if model.idle_dephasing else 0
            moved = 1 if model.transport_dephasing else 0
            if waited + moved:
                periods[position].append((qubit, (waited + moved) * ROUND_MS))
            free[qubit] = start + 1
    return periods


def dephase(density: DensityModel, qubit: int, milliseconds: float, coherent_as_z: bool) -> None:
    """Coherent RZ(quadratic rate * t) and Z with probability linear rate * t; with
    ``coherent_as_z`` the rotation is a Z with probability factor * sin^2(angle / 2)."""
    m = density.model
    angle = m.quadratic_dephasing_rate * milliseconds
    if m.coherent_dephasing and not coherent_as_z:
        rotation = density.full(np.diag([np.exp(-0.5j * angle), np.exp(0.5j * angle)]), qubit)
        density.each(lambda sector, rho: [(sector, rotation @ rho @ rotation.conj().T)])
    else:
        z = m.coherent_to_incoherent_factor * np.sin(angle / 2) ** 2
        density.channel(z, [({qubit: "Z"}, 1.0)])
    density.channel(m.linear_dephasing_rate * milliseconds, [({qubit: "Z"}, 1.0)])


def exact_distribution(
    program: Program, model: NoiseModel, coherent_as_z: bool = False
) -> dict[int, float]:
    """``coherent_as_z``: the engine cannot hold a rotation (the stabilizer engine)."""
    used = sorted(program.used_qubits())
    density = DensityModel(program.n_qubits, model)
    density.start(used)
    dephasing = dephasing_before_gates(program, model)
    for position, operation in enumerate(program.operations):
        for qubit, milliseconds in dephasing.get(position, []):
            dephase(density, qubit, milliseconds, coherent_as_z)
        if isinstance(operation, Gate):
            density.gate(operation)
        elif isinstance(operation, Measure):
            density.measure(operation.qubit, used)
        elif isinstance(operation, Reset):
            density.reset(operation.qubit, used)
    return density.distribution()


def program_with(n_qubits: int, steps: list[Operation]) -> Program:
    """``steps`` whose measurements write bit i of register ``m`` in order."""
    operations: list[Operation] = []
    n_measures = 0
    for step in steps:
        if isinstance(step, Measure):
            step = Measure(step.qubit, BitRef("m", n_measures))
            n_measures += 1
        operations.append(step)
    operations.append(Record("m", ReadRegister("m"), n_measures))
    return Program(n_qubits, {"m": n_measures}, tuple(operations))


def measure(qubit: int) -> Measure:
    return Measure(qubit, BitRef("m", 0))  # renumbered by program_with


TERMINAL = program_with(3, [
    Gate("U1q", (0,), (0.3, 0.1)), Gate("U1q", (1,), (0.7, 0.4)),
    Gate("RZZ", (0, 1), (0.3,)), Gate("ZZ", (1, 2)), Gate("U1q", (2,), (0.5, 0.2)),
    Gate("RZZ", (0, 2), (-0.6,)), Gate("U1q", (1,), (0.25, 0.0)), Gate("Rz", (0,), (0.5,)),
    measure(0), measure(1), measure(2),
])  # fmt: skip
MID_CIRCUIT = program_with(3, [
    Gate("U1q", (0,), (0.4, 0.0)), Gate("ZZ", (0, 1)), Gate("U1q", (1,), (0.5, 0.5)),
    Gate("U1q", (2,), (0.5, 0.25)), measure(0), Reset(0), Gate("U1q", (0,), (0.6, 0.3)),
    Gate("RZZ", (0, 2), (0.8,)),
    Gate("U1q", (2,), (0.5, 0.0)), measure(0), measure(1), measure(2),
])  # fmt: skip

ALL = NoiseModel(
    p1=0.05, p2=0.1, p_meas_0=0.03, p_meas_1=0.06, p_init=0.04, p_crosstalk_meas=0.1,
    p_crosstalk_init=0.1, p1_emission_ratio=0.4, p2_emission_ratio=0.3, leakage_fraction=0.5,
    przz_a=1.6, przz_b=0.2, przz_c=1.2, przz_d=0.4, przz_power=1.0,
    quadratic_dephasing_rate=1.0, linear_dephasing_rate=0.2, gate_zones=1,
)  # fmt: skip
NONE = NoiseModel()
CHANNELS = {
    "one-qubit depolarizing": replace(NONE, p1=0.3),
    "one-qubit emission and leakage": replace(NONE, p1=0.3, p1_emission_ratio=1.0),
    "two-qubit depolarizing with the RZZ angle fit": replace(
        NONE, p2=0.3, przz_a=1.6, przz_b=0.2, przz_c=1.2, przz_d=0.4
    ),
    "two-qubit emission and leakage": replace(NONE, p2=0.3, p2_emission_ratio=1.0),
    "measurement flips": replace(NONE, p_meas_0=0.1, p_meas_1=0.2),
    "initialisation faults": replace(NONE, p_init=0.2),
    "measurement crosstalk": replace(NONE, p_crosstalk_meas=0.6),
    "initialisation crosstalk": replace(NONE, p_crosstalk_init=0.6),
    "coherent dephasing, idle and transport": replace(
        NONE, quadratic_dephasing_rate=4.0, gate_zones=1
    ),
    "incoherent dephasing": replace(
        NONE,
        quadratic_dephasing_rate=3.0,
        linear_dephasing_rate=0.6,
        coherent_dephasing=False,
        coherent_to_incoherent_factor=2.0,
        gate_zones=1,
    ),
    "all together": ALL,
}
INSENSITIVE = {  # a channel that cannot change this program's outcomes
    ("measurement crosstalk", "terminal"),  # a Z just before a Z-basis measurement
    ("initialisation crosstalk", "terminal"),  # no reset
}


def total_variation_bound(n_outcomes: int, shots: int, confidence: float = 0.999) -> float:
    """TVD that sampling exceeds with probability at most 1 - ``confidence``."""
    return math.sqrt((n_outcomes * math.log(2) + math.log(1 / (1 - confidence))) / (2 * shots))


PROGRAMS = {"terminal": TERMINAL, "mid-circuit": MID_CIRCUIT}


@pytest.mark.parametrize("program_name", PROGRAMS)
@pytest.mark.parametrize("channel", CHANNELS)
def test_sampled_distribution_matches_the_density_matrix(program_name: str, channel: str) -> None:
    program, model = PROGRAMS[program_name], CHANNELS[channel]
    exact = exact_distribution(program, model)
    noiseless = exact_distribution(program, NONE)
    results = ENGINE.run(program, SHOTS, seed=11, noise=model)
    counts = Counter(int(value, 2) for value in results["m"])

    outcomes = 2 ** program.registers["m"]
    tvd = 0.5 * sum(abs(counts[k] / SHOTS - exact.get(k, 0.0)) for k in range(outcomes))
    assert tvd < total_variation_bound(outcomes, SHOTS)
    # The channel must move the distribution well beyond sampling error, or the check is blind.
    effect = 0.5 * sum(abs(exact.get(k, 0) - noiseless.get(k, 0)) for k in range(outcomes))
    if (channel, program_name) not in INSENSITIVE:
        assert effect > 2 * total_variation_bound(outcomes, SHOTS)


def test_noiseless_model_gives_the_exact_engine_shots() -> None:
    assert ENGINE.run(TERMINAL, 500, seed=3, noise=NONE) == ENGINE.run(TERMINAL, 500, seed=3)


def test_the_same_seed_gives_the_same_noisy_shots_whole_or_in_parts() -> None:
    whole = ENGINE.run(MID_CIRCUIT, 300, seed=5, noise=ALL)
    assert ENGINE.run(MID_CIRCUIT, 300, seed=5, noise=ALL) == whole
    assert ENGINE.run(MID_CIRCUIT, 300, seed=6, noise=ALL) != whole


@pytest.mark.parametrize("engine", ["state-vector", "stabilizer"])
def test_dephasing_before_a_gate_does_not_depend_on_a_skipped_conditional_before_it(
    engine: str,
) -> None:
    """q1 in |+>, dephased surely (Z) before CZ: H then reads 1. The conditional X just
    before the CZ never runs; the gate's dephasing must not go with it."""
    never = Conditional(Binary("eq", ReadBit(BitRef("m", 0)), Const(1)), Gate("X", (2,)))
    program = program_with(4, [
        measure(0), Gate("H", (1,)), never, Gate("CZ", (1, 3)), Gate("H", (1,)), measure(1),
    ])  # fmt: skip
    surely = NoiseModel(linear_dephasing_rate=4.0, idle_dephasing=False)  # Z with p = 1
    runner = ENGINE if engine == "state-vector" else StabilizerEngine()
    results = runner.run(program, 200, seed=2, noise=surely)
    assert set(results["m"]) == {"10"}  # bit 1 (q1) is 1, bit 0 (q0) is 0
