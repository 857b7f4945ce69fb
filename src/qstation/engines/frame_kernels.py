"""numba kernels of a frame plan's classical pass (:mod:`qstation.engines.frame_pass`).

``sampled`` and ``flipped`` hold one measurement per row (bool, measurements x shots), so every
loop over shots runs over contiguous memory; ``words`` hold one register per row.

Readout flips and corrections' faults are rare, so neither draws a uniform per shot. Each
measurement and each fault site has a stream of its own per block of shots, started from the
block's seed, that gives the next shot (or readout candidate) in the block by a geometric gap.
A shot's draws therefore depend only on its block and its place in it, whichever part of a
block a pass settles and in whatever order the pass's stretches run. A readout candidate is
drawn at the larger of the two flip probabilities and kept with the ratio of the measured
value's own to it: the rule of :meth:`~qstation.noise.faults.NoisePlan.reported` (flip where a
uniform falls below the flip probability of the measured value), drawn only where it can flip.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from qstation.engines.randomness import GOLDEN_GAMMA, mix64

GROUP, CORRECTION = 0, 1
"""The kinds of a kernel op, a row (kind, index): a run of measurements, or a correction."""
_READOUT_DOMAIN = np.uint64(0x6E01_5304_0000_0000)
_SITE_DOMAIN = np.uint64(0x6E01_5305_0000_0000)
"""Stream families, in the high 32 bits: a measurement's or a site's number (below 2**32) is
added in the low ones, so no readout stream is a fault site's."""


class PassTables(NamedTuple):
    """A program's pass as flat arrays (``*_bounds[i]:*_bounds[i + 1]`` is item ``i``'s)."""

    measure: np.ndarray
    """Each measurement's (register, bit)."""
    survives: np.ndarray
    """Whether each measurement's bit is still its own at the end of its group (the
    measurements between two corrections or classical operations)."""
    runs: np.ndarray
    """(register, first bit, first measurement, length): measurements writing adjacent bits."""
    run_bounds: np.ndarray
    """Each run of measurements' runs."""
    conditions: np.ndarray
    """Each correction's (register, shift, mask, value, negated), uint64."""
    flip_bounds: np.ndarray
    flip_columns: np.ndarray
    """The measurements each correction flips."""
    site_bounds: np.ndarray
    """Each correction's fault sites."""
    site_probability: np.ndarray
    weight_bounds: np.ndarray
    weights: np.ndarray
    """Each site's cumulative outcome weights."""
    outcome_first: np.ndarray
    """Each site's first outcome."""
    outcome_bounds: np.ndarray
    outcome_columns: np.ndarray
    """The measurements each outcome flips."""
    p_meas_0: float
    p_meas_1: float
    block: int
    """Shots a block of sampling holds."""


@numba.njit(cache=True, nogil=True)
def run_ops(
    ops: np.ndarray,
    sampled: np.ndarray,
    flipped: np.ndarray,
    words: np.ndarray,
    seeds: np.ndarray,
    first_local: int,
    taken_given: np.ndarray,
    tables: PassTables,
) -> None:
    """Run kernel ``ops`` over every shot: ``seeds`` of the blocks the shots lie in, the first
    at place ``first_local`` of its block; ``taken_given``, if not empty, where the one
    correction runs. ``flipped`` is empty when the program has no corrections."""
    for op in range(ops.shape[0]):
        if ops[op, 0] == GROUP:
            _measure_run(ops[op, 1], sampled, flipped, words, seeds, first_local, tables)
        else:
            _correct(ops[op, 1], flipped, words, seeds, first_local, taken_given, tables)


@numba.njit(cache=True, nogil=True)
def _measure_run(
    group: int,
    sampled: np.ndarray,
    flipped: np.ndarray,
    words: np.ndarray,
    seeds: np.ndarray,
    first_local: int,
    tables: PassTables,
) -> None:
    """Write a run of measurements' bits, then flip the few that readout flips."""
    n_shots = sampled.shape[1]
    has_flips = flipped.shape[0] > 0
    one = np.uint64(1)
    runs = tables.runs
    for run in range(tables.run_bounds[group], tables.run_bounds[group + 1]):
        register, bit, first, length = runs[run, 0], runs[run, 1], runs[run, 2], runs[run, 3]
        cleared = np.uint64(0)
        if length < 64:
            cleared = ~(((one << np.uint64(length)) - one) << np.uint64(bit))
        word = words[register]
        for row in range(n_shots):
            word[row] &= cleared
        for j in range(length):
            shift = np.uint64(bit + j)
            column = sampled[first + j]
            if has_flips:
                flips = flipped[first + j]
                for row in range(n_shots):
                    word[row] |= np.uint64(column[row] ^ flips[row]) << shift
            else:
                for row in range(n_shots):
                    word[row] |= np.uint64(column[row]) << shift
    p_max = max(tables.p_meas_0, tables.p_meas_1)
    if p_max <= 0.0:
        return
    last = tables.run_bounds[group + 1] - 1
    for m in range(runs[tables.run_bounds[group], 2], runs[last, 2] + runs[last, 3]):
        stream = _READOUT_DOMAIN + np.uint64(m)
        start = 0
        while start < n_shots:
            state, local, count = _block_of(seeds, stream, first_local, start, n_shots, tables)
            state, place = _next_event(state, -1, p_max)
            while place < local + count:
                state, uniform = _uniform(state)
                row = start + place - local
                if place >= local and tables.survives[m]:
                    measured = sampled[m, row]
                    if has_flips:
                        measured ^= flipped[m, row]
                    if uniform * p_max < (tables.p_meas_1 if measured else tables.p_meas_0):
                        words[tables.measure[m, 0], row] ^= one << np.uint64(tables.measure[m, 1])
                state, place = _next_event(state, place, p_max)
            start += count


@numba.njit(cache=True, nogil=True)
def _correct(
    index: int,
    flipped: np.ndarray,
    words: np.ndarray,
    seeds: np.ndarray,
    first_local: int,
    taken_given: np.ndarray,
    tables: PassTables,
) -> None:
    """Apply a correction where its condition holds: its flips, and its sites' faults."""
    n_shots = flipped.shape[1]
    condition = tables.conditions[index]
    taken = taken_given
    if taken_given.shape[0] == 0:
        word = words[np.int64(condition[0])]
        taken = np.empty(n_shots, dtype=np.bool_)
        for row in range(n_shots):
            holds = ((word[row] >> condition[1]) & condition[2]) == condition[3]
            taken[row] = holds != (condition[4] != 0)
    for k in range(tables.flip_bounds[index], tables.flip_bounds[index + 1]):
        flips = flipped[tables.flip_columns[k]]
        for row in range(n_shots):
            flips[row] ^= taken[row]
    for site in range(tables.site_bounds[index], tables.site_bounds[index + 1]):
        stream = _SITE_DOMAIN + np.uint64(site)
        probability = tables.site_probability[site]
        start = 0
        while start < n_shots:
            state, local, count = _block_of(seeds, stream, first_local, start, n_shots, tables)
            state, place = _next_event(state, -1, probability)
            while place < local + count:
                state, uniform = _uniform(state)
                row = start + place - local
                if place >= local and taken[row]:
                    _fault(site, uniform, flipped, row, tables)
                state, place = _next_event(state, place, probability)
            start += count


@numba.njit(cache=True, nogil=True)
def _fault(site: int, uniform: float, flipped: np.ndarray, row: int, tables: PassTables) -> None:
    """The outcome of ``site`` that ``uniform`` picks (the first cumulative weight above it),
    flipped into shot ``row``."""
    outcome = tables.weight_bounds[site]
    while outcome < tables.weight_bounds[site + 1] - 1 and tables.weights[outcome] <= uniform:
        outcome += 1
    chosen = tables.outcome_first[site] + outcome - tables.weight_bounds[site]
    for k in range(tables.outcome_bounds[chosen], tables.outcome_bounds[chosen + 1]):
        flipped[tables.outcome_columns[k], row] ^= True


@numba.njit(cache=True, nogil=True)
def _uniform(state: np.uint64) -> tuple[np.uint64, float]:
    """The next state of a SplitMix64 stream and its uniform in (0, 1]."""
    state += GOLDEN_GAMMA
    return state, float((mix64(state) >> np.uint64(11)) + np.uint64(1)) * 2.0**-53


@numba.njit(cache=True, nogil=True)
def _next_event(state: np.uint64, place: int, probability: float) -> tuple[np.uint64, int]:
    """The place of the next event after ``place`` (-1: the first) when each place has it
    with chance ``probability``: a geometric gap."""
    if probability >= 1.0:
        return state, place + 1
    if probability <= 0.0:
        return state, 1 << 62  # never
    state, uniform = _uniform(state)
    gap = np.floor(np.log(uniform) / np.log1p(-probability))
    return state, place + 1 + int(min(gap, 4.0e18))


@numba.njit(cache=True, nogil=True)
def _block_of(
    seeds: np.ndarray,
    stream: np.uint64,
    first_local: int,
    row: int,
    n_shots: int,
    tables: PassTables,
) -> tuple[np.uint64, int, int]:
    """For the block that ``row`` lies in: the start of its stream ``stream``, ``row``'s place
    in it, and how many of the rows from ``row`` on it holds. Every block walks its streams
    from their start, so a row's events do not depend on which rows a pass settles with it."""
    local = (first_local + row) % tables.block
    state = seeds[(first_local + row) // tables.block] ^ mix64(stream)
    return state, local, min(n_shots - row, tables.block - local)
