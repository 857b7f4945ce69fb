"""Noiseless Clifford records drawn from their affine space (:mod:`qstation.engines.gauge`)
against stim's own sampler, and through the stabilizer engine."""

from __future__ import annotations

from collections import Counter
from itertools import product

import numpy as np
import pytest
import stim

from qstation.circuit.program import BitRef, Gate, Measure, Program, ReadRegister, Record
from qstation.engines.frames import FramePlan
from qstation.engines.gauge import MAX_GENERATORS, gauge_sampler
from qstation.engines.randomness import shot_keys
from qstation.noise.model import NOISELESS
from tests.unit.test_frames import frames_of
from tests.unit.test_noisy_emulation import total_variation_bound
from tests.unit.test_stabilizer import STABILIZER, STATE_VECTOR, feedback_program

SHOTS = 20_000
ONE_QUBIT = ("H", "S", "S_DAG", "SQRT_X", "X", "Z")


def random_clifford_lines(n_qubits: int, depth: int, seed: int) -> list[str]:
    """Random one- and two-qubit Cliffords, with measurements and resets among them."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(depth):
        kind = rng.random()
        if kind < 0.45:
            lines.append(f"{ONE_QUBIT[rng.integers(len(ONE_QUBIT))]} {rng.integers(n_qubits)}")
        elif kind < 0.8:
            a, b = rng.choice(n_qubits, 2, replace=False)
            lines.append(f"{'CX' if rng.random() < 0.5 else 'CZ'} {a} {b}")
        elif kind < 0.93:
            lines.append(f"M {rng.integers(n_qubits)}")
        else:
            lines.append(f"R {rng.integers(n_qubits)}")
    return lines + [f"M {q}" for q in range(n_qubits)]


def span(reference: np.ndarray, patterns: np.ndarray) -> set[str]:
    records = set()
    for choice in product((0, 1), repeat=len(patterns)):
        record = reference.copy()
        for chosen, pattern in zip(choice, patterns, strict=True):
            record ^= bool(chosen) & pattern
        records.add("".join("1" if bit else "0" for bit in record))
    return records


def as_text(records: np.ndarray) -> Counter[str]:
    return Counter("".join("1" if bit else "0" for bit in row) for row in records)


@pytest.mark.parametrize("seed", range(6))
def test_records_are_stims_uniformly_over_the_same_affine_space(seed: int) -> None:
    lines = random_clifford_lines(5, 40, seed)
    circuit = stim.Circuit("\n".join(lines))
    reference = circuit.reference_sample()
    sampler = gauge_sampler(lines, 5, reference)
    assert sampler is not None and 0 < len(sampler.generators) <= MAX_GENERATORS

    ours = as_text(sampler.sample(shot_keys(seed, 0, SHOTS)))
    stims = as_text(circuit.compile_sampler(seed=seed).sample(SHOTS))

    space = span(sampler.reference, sampler.generators)
    assert set(stims) <= space and set(ours) <= space  # stim never leaves the space
    if len(space) <= 64:  # small enough that every record shows up, in both
        assert set(ours) == set(stims) == space
        for counts in (ours, stims):  # uniform: every record about SHOTS / |space| times
            assert max(counts.values()) - min(counts.values()) < 12 * (SHOTS / len(space)) ** 0.5


def test_a_ghz_circuit_of_any_width_has_one_pattern_and_splits_its_shots_evenly() -> None:
    lines = ["H 0", *(f"CX {q} {q + 1}" for q in range(55)), *(f"M {q}" for q in range(56))]
    reference = stim.Circuit("\n".join(lines)).reference_sample()
    sampler = gauge_sampler(lines, 56, reference)
    assert sampler is not None and len(sampler.generators) == 1

    counts = as_text(sampler.sample(shot_keys(3, 0, SHOTS)))

    assert set(counts) == {"0" * 56, "1" * 56}
    assert abs(counts["0" * 56] - SHOTS / 2) < 4 * (SHOTS / 4) ** 0.5


def test_more_independent_outcomes_than_the_limit_leave_it_to_stims_sampler() -> None:
    n_qubits = MAX_GENERATORS + 1
    lines = [*(f"H {q}" for q in range(n_qubits)), *(f"M {q}" for q in range(n_qubits))]
    reference = stim.Circuit("\n".join(lines)).reference_sample()
    assert gauge_sampler(lines, n_qubits, reference) is None


def test_a_shot_depends_only_on_its_key_so_chunks_may_start_anywhere() -> None:
    ghz = Program(6, {"c": 6}, (
        Gate("H", (0,)), *(Gate("CX", (q, q + 1)) for q in range(5)),
        *(Measure(q, BitRef("c", q)) for q in range(6)), Record("c", ReadRegister("c"), 6),
    ))  # fmt: skip
    plan = frames_of(ghz, NOISELESS)
    assert isinstance(plan, FramePlan) and plan.gauge is not None
    whole = STABILIZER.run(ghz, 3000, seed=4)
    part = STABILIZER.run(ghz, 1000, seed=4, first_shot=777)
    assert part["c"] == whole["c"][777:1777]
    assert set(whole["c"]) == {"000000", "111111"}


def test_feedback_programs_sampled_this_way_match_the_state_vector_engine() -> None:
    program = feedback_program()  # mid-circuit measurements, corrections and resets
    plan = frames_of(program, NOISELESS)
    assert isinstance(plan, FramePlan) and plan.gauge is not None
    ours = Counter(zip(*STABILIZER.run(program, SHOTS, seed=5).values(), strict=True))
    reference = Counter(zip(*STATE_VECTOR.run(program, SHOTS, seed=6).values(), strict=True))
    outcomes = set(ours) | set(reference)
    tvd = 0.5 * sum(abs(ours[k] - reference[k]) / SHOTS for k in outcomes)
    assert tvd < 2 * total_variation_bound(64, SHOTS)
