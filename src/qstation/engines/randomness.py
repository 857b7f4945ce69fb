"""Per-shot random streams derived from the job seed.

Shot ``k`` of a job always draws from the same stream, whatever chunk or worker runs it, so a
job's results depend only on its program and seed (the Selene habit). Streams come from a
SplitMix64 hash of ``(seed, k)``: counter-based, vectorisable, and cheap to create per shot.
"""

from __future__ import annotations

import numba
import numpy as np

GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
"""SplitMix64's increment: 2^64 over the golden ratio."""
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_MASK64 = (1 << 64) - 1
_STREAM_DOMAIN = np.uint64(0x5EED_0F_0000_0001)
_DRAW_DOMAIN = np.uint64(0x5EED_0F_0000_0002)
_BITS_DOMAIN = np.uint64(0x5EED_0F_0000_0003)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    z = values + GOLDEN_GAMMA
    z ^= z >> np.uint64(30)
    z *= _MIX_1
    z ^= z >> np.uint64(27)
    z *= _MIX_2
    z ^= z >> np.uint64(31)
    return z


@numba.njit(cache=True, nogil=True)
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64's finaliser of one word, for compiled code: a bijection whose every output
    bit depends on every input bit."""
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return z ^ (z >> np.uint64(31))


def shot_keys(seed: int, first_shot: int, n_shots: int) -> np.ndarray:
    """One 64-bit key per shot, a pure function of ``seed`` and the shot's index in the job."""
    seed_key = mix64(np.uint64(((seed & _MASK64) + int(GOLDEN_GAMMA)) & _MASK64))
    return _keys(np.uint64(seed_key), np.uint64(first_shot), n_shots)  # numba returns an int


@numba.njit(cache=True, nogil=True)
def _keys(seed_key: np.uint64, first_shot: np.uint64, n_shots: int) -> np.ndarray:
    """SplitMix64 of each shot's index mixed with the seed's key, in one pass (numpy's
    expression took six, a tenth of a compiled stabilizer run)."""
    keys = np.empty(n_shots, dtype=np.uint64)
    for k in range(n_shots):
        keys[k] = mix64(((first_shot + np.uint64(k)) ^ seed_key) + GOLDEN_GAMMA)
    return keys


def program_stream_seeds(keys: np.ndarray) -> np.ndarray:
    """Each shot's seed for the program's own random numbers, apart from measurement draws."""
    return _splitmix64(keys ^ _STREAM_DOMAIN)


def program_random_words(seeds: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Number ``position`` of the stream started from ``seed``: counter-based, so a stream can
    be moved to any position and every shot draws independently of the others."""
    return _splitmix64(seeds ^ _splitmix64(positions))


def shot_uniforms(keys: np.ndarray) -> np.ndarray:
    """The first uniform draw in [0, 1) of each shot's stream (53-bit resolution)."""
    return (_splitmix64(keys) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def shot_draws(keys: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """Draw number ``counters`` (broadcast against ``keys``) of each shot's stream of uniforms
    in [0, 1) for its measurement and reset outcomes: counter-based like the program's own
    streams, so a shot's draws depend only on its key and how many it made before, and any
    number of shots draw at once without a generator each."""
    seeds = _splitmix64(keys ^ _DRAW_DOMAIN)
    words = program_random_words(seeds, counters.astype(np.uint64))
    return (words >> np.uint64(11)).astype(np.float64) * 2.0**-53


def shot_bits(keys: np.ndarray) -> np.ndarray:
    """64 random bits per shot, from a stream of their own (the choices of
    :mod:`~qstation.engines.gauge`)."""
    return _splitmix64(keys ^ _BITS_DOMAIN)
