"""Shots split over processes (:mod:`qstation.engines.parallel`) give exactly the shots of one
process: 3 seeds by 6 programs, on both engines, exact and noisy, with and without feedback,
the stabilizer engine on tableaus and on stim frames."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import pytest

from qstation.circuit.program import Program
from qstation.engines import stabilizer, statevector
from qstation.engines.parallel import run_in_parts, split_shots
from qstation.engines.stabilizer import StabilizerEngine
from qstation.engines.statevector import StateVectorEngine
from qstation.errors import CompileError, ExecutionError
from qstation.frontends.qasm import compile_qasm
from qstation.noise.model import NoiseModel

HEADER = 'OPENQASM 2.0;\ninclude "hqslib1.inc";\n'
NOISY = NoiseModel(
    p1=0.02, p2=0.05, p_meas_0=0.02, p_meas_1=0.04, p_init=0.01, p_crosstalk_meas=0.05,
    p_crosstalk_init=0.05, p1_emission_ratio=0.3, p2_emission_ratio=0.3, leakage_fraction=0.5,
    quadratic_dephasing_rate=0.5, linear_dephasing_rate=0.1, gate_zones=1,
)  # fmt: skip
PAULI_NOISY = replace(NOISY, leakage_fraction=0.0, p_crosstalk_init=0.0)
"""Pauli channels only: the stabilizer engine samples stim frames (the leaky model: tableaus)."""
EXACT = NoiseModel()
TERMINAL = (
    HEADER
    + """qreg q[5];
creg c[5];
U1q(0.3*pi,0.1*pi) q[0]; U1q(0.7*pi,0.4*pi) q[1]; U1q(0.5*pi,0.2*pi) q[2];
RZZ(0.3*pi) q[0],q[1]; ZZ q[1],q[2]; RZZ(-0.6*pi) q[2],q[3]; U1q(0.25*pi,0.0*pi) q[3];
RZZ(0.45*pi) q[3],q[4]; U1q(0.5*pi,0.5*pi) q[4]; Rz(0.5*pi) q[0];
measure q -> c;
"""
)
FEEDBACK = (
    HEADER
    + """qreg q[4];
creg m[1];
creg c[4];
U1q(0.4*pi,0.0*pi) q[0]; ZZ q[0],q[1]; U1q(0.5*pi,0.5*pi) q[1];
measure q[0] -> m[0];
if (m == 1) U1q(0.6*pi,0.3*pi) q[2];
reset q[0];
RZZ(0.8*pi) q[0],q[2]; U1q(0.5*pi,0.0*pi) q[3]; ZZ q[2],q[3];
measure q -> c;
"""
)
CLIFFORD = (
    HEADER
    + """qreg q[6];
creg c[6];
U1q(0.5*pi,0.5*pi) q[0]; ZZ q[0],q[1]; ZZ q[1],q[2]; U1q(0.5*pi,0.0*pi) q[3];
ZZ q[3],q[4]; ZZ q[4],q[5]; Rz(0.5*pi) q[2];
measure q -> c;
"""
)
CLIFFORD_FEEDBACK = (
    HEADER
    + """qreg q[4];
creg m[1];
creg c[4];
U1q(0.5*pi,0.5*pi) q[0]; ZZ q[0],q[1];
measure q[0] -> m[0];
if (m == 1) U1q(1.0*pi,0.0*pi) q[2];
ZZ q[2],q[3]; reset q[0]; U1q(0.5*pi,0.5*pi) q[0];
measure q -> c;
"""
)
CASES = {
    "noisy terminal, state vector": (TERMINAL, NOISY, "state-vector"),
    "noisy feedback, state vector": (FEEDBACK, NOISY, "state-vector"),
    "exact feedback, state vector": (FEEDBACK, EXACT, "state-vector"),
    "noisy terminal, stabilizer": (CLIFFORD, NOISY, "stabilizer"),
    "noisy feedback, stabilizer": (CLIFFORD_FEEDBACK, NOISY, "stabilizer"),
}
SEEDS = [1, 77, 2**62 + 7]


def engine(name: str, processes: int) -> StateVectorEngine | StabilizerEngine:
    if name == "stabilizer":
        return StabilizerEngine(processes)
    return StateVectorEngine(2**30, processes, split_from_work=0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", CASES)
def test_shots_split_over_processes_are_the_shots_of_one_process(case: str, seed: int) -> None:
    text, noise, engine_name = CASES[case]
    program: Program = compile_qasm(text)
    one = engine(engine_name, 1).run(program, 1_500, seed, None, noise, first_shot=1_024)
    for processes in (2, 3):
        split = engine(engine_name, processes).run(program, 1_500, seed, None, noise, 1_024)
        assert split == one, f"{processes} processes"
    assert len(set(one["c"])) > 1  # the shots differ, so a misplaced run would show


def test_runs_are_near_equal_and_keep_seeded_blocks_whole() -> None:
    assert split_shots(range(0, 10), 3) == [range(0, 4), range(4, 8), range(8, 10)]
    assert split_shots(range(1024, 3524), 2, 1024) == [range(1024, 3072), range(3072, 3524)]
    assert split_shots(range(0, 500), 4, 1024) == [range(0, 500)]


def test_runs_by_work_carry_near_equal_work_and_cover_every_shot() -> None:
    """A fault tree's work lies in its faulty shots: three heavy shots among light ones."""
    weights = [1.0] * 12
    weights[1] = weights[2] = weights[9] = 40.0
    assert split_shots(range(100, 112), 2, weights=weights) == [range(100, 103), range(103, 112)]
    assert split_shots(range(0, 12), 3, weights=weights) == [
        range(0, 2), range(2, 8), range(8, 12)
    ]  # fmt: skip
    assert split_shots(range(0, 2), 3, weights=[1.0, 5.0]) == [range(0, 1), range(1, 2)]
    assert split_shots(range(0, 5), 3, weights=[100, 1, 1, 1, 1]) == [
        range(0, 1), range(1, 2), range(2, 5)
    ]  # fmt: skip
    assert split_shots(range(0, 4), 2, weights=[0.0] * 4) == [range(0, 2), range(2, 4)]


@pytest.mark.parametrize(
    ("case", "split_from_work", "expected"),
    [
        ("noisy terminal, state vector", None, 1),  # a few milliseconds of work: no fork
        ("noisy terminal, state vector", 0, 2),
        ("noisy feedback, state vector", 0, 2),
        ("noisy terminal, stabilizer", None, 2),  # leaks: tableaus
        ("Pauli-noise feedback, stabilizer frames", None, 1),  # stim's speed: no fork
    ],
)
def test_runs_split_only_where_a_second_process_gains(
    case: str, split_from_work: float | None, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = {**CASES, "Pauli-noise feedback, stabilizer frames": (
        CLIFFORD_FEEDBACK, PAULI_NOISY, "stabilizer"
    )}  # fmt: skip
    text, noise, engine_name = cases[case]
    asked: list[int] = []
    module = stabilizer if engine_name == "stabilizer" else statevector

    def recording(run: Any, shots: range, processes: int, *args: Any, **kwargs: Any) -> Any:
        asked.append(processes)
        return run_in_parts(run, shots, processes, *args, **kwargs)

    monkeypatch.setattr(module, "run_in_parts", recording)
    chosen: StateVectorEngine | StabilizerEngine = StabilizerEngine(2)
    if engine_name == "state-vector":
        chosen = StateVectorEngine(2**30, 2, **(
            {} if split_from_work is None else {"split_from_work": split_from_work}
        ))  # fmt: skip
    chosen.run(compile_qasm(text), 4_096, 5, None, noise, 0)
    assert asked == [expected]


def _pid_of_each_shot(shots: range) -> dict[str, list[str]]:
    return {"pid": [str(os.getpid())] * len(shots)}


def test_the_other_runs_go_to_forked_processes() -> None:
    pids = run_in_parts(_pid_of_each_shot, range(0, 30), 3)["pid"]
    assert len(pids) == 30
    assert len(set(pids)) == 3 and pids[0] == str(os.getpid())


def _fail_after_shot_10(shots: range) -> dict[str, list[str]]:
    if shots.start >= 10:
        raise CompileError("the second run fails")
    return {"c": ["0"] * len(shots)}


def _die_after_shot_10(shots: range) -> dict[str, list[str]]:
    if shots.start >= 10:
        os._exit(3)
    return {"c": ["0"] * len(shots)}


def test_a_failure_or_a_death_in_a_forked_run_fails_the_execution_naming_it() -> None:
    with pytest.raises(CompileError, match="the second run fails"):
        run_in_parts(_fail_after_shot_10, range(0, 20), 2)
    with pytest.raises(ExecutionError, match="shots 10 to 19 ended without a result"):
        run_in_parts(_die_after_shot_10, range(0, 20), 2)
