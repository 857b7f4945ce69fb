"""Compiled state-vector kernels: one *stage* of gates applied in place, in cache-sized tiles.

A stage is what H-Series programs are made of between their entangling layers: a diagonal phase
``exp(i * (sum_q linear[q] * b_q + sum_pairs delta * b_a * b_b))`` over the bits ``b`` of the
basis index (every diagonal gate on one or two qubits, Rz, RZZ, ZZMax, CZ, S, T, ..., is of that
form up to a global phase, which sampling never sees), then at most one real rotation
``[[c, -s], [s, c]]`` per qubit. Every one-qubit gate is a phase, a real rotation and a phase
(:func:`~qstation.engines.fusion.as_rotation`), and the phases join the diagonals on either
side, so a stage's gates are real: a real rotation costs a third of a complex 2x2 matrix on
complex128 amplitudes (three quarters on complex64), and the rotations run on the amplitudes'
real view, a pure real multiply-add. numpy needs one pass over the state per gate; here a stage
takes at most two, each working on tiles that stay in the core's cache:

- the *low* pass walks contiguous tiles of ``2**low_bits`` amplitudes: the diagonal, then the
  rotations on the low bits. In a tile the high bits are fixed, so the diagonal is a phase per
  low bit, a table over the low bits for pairs inside them (built once per call), and a
  constant. Rotations on the lower half of the low bits run on a transposed copy of the tile,
  where their pairs are long contiguous runs too;
- the *high* pass then applies the rotations on bits ``>= low_bits``, two per trip through the
  state, a column of :data:`COLUMN` adjacent amplitudes at a time.

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
_TRANSPOSE_FROM = 6
"""Tiles of at least ``2**this`` amplitudes run their gates on the lower half of their bits
transposed (those bits made the high ones of a scratch copy), so that every gate combines long
contiguous runs: on strided pairs a gate on one of the three lowest bits cost 3 to 6 times one
on a higher bit (measured on 20 qubits)."""
_CONTIGUOUS_FROM = 8
"""Pairs whose halves are runs of at least this many amplitudes are combined run by run; below
that (the lowest bits of tiles too small to transpose) as strided sequences."""


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
    rotations: np.ndarray,
    linear: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    pair_phase: np.ndarray,
) -> None:
    """Apply the diagonal phase with ``linear`` angles per bit and ``pair_phase`` on
    ``(pair_a, pair_b)``, then the real rotations ``rotations`` (rows of cos, sin) on
    ``gate_bits`` (distinct). One thread: a second one (on these two-core machines a
    hyperthread sharing the cache) was measured to gain 12% on an ideal B2 and nothing under
    noise; an execution's second core runs other shots (:mod:`.parallel`)."""
    low_bits = low_bits_for(n_bits)
    real = state.view(state.real.dtype)
    scratch = np.empty(1 << low_bits, dtype=state.dtype)
    _low_pass(
        state, real, scratch, scratch.view(real.dtype), n_bits, low_bits, gate_bits, rotations,
        linear, pair_a, pair_b, pair_phase,
    )  # fmt: skip
    if any(bit >= low_bits for bit in gate_bits):
        _high_pass(real, low_bits, gate_bits, rotations)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _rotate(
    zeros: np.ndarray, ones: np.ndarray, c: float, s: float
) -> None:  # pragma: no cover - compiled
    """The real rotation [[c, -s], [s, c]] on pairs of real numbers (the real and imaginary
    parts of amplitude pairs alike); separate views let LLVM vectorise the loop."""
    for r in range(zeros.size):
        a = zeros[r]
        b = ones[r]
        zeros[r] = c * a - s * b
        ones[r] = s * a + c * b


@numba.njit(cache=True, nogil=True, fastmath=True)
def _rotate_two(
    v00: np.ndarray, v01: np.ndarray, v10: np.ndarray, v11: np.ndarray, p: np.ndarray, q: np.ndarray
) -> None:  # pragma: no cover - compiled
    """Two rotations on quadruples: ``p`` (cos, sin) on the first bit of ``vFS`` (pairs
    ``v0S``, ``v1S``), then ``q`` on the second: one trip through memory for both."""
    pc, ps, qc, qs = p[0], p[1], q[0], q[1]
    for r in range(v00.size):
        a, b, c, d = v00[r], v01[r], v10[r], v11[r]
        a, c = pc * a - ps * c, ps * a + pc * c
        b, d = pc * b - ps * d, ps * b + pc * d
        v00[r], v01[r] = qc * a - qs * b, qs * a + qc * b
        v10[r], v11[r] = qc * c - qs * d, qs * c + qc * d


@numba.njit(cache=True, nogil=True, fastmath=True)
def _scale(target: np.ndarray, factors: np.ndarray) -> None:  # pragma: no cover - compiled
    for r in range(target.size):
        target[r] *= factors[r]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _scale_twice(
    target: np.ndarray, factors: np.ndarray, more: np.ndarray
) -> None:  # pragma: no cover - compiled
    for r in range(target.size):
        target[r] *= factors[r] * more[r]


@numba.njit(cache=True, nogil=True)
def _transpose(
    source: np.ndarray, target: np.ndarray, rows: int, width: int
) -> None:  # pragma: no cover - compiled
    """``target[j * rows + k] = source[k * width + j]``: a row-major ``rows x width`` block
    turned column-major, so the low bits of an index become its high bits."""
    for k in range(rows):
        for j in range(width):
            target[j * rows + k] = source[k * width + j]


@numba.njit(cache=True, nogil=True, fastmath=True)
def _times(
    source: np.ndarray, factor: complex, target: np.ndarray
) -> None:  # pragma: no cover - compiled
    for r in range(source.size):
        target[r] = source[r] * factor


@numba.njit(cache=True, nogil=True)
def _high_pass(
    real: np.ndarray, low_bits: int, gate_bits: np.ndarray, rotations: np.ndarray
) -> None:  # pragma: no cover - compiled
    """The rotations on high bits two at a time, so the state streams through the cache once
    per two gates (at 20 qubits it does not fit in a core's cache), on the state's real view
    (a bit's pairs lie twice as far apart in it). Measured against groups of 3 to 10 gates a
    trip (single gates on 2**k rows of a shorter column, or three fused gates): two fused
    gates were faster at 16 and 20 qubits."""
    column = 2 * min(COLUMN, 1 << low_bits)
    high = np.array([g for g in range(gate_bits.size) if gate_bits[g] >= low_bits], dtype=np.int64)
    p = np.empty(2, dtype=real.dtype)  # cos and sin in the state's precision
    q = np.empty(2, dtype=real.dtype)
    for i in range(0, high.size - 1, 2):
        first, second = high[i], high[i + 1]
        if gate_bits[first] < gate_bits[second]:
            first, second = second, first
        p[0], p[1] = rotations[first, 0], rotations[first, 1]
        q[0], q[1] = rotations[second, 0], rotations[second, 1]
        step_p, step_q = 2 << gate_bits[first], 2 << gate_bits[second]
        for block_p in range(0, real.size, 2 * step_p):
            for block_q in range(block_p, block_p + step_p, 2 * step_q):
                for row in range(block_q, block_q + step_q, column):
                    _rotate_two(
                        real[row : row + column],
                        real[row + step_q : row + step_q + column],
                        real[row + step_p : row + step_p + column],
                        real[row + step_p + step_q : row + step_p + step_q + column],
                        p, q,
                    )  # fmt: skip
    if high.size % 2 == 1:
        last = high[high.size - 1]
        p[0], p[1] = rotations[last, 0], rotations[last, 1]
        step = 2 << gate_bits[last]
        for block in range(0, real.size, 2 * step):
            for row in range(block, block + step, column):
                zeros, ones = real[row : row + column], real[row + step : row + step + column]
                _rotate(zeros, ones, p[0], p[1])


@numba.njit(cache=True, nogil=True)
def _low_pass(
    state: np.ndarray,
    real: np.ndarray,
    scratch: np.ndarray,
    scratch_real: np.ndarray,
    n_bits: int,
    low_bits: int,
    gate_bits: np.ndarray,
    rotations: np.ndarray,
    linear: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    pair_phase: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Over each tile, the diagonal, then the rotations on low bits (``real`` and
    ``scratch_real`` are ``state``'s and a tile-sized ``scratch``'s real views)."""
    tile = 1 << low_bits
    gated = np.zeros(low_bits, dtype=np.bool_)
    for g in range(gate_bits.size):
        if gate_bits[g] < low_bits:
            gated[gate_bits[g]] = True
    if not gated.any() and pair_a.size == 0 and not (linear != 0.0).any():
        return
    low_table = np.empty(0 if pair_a.size == 0 else tile, dtype=state.dtype)
    if not _low_pair_table(low_bits, pair_a, pair_b, pair_phase, low_table):
        low_table = low_table[:0]
    split = low_bits // 2 if low_bits >= _TRANSPOSE_FROM else 0
    width, rows = 1 << split, tile >> split
    transposing = gated[:split].any()
    phases = np.empty(tile, dtype=state.dtype)
    angle = np.empty(low_bits)
    for t in range(1 << (n_bits - low_bits)):
        base = t << low_bits
        here = state[base : base + tile]
        constant = _tile_angles(base, n_bits, low_bits, linear, pair_a, pair_b, pair_phase, angle)
        _phases_on(here, angle, np.exp(1j * constant), low_table, phases)
        if transposing:
            _transpose(here, scratch, rows, width)
            _rotations_on(scratch_real, rows, 0, split, gate_bits, rotations)
            _transpose(scratch, here, width, rows)
        _rotations_on(real[2 * base : 2 * (base + tile)], 1, split, low_bits, gate_bits, rotations)


@numba.njit(cache=True, nogil=True)
def _tile_angles(
    base: int,
    n_bits: int,
    low_bits: int,
    linear: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    pair_phase: np.ndarray,
    angle: np.ndarray,
) -> float:  # pragma: no cover - compiled
    """The diagonal in the tile starting at ``base``, whose high bits are fixed: each low bit's
    phase angle (into ``angle``), and the constant angle it returns. Pairs inside the low bits
    are left to the pair table."""
    constant = 0.0
    for bit in range(low_bits):
        angle[bit] = linear[bit]
    for bit in range(low_bits, n_bits):
        if (base >> bit) & 1:
            constant += linear[bit]
    for p in range(pair_a.size):
        a, b, delta = pair_a[p], pair_b[p], pair_phase[p]
        if a < low_bits and b < low_bits:
            continue
        if a >= low_bits and b >= low_bits:
            constant += delta * ((base >> a) & (base >> b) & 1)
        elif a >= low_bits:
            angle[b] += delta * ((base >> a) & 1)
        else:
            angle[a] += delta * ((base >> b) & 1)
    return constant


@numba.njit(cache=True, nogil=True)
def _rotations_on(
    tile: np.ndarray,
    stride: int,
    first_bit: int,
    stop_bit: int,
    gate_bits: np.ndarray,
    rotations: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """The rotations on bits ``first_bit`` to ``stop_bit - 1`` of a tile's real view, whose
    pairs of amplitudes lie ``stride << bit`` apart (twice that in real numbers)."""
    entries = np.empty(2, dtype=tile.dtype)  # cos and sin in the state's precision
    size = tile.size
    for g in range(gate_bits.size):
        bit = gate_bits[g]
        if bit < first_bit or bit >= stop_bit:
            continue
        entries[0], entries[1] = rotations[g, 0], rotations[g, 1]
        c, s = entries[0], entries[1]
        step = 2 * (stride << bit)
        if step >= 2 * _CONTIGUOUS_FROM:
            for block in range(0, size, 2 * step):
                _rotate(tile[block : block + step], tile[block + step : block + 2 * step], c, s)
        else:  # only in tiles too small to transpose: each part of an amplitude in turn
            for r in range(step):
                _rotate(tile[r : size : 2 * step], tile[r + step : size : 2 * step], c, s)


@numba.njit(cache=True, nogil=True)
def _phases_on(
    tile: np.ndarray,
    angle: np.ndarray,
    factor: complex,
    low_table: np.ndarray,
    phases: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """The diagonal over a tile: the low bits' phases and the tile's constant ``factor``,
    built by doubling into ``phases``, and the pair table."""
    if factor != 1.0 or (angle != 0.0).any():
        _phase_table(angle, factor, phases)
        if low_table.size > 0:
            _scale_twice(tile, phases, low_table)
        else:
            _scale(tile, phases)
    elif low_table.size > 0:
        _scale(tile, low_table)


@numba.njit(cache=True, nogil=True)
def _phase_table(angle: np.ndarray, factor: complex, table: np.ndarray) -> None:  # pragma: no cover
    """``factor`` times each bit's ``e^{i angle}`` where the bit is set, over a tile, built by
    doubling: one multiply per entry."""
    table[0] = factor
    for bit in range(angle.size):
        half = 1 << bit
        if angle[bit] == 0.0:
            table[half : 2 * half] = table[:half]
        else:
            _times(table[:half], np.exp(1j * angle[bit]), table[half : 2 * half])


@numba.njit(cache=True, nogil=True)
def _low_pair_table(
    low_bits: int, pair_a: np.ndarray, pair_b: np.ndarray, pair_phase: np.ndarray, table: np.ndarray
) -> bool:  # pragma: no cover - compiled
    """Fill ``table`` with the phases of the pairs inside the low bits over a tile (built once
    per call); False when no pair is inside."""
    inside = False
    phase = np.zeros(1 << low_bits)
    for p in range(pair_a.size):
        a, b = pair_a[p], pair_b[p]
        if a < low_bits and b < low_bits:
            inside = True
            for r in range(1 << low_bits):
                if (r >> a) & 1 and (r >> b) & 1:
                    phase[r] += pair_phase[p]
    if inside:
        table[:] = np.exp(1j * phase)
    return inside


def one_qubit(state: np.ndarray, bit: int, matrix: np.ndarray) -> None:
    """A one-qubit gate's complex 2x2 ``matrix`` on ``bit`` of a flat state, in place, in one
    trip: for a gate applied alone, where a stage would take two (its phase and rotation, then
    the phase after it), and for a Pauli fault."""
    _one_qubit(state, bit, matrix.astype(state.dtype).reshape(-1))


@numba.njit(cache=True, nogil=True)
def _one_qubit(state: np.ndarray, bit: int, entries: np.ndarray) -> None:  # pragma: no cover
    m00, m01, m10, m11 = entries[0], entries[1], entries[2], entries[3]
    step = 1 << bit
    for block in range(0, state.size, 2 * step):
        for r in range(block, block + step):
            zero, one = state[r], state[r + step]
            state[r] = m00 * zero + m01 * one
            state[r + step] = m10 * zero + m11 * one


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
        rotations = np.array([[0.0, 1.0]] * bits.size)
        apply_stage(
            state, n_bits, bits, rotations, np.full(n_bits, 0.5),
            np.array([0, 1], dtype=np.int64), np.array([1, n_bits - 2], dtype=np.int64),
            np.array([0.25, 0.5]),
        )  # fmt: skip
        sample_sorted(state, np.array([0.5]))
        one_qubit(state, 2, np.array([[0.6, 0.8j], [0.8j, 0.6]]))
