"""Clifford programs as stim circuits, sampled by Pauli frames at stim's speed.

A Clifford program whose measurement-dependent operations are Pauli gates (corrections such
as B3's conditional X) runs as one stim circuit without them, and stim's compiled sampler draws
every measurement as it would come out with no correction applied, gate and preparation noise
included. A Pauli that runs in some shots only changes nothing but which later measurements
flip, and which ones it flips is fixed by the circuit (its propagation, found once for every
correction with stim's ``FlipSimulator``). A classical pass in program order, compiled
(:mod:`qstation.engines.frame_pass`), then settles each measurement (the sampled bit, flipped by
the corrections its shot took so far), applies its readout flip (which depends on the measured
value, so a stim circuit cannot hold it) and runs the classical operations, conditions
included, as the program would. The faults of a correction happen only where it runs, so the
pass draws them too.

Noise that is not a Pauli channel (leakage, reset crosstalk) and feedback that is not a Pauli
cannot be frames: :func:`compile_frames` returns None and the engine runs tableaus instead.

Randomness comes in blocks of :data:`SAMPLE_BLOCK` shots seeded by the key of the block's first
shot (stim's sampler and the pass's own streams), so a shot's outcome depends only on the job
seed and its index, whatever the chunks and processes, as long as they start on a block. A
noiseless circuit with few distinct flip patterns is sampled per shot instead, without stim's
sampler (:mod:`qstation.engines.gauge`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import stim

from qstation.circuit.program import (
    Conditional,
    Gate,
    Measure,
    Program,
    Record,
    Reset,
    unconditioned,
)
from qstation.engines.classical import ClassicalState, Words
from qstation.engines.frame_pass import (
    SAMPLE_BLOCK,
    ConditionedFaults,
    Correction,
    FramePass,
)
from qstation.engines.gauge import GaugeSampler, gauge_sampler
from qstation.engines.shots import WASM_REPLAY_BLOCK
from qstation.engines.wasm import WasmModule
from qstation.noise.faults import Channel, NoisePlan, Site

_MAX_FRAMES = 1 << 26
"""Measurements times corrections' Pauli frames above which finding what each correction flips
would take more memory (one byte each) than running tableaus: a program with thousands of both."""
_PASS_BYTES = 1 << 23
"""Sampled records one classical pass settles at most (whole blocks, at least one): fewer,
larger passes spend less on each call."""
_PAULI_ORDER = ("I", "X", "Y", "Z")
_SEED_MASK = np.uint64(2**63 - 1)


@dataclass(frozen=True)
class FramePlan:
    circuit: stim.Circuit
    """The program's quantum part and its noise, without the corrections."""
    reference: np.ndarray
    """stim's noiseless reference sample of ``circuit``, computed once for every block."""
    settling: FramePass
    """The classical pass: corrections, readout flips and classical operations."""
    n_measurements: int
    gauge: GaugeSampler | None
    """For a noiseless circuit with few distinct flip patterns, the faster sampler."""

    def sample(self, keys: np.ndarray) -> np.ndarray:
        """The measurements of the shots with these ``keys`` (bool, shots x measurements), as
        they come out without corrections. stim's sampler runs a block at a time, seeded by
        the block's first key, so ``keys`` start on a block; the gauge sampler draws per shot.
        """
        if self.gauge is not None:
            return self.gauge.sample(keys)
        blocks = [
            self.circuit.compile_sampler(
                seed=_block_seed(keys[first]), reference_sample=self.reference
            ).sample(SAMPLE_BLOCK)[: keys.size - first]
            for first in range(0, keys.size, SAMPLE_BLOCK)
        ]
        if len(blocks) == 1:
            return blocks[0]  # type: ignore[no-any-return]  # stim's arrays are untyped
        return np.concatenate(blocks or [np.zeros((0, self.n_measurements), dtype=bool)])

    def parts(
        self, program: Program, wasm: WasmModule | None, keys: np.ndarray, first_shot: int
    ) -> Iterator[tuple[np.ndarray, dict[str, tuple[Words, Record]]]]:
        """Every shot's outputs, a pass of whole blocks at a time (a block at a time, and
        :data:`WASM_REPLAY_BLOCK` shots at a time in it, with WASM)."""
        record = SAMPLE_BLOCK * max(1, self.n_measurements)
        blocks = 1 if wasm is not None else max(1, _PASS_BYTES // record)
        for first in range(0, keys.size, blocks * SAMPLE_BLOCK):
            stop = min(first + blocks * SAMPLE_BLOCK, keys.size)
            sampled = self.sample(keys[first:stop])
            seeds = keys[first:stop:SAMPLE_BLOCK] & _SEED_MASK
            size = stop - first if wasm is None else WASM_REPLAY_BLOCK
            for start in range(0, stop - first, size):
                part = slice(start, min(start + size, stop - first))
                shots = np.arange(first + part.start, first + part.stop)
                classical = None
                if self.settling.needs_classical:
                    in_job = shots + first_shot
                    classical = ClassicalState(program, keys[shots], in_job, wasm)
                block_seeds = seeds[start // SAMPLE_BLOCK :]
                local = start % SAMPLE_BLOCK
                yield shots, self.settling.settle(sampled[part], block_seeds, local, classical)


def compile_frames(
    program: Program, tableaus: dict[int, stim.Tableau], plan: NoisePlan | None
) -> FramePlan | None:
    """The frame plan of a Clifford ``program`` (its gates' ``tableaus`` by position) under
    its noise ``plan`` (None: noiseless), or None when the program or the noise is not made of
    Paulis. ``program`` and ``plan`` come from
    :func:`~qstation.noise.dephasing.with_dephasing_points` and
    :func:`~qstation.noise.faults.plan_noise` without held rotations (dephasing as Z faults)."""
    sites: dict[int, list[Site]] = defaultdict(list)
    for site in plan.sites if plan else []:
        if not site.channel.is_pauli:
            return None  # leakage or reset crosstalk: not a Pauli channel
        sites[site.position].append(site)

    segments: list[list[str]] = [[]]  # noiseless circuit text, cut at each correction
    noisy: list[str] = [line for site in sites.get(-1, []) for line in _noise_lines(site)]
    conditioned: dict[int, tuple[stim.PauliString, Gate]] = {}
    templates: dict[tuple[str, tuple[float, ...]], list[str]] = {}  # with {0}, {1} for qubits
    for position, operation in enumerate(program.operations):
        inner = unconditioned(operation)
        if isinstance(operation, Conditional) and isinstance(inner, Gate | Measure | Reset):
            pauli = _as_pauli(tableaus[position]) if isinstance(inner, Gate) else None
            if pauli is None or not isinstance(inner, Gate):
                return None  # feedback that is not a Pauli: tableaus
            conditioned[position] = (pauli, inner)
            segments.append([])
            continue
        if isinstance(inner, Gate):
            key = (inner.name, inner.params)
            if key not in templates:
                templates[key] = [
                    " ".join(
                        [instruction.name, *(f"{{{t.value}}}" for t in instruction.targets_copy())]
                    )
                    for instruction in tableaus[position].to_circuit(method="elimination")
                ]
            lines = [template.format(*inner.qubits) for template in templates[key]]
        elif isinstance(inner, Measure | Reset):
            lines = [f"{'M' if isinstance(inner, Measure) else 'R'} {inner.qubit}"]
        else:
            continue
        segments[-1].extend(lines)
        noisy.extend(lines)
        if position in sites:
            noisy.extend(line for site in sites[position] for line in _noise_lines(site))

    circuit = stim.Circuit("\n".join(noisy))
    n_measurements = circuit.num_measurements
    if n_measurements * 2 * sum(len(g.qubits) for _, g in conditioned.values()) > _MAX_FRAMES:
        return None
    propagation = _Propagation(program.n_qubits, segments, conditioned, n_measurements)
    corrections = {
        position: Correction(
            propagation.of_gate(position),
            tuple(propagation.of_site(position, site) for site in sites[position]),
        )
        for position in conditioned
    }
    reference = circuit.reference_sample()
    return FramePlan(
        circuit=circuit,
        reference=reference,
        settling=FramePass(
            program, corrections, plan.p_meas_0 if plan else 0.0, plan.p_meas_1 if plan else 0.0
        ),
        n_measurements=n_measurements,
        gauge=gauge_sampler(noisy, program.n_qubits, reference) if plan is None else None,
    )


def _as_pauli(tableau: stim.Tableau) -> stim.PauliString | None:
    try:
        return tableau.to_pauli_string()
    except ValueError:
        return None


class _Propagation:
    """Which measurements an X or a Z on a correction's qubit, at the correction, flips: one
    frame per (correction, qubit, X or Z), all carried through the noiseless circuit in one
    pass of stim's flip simulator without stabilizer randomisation."""

    def __init__(
        self,
        n_qubits: int,
        segments: list[list[str]],
        conditioned: dict[int, tuple[stim.PauliString, Gate]],
        n_measurements: int,
    ) -> None:
        self.conditioned = conditioned
        self.columns: dict[tuple[int, int, str], int] = {}
        for position, (_, gate) in conditioned.items():
            for qubit in gate.qubits:
                for kind in "XZ":
                    self.columns[position, qubit, kind] = len(self.columns)
        self.flips = np.zeros((n_measurements, len(self.columns)), dtype=bool)
        if not self.columns:
            return
        simulator = stim.FlipSimulator(
            batch_size=len(self.columns), num_qubits=n_qubits, disable_stabilizer_randomization=True
        )
        for segment, position in zip(segments, [*conditioned, -1], strict=True):
            simulator.do(stim.Circuit("\n".join(segment)))
            if position == -1:  # the circuit after the last correction
                continue
            for kind in "XZ":
                mask = np.zeros((n_qubits, len(self.columns)), dtype=bool)
                for qubit in conditioned[position][1].qubits:
                    mask[qubit, self.columns[position, qubit, kind]] = True
                simulator.broadcast_pauli_errors(pauli=kind, mask=mask)
        self.flips = simulator.get_measurement_flips()

    def of_gate(self, position: int) -> np.ndarray:
        """The flips of the correction at ``position`` (its gate's own Pauli)."""
        pauli, gate = self.conditioned[position]
        return self.of(position, {gate.qubits[i]: _PAULI_ORDER[p] for i, p in enumerate(pauli)})

    def of(self, position: int, pauli: dict[int, str]) -> np.ndarray:
        """The flips of ``pauli`` (by qubit, on the correction's qubits) at ``position``."""
        result = np.zeros(self.flips.shape[0], dtype=bool)
        for qubit, kind in pauli.items():
            for part in {"I": "", "X": "X", "Y": "XZ", "Z": "Z"}[kind]:
                result ^= self.flips[:, self.columns[position, qubit, part]]
        return np.flatnonzero(result)

    def of_site(self, position: int, site: Site) -> ConditionedFaults:
        outcomes = [self.of(position, {f.qubit: f.kind for f in fault}) for fault in site.outcomes]
        return ConditionedFaults(site.probability, site.weights, tuple(outcomes))


def _noise_lines(site: Site) -> list[str]:
    return [_stim_noise(site.channel, site.probability).format(*site.qubits)]


@lru_cache(maxsize=1024)
def _stim_noise(channel: Channel, probability: float) -> str:
    """A Pauli channel on one or two qubits (every fault site's) as stim noise, the site's
    qubits left as ``{0}`` and ``{1}``: with ``probability`` one of its outcomes."""
    shares = probability * np.diff(channel.weights, prepend=0.0)
    shares /= max(1.0, float(shares.sum()))  # stim refuses a total a rounding above 1
    qubits = sorted({local for outcome in channel.outcomes for _, local in outcome})
    by_pauli: dict[tuple[str, ...], float] = defaultdict(float)  # emission adds to depolarizing
    for outcome, chance in zip(channel.outcomes, shares, strict=True):
        kinds = dict((local, kind) for kind, local in outcome)
        by_pauli[tuple(kinds.get(local, "I") for local in qubits)] += float(chance)
    order = [paulis for paulis in _product(len(qubits)) if set(paulis) != {"I"}]
    targets = " ".join(f"{{{q}}}" for q in qubits)
    chances = [by_pauli[paulis] for paulis in order]
    uniform = max(chances) - min(chances) <= 1e-12 * max(chances)
    if uniform and sum(chances) <= 1 - 4.0 ** -len(qubits):  # stim samples these faster
        return f"DEPOLARIZE{len(qubits)}({sum(chances)!r}) {targets}"
    if len(qubits) == 1 and chances.count(0.0) == 2:
        return f"{'XYZ'[chances.index(max(chances))]}_ERROR({max(chances)!r}) {targets}"
    return f"PAULI_CHANNEL_{len(qubits)}({', '.join(map(repr, chances))}) {targets}"


def _product(n: int) -> list[tuple[str, ...]]:
    """Pauli strings on ``n`` qubits in stim's PAULI_CHANNEL argument order."""
    strings: list[tuple[str, ...]] = [()]
    for _ in range(n):
        strings = [(*s, p) for s in strings for p in _PAULI_ORDER]
    return strings


def _block_seed(key: np.uint64) -> int:
    return int(key & _SEED_MASK)
