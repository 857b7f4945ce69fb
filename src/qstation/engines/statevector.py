"""State-vector emulation, exact or under a noise model, on fused stages of gates.

When no quantum step depends on a measurement (every measurement is terminal for its qubit and
no quantum operation is conditional) the circuit is simulated once, all shots are sampled from
the final distribution (under noise: a tree of fault branches, :mod:`.noisy`), and the classical
operations are replayed for all shots at once. Otherwise the shots run in groups that split
where they differ (:mod:`.branching`). Gates are applied in place, as stages
(:mod:`.vector_state`, :mod:`.fusion`, :mod:`.kernels`). Only qubits the program touches are
simulated, and the memory a state needs is checked before allocating. Coherent dephasing joins
the program as ``Rz`` gates (:mod:`qstation.noise.dephasing`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Self

import numpy as np

from qstation.circuit.program import Program
from qstation.devices.catalogue import Device
from qstation.engines.branching import BranchingRun
from qstation.engines.parallel import one_blas_thread, run_in_parts
from qstation.engines.randomness import shot_keys
from qstation.engines.shots import gather, quantum_part_is_fixed
from qstation.engines.vector_state import Simulation, VectorState
from qstation.engines.wasm import WasmModule
from qstation.errors import CompileError, ExecutionError
from qstation.noise.dephasing import with_dephasing_points
from qstation.noise.faults import NoisePlan, ShotNoise, draw_shot_noise, plan_noise
from qstation.noise.model import NOISELESS, NoiseModel
from qstation.sizes import describe_bytes

PRECISIONS = {"double": np.complex128, "single": np.complex64}
"""The ``precision`` option: the state's amplitudes, 16 or 8 bytes each."""
PEAK_STATES = 2.25
"""Peak working memory in states: the state, a fault branch's copy, and a dense gate's working
chunk (a sixteenth of a state twice; at least 22 qubits). Stages work in place."""
SPLIT_FROM_WORK = 2.0**28
"""Estimated work (gates times amplitudes) from which one run's shots are split over
processes. Below it a fork and a second simulation of the shared part cost more than the
second core gains: a fork and join cost about 10 ms, and this is about 60 ms of work (B1
under noise, 1,000 shots of 10 qubits: 19 ms on one process, 22 ms on two)."""


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
        simulation = Simulation(program, compact, wasm, self.dtype)
        keys = shot_keys(seed, first_shot, n_shots)
        if quantum_part_is_fixed(program):
            if plan is None:
                return simulation.sample_then_replay(keys, first_shot)
            return simulation.sample_noisy_then_replay(keys, plan, first_shot, noises)
        run = BranchingRun(program, wasm, keys, plan, lambda: VectorState(simulation), first_shot)
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


def _work(noise: ShotNoise, n_operations: int) -> float:
    """A shot's estimated share of a fault tree's work, for splitting shots over processes
    by work rather than by count: the operations after its first fault (a faulty shot runs
    its own suffix), plus one for its sampling. Split by count, B2's two halves took 2.8 s
    and 2.3 s."""
    return 1.0 + (n_operations - noise.events[0][0] if noise.events else 0.0)
