"""The MPS engine (quimb) against the state-vector engine: the same distributions on small
programs, exactly the same shots where both run branching groups, and a truncation error that
says how far a truncated run is off."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

import numpy as np
import pytest

from qstation.circuit.gates import GATES
from qstation.circuit.program import Gate, Operation, Program
from qstation.devices.catalogue import DeviceCatalogue
from qstation.engines.mps import MPSEngine, MPSOptions
from qstation.engines.statevector import StateVectorEngine
from qstation.errors import CompileError, ExecutionError
from qstation.model import JobRecord, JobStatus
from qstation.noise.model import NoiseModel
from qstation.worker.execution import ExecutionLimits, execute
from tests.unit.test_noisy_emulation import (
    ALL,
    MID_CIRCUIT,
    measure,
    program_with,
    total_variation_bound,
)
from tests.unit.test_stabilizer import feedback_program

MPS = MPSEngine(memory_limit_bytes=2**30)
STATE_VECTOR = StateVectorEngine(memory_limit_bytes=2**30)
CATALOGUE = DeviceCatalogue.load()
NOISELESS = NoiseModel()


def random_layers(n_qubits: int, layers: int, seed: int) -> list[Operation]:
    """Random one-qubit gates on every qubit, then two-qubit gates on random pairs, most of
    them not neighbours, and a Toffoli: every way a gate reaches the MPS."""
    rng = np.random.default_rng(seed)
    operations: list[Operation] = []
    for _ in range(layers):
        operations += [Gate("U1q", (q,), tuple(rng.random(2) * 2)) for q in range(n_qubits)]
        order = rng.permutation(n_qubits)
        for a, b in zip(order[::2], order[1::2], strict=False):
            operations.append(Gate("Rxxyyzz", (int(a), int(b)), tuple(rng.random(3))))
    operations.append(Gate("CCX", (n_qubits - 1, 0, n_qubits // 2)))
    return operations


def brickwork(n_qubits: int, layers: int, seed: int) -> list[Operation]:
    """Neighbouring pairs, alternately offset: entanglement grows by a bond's worth a layer."""
    rng = np.random.default_rng(seed)
    operations: list[Operation] = []
    for layer in range(layers):
        operations += [Gate("U1q", (q,), tuple(rng.random(2) * 2)) for q in range(n_qubits)]
        for q in range(layer % 2, n_qubits - 1, 2):
            operations.append(Gate("Rxxyyzz", (q, q + 1), tuple(rng.random(3))))
    return operations


def terminal(n_qubits: int, gates: list[Operation]) -> Program:
    return program_with(n_qubits, [*gates, *(measure(q) for q in range(n_qubits))])


def frequencies(results: dict[str, list[str]]) -> Counter[int]:
    return Counter(int(value, 2) for value in results["m"])


def tvd(first: Counter[int], second: Counter[int] | dict[int, float]) -> float:
    """Total variation distance of two sampled distributions (or of one and exact one)."""
    first_total = sum(first.values())
    second_total = sum(second.values())
    outcomes = set(first) | set(second)
    return 0.5 * sum(
        abs(first.get(k, 0) / first_total - second.get(k, 0) / second_total) for k in outcomes
    )


@pytest.mark.parametrize("noisy", [False, True], ids=["noiseless", "noisy"])
def test_small_programs_sample_the_state_vector_engines_distribution(noisy: bool) -> None:
    # Terminal measurements: the state-vector engine samples its final state (or its fault
    # tree), the MPS engine its own MPS (or branching groups): only the distributions can agree.
    n_qubits, shots = (4, 2000) if noisy else (5, 6000)
    noise = ALL if noisy else NOISELESS
    program = terminal(n_qubits, random_layers(n_qubits, 2 if noisy else 3, seed=5))
    mps = frequencies(MPS.run(program, shots, seed=1, noise=noise))
    state_vector = frequencies(STATE_VECTOR.run(program, shots, seed=2, noise=noise))

    # Each sample is this close to the true distribution but once in a thousand runs.
    bound = 2 * total_variation_bound(2**n_qubits, shots)
    assert tvd(mps, state_vector) < bound
    ideal = STATE_VECTOR.run(program, shots, seed=3) if noisy else None
    if ideal is not None:  # the noise moves the distribution beyond the bound: the check sees it
        assert tvd(mps, frequencies(ideal)) > bound
    assert MPS.truncation_error < 1e-9  # 5 qubits need a bond of 4 at most


@pytest.mark.parametrize("noise", [NOISELESS, ALL, replace(ALL, coherent_dephasing=False)],
                         ids=["noiseless", "noisy", "noisy, incoherent dephasing"])  # fmt: skip
@pytest.mark.parametrize("program", [MID_CIRCUIT, feedback_program()], ids=["reset", "feedback"])
def test_mid_circuit_measurement_and_feedback_give_the_state_vector_engines_shots(
    program: Program, noise: NoiseModel
) -> None:
    # Both engines run such programs in branching groups with the same per-shot streams.
    assert MPS.run(program, 500, seed=4, noise=noise) == STATE_VECTOR.run(
        program, 500, seed=4, noise=noise
    )


@pytest.mark.parametrize("noisy", [False, True], ids=["noiseless", "noisy"])
def test_shots_100_to_199_run_as_a_chunk_equal_those_of_a_whole_run(noisy: bool) -> None:
    noise = ALL if noisy else NOISELESS
    program = terminal(4, random_layers(4, 2, seed=8))
    whole = MPS.run(program, 300, seed=6, noise=noise)
    chunk = MPS.run(program, 100, seed=6, noise=noise, first_shot=100)
    assert chunk["m"] == whole["m"][100:200]
    assert MPS.run(program, 100, seed=7, noise=noise, first_shot=100) != chunk


def ideal_distribution(program: Program) -> dict[int, float]:
    """Register ``m`` of a program of gates, then every qubit measured in order, from a dense
    state built here by tensordot: shares nothing with either engine but the gate table."""
    n = program.n_qubits
    state = np.zeros((2,) * n, dtype=complex)
    state[(0,) * n] = 1.0
    for gate in program.operations:
        if isinstance(gate, Gate):
            arity = len(gate.qubits)
            matrix = GATES[gate.name].unitary(gate.params).reshape((2,) * 2 * arity)
            moved = np.tensordot(matrix, state, axes=(list(range(arity, 2 * arity)), gate.qubits))
            state = np.moveaxis(moved, list(range(arity)), list(gate.qubits))
    distribution: dict[int, float] = {}
    for index, amplitude in enumerate(state.reshape(-1)):  # qubit 0 is the index's top bit
        value = sum(((index >> (n - 1 - q)) & 1) << q for q in range(n))  # bit q of m is qubit q
        distribution[value] = float(abs(amplitude) ** 2)
    return distribution


def test_the_truncation_error_grows_as_the_bond_shrinks_and_bounds_the_distributions_error() -> (
    None
):
    # Six layers of neighbouring gates on 6 qubits need a bond of 8 (2**3 at the middle).
    program = terminal(6, brickwork(6, 6, seed=9))
    errors = {}
    for max_bond in (1, 2, 4, 8):
        engine = MPSEngine(2**30, MPSOptions(max_bond=max_bond))
        results = engine.run(program, 2000 if max_bond == 2 else 10, seed=10)
        errors[max_bond] = engine.truncation_error
        if max_bond == 2:
            truncated = frequencies(results)
    assert errors[1] > errors[2] > errors[4] > 1e-4
    assert errors[8] < 1e-9

    # For pure states, the distributions of any measurement differ by at most sqrt(1 - F).
    sampling = total_variation_bound(2**6, 2000)
    distance = tvd(truncated, ideal_distribution(program))
    assert sampling < distance < np.sqrt(errors[2]) + sampling


def job(options: dict[str, object], machine: str = "H2-1E") -> JobRecord:
    n = 12  # three layers of one-qubit gates, then RZZ on every neighbouring pair: a bond of 8
    layer = "".join(f"U1q(0.5*pi,{0.1 * q}*pi) q[{q}];\n" for q in range(n))
    layer += "".join(f"RZZ(0.3*pi) q[{q}],q[{q + 1}];\n" for q in range(n - 1))
    body = 3 * layer
    measures = "".join(f"measure q[{q}] -> c[{q}];\n" for q in range(n))
    program = f'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[{n}];\ncreg c[{n}];\n{body}{measures}'
    return JobRecord(
        id="0" * 32, owner_id="f" * 32, name="mps", machine=machine, language="OPENQASM 2.0",
        program=program, count=50, options=options, group="DEFAULT", seed=1,
        submitted_at=datetime(2026, 1, 1), status=JobStatus.RUNNING,
    )  # fmt: skip


LIMITS = ExecutionLimits(memory_bytes=2**30, max_result_bytes=2**20)


def test_a_job_on_the_mps_engine_reports_its_truncation_error_and_exact_engines_none() -> None:
    device = CATALOGUE.get("H2-1E")
    truncated = execute(job({"simulator": "mps", "mps-max-bond": 2}), device, LIMITS)
    assert truncated.status is JobStatus.COMPLETED, truncated.error
    assert truncated.truncation_error is not None and truncated.truncation_error > 0.01
    assert len(truncated.results["c"]) == 50  # type: ignore[index]
    exact = execute(job({"simulator": "mps", "error-model": False}), device, LIMITS)
    assert exact.truncation_error is not None and exact.truncation_error < 1e-9
    assert execute(job({}), device, LIMITS).truncation_error is None  # the state vector


@pytest.mark.parametrize("max_bond", [0, -3, 2.5, "64", True, None])
def test_a_bad_max_bond_fails_the_job_with_a_compile_error_naming_it(max_bond: object) -> None:
    outcome = execute(job({"simulator": "mps", "mps-max-bond": max_bond}), CATALOGUE.get("H2-1E"),
                      LIMITS)  # fmt: skip
    assert outcome.status is JobStatus.FAILED
    assert outcome.error is not None and outcome.error.startswith("1000: ")
    assert f"mps-max-bond must be a positive integer, not {max_bond!r}" in outcome.error


@pytest.mark.parametrize("cutoff", [-0.1, 1, "0", False])
def test_a_bad_cutoff_is_a_compile_error(cutoff: object) -> None:
    with pytest.raises(
        CompileError, match=f"mps-cutoff must be a number from 0 up to 1, not {cutoff!r}"
    ):
        MPSOptions.of({"mps-cutoff": cutoff})


def test_a_program_wider_than_the_device_or_the_memory_limit_is_refused() -> None:
    wide = terminal(21, [Gate("RZZ", (0, 20), (0.5,))])
    wider = terminal(40, [Gate("RZZ", (0, 39), (0.5,))])
    with pytest.raises(ExecutionError, match="acts on 21 qubits; H1-1E has 20"):
        MPS.fits(wide, CATALOGUE.get("H1-1E"))
    MPS.fits(wide, CATALOGUE.get("H2-1E"))  # 56 qubits
    small = MPSEngine(memory_limit_bytes=2**30, options=MPSOptions(max_bond=4096))
    with pytest.raises(ExecutionError, match="MPS emulation with mps-max-bond 4096 may need about"):
        small.fits(wider, CATALOGUE.get("H2-1E"))
