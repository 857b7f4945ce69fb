"""Shots with feedback run as groups that split only where they differ."""

from __future__ import annotations

import numpy as np

from qstation.engines.branching import BranchingRun
from qstation.engines.randomness import shot_keys
from qstation.engines.statevector import StateVectorEngine, _Simulation, _VectorState
from tests.unit.test_stabilizer import feedback_program


def test_a_thousand_shots_with_three_random_mid_circuit_outcomes_need_eight_groups() -> None:
    program = feedback_program()  # three rounds, each measuring a qubit in |+>
    simulation = _Simulation(program, {q: q for q in range(3)}, None)
    run = BranchingRun(program, None, shot_keys(5, 0, 1000), None, lambda: _VectorState(simulation))

    groups = list(run.parts(np.arange(1000)))

    assert len(groups) == 8
    assert sorted(np.concatenate([shots for shots, _ in groups]).tolist()) == list(range(1000))
    for shots, outputs in groups:  # every shot of a group measured the same rounds
        rounds, _ = outputs["r"]
        assert len(set(rounds.tolist())) == 1 and shots.size > 50


def test_groups_give_the_same_shots_whatever_shots_run_together() -> None:
    program = feedback_program()
    whole = StateVectorEngine(2**30).run(program, 400, seed=8)
    simulation = _Simulation(program, {q: q for q in range(3)}, None)
    run = BranchingRun(program, None, shot_keys(8, 0, 400), None, lambda: _VectorState(simulation))
    for shots, outputs in run.parts(np.arange(100, 400, 3)):  # a sparse subset alone
        values, record = outputs["r"]
        for shot, value in zip(shots.tolist(), values.tolist(), strict=True):
            assert format(value, f"0{record.width}b") == whole["r"][shot]
