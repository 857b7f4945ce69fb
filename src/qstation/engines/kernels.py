"""Compiled state-vector kernels: one *stage* of gates applied in place, in cache-sized tiles.

A stage is what H-Series programs are made of between their entangling layers: at most one dense
one-qubit gate per qubit, then a diagonal phase ``exp(i * (sum_q linear[q] * b_q + sum_pairs
delta * b_a * b_b))`` over the bits ``b`` of the basis index (every diagonal gate on one or two
qubits, Rz, RZZ, ZZMax, CZ, S, T, ..., is of that form up to a global phase, which sampling never
sees). numpy needs one pass over the state per gate; here a stage takes at most two, each working
on tiles that stay in the core's cache:

- the *high* pass applies the one-qubit gates on bits ``>= low_bits``, a column of 16 adjacent
  amplitudes at a time across every combination of the high bits;
- the *low* pass walks contiguous tiles of ``2**low_bits`` amplitudes. In a tile the high bits
  are fixed, so the diagonal is a phase per low bit (folded into that bit's gate), a table over
  the low bits for pairs inside them (built once per call), and a constant.

States are flat complex128 arrays (complex64 in single precision: the gates' entries are
rounded to the state's precision, so the loops run twice as many amplitudes per vector
instruction) with the bit of compact qubit ``i`` at ``n - 1 - i`` (the first qubit most
significant, as in :mod:`.statevector`). Kernels are compiled by numba on first use, once per
precision, and cached on disk, so later processes load them instead of compiling.
"""

from __future__ import annotations

import numba
import numpy as np

COLUMN = 1024
"""Adjacent amplitudes the high pass moves together: long runs vectorise. Measured on 20
qubits, one stage of 20 gates: 15.7 ms with 64, 13.1 ms with 1,024, no better beyond."""
MAX_HIGH_BITS = 10
MIN_LOW_BITS = 10
_CONTIGUOUS_FROM = 8
"""Pairs whose halves are runs of at least this many amplitudes are combined run by run; below
that (the three lowest bits) as strided sequences, so the loops still vectorise."""


def low_bits_for(n_bits: int) -> int:
    """Bits inside one low-pass tile: all of a small state, else enough that the high pass has
    at most :data:`MAX_HIGH_BITS`."""
    if n_bits <= MIN_LOW_BITS + 2:
        return n_bits
    return max(MIN_LOW_BITS, n_bits - MAX_HIGH_BITS)


def apply_stage(
    state: np.ndarray,
    n_bits: int,
    gate_bits: np.ndarray,
    gate_matrices: np.ndarray,
    linear: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    pair_phase: np.ndarray,
) -> None:
    """Apply the one-qubit gates ``gate_matrices`` on ``gate_bits`` (distinct), then the
    diagonal phase with ``linear`` angles per bit and ``pair_phase`` on ``(pair_a, pair_b)``.
    One thread: a second one (on these two-core machines a hyperthread sharing the cache) was
    measured to gain 12% on an ideal B2 and nothing under noise."""
    low_bits = low_bits_for(n_bits)
    if any(bit >= low_bits for bit in gate_bits):
        _high_pass(state, n_bits, low_bits, gate_bits, gate_matrices)
    _low_pass(state, n_bits, low_bits, gate_bits, gate_matrices, linear, pair_a, pair_b, pair_phase)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _combine(
    zeros: np.ndarray, ones: np.ndarray, m00: complex, m01: complex, m10: complex, m11: complex
) -> None:  # pragma: no cover - compiled
    """The gate on pairs (zeros[r], ones[r]); separate views let LLVM vectorise the loop."""
    for r in range(zeros.size):
        a = zeros[r]
        b = ones[r]
        zeros[r] = m00 * a + m01 * b
        ones[r] = m10 * a + m11 * b


@numba.njit(cache=True, nogil=True)
def _high_pass(
    state: np.ndarray,
    n_bits: int,
    low_bits: int,
    gate_bits: np.ndarray,
    gate_matrices: np.ndarray,
) -> None:  # pragma: no cover - compiled
    column = min(COLUMN, 1 << low_bits)
    entries = np.empty(4, dtype=state.dtype)
    tile = 1 << low_bits
    for start in range(0, tile, column):
        for g in range(gate_bits.size):
            bit = gate_bits[g]
            if bit < low_bits:
                continue
            step = 1 << bit
            for e in range(4):
                entries[e] = gate_matrices[g, e // 2, e % 2]
            m00, m01, m10, m11 = entries[0], entries[1], entries[2], entries[3]
            for block in range(0, state.size, 2 * step):
                for row in range(block + start, block + step, tile):
                    _combine(
                        state[row : row + column], state[row + step : row + step + column],
                        m00, m01, m10, m11,
                    )  # fmt: skip


@numba.njit(cache=True, nogil=True, fastmath=True)
def _low_pass(
    state: np.ndarray,
    n_bits: int,
    low_bits: int,
    gate_bits: np.ndarray,
    gate_matrices: np.ndarray,
    linear: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    pair_phase: np.ndarray,
) -> None:  # pragma: no cover - compiled
    tile = 1 << low_bits
    has_low_gate = False
    for g in range(gate_bits.size):
        if gate_bits[g] < low_bits:
            has_low_gate = True
    has_diagonal = pair_a.size > 0
    for bit in range(n_bits):
        if linear[bit] != 0.0:
            has_diagonal = True
    if not has_low_gate and not has_diagonal:
        return
    low_table = _low_pair_table(low_bits, pair_a, pair_b, pair_phase)
    entries = np.empty(4, dtype=state.dtype)  # a gate's entries in the state's precision
    angle = np.empty(low_bits)
    gated = np.zeros(low_bits, dtype=np.bool_)
    for g in range(gate_bits.size):
        if gate_bits[g] < low_bits:
            gated[gate_bits[g]] = True
    for t in range(1 << (n_bits - low_bits)):
        base = t << low_bits
        constant = 0.0
        for bit in range(low_bits):
            angle[bit] = linear[bit]
        for bit in range(low_bits, n_bits):
            if (base >> bit) & 1:
                constant += linear[bit]
        for p in range(pair_a.size):
            a, b, delta = pair_a[p], pair_b[p], pair_phase[p]
            if a < low_bits and b < low_bits:
                continue  # in low_table
            if a >= low_bits and b >= low_bits:
                constant += delta * ((base >> a) & (base >> b) & 1)
            elif a >= low_bits:
                angle[b] += delta * ((base >> a) & 1)
            else:
                angle[a] += delta * ((base >> b) & 1)
        for g in range(gate_bits.size):
            bit = gate_bits[g]
            if bit >= low_bits:
                continue
            phase = np.exp(1j * angle[bit])
            entries[0], entries[1] = gate_matrices[g, 0, 0], gate_matrices[g, 0, 1]
            entries[2], entries[3] = phase * gate_matrices[g, 1, 0], phase * gate_matrices[g, 1, 1]
            m00, m01, m10, m11 = entries[0], entries[1], entries[2], entries[3]
            step = 1 << bit
            if step >= _CONTIGUOUS_FROM:
                for block in range(base, base + tile, 2 * step):
                    _combine(
                        state[block : block + step], state[block + step : block + 2 * step],
                        m00, m01, m10, m11,
                    )  # fmt: skip
            else:
                for r in range(step):
                    _combine(
                        state[base + r : base + tile : 2 * step],
                        state[base + r + step : base + tile : 2 * step],
                        m00, m01, m10, m11,
                    )  # fmt: skip
        for bit in range(low_bits):
            if gated[bit] or angle[bit] == 0.0:
                continue
            phase = np.exp(1j * angle[bit])
            below = (1 << bit) - 1
            for pair in range(tile >> 1):
                one = base | ((pair & ~below) << 1) | (pair & below) | (1 << bit)
                state[one] *= phase
        if low_table.size > 0:
            factor = np.exp(1j * constant)
            for r in range(tile):
                state[base + r] *= factor * low_table[r]
        elif constant != 0.0:
            factor = np.exp(1j * constant)
            for r in range(tile):
                state[base + r] *= factor


@numba.njit(cache=True, nogil=True)
def _low_pair_table(
    low_bits: int, pair_a: np.ndarray, pair_b: np.ndarray, pair_phase: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """The phases of the pairs inside the low bits, over a tile (empty when there are none)."""
    inside = 0
    for p in range(pair_a.size):
        if pair_a[p] < low_bits and pair_b[p] < low_bits:
            inside += 1
    if inside == 0:
        return np.empty(0, dtype=np.complex128)
    phase = np.zeros(1 << low_bits)
    for p in range(pair_a.size):
        a, b = pair_a[p], pair_b[p]
        if a < low_bits and b < low_bits:
            for r in range(1 << low_bits):
                if (r >> a) & 1 and (r >> b) & 1:
                    phase[r] += pair_phase[p]
    table: np.ndarray = np.exp(1j * phase)
    return table


@numba.njit(cache=True, nogil=True)
def sample_sorted(state: np.ndarray, targets: np.ndarray) -> np.ndarray:  # pragma: no cover
    """For ascending ``targets``, the first index whose cumulative probability exceeds each
    (the last index when rounding leaves a target above the total)."""
    found = np.full(targets.size, state.size - 1, dtype=np.int64)
    next_target = 0
    cumulative = 0.0
    for index in range(state.size):
        if next_target == targets.size:
            break
        amplitude = state[index]
        cumulative += amplitude.real * amplitude.real + amplitude.imag * amplitude.imag
        while next_target < targets.size and targets[next_target] < cumulative:
            found[next_target] = index
            next_target += 1
    return found


def warm_up() -> None:
    """Compile (or load from the disk cache) every kernel signature the engine uses, in both
    precisions, so that processes forked afterwards, a worker's job executions, start with
    them ready."""
    n_bits = MIN_LOW_BITS + 4
    for dtype in (np.complex128, np.complex64):
        state = np.zeros(1 << n_bits, dtype=dtype)
        state[0] = 1.0
        bits = np.array([0, MIN_LOW_BITS // 2, n_bits - 1], dtype=np.int64)
        matrices = np.array([[[0, 1], [1, 0]]] * bits.size, dtype=np.complex128)
        apply_stage(
            state, n_bits, bits, matrices, np.full(n_bits, 0.5),
            np.array([0, 1], dtype=np.int64), np.array([1, n_bits - 2], dtype=np.int64),
            np.array([0.25, 0.5]),
        )  # fmt: skip
        sample_sorted(state, np.array([0.5]))
