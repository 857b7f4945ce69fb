"""Matrix-product-state emulation with quimb (``simulator: mps``): wide, shallow programs, up to
the device's qubits.

The state is a quimb ``MatrixProductState`` with one site per qubit the program touches, in
qubit order. Gates go through quimb's own MPS rules (``contract="auto-mps"``): a two-qubit gate
on qubits that are not neighbours swaps one next to the other and back, a wider gate is applied
as a small MPO, and every split keeps at most ``mps-max-bond`` singular values, and none below
``mps-cutoff`` times the largest. Truncation does not renormalise, so a state's squared norm is
quimb's fidelity estimate, the product of the weight each truncation kept; its complement is
the truncation error the job reports (:attr:`MPSEngine.truncation_error`).

When no quantum step depends on a measurement and there is no noise, the program's gates run
once and every shot samples the final state, all shots together site by site (each from its own
stream of draws), then the classical operations are replayed. Everything else (noise trajectories,
feedback) runs in branching groups of shots (:mod:`qstation.engines.branching`), which draw each
shot's outcomes and faults from the shot's own streams and apply faults by the rules every
engine shares. Either way a shot's result depends only on the program, the seed and its index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import quimb.tensor as qtn

from qstation.circuit.gates import GATES
from qstation.circuit.program import Gate, Program, unconditioned
from qstation.devices.catalogue import Device
from qstation.engines.branching import BranchingRun
from qstation.engines.parallel import one_blas_thread
from qstation.engines.randomness import shot_draws, shot_keys
from qstation.engines.shots import gather, measurements, quantum_part_is_fixed, replay
from qstation.engines.wasm import WasmModule
from qstation.errors import CompileError, ExecutionError
from qstation.noise.dephasing import with_dephasing_points
from qstation.noise.faults import plan_noise
from qstation.noise.model import NOISELESS, NoiseModel
from qstation.sizes import describe_bytes

DEFAULT_MAX_BOND = 64
DEFAULT_CUTOFF = 1e-10
"""quimb's own default: singular values below this fraction of the largest are dropped."""
BYTES_PER_AMPLITUDE = 16
HELD_STATES = 16
"""States a run is taken to hold at once (an estimate, not a bound): branching groups keep a
pending branch for about every halving of their shots (11 for a 2,048-shot chunk), plus a
gate's working tensors."""


@dataclass(frozen=True)
class MPSOptions:
    """The job options the engine reads."""

    max_bond: int = DEFAULT_MAX_BOND
    cutoff: float = DEFAULT_CUTOFF

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> MPSOptions:
        max_bond = options.get("mps-max-bond", DEFAULT_MAX_BOND)
        if isinstance(max_bond, bool) or not isinstance(max_bond, int) or max_bond < 1:
            raise CompileError(f"mps-max-bond must be a positive integer, not {max_bond!r}")
        cutoff = options.get("mps-cutoff", DEFAULT_CUTOFF)
        if isinstance(cutoff, bool) or not isinstance(cutoff, int | float) or not 0 <= cutoff < 1:
            raise CompileError(f"mps-cutoff must be a number from 0 up to 1, not {cutoff!r}")
        return cls(max_bond, float(cutoff))


class MPSEngine:
    """Runs a program on a truncated MPS; :attr:`truncation_error` says what truncation lost."""

    def __init__(self, memory_limit_bytes: int, options: MPSOptions = MPSOptions()) -> None:
        self.memory_limit_bytes = memory_limit_bytes
        self.options = options
        self.truncation_error = 0.0

    def fits(self, program: Program, device: Device) -> None:
        used = len(program.used_qubits())
        if used > device.n_qubits:
            raise ExecutionError(
                f"the program acts on {used} qubits; {device.name} has {device.n_qubits}"
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
        a run of the whole job. BLAS runs on one thread: quimb's matrices are small (at most
        twice the bond dimension), and OpenBLAS's threads made the 56-qubit benchmark 30 times
        slower on a busy two-core machine."""
        program = with_dephasing_points(program, noise, holds_rotations=True)
        self._check_memory(len(program.used_qubits()))
        simulation = _Simulation(program, self.options)
        keys = shot_keys(seed, first_shot, n_shots)
        plan = None if noise.is_noiseless else plan_noise(program, noise, holds_rotations=True)
        with one_blas_thread():
            if plan is None and quantum_part_is_fixed(program):
                results = simulation.sample_then_replay(keys, wasm, first_shot)
            else:
                run = BranchingRun(program, wasm, keys, plan, simulation.zero_state, first_shot)
                results = gather(program.outputs(), n_shots, run.parts(np.arange(n_shots)))
        self.truncation_error = simulation.truncation_error
        return results

    def _check_memory(self, n_qubits: int) -> None:
        needed = HELD_STATES * state_bytes(n_qubits, self.options.max_bond)
        if needed > self.memory_limit_bytes:
            raise ExecutionError(
                f"a {n_qubits}-qubit MPS emulation with mps-max-bond {self.options.max_bond} "
                f"may need about {describe_bytes(needed)}, above this worker's limit of "
                f"{describe_bytes(self.memory_limit_bytes)}"
            )


def state_bytes(n_sites: int, max_bond: int) -> int:
    """The size of an MPS whose every bond is as large as it can be: ``max_bond``, or less
    near the ends (a cut with ``k`` qubits on its smaller side holds at most ``2**k``)."""
    bonds = [min(max_bond, 1 << min(cut, n_sites - cut)) for cut in range(n_sites + 1)]
    return BYTES_PER_AMPLITUDE * 2 * sum(left * right for left, right in pairwise(bonds))


class _Simulation:
    """What every state of one run shares: where each qubit sits, the gates' matrices, quimb's
    gate options, and the largest truncation error met so far."""

    def __init__(self, program: Program, options: MPSOptions) -> None:
        self.program = program
        self.sites = {qubit: site for site, qubit in enumerate(sorted(program.used_qubits()))}
        self.matrices = {
            position: GATES[gate.name].unitary(gate.params)
            for position, gate in enumerate(map(unconditioned, program.operations))
            if isinstance(gate, Gate)
        }
        self.gate_options = {
            "contract": "auto-mps", "max_bond": options.max_bond, "cutoff": options.cutoff
        }  # fmt: skip
        self.truncation_error = 0.0

    def zero_state(self) -> _MPSState:
        # A program that touches no qubit still gets one site: quimb has no empty MPS.
        psi = qtn.MPS_computational_state("0" * max(len(self.sites), 1))
        return _MPSState(self, psi, {})

    def note_fidelity(self, fidelity: float) -> None:
        self.truncation_error = max(self.truncation_error, 1.0 - fidelity)

    def sample_then_replay(
        self, keys: np.ndarray, wasm: WasmModule | None, first_shot: int
    ) -> dict[str, list[str]]:
        """A program whose quantum part is fixed, without noise: its gates once (the resets it
        may hold act on fresh qubits), then every shot samples the final state."""
        state = self.zero_state()
        for position, operation in enumerate(self.program.operations):
            if isinstance(operation, Gate):
                state.apply_gate(position, operation)
        sampled = state.sample(keys)
        measured = [sampled[:, self.sites[m.qubit]] for m in measurements(self.program)]
        return replay(self.program, wasm, keys, measured, first_shot)


class _MPSState:
    """The MPS of a group of shots that run together; ``info`` is quimb's note of where its
    orthogonality centre is, which saves re-canonicalising."""

    def __init__(self, simulation: _Simulation, psi: Any, info: dict[str, Any]) -> None:
        self.simulation = simulation
        self.psi = psi
        self.info = info

    def apply_gate(self, position: int, gate: Gate) -> None:
        self._apply(self.simulation.matrices[position], gate.qubits)

    def pauli(self, qubit: int, kind: str) -> None:
        self._apply(GATES[kind].unitary(()), (qubit,))

    def probability_of_one(self, qubit: int) -> float:
        weights = self._weights(self.simulation.sites[qubit])
        return float(weights[1] / weights.sum())

    def project(self, qubit: int, outcome: int, probability: float) -> None:
        # quimb renormalises by the outcome's share of the state's weight, so the squared norm
        # (the fidelity estimate) is kept.
        self.psi.measure_(self.simulation.sites[qubit], outcome=outcome, info=self.info)

    def copy(self) -> _MPSState:
        return _MPSState(self.simulation, self.psi.copy(), dict(self.info))

    def sample(self, keys: np.ndarray) -> np.ndarray:
        """Every site's bit in each shot (one row per shot), all shots at once, site after
        site. Right-canonical from site 0, the tensors to the right of a site hold no weight
        of their own, so the chance of a site's bit given those drawn before it is the norm of
        the shot's left environment times that bit's slice of the site's tensor: one matrix
        product per site for every shot (quimb's sampler, shot by shot, took about 20 ms a
        shot at 56 qubits). Each shot draws its uniforms from its own stream
        (:func:`shot_draws`); its bit is 1 where the uniform is below the chance of 1, as in
        every other draw."""
        self._weights(0)  # right-canonical from site 0; notes the fidelity
        n_sites = self.psi.L
        uniforms = shot_draws(keys[:, np.newaxis], np.arange(n_sites))
        bits = np.zeros((keys.size, n_sites), dtype=np.uint64)
        environment = np.ones((keys.size, 1), dtype=complex)
        for site in range(n_sites):
            tensor = self._site_array(site)  # (left, bit, right)
            left, _, right = tensor.shape
            both = (environment @ tensor.reshape(left, 2 * right)).reshape(keys.size, 2, right)
            weights = np.einsum("sbr,sbr->sb", both, both.conj()).real
            total = np.maximum(weights.sum(axis=1), np.finfo(float).tiny)
            ones = uniforms[:, site] < weights[:, 1] / total
            bits[:, site] = ones
            environment = both[np.arange(keys.size), ones.astype(np.intp)]
            kept = weights[np.arange(keys.size), ones.astype(np.intp)]
            environment /= np.sqrt(np.maximum(kept, np.finfo(float).tiny))[:, None]
        return bits

    def _site_array(self, site: int) -> np.ndarray:
        """The site's tensor as an array indexed (left bond, bit, right bond); a missing bond
        at either end has length 1."""
        psi = self.psi
        left = psi.bond(site - 1, site) if site > 0 else None
        right = psi.bond(site, site + 1) if site < psi.L - 1 else None
        order = [index for index in (left, psi.site_ind(site), right) if index is not None]
        array = np.asarray(psi[site].transpose(*order).data)
        if left is None:
            array = array[np.newaxis]
        if right is None:
            array = array[..., np.newaxis]
        return array

    def _apply(self, matrix: np.ndarray, qubits: tuple[int, ...]) -> None:
        sites = tuple(self.simulation.sites[qubit] for qubit in qubits)
        self.psi.gate_(matrix, sites, info=self.info, **self.simulation.gate_options)

    def _weights(self, site: int) -> np.ndarray:
        """The weights of the site's 0 and 1. With the orthogonality centre moved to the site,
        its tensor holds the whole state's norm, so they sum to the fidelity estimate."""
        self.psi.canonicalize_(site, info=self.info)
        tensor = self.psi[site]
        diagonal = tensor.contract(tensor.H, output_inds=(self.psi.site_ind(site),))
        weights = np.real(np.asarray(diagonal.data))
        self.simulation.note_fidelity(float(weights.sum()))
        return weights
