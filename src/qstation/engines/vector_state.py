"""A program's gates on a state vector: fused stages applied in place (:class:`Simulation`),
which the fault tree and the branching groups move their states with, and the state of a group
of shots that run together (:class:`VectorState`).

States are shaped with one length-2 axis per simulated qubit (compact numbering, the first
qubit most significant); the kernels see them flat (:mod:`.kernels`).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from qstation.circuit.gates import GATES
from qstation.circuit.program import Gate, Measure, Program, Reset, unconditioned
from qstation.engines import kernels
from qstation.engines.fusion import CompiledStage, DenseGate, compile_steps, fuse
from qstation.engines.noisy import (
    FaultTree,
    LeafOutcomes,
    apply_pauli,
    probability_of_one,
    sample_indices,
)
from qstation.engines.randomness import shot_uniforms
from qstation.engines.shots import measurements, replay
from qstation.engines.wasm import WasmModule
from qstation.noise.faults import Fault, NoisePlan, ShotNoise, draw_shot_noise

_DOUBLE = np.dtype(np.complex128)
CHUNKED_FROM_QUBITS = 22
"""From this size a dense gate runs chunk by chunk, so its temporaries stay small."""
_CHUNK_AXES = 4
_PLAN_CACHE_LIMIT = 4096


@dataclass(frozen=True)
class _GateAt:
    qubits: tuple[int, ...]  # program numbering
    compact: tuple[int, ...]
    matrix: np.ndarray
    diagonal: bool


class Simulation:
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


def _apply_matrix(matrix: np.ndarray, state: np.ndarray, axes: list[int]) -> np.ndarray:
    arity = len(axes)
    moved = np.tensordot(matrix, state, axes=(list(range(arity, 2 * arity)), axes))
    return np.moveaxis(moved, list(range(arity)), axes)


class VectorState:
    """The state vector of a group of shots that run together."""

    def __init__(self, simulation: Simulation, state: np.ndarray | None = None) -> None:
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

    def copy(self) -> VectorState:
        return VectorState(self.simulation, self.state.copy())

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
