"""Stabilizer emulation with stim, for Clifford programs (``simulator: stabilizer``).

Every gate is turned into its Clifford tableau from the gate table's unitary, so a gate is
Clifford exactly when stim accepts that unitary (``U1q`` and ``RZZ`` at multiples of a quarter
turn, ``ZZ``, ``H``, ``CX``, ...); any other gate fails the job with a message naming it.

Programs whose noise is Pauli channels and whose feedback is Pauli corrections (nearly all:
the H-Series model without leakage and reset crosstalk) run as stim circuits on stim's compiled
sampler, in blocks of :data:`SAMPLE_BLOCK` shots (:mod:`qstation.engines.frames`), or without
noise, when their outcomes have few independent parts, from their affine space
(:mod:`qstation.engines.gauge`). Under
leakage or reset crosstalk the shots without faults take the ideal circuit's samples and the
shots with faults run in branching groups on tableaus (:mod:`qstation.engines.branching`), as
do programs with feedback that is not a Pauli, whatever the noise.
"""

from __future__ import annotations

from functools import cached_property
from itertools import chain

import numpy as np
import stim

from qstation.circuit.gates import GATES
from qstation.circuit.program import Gate, Program, unconditioned
from qstation.devices.catalogue import Device
from qstation.engines.branching import BranchingRun
from qstation.engines.frame_pass import SAMPLE_BLOCK
from qstation.engines.frames import FramePlan, compile_frames
from qstation.engines.parallel import run_in_parts
from qstation.engines.randomness import shot_keys
from qstation.engines.shots import gather, quantum_part_is_fixed, replay_parts
from qstation.engines.wasm import WasmModule
from qstation.errors import ExecutionError
from qstation.noise.apply import flip_uniforms
from qstation.noise.dephasing import with_dephasing_points
from qstation.noise.faults import NoisePlan, ShotNoise, draw_shot_noise, plan_noise
from qstation.noise.model import NOISELESS, NoiseModel


class StabilizerEngine:
    def __init__(self, processes: int = 1) -> None:
        self.processes = processes

    def fits(self, program: Program, device: Device) -> None:
        """Clifford programs only: any other gate is refused, naming it and its qubits."""
        clifford_tableaus(program)

    def run(
        self,
        program: Program,
        n_shots: int,
        seed: int,
        wasm: WasmModule | None = None,
        noise: NoiseModel = NOISELESS,
        first_shot: int = 0,
    ) -> dict[str, list[str]]:
        """Shots ``first_shot`` on, as in a whole run when ``first_shot`` is a multiple of
        :data:`SAMPLE_BLOCK` (the sampler's blocks are seeded by their first shot)."""
        return self.compile(program, noise).run(n_shots, seed, wasm, first_shot)

    def compile(self, program: Program, noise: NoiseModel = NOISELESS) -> CompiledProgram:
        """What a run of ``program`` under ``noise`` needs whatever its shots and seed, for a
        caller that runs it many times (as stim's users build a circuit once)."""
        program = with_dephasing_points(program, noise, holds_rotations=False)
        tableaus = clifford_tableaus(program)
        plan = None if noise.is_noiseless else plan_noise(program, noise, holds_rotations=False)
        return CompiledProgram(
            program, tableaus, plan, compile_frames(program, tableaus, plan), self.processes
        )


class CompiledProgram:
    """A program compiled for the stabilizer engine under one noise model."""

    def __init__(
        self,
        program: Program,
        tableaus: dict[int, stim.Tableau],
        plan: NoisePlan | None,
        frames: FramePlan | None,
        processes: int,
    ) -> None:
        self.program = program
        self.tableaus = tableaus
        self.plan = plan
        self.frames = frames
        self.processes = processes
        self.exact = plan is None and quantum_part_is_fixed(program)
        self.records = program.outputs()

    @cached_property
    def ideal(self) -> FramePlan:
        """The noiseless frame plan, whose samples the shots without faults take (under noise
        that is not made of Paulis, when the program has no feedback)."""
        ideal = compile_frames(self.program, self.tableaus, None)
        assert ideal is not None, "a program without feedback is a frame plan when noiseless"
        return ideal

    def run(
        self, n_shots: int, seed: int, wasm: WasmModule | None = None, first_shot: int = 0
    ) -> dict[str, list[str]]:
        """Shots on tableaus (noise or feedback that is not Paulis) are split over the
        engine's processes, in whole blocks: B3 and B4 under H1-1E's model (leaks) took
        2.0 s and 14.7 s for 2,048 shots on one process, 1.2 s and 8.2 s on two. stim samples
        an exact run and Pauli frames faster than a fork would help: B3 and B4 under Pauli
        noise, 2,048 to 102,400 shots, were as fast or slower on two."""
        on_tableaus = not self.exact and self.frames is None
        processes = self.processes if on_tableaus and wasm is None else 1
        return run_in_parts(
            lambda part: self._run(len(part), seed, wasm, part.start),
            range(first_shot, first_shot + n_shots),
            processes,
            SAMPLE_BLOCK,
        )

    def _run(
        self, n_shots: int, seed: int, wasm: WasmModule | None, first_shot: int
    ) -> dict[str, list[str]]:
        program, tableaus, plan = self.program, self.tableaus, self.plan
        keys = shot_keys(seed, first_shot, n_shots)
        if self.frames is not None:
            return gather(self.records, n_shots, self.frames.parts(program, wasm, keys, first_shot))

        run = BranchingRun(
            program, wasm, keys, plan, lambda: _TableauState(tableaus, program.n_qubits), first_shot
        )
        if plan is None or not quantum_part_is_fixed(program):
            return gather(self.records, n_shots, run.parts(np.arange(n_shots)))
        measured = _sample(self.ideal, keys)
        noises = [draw_shot_noise(plan, key) for key in keys]
        _flip(measured, noises, plan)
        faulty = np.array([shot for shot, noise in enumerate(noises) if noise.events], dtype=int)
        return gather(
            self.records,
            n_shots,
            chain(  # the faulty shots' own run replaces what the replay gave them
                replay_parts(program, wasm, keys, measured, first_shot), run.parts(faulty)
            ),
        )


def clifford_tableaus(program: Program) -> dict[int, stim.Tableau]:
    """Each gate's tableau, by position; refuses a gate that is not Clifford."""
    tableaus: dict[int, stim.Tableau] = {}
    known: dict[tuple[str, tuple[float, ...]], stim.Tableau] = {}
    for position, operation in enumerate(map(unconditioned, program.operations)):
        if not isinstance(operation, Gate):
            continue
        key = (operation.name, operation.params)
        if key not in known:
            unitary = GATES[operation.name].unitary(operation.params)
            try:
                known[key] = stim.Tableau.from_unitary_matrix(unitary, endian="big")
            except ValueError:
                angles = f"({', '.join(f'{p:g}' for p in operation.params)})"
                raise ExecutionError(
                    "the stabilizer simulator runs Clifford programs only: "
                    f"{operation.name}{angles if operation.params else ''} on qubits "
                    f"{list(operation.qubits)} is not a Clifford gate"
                ) from None
        tableaus[position] = known[key]
    return tableaus


def _sample(ideal: FramePlan, keys: np.ndarray) -> list[np.ndarray]:
    """Each measurement's ideal bit in every shot."""
    bits = ideal.sample(keys).astype(np.uint64)
    return [bits[:, index].copy() for index in range(ideal.n_measurements)]


def _flip(measured: list[np.ndarray], noises: list[ShotNoise], plan: NoisePlan) -> None:
    flips = flip_uniforms(noises, len(measured))
    for index, bits in enumerate(measured):
        bits[:] = plan.reported(bits, flips[:, index])


class _TableauState:
    """The stabilizer state of a group of shots that run together."""

    def __init__(
        self,
        tableaus: dict[int, stim.Tableau],
        n_qubits: int,
        simulator: stim.TableauSimulator | None = None,
    ) -> None:
        self.tableaus = tableaus
        self.n_qubits = n_qubits
        if simulator is None:
            simulator = stim.TableauSimulator()
            simulator.set_num_qubits(n_qubits)
        self.simulator = simulator

    def apply_gate(self, position: int, gate: Gate) -> None:
        self.simulator.do_tableau(self.tableaus[position], list(gate.qubits))

    def pauli(self, qubit: int, kind: str) -> None:
        getattr(self.simulator, kind.lower())(qubit)

    def probability_of_one(self, qubit: int) -> float:
        expectation = self.simulator.peek_z(qubit)  # +1: |0>, -1: |1>, 0: either, equally
        return 0.5 if expectation == 0 else float(expectation < 0)

    def project(self, qubit: int, outcome: int, probability: float) -> None:
        if probability < 1.0:
            self.simulator.postselect_z(qubit, desired_value=bool(outcome))

    def copy(self) -> _TableauState:
        return _TableauState(self.tableaus, self.n_qubits, self.simulator.copy())
