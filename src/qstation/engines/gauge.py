"""Noiseless Clifford measurement records as an affine space, sampled without simulating.

Without noise, every measurement record of a Clifford circuit is its reference sample XOR one
element, drawn uniformly, of a fixed linear space. stim's own sampler makes that draw by putting
a random Z on every qubit at the start and after each measurement and reset (the state there is
a Z eigenstate, so each choice leaves it as it was), and carrying those Zs through the circuit
as Pauli frames: the measurements they flip span the space. :func:`gauge_sampler` finds once,
with stim's ``FlipSimulator`` and one frame per such point, which measurements each Z flips.
When only a few distinct flip patterns come out (a GHZ state's circuit has one, however wide and
deep), a shot is the reference XOR a random choice of them: a cost per shot of a few vector
operations, independent of the circuit's depth, where stim's sampler carries every shot
through every gate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import stim

from qstation.engines.randomness import shot_bits

MAX_FLIP_CELLS = 1 << 22
"""Measurements, or stretches between them, times injection points above which finding the
flips (a byte each, a circuit parsed per stretch) would cost more than the sampler could save:
stim's sampler then. A circuit with so many measurements has more independent outcomes than
:data:`MAX_GENERATORS` anyway, unless most are repeats."""
MAX_GENERATORS = 16
"""Distinct flip patterns above which stim's sampler is left to do it (every eight patterns
cost a table of 256 records and one lookup per shot); at most 64, the bits :func:`shot_bits`
gives a shot."""


@dataclass(frozen=True)
class GaugeSampler:
    reference: np.ndarray
    """The noiseless reference record (bool, one per measurement)."""
    generators: np.ndarray
    """The flip patterns (bool, patterns x measurements): their span is the space."""
    tables: tuple[np.ndarray, ...] = ()
    """For each eight patterns, the record every choice of them XORs in (the first table with
    the reference in it): a shot's record is one row of each, XORed."""

    def __post_init__(self) -> None:
        tables = []
        for first in range(0, max(len(self.generators), 1), 8):
            group = self.generators[first : first + 8]
            table = np.zeros((1 << len(group), self.reference.size), dtype=bool)
            for bit, pattern in enumerate(group):
                table[1 << bit : 2 << bit] = table[: 1 << bit] ^ pattern
            tables.append(table)
        tables[0] ^= self.reference
        object.__setattr__(self, "tables", tuple(tables))

    def sample(self, keys: np.ndarray) -> np.ndarray:
        """The records of the shots with these ``keys`` (bool, shots x measurements): each
        pattern is XORed in where its bit of the shot's :func:`shot_bits` is set, which draws
        the space's elements uniformly, shot by shot."""
        chosen = shot_bits(keys)
        records = self.tables[0][(chosen & np.uint64(len(self.tables[0]) - 1)).astype(np.intp)]
        for index, table in enumerate(self.tables[1:], 1):
            rows = (chosen >> np.uint64(8 * index)) & np.uint64(len(table) - 1)
            records ^= table[rows.astype(np.intp)]
        return records


def gauge_sampler(lines: list[str], n_qubits: int, reference: np.ndarray) -> GaugeSampler | None:
    """The sampler of the noiseless circuit ``lines`` (stim instructions, one per line, whose
    measurements and resets are ``M q`` and ``R q``) with its ``reference`` sample, or None
    when it has more than :data:`MAX_GENERATORS` distinct flip patterns."""
    segments: list[tuple[list[str], list[int]]] = [([], [])]  # instructions, then Zs after them
    for line in lines:
        collapses = line.startswith(("M ", "R "))
        if not collapses and segments[-1][1]:
            segments.append(([], []))
        segments[-1][0].append(line)
        if collapses:
            segments[-1][1].append(int(line.split()[1]))
    n_frames = n_qubits + sum(len(qubits) for _, qubits in segments)
    if max(reference.size, len(segments)) * n_frames > MAX_FLIP_CELLS:
        return None
    if n_frames == 0:
        return GaugeSampler(reference.astype(bool), np.zeros((0, reference.size), dtype=bool))
    simulator = stim.FlipSimulator(
        batch_size=n_frames, num_qubits=n_qubits, disable_stabilizer_randomization=True
    )
    for qubit in range(n_qubits):  # frame q: a Z on qubit q at the start
        simulator.set_pauli_flip("Z", qubit_index=qubit, instance_index=qubit)
    frame = n_qubits
    for instructions, qubits in segments:
        simulator.do(stim.Circuit("\n".join(instructions)))
        for qubit in qubits:  # a frame of its own for the Z after each measurement and reset
            simulator.set_pauli_flip("Z", qubit_index=qubit, instance_index=frame)
            frame += 1
    flips = simulator.get_measurement_flips()  # measurements x frames
    patterns = flips[:, flips.any(axis=0)].T
    if len(patterns) > MAX_GENERATORS:  # a pattern twice spans no more than once
        patterns = np.unique(patterns, axis=0)
        if len(patterns) > MAX_GENERATORS:
            return None
    return GaugeSampler(reference.astype(bool), patterns.astype(bool))
