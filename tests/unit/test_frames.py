"""Clifford programs with Pauli corrections as stim frames (:mod:`qstation.engines.frames`),
against the state-vector engine, whose branching groups draw each shot as the noise model says.

Both engines sample, so two distributions are compared: each lies within the 99.9% bound of
the exact one, so the two lie within twice that bound of each other.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from qstation.circuit.program import (
    Assign,
    Binary,
    BitRef,
    Conditional,
    Const,
    Gate,
    Measure,
    Program,
    ReadBit,
    ReadRegister,
    Record,
)
from qstation.engines import frames
from qstation.engines.frame_pass import SAMPLE_BLOCK
from qstation.engines.frames import compile_frames
from qstation.engines.stabilizer import clifford_tableaus
from qstation.engines.wasm import WasmModule
from qstation.noise.dephasing import with_dephasing_points
from qstation.noise.faults import plan_noise
from qstation.noise.model import NoiseModel
from tests.unit.test_noisy_emulation import ALL, total_variation_bound
from tests.unit.test_stabilizer import SHOTS, STABILIZER, STATE_VECTOR, feedback_program
from tests.unit.test_wasm import WAT, accumulating_program, encoded

PAULI_NOISE = replace(ALL, coherent_dephasing=False, leakage_fraction=0.0, p_crosstalk_init=0.0)
"""Every channel of the model that is a Pauli: emission without leakage, no reset crosstalk,
dephasing as Z (the stabilizer engine cannot hold its rotation)."""
NOISES = {
    "noiseless": NoiseModel(),
    "readout flips only": NoiseModel(p_meas_0=0.1, p_meas_1=0.25),
    "every Pauli channel": PAULI_NOISE,
}


def frames_of(program: Program, noise: NoiseModel) -> object:
    program = with_dephasing_points(program, noise, holds_rotations=False)
    plan = None if noise.is_noiseless else plan_noise(program, noise, holds_rotations=False)
    return compile_frames(program, clifford_tableaus(program), plan)


def joint(results: dict[str, list[str]]) -> Counter[str]:
    return Counter(r + m for r, m in zip(results["r"], results["m"], strict=True))


def test_pauli_corrections_and_pauli_noise_are_frames_and_nothing_else_is() -> None:
    assert frames_of(feedback_program(), PAULI_NOISE) is not None
    assert frames_of(feedback_program(Gate("U1q", (1,), (1.0, 0.5))), PAULI_NOISE) is not None
    assert frames_of(feedback_program(), ALL) is None  # leakage
    assert frames_of(feedback_program(), replace(PAULI_NOISE, p_crosstalk_init=0.1)) is None
    assert frames_of(feedback_program(Gate("H", (1,))), NoiseModel()) is None


@pytest.mark.parametrize("flips", [1, 2])
def test_emission_adds_to_depolarizing_faults_of_the_same_pauli(flips: int) -> None:
    """p1 = 0.6, half of it emission (X or Y), the other half depolarizing (X, Y, Z): an X or
    a Y follows a gate with probability 0.6 * (0.5 * 2/3 + 0.5) = 0.5; on two qubits, the 15
    Paulis that flip either or both of them are 12 (depolarizing), and emission always does."""
    if flips == 1:
        gates, noise = [Gate("X", (0,))], NoiseModel(p1=0.6, p1_emission_ratio=0.5)
        expected = 0.6 * (0.5 * 2 / 3 + 0.5)
    else:
        gates, noise = [Gate("ZZ", (0, 1))], NoiseModel(p2=0.6, p2_emission_ratio=0.5)
        expected = 0.6 * (0.5 * 12 / 15 + 0.5)
    noise = replace(noise, leakage_fraction=0.0)
    program = Program(2, {"m": 2}, (
        *gates, Measure(0, BitRef("m", 0)), Measure(1, BitRef("m", 1)),
        Record("m", ReadRegister("m"), 2),
    ))  # fmt: skip
    assert frames_of(program, noise) is not None
    results = STABILIZER.run(program, SHOTS, seed=2, noise=noise)["m"]
    start = "01" if flips == 1 else "00"  # the X sets q0 (bit 0, written last)
    changed = sum(value != start for value in results) / SHOTS
    assert abs(changed - expected) < 0.015


def test_corrections_undo_every_flip_they_are_meant_to() -> None:
    results = STABILIZER.run(feedback_program(), 5000, seed=3)
    assert set(results["m"]) == {"000"}
    assert len(set(results["r"])) == 8


@pytest.mark.parametrize("noise", NOISES.values(), ids=NOISES)
def test_frames_sample_the_distribution_of_the_state_vector_engine(noise: NoiseModel) -> None:
    program = feedback_program()
    sampled = joint(STABILIZER.run(program, SHOTS, seed=5, noise=noise))
    reference = joint(STATE_VECTOR.run(program, SHOTS, seed=6, noise=noise))
    outcomes = set(sampled) | set(reference)
    tvd = 0.5 * sum(abs(sampled[k] - reference[k]) / SHOTS for k in outcomes)
    assert tvd < 2 * total_variation_bound(64, SHOTS)
    if noise != NoiseModel():  # the noise must show, or the comparison is blind to it
        noiseless = joint(STATE_VECTOR.run(program, SHOTS, seed=6))
        effect = 0.5 * sum(abs(noiseless[k] - reference[k]) / SHOTS for k in outcomes)
        assert effect > 4 * total_variation_bound(64, SHOTS)


def test_a_corrections_own_faults_happen_only_in_the_shots_it_runs_in() -> None:
    """q0 in |+> is measured; where it reads 1, X corrects q1 to |1>, and that X's own fault
    (X or Y: 2/3 of p1) takes it back to |0>. Where the X does not run, q1 stays |0>."""
    taken = Conditional(Binary("eq", ReadBit(BitRef("r", 0)), Const(1)), Gate("X", (1,)))
    program = Program(2, {"r": 1, "m": 1}, (
        Gate("H", (0,)), Measure(0, BitRef("r", 0)), taken, Measure(1, BitRef("m", 0)),
        Record("r", ReadRegister("r"), 1), Record("m", ReadRegister("m"), 1),
    ))  # fmt: skip
    noise = NoiseModel(p1=0.3)
    assert frames_of(program, noise) is not None
    counts = joint(STABILIZER.run(program, SHOTS, seed=8, noise=noise))
    assert counts["01"] == 0  # never corrected, never faulty
    corrected = counts["10"] + counts["11"]
    assert abs(counts["10"] / corrected - 0.2) < 0.02


def test_shots_depend_only_on_the_seed_and_their_index_in_chunks_on_blocks() -> None:
    program = feedback_program()
    whole = STABILIZER.run(program, 2 * SAMPLE_BLOCK + 300, seed=9, noise=PAULI_NOISE)
    pieces = [
        STABILIZER.run(program, count, seed=9, noise=PAULI_NOISE, first_shot=first)
        for first, count in ((0, SAMPLE_BLOCK), (SAMPLE_BLOCK, SAMPLE_BLOCK + 300))
    ]
    for label in ("r", "m"):
        assert pieces[0][label] + pieces[1][label] == whole[label]
    shorter = STABILIZER.run(program, SAMPLE_BLOCK + 10, seed=9, noise=PAULI_NOISE)
    assert shorter["m"] == whole["m"][: SAMPLE_BLOCK + 10]  # the last block's size: no matter
    other = STABILIZER.run(program, 500, seed=10, noise=PAULI_NOISE)
    assert other["r"] != whole["r"][:500]


def test_wasm_calls_run_in_each_shots_own_instance() -> None:
    module = WasmModule(encoded(WAT.read_text()))
    program = accumulating_program()
    for call in program.wasm_calls():
        module.check(call)
    assert frames_of(program, NoiseModel()) is not None
    shots = SAMPLE_BLOCK + 40  # two sample blocks, many WASM replay blocks
    results = STABILIZER.run(program, shots, seed=5, wasm=module)
    a = [int(value, 2) for value in results["a"]]
    assert 0 < sum(a) < shots
    assert [int(value, 2) for value in results["s"]] == [2 * bit for bit in a]
    assert [int(v, 2) for v in results["u"]] == [2 * bit + n for n, bit in enumerate(a, start=1)]


def test_too_many_corrections_by_measurements_run_on_tableaus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(frames, "_MAX_FRAMES", 3 * 3 * 2 - 1)  # 3 X corrections, 9 measurements
    assert frames_of(feedback_program(), NoiseModel()) is None
    assert set(STABILIZER.run(feedback_program(), 500, seed=3)["m"]) == {"000"}


def test_a_program_without_measurements_records_its_classical_values() -> None:
    program = Program(1, {"c": 2}, (
        Gate("H", (0,)), Assign("c", Const(2)), Record("c", ReadRegister("c"), 2),
    ))  # fmt: skip
    assert STABILIZER.run(program, 10, seed=1, noise=PAULI_NOISE) == {"c": ["10"] * 10}


@pytest.mark.parametrize(("p1", "written"), [(0.3, "DEPOLARIZE1"), (0.9, "PAULI_CHANNEL_1")])
def test_depolarizing_is_written_as_stims_own_channel_where_stim_takes_it(
    p1: float, written: str
) -> None:
    """stim samples DEPOLARIZE1 faster than the same PAULI_CHANNEL_1, but takes at most 3/4;
    either way an X, Y or Z follows the gate with probability p1, and X and Y flip it."""
    program = Program(1, {"m": 1}, (
        Gate("X", (0,)), Measure(0, BitRef("m", 0)), Record("m", ReadRegister("m"), 1),
    ))  # fmt: skip
    noise = NoiseModel(p1=p1)
    plan = frames_of(program, noise)
    assert isinstance(plan, frames.FramePlan)
    assert written in str(plan.circuit)
    results = STABILIZER.run(program, SHOTS, seed=2, noise=noise)["m"]
    assert abs(results.count("0") / SHOTS - p1 * 2 / 3) < 0.015
