"""State-vector emulation with numpy, exact or under a noise model.

When no quantum step depends on a measurement (every measurement is terminal for its qubit and
no quantum operation is conditional) the circuit is simulated once, all shots are sampled from
the final distribution (under noise: a tree of fault branches, :mod:`.noisy`), and the classical
operations are replayed for all shots at once. Otherwise the shots run in groups that split
where they differ (:mod:`.branching`). Only qubits the program touches are simulated, and the
memory a state needs is checked before allocating.
"""

from __future__ import annotations

import numpy as np

from qstation.circuit.gates import GATES
from qstation.circuit.program import Gate, Program, unconditioned
from qstation.engines.branching import BranchingRun
from qstation.engines.noisy import (
    FaultTree,
    apply_pauli,
    measured_bits,
    probabilities,
    probability_of_one,
)
from qstation.engines.randomness import shot_keys, shot_uniforms
from qstation.engines.shots import gather, measurements, quantum_part_is_fixed, replay
from qstation.engines.wasm import WasmModule
from qstation.errors import ExecutionError
from qstation.noise.faults import NoisePlan, draw_shot_noise, plan_noise
from qstation.noise.model import NOISELESS, NoiseModel
from qstation.sizes import describe_bytes

BYTES_PER_AMPLITUDE = 16
PEAK_STATES = 2.25
"""Peak working memory in states: the state, a gate's output and a gate's working chunk (a
sixteenth of a state twice; at least 22 qubits) or the sampling arrays (half a state)."""
CHUNKED_FROM_QUBITS = 22
"""From this size a non-diagonal gate runs chunk by chunk into one preallocated output."""
_CHUNK_AXES = 4


class StateVectorEngine:
    """Runs a program exactly; results depend only on the program, the shots and the seed."""

    def __init__(self, memory_limit_bytes: int) -> None:
        self.memory_limit_bytes = memory_limit_bytes

    def run(
        self,
        program: Program,
        n_shots: int,
        seed: int,
        wasm: WasmModule | None = None,
        noise: NoiseModel = NOISELESS,
    ) -> dict[str, list[str]]:
        """``wasm`` is the job's module, needed when the program calls it."""
        qubits = sorted(program.used_qubits())
        self._check_memory(len(qubits))
        simulation = _Simulation(program, {q: i for i, q in enumerate(qubits)}, wasm)
        keys = shot_keys(seed, 0, n_shots)
        plan = None if noise.is_noiseless else plan_noise(program, noise)
        if quantum_part_is_fixed(program):
            if plan is None:
                return simulation.sample_then_replay(keys)
            return simulation.sample_noisy_then_replay(keys, plan)
        run = BranchingRun(program, wasm, keys, plan, lambda: _VectorState(simulation))
        return gather(program, n_shots, run.parts(np.arange(n_shots)))

    def _check_memory(self, n_qubits: int) -> None:
        needed = int(PEAK_STATES * BYTES_PER_AMPLITUDE * 2**n_qubits)
        if needed > self.memory_limit_bytes:
            raise ExecutionError(
                f"a {n_qubits}-qubit state-vector emulation needs about {describe_bytes(needed)}, "
                f"above this worker's limit of {describe_bytes(self.memory_limit_bytes)}"
            )


class _Simulation:
    def __init__(self, program: Program, compact: dict[int, int], wasm: WasmModule | None) -> None:
        self.program = program
        self.wasm = wasm
        self.compact = compact
        self.n_qubits = len(compact)
        self.matrices: dict[int, np.ndarray] = {}
        self.phases: dict[int, np.ndarray] = {}
        """Diagonal gates (Rz, RZZ, ZZ, ...) as phases shaped to multiply the state in one pass."""
        for position, operation in enumerate(program.operations):
            gate = unconditioned(operation)
            if not isinstance(gate, Gate):
                continue
            matrix = GATES[gate.name].unitary(gate.params)
            if np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0:
                self.phases[position] = self._broadcast_phases(np.diag(matrix), gate.qubits)
            else:
                self.matrices[position] = matrix.reshape((2,) * (2 * len(gate.qubits)))

    def zero_state(self) -> np.ndarray:
        state = np.zeros((2,) * self.n_qubits, dtype=np.complex128)
        state[(0,) * self.n_qubits] = 1.0
        return state

    def _broadcast_phases(self, diagonal: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
        """The diagonal as an array with a length-2 axis for each qubit (the first listed qubit
        most significant) and length 1 for the others."""
        tensor = diagonal.reshape((2,) * len(qubits))
        axes = [self.compact[q] for q in qubits]
        tensor = np.transpose(tensor, np.argsort(axes))  # tensor axes in the state's axis order
        shape = [1] * self.n_qubits
        for axis in axes:
            shape[axis] = 2
        return tensor.reshape(shape)

    def apply_gate(self, state: np.ndarray, position: int, gate: Gate) -> np.ndarray:
        phases = self.phases.get(position)
        if phases is not None:
            shifted: np.ndarray = state * phases
            return shifted
        matrix = self.matrices[position]
        axes = [self.compact[q] for q in gate.qubits]
        if self.n_qubits < CHUNKED_FROM_QUBITS:
            return _apply_matrix(matrix, state, axes)
        # Split along axes the gate does not touch, so temporaries stay a small part of a state.
        free = [axis for axis in range(self.n_qubits) if axis not in axes][:_CHUNK_AXES]
        result = np.empty_like(state)
        for bits in np.ndindex(*(2,) * len(free)):
            index: list[slice | int] = [slice(None)] * self.n_qubits
            for axis, bit in zip(free, bits, strict=True):
                index[axis] = bit
            chunk_axes = [axis - sum(f < axis for f in free) for axis in axes]
            result[tuple(index)] = _apply_matrix(matrix, state[tuple(index)], chunk_axes)
        return result

    # --- one simulation, all shots sampled ----------------------------------------------

    def sample_then_replay(self, keys: np.ndarray) -> dict[str, list[str]]:
        state = self.zero_state()
        for position, operation in enumerate(self.program.operations):
            if isinstance(operation, Gate):
                state = self.apply_gate(state, position, operation)
        cumulative = probabilities(state)
        del state
        np.cumsum(cumulative, out=cumulative)
        targets = shot_uniforms(keys) * cumulative[-1]
        indices = np.minimum(
            np.searchsorted(cumulative, targets, side="right"), cumulative.size - 1
        ).astype(np.uint64)
        shift = self.n_qubits - 1
        measured = [
            (indices >> np.uint64(shift - self.compact[measurement.qubit])) & np.uint64(1)
            for measurement in measurements(self.program)
        ]
        return replay(self.program, self.wasm, keys, measured)

    def sample_noisy_then_replay(self, keys: np.ndarray, plan: NoisePlan) -> dict[str, list[str]]:
        """The fixed quantum part under noise: one tree of fault branches (:mod:`.noisy`)."""
        noises = [draw_shot_noise(plan, key) for key in keys]
        tree = FaultTree(list(self.program.operations), self.compact, self.apply_gate)
        leaves = tree.run(self.zero_state(), noises)
        measured = measured_bits(
            leaves, self.compact, measurements(self.program), shot_uniforms(keys), plan, noises
        )
        return replay(self.program, self.wasm, keys, measured)


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
        self.state = self.simulation.apply_gate(self.state, position, gate)

    def pauli(self, qubit: int, kind: str) -> None:
        self.state = apply_pauli(self.state, self.simulation.compact[qubit], kind)

    def probability_of_one(self, qubit: int) -> float:
        return probability_of_one(self.state, self.simulation.compact[qubit])

    def project(self, qubit: int, outcome: int, probability: float) -> None:
        index: list[slice | int] = [slice(None)] * self.state.ndim
        index[self.simulation.compact[qubit]] = 1 - outcome
        self.state[tuple(index)] = 0.0
        self.state /= np.sqrt(probability)

    def copy(self) -> _VectorState:
        return _VectorState(self.simulation, self.state.copy())
