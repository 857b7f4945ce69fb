"""State-vector emulation, exact or under a noise model, on fused stages of gates.

When no quantum step depends on a measurement (every measurement is terminal for its qubit and
no quantum operation is conditional) the circuit is simulated once, all shots are sampled from
the final distribution (under noise: a tree of fault branches, :mod:`.noisy`), and the classical
operations are replayed for all shots at once. Otherwise the shots run in groups that split
where they differ (:mod:`.branching`). Gates are applied in place, as stages
(:mod:`.fusion`, :mod:`.kernels`). Only qubits the program touches are simulated, and the
memory a state needs is checked before allocating. Coherent dephasing joins the program as
``Rz`` gates (:mod:`qstation.noise.dephasing`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from qstation.circuit.gates import GATES
from qstation.circuit.program import Gate, Measure, Program, Reset, unconditioned
from qstation.devices.catalogue import Device
from qstation.engines import kernels
from qstation.engines.branching import BranchingRun
from qstation.engines.fusion import CompiledStage, DenseGate, compile_steps, fuse
from qstation.engines.noisy import (
    FaultTree,
    LeafOutcomes,
    apply_pauli,
    probability_of_one,
    sample_indices,
)
from qstation.engines.parallel import one_blas_thread, run_in_parts
from qstation.engines.randomness import shot_keys, shot_uniforms
from qstation.engines.shots import gather, measurements, quantum_part_is_fixed, replay
from qstation.engines.wasm import WasmModule
from qstation.errors import CompileError, ExecutionError
from qstation.noise.dephasing import with_dephasing_points
from qstation.noise.faults import Fault, NoisePlan, ShotNoise, draw_shot_noise, plan_noise
from qstation.noise.model import NOISELESS, NoiseModel
from qstation.sizes import describe_bytes

PRECISIONS = {"double": np.complex128, "single": np.complex64}
"""The ``precision`` option: the state's amplitudes, 16 or 8 bytes each."""
_DOUBLE = np.dtype(np.complex128)
PEAK_STATES = 2.25
"""Peak working memory in states: the state, a fault branch's copy, and a dense gate's working
chunk (a sixteenth of a state twice; at least 22 qubits). Stages work in place."""
CHUNKED_FROM_QUBITS = 22
"""From this size a dense gate runs chunk by chunk, so its temporaries stay small."""
_CHUNK_AXES = 4
SPLIT_FROM_WORK = 2.0**28
"""Estimated work (gates times amplitudes) from which one run's shots are split over
processes. Below it a fork and a second simulation of the shared part cost more than the
second core gains: a fork and join cost about 10 ms, and this is about 60 ms of work (B1
under noise, 1,000 shots of 10 qubits: 19 ms on one process, 22 ms on two)."""
_PLAN_CACHE_LIMIT = 4096


class StateVectorEngine:
    """Runs a program exactly; results depend only on the program, the shots and the seed."""

    def __init__(
        self,
        memory_limit_bytes: int,
        processes: int = 1,
        precision: str = "double",
        split_from_work: float = SPLIT_FROM_WORK,
    ) -> None:
        """``precision``: ``single`` halves the memory a state takes and doubles the
        amplitudes a vector instruction takes, for errors of about 1e-6 per amplitude
        (docs/noise-model.md, "Precision"). ``processes``: at most this many, for runs whose
        estimated work reaches ``split_from_work``."""
        self.memory_limit_bytes = memory_limit_bytes
        self.processes = processes
        self.dtype = np.dtype(PRECISIONS[precision])
        self.split_from_work = split_from_work

    @classmethod
    def of(cls, memory_limit_bytes: int, processes: int, options: Mapping[str, Any]) -> Self:
        """The engine a job's options ask for (``precision``: ``double``, the default, or
        ``single``)."""
        precision = options.get("precision", "double")
        if not isinstance(precision, str) or precision not in PRECISIONS:
            raise CompileError(f"precision must be one of {list(PRECISIONS)}, not {precision!r}")
        return cls(memory_limit_bytes, processes, precision)

    def fits(self, program: Program, device: Device) -> None:
        used = len(program.used_qubits())
        if used > device.state_vector_qubits:
            raise ExecutionError(
                f"the program acts on {used} qubits; {device.name}'s state-vector engine runs "
                f"at most {device.state_vector_qubits}"
            )
        self._check_memory(used)

    def run(
        self,
        program: Program,
        n_shots: int,
        seed: int,
        wasm: WasmModule | None = None,
        noise: NoiseModel = NOISELESS,
        first_shot: int = 0,
    ) -> dict[str, list[str]]:
        """Shots ``first_shot`` to ``first_shot + n_shots - 1`` of the job: each the same as in
        a run of the whole job. ``wasm`` is the job's module, needed when the program calls
        it."""
        with one_blas_thread():  # for sampling's vdot and dense gates' tensordot
            return self._run_in_parts(program, n_shots, seed, wasm, noise, first_shot)

    def _run_in_parts(
        self,
        program: Program,
        n_shots: int,
        seed: int,
        wasm: WasmModule | None,
        noise: NoiseModel,
        first_shot: int,
    ) -> dict[str, list[str]]:
        shots = range(first_shot, first_shot + n_shots)
        processes = self._processes_for(program, wasm, noise)
        program = with_dephasing_points(program, noise, holds_rotations=True)
        plan = None if noise.is_noiseless else plan_noise(program, noise, holds_rotations=True)
        amplitudes = 2 ** len(program.used_qubits())
        if plan is None or processes == 1 or not quantum_part_is_fixed(program):
            if n_shots * len(program.operations) * amplitudes < self.split_from_work:
                processes = 1
            return run_in_parts(
                lambda part: self._run(program, plan, len(part), seed, wasm, part.start, None),
                shots,
                processes,
            )
        # A fault tree's work lies in its faulty shots: split by work, with the faults drawn
        # once, here, for the forked processes to inherit.
        noises = [draw_shot_noise(plan, key) for key in shot_keys(seed, first_shot, n_shots)]
        n_operations = len(program.operations)

        def run_part(part: range) -> dict[str, list[str]]:
            drawn = noises[part.start - first_shot : part.stop - first_shot]
            return self._run(program, plan, len(part), seed, wasm, part.start, drawn)

        weights = [_work(shot_noise, n_operations) for shot_noise in noises]
        if math.fsum(weights) * amplitudes < self.split_from_work:
            processes = 1
        return run_in_parts(run_part, shots, processes, weights=weights)

    def _processes_for(self, program: Program, wasm: WasmModule | None, noise: NoiseModel) -> int:
        """Processes worth splitting the shots over: none for an exact run with terminal
        measurements (its one state-vector pass is the work, and sampling is cheap), nor for
        WASM calls (a module instance does not cross a fork); otherwise as many as the memory
        limit holds a state for."""
        if self.processes == 1 or wasm is not None:
            return 1
        if noise.is_noiseless and quantum_part_is_fixed(program):
            return 1
        needed = self._state_bytes(len(program.used_qubits()))
        return max(1, min(self.processes, self.memory_limit_bytes // needed))

    def _run(
        self,
        program: Program,
        plan: NoisePlan | None,
        n_shots: int,
        seed: int,
        wasm: WasmModule | None,
        first_shot: int,
        noises: list[ShotNoise] | None,
    ) -> dict[str, list[str]]:
        """``noises``: the shots' faults, when already drawn."""
        qubits = sorted(program.used_qubits())
        self._check_memory(len(qubits))
        compact = {q: i for i, q in enumerate(qubits)}
        simulation = _Simulation(program, compact, wasm, self.dtype)
        keys = shot_keys(seed, first_shot, n_shots)
        if quantum_part_is_fixed(program):
            if plan is None:
                return simulation.sample_then_replay(keys, first_shot)
            return simulation.sample_noisy_then_replay(keys, plan, first_shot, noises)
        run = BranchingRun(program, wasm, keys, plan, lambda: _VectorState(simulation), first_shot)
        return gather(program.outputs(), n_shots, run.parts(np.arange(n_shots)))

    def _check_memory(self, n_qubits: int) -> None:
        needed = self._state_bytes(n_qubits)
        if needed > self.memory_limit_bytes:
            raise ExecutionError(
                f"a {n_qubits}-qubit state-vector emulation needs about {describe_bytes(needed)}, "
                f"above this worker's limit of {describe_bytes(self.memory_limit_bytes)}"
            )

    def _state_bytes(self, n_qubits: int) -> int:
        """The memory an emulation of ``n_qubits`` holds at its peak."""
        return int(PEAK_STATES * self.dtype.itemsize * 2**n_qubits)


@dataclass(frozen=True)
class _GateAt:
    qubits: tuple[int, ...]  # program numbering
    compact: tuple[int, ...]
    matrix: np.ndarray
    diagonal: bool


class _Simulation:
    """A program's gates as fused stages (:mod:`.fusion`), applied in place to states shaped
    with one length-2 axis per simulated qubit."""

    def __init__(
        self,
        program: Program,
        compact: dict[int, int],
        wasm: WasmModule | None,
        dtype: np.dtype = _DOUBLE,
    ) -> None:
        self.program = program
        self.dtype = dtype
        self.wasm = wasm
        self.compact = compact
        self.n_qubits = len(compact)
        self.n_operations = len(program.operations)
        self.gates: dict[int, _GateAt] = {}
        for position, operation in enumerate(program.operations):
            gate = unconditioned(operation)
            if isinstance(gate, Gate):
                matrix = GATES[gate.name].unitary(gate.params)
                self.gates[position] = _GateAt(
                    gate.qubits,
                    tuple(compact[q] for q in gate.qubits),
                    matrix,
                    bool(np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0),
                )
        steps = fuse([(p, g.compact, g.matrix) for p, g in self.gates.items()])
        self.boundaries = sorted({0, *(step.start for step in steps)})
        self._plans: dict[tuple[int, int, frozenset[int]], list[CompiledStage | DenseGate]] = {}

    def zero_state(self) -> np.ndarray:
        state = np.zeros((2,) * self.n_qubits, dtype=self.dtype)
        state[(0,) * self.n_qubits] = 1.0
        return state

    def axis(self, qubit: int) -> int:
        return self.compact[qubit]

    # --- moving states forward, for the fault tree and the branching groups -------------

    def advance(
        self,
        state: np.ndarray,
        start: int,
        stop: int,
        leaked: frozenset[int],
        phases: bool = True,
    ) -> None:
        """Apply the gates at positions ``[start, stop)`` in place, but those on ``leaked``;
        without the diagonal phase that ends them unless ``phases`` (a state that is only
        sampled, or measured, or has Paulis applied, then sampled, does not see it)."""
        gate = self.gates.get(start) if stop == start + 1 else None
        if gate is not None and len(gate.compact) == 1 and not gate.diagonal:
            if not leaked.intersection(gate.qubits):
                bit = self.n_qubits - 1 - gate.compact[0]
                kernels.one_qubit(state.reshape(-1), bit, gate.matrix)
            return
        plan = self._plan(start, stop, leaked)
        if not phases and plan and isinstance(plan[-1], CompiledStage) and plan[-1].is_diagonal:
            plan = plan[:-1]
        for step in plan:
            if isinstance(step, DenseGate):
                self._apply_dense(state, step)
            else:
                step.apply(state.reshape(-1))

    def boundary_before(self, position: int) -> int:
        """The last stage boundary at or before ``position`` (the end, past the last)."""
        if position >= self.n_operations:
            return self.n_operations
        return self.boundaries[bisect_right(self.boundaries, position) - 1]

    def next_boundary(self, position: int) -> int:
        index = bisect_right(self.boundaries, position)
        return self.boundaries[index] if index < len(self.boundaries) else self.n_operations

    def deferred(self, position: int, fault: Fault) -> int:
        end = self.next_boundary(position)
        while position + 1 < end and self._commutes(position + 1, fault):
            position += 1
        return position

    def _commutes(self, position: int, fault: Fault) -> bool:
        gate = self.gates.get(position)
        operation = unconditioned(self.program.operations[position])
        for elementary in fault:
            if gate is not None and elementary.qubit in gate.qubits:
                passes = elementary.kind == "Z" and gate.diagonal
                if not passes:
                    return False
            if isinstance(operation, Measure | Reset) and operation.qubit == elementary.qubit:
                return False
        return True

    def _plan(
        self, start: int, stop: int, leaked: frozenset[int]
    ) -> list[CompiledStage | DenseGate]:
        key = (start, stop, leaked)
        plan = self._plans.get(key)
        if plan is None:
            gates = [
                (p, g.compact, g.matrix)
                for p in range(start, stop)
                if (g := self.gates.get(p)) is not None and not leaked.intersection(g.qubits)
            ]
            plan = compile_steps(fuse(gates), self.n_qubits)
            if len(self._plans) >= _PLAN_CACHE_LIMIT:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def _apply_dense(self, state: np.ndarray, gate: DenseGate) -> None:
        matrix = gate.matrix.astype(self.dtype).reshape((2,) * (2 * len(gate.qubits)))
        axes = list(gate.qubits)
        if self.n_qubits < CHUNKED_FROM_QUBITS:
            state[...] = _apply_matrix(matrix, state, axes)
            return
        # Each chunk along axes the gate does not touch maps onto itself, so it is rewritten
        # in place, and temporaries stay a small part of a state.
        free = [axis for axis in range(self.n_qubits) if axis not in axes][:_CHUNK_AXES]
        chunk_axes = [axis - sum(f < axis for f in free) for axis in axes]
        for bits in np.ndindex(*(2,) * len(free)):
            index: list[slice | int] = [slice(None)] * self.n_qubits
            for axis, bit in zip(free, bits, strict=True):
                index[axis] = bit
            chunk = tuple(index)
            state[chunk] = _apply_matrix(matrix, state[chunk], chunk_axes)

    # --- one simulation, all shots sampled ----------------------------------------------

    def sample_then_replay(self, keys: np.ndarray, first_shot: int) -> dict[str, list[str]]:
        state = self.zero_state()
        self.advance(state, 0, self.n_operations, frozenset(), phases=False)
        indices = sample_indices(state, shot_uniforms(keys)).astype(np.uint64)
        del state
        shift = self.n_qubits - 1
        measured = [
            (indices >> np.uint64(shift - self.compact[measurement.qubit])) & np.uint64(1)
            for measurement in measurements(self.program)
        ]
        return replay(self.program, self.wasm, keys, measured, first_shot)

    def sample_noisy_then_replay(
        self,
        keys: np.ndarray,
        plan: NoisePlan,
        first_shot: int,
        noises: list[ShotNoise] | None = None,
    ) -> dict[str, list[str]]:
        """The fixed quantum part under noise: one tree of fault branches (:mod:`.noisy`)."""
        if noises is None:
            noises = [draw_shot_noise(plan, key) for key in keys]
        outcomes = LeafOutcomes(shot_uniforms(keys), self.n_qubits)
        FaultTree(self, outcomes).run(self.zero_state(), noises)
        measured = outcomes.bits(self.compact, measurements(self.program), plan, noises)
        return replay(self.program, self.wasm, keys, measured, first_shot)


def _work(noise: ShotNoise, n_operations: int) -> float:
    """A shot's estimated share of a fault tree's work, for splitting shots over processes
    by work rather than by count: the operations after its first fault (a faulty shot runs
    its own suffix), plus one for its sampling. Split by count, B2's two halves took 2.8 s
    and 2.3 s."""
    return 1.0 + (n_operations - noise.events[0][0] if noise.events else 0.0)


def _apply_matrix(matrix: np.ndarray, state: np.ndarray, axes: list[int]) -> np.ndarray:
    arity = len(axes)
    moved = np.tensordot(matrix, state, axes=(list(range(arity, 2 * arity)), axes))
    return np.moveaxis(moved, list(range(arity)), axes)


class _VectorState:
    """The state vector of a group of shots that run together."""

    def __init__(self, simulation: _Simulation, state: np.ndarray | None = None) -> None:
        self.simulation = simulation
        self.state = simulation.zero_state() if state is None else state

    def apply_gate(self, position: int, gate: Gate) -> None:
        self.simulation.advance(self.state, position, position + 1, frozenset())

    def apply_run(self, start: int, stop: int, leaked: frozenset[int]) -> None:
        self.simulation.advance(self.state, start, stop, leaked)

    def pauli(self, qubit: int, kind: str) -> None:
        apply_pauli(self.state, self.simulation.compact[qubit], kind)

    def probability_of_one(self, qubit: int) -> float:
        return probability_of_one(self.state, self.simulation.compact[qubit])

    def project(self, qubit: int, outcome: int, probability: float) -> None:
        index: list[slice | int] = [slice(None)] * self.state.ndim
        index[self.simulation.compact[qubit]] = 1 - outcome
        self.state[tuple(index)] = 0.0
        self.state /= np.sqrt(probability)

    def copy(self) -> _VectorState:
        return _VectorState(self.simulation, self.state.copy())

    def measure_in_order(self, qubits: list[int], uniforms: np.ndarray) -> np.ndarray:
        """One pass over the state for the whole run of measurements: the joint distribution
        of the measured qubits, then the chain rule shot by shot (vectorised)."""
        distinct = list(dict.fromkeys(qubits))
        axes = [self.simulation.compact[qubit] for qubit in distinct]
        weights = np.abs(self.state)
        weights *= weights
        others = tuple(axis for axis in range(self.state.ndim) if axis not in axes)
        joint = weights.sum(axis=others, dtype=np.float64) if others else weights
        del weights  # at most one state-sized array of probabilities at a time
        joint = np.transpose(joint, np.argsort(np.argsort(axes)))  # in measurement order
        flat = joint.reshape(-1).astype(np.float64, copy=False)  # copies only if reordered
        del joint
        return draw_in_order(flat, [distinct.index(q) for q in qubits], uniforms)


def draw_in_order(joint: np.ndarray, columns: list[int], uniforms: np.ndarray) -> np.ndarray:
    """Outcomes by the chain rule: ``joint`` holds the probabilities of ``k`` qubits' values
    (the first qubit most significant), measurement ``i`` measures qubit ``columns[i]`` (each
    first measured in the order ``0, 1, ...``; a repeat gives the outcome before) with
    ``uniforms[:, i]``."""
    levels = [joint]  # levels[j]: the probabilities of the first j qubits' values
    while levels[0].size > 1:
        levels.insert(0, levels[0].reshape(-1, 2).sum(axis=1))
    prefix = np.zeros(uniforms.shape[0], dtype=np.int64)  # each shot's outcomes so far
    outcomes = np.zeros(uniforms.shape, dtype=np.uint64)
    depth = 0
    for index, column in enumerate(columns):
        if column < depth:
            outcomes[:, index] = (prefix >> (depth - 1 - column)) & 1
            continue
        whole, one = levels[depth][prefix], levels[depth + 1][2 * prefix + 1]
        bits = uniforms[:, index] < one / np.maximum(whole, np.finfo(np.float64).tiny)
        prefix = 2 * prefix + bits
        outcomes[:, index] = bits
        depth += 1
    return outcomes
