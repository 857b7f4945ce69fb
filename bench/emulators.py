"""Emulator benchmarks B1-B4 of ../shared/bench/circuits.md and B5 (a compiled TK2 brickwork),
qstation beside the anchors.

Every engine runs the same circuits with the same noise model in one invocation, so ratios are
taken on one machine state; the table goes to docs/benchmarks.md. Anchors are optional extras
(``pip install -e '.[bench]'``: qiskit-aer, qulacs; stim is a qstation dependency); PECOS, which
cannot share an environment with Selene, gets its own under ``.bench-venvs/`` with
``--install-anchors`` and runs there from ``bench/anchors/``. An anchor that is not installed is
reported as missing. Usage:

    python bench/emulators.py [--install-anchors] [--repeats 3] [--report docs/benchmarks.md]

Timings are of the engine call with the program already built (qstation: its internal program
form; anchors: their own circuit objects; built in the warm-up), median of ``--repeats`` runs
after one warm-up. The row "stim, building its circuit per call" keeps the convention of earlier
reports, where stim built its circuit in every timed call; the rows "qstation stabilizer,
compiled once" are the counterpart of "stim" (its circuit built once): the program is compiled
in the warm-up and the timed calls run the compiled program.
Anchors that need minutes for the full shot count run fewer shots; the table says how many.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from report import write_section

from qstation.circuit.program import (
    Binary,
    BitRef,
    Conditional,
    Const,
    Gate,
    Measure,
    Operation,
    Program,
    ReadBit,
    ReadRegister,
    Record,
    Reset,
)
from qstation.engines.stabilizer import CompiledProgram, StabilizerEngine
from qstation.engines.statevector import StateVectorEngine
from qstation.noise.model import NOISELESS, NoiseModel

P1, P2, P_MEAS_0, P_MEAS_1 = 1.8e-5, 9.73e-4, 1.22e-3, 3.43e-3
NOISE = NoiseModel(
    p1=P1, p2=P2, p_meas_0=P_MEAS_0, p_meas_1=P_MEAS_1,
    przz_a=0.0, przz_b=1.0, przz_c=0.0, przz_d=1.0,  # the same p2 at every RZZ angle
)  # fmt: skip
NOISE_TEXT = (
    f"depolarizing after each gate but Rz (a frame change, exact in every engine): p1 = {P1} "
    f"(X, Y, Z equally), p2 = {P2} (the 15 two-qubit Paulis equally); readout flips 0→1 "
    f"{P_MEAS_0}, 1→0 {P_MEAS_1}"
)

# A benchmark circuit in a neutral form every engine builds its own circuit from:
# ("gate", name, qubits, params) | ("measure", qubit) | ("reset", qubit) | ("flip_if", qubit, bit)
Step = tuple[Any, ...]


@dataclass
class Benchmark:
    name: str
    n_qubits: int
    steps: list[Step]
    shots: int


def b1() -> Benchmark:
    rng = np.random.default_rng(2026)
    steps: list[Step] = [("gate", "U1q", (q,), tuple(rng.random(2) * 0.1)) for q in range(10)]
    return Benchmark("B1 seed", 10, steps + [("measure", q) for q in range(10)], 10)


def b2() -> Benchmark:
    rng = np.random.default_rng(2026)
    steps: list[Step] = []
    for _ in range(10):
        steps += [("gate", "U1q", (q,), tuple(rng.random(2))) for q in range(20)]
        steps += [("gate", "Rz", (q,), (float(rng.random()),)) for q in range(20)]
        pairs = rng.permutation(20).reshape(10, 2)
        steps += [("gate", "RZZ", (int(a), int(b)), (float(rng.random()),)) for a, b in pairs]
    return Benchmark("B2 random20", 20, steps + [("measure", q) for q in range(20)], 1000)


def b3() -> Benchmark:
    steps: list[Step] = []
    for _ in range(6):
        steps += [("gate", "H", (0,), ()), ("gate", "CX", (0, 1), ()), ("measure", 0)]
        steps += [("flip_if", 1), ("reset", 0)]
        steps += [("gate", "CX", (q, q + 1), ()) for q in range(1, 11)]
    return Benchmark("B3 midcircuit", 12, steps + [("measure", q) for q in range(12)], 1000)


def b5() -> Benchmark:
    """16 qubits, 8 brickwork layers of random TK2 gates, compiled for H1-1E by the client's
    own compiler (offline): what a user's circuit outside B1-B4 looks like to the engines."""
    from pytket import Circuit, OpType
    from pytket.extensions.quantinuum import QuantinuumBackend

    rng = np.random.default_rng(2026)
    circuit = Circuit(16)
    for layer in range(8):
        for a in range(layer % 2, 15, 2):
            circuit.TK2(*(float(x) for x in rng.random(3)), a, a + 1)
    circuit.measure_all()
    backend = QuantinuumBackend("H1-1E", machine_debug=True)
    compiled = backend.get_compiled_circuit(circuit, optimisation_level=2)
    names = {OpType.PhasedX: "U1q", OpType.ZZPhase: "RZZ", OpType.Rz: "Rz"}
    steps: list[Step] = []
    for command in compiled.get_commands():
        qubits = tuple(qubit.index[0] for qubit in command.qubits)
        if command.op.type == OpType.Measure:
            steps.append(("measure", qubits[0]))
        elif command.op.type == OpType.ZZMax:
            steps.append(("gate", "RZZ", qubits, (0.5,)))
        else:
            params = tuple(float(p) for p in command.op.params)
            steps.append(("gate", names[command.op.type], qubits, params))
    return Benchmark("B5 tk2brick16", 16, steps, 1000)


def b4() -> Benchmark:
    steps: list[Step] = [("gate", "H", (0,), ())]
    steps += [("gate", "CX", (q, q + 1), ()) for q in range(55)]
    return Benchmark("B4 ghz56", 56, steps + [("measure", q) for q in range(56)], 10_000)


# --- qstation ------------------------------------------------------------------------------


def qstation_program(benchmark: Benchmark) -> Program:
    operations: list[Operation] = []
    bits = 0
    for step in benchmark.steps:
        if step[0] == "gate":
            operations.append(Gate(step[1], step[2], tuple(float(p) for p in step[3])))
        elif step[0] == "measure":
            operations.append(Measure(step[1], BitRef("c", bits)))
            bits += 1
        elif step[0] == "reset":
            operations.append(Reset(step[1]))
        else:  # X on the qubit when the last measured bit is 1
            condition = Binary("eq", ReadBit(BitRef("c", bits - 1)), Const(1))
            operations.append(Conditional(condition, Gate("X", (step[1],))))
    operations.append(Record("c", ReadRegister("c"), bits))
    return Program(benchmark.n_qubits, {"c": bits}, tuple(operations))


def qstation_runner(engine: str, noisy: bool) -> Callable[[Benchmark, int], object]:
    """``engine``: ``state-vector`` or ``stabilizer``, with ``, N processes`` to split the
    shots as a worker on N cores does by default (or told ``QSTATION_EXECUTION_PROCESSES=N``;
    without it, one process), and/or ``, single
    precision`` for the job option ``precision: single``; ``stabilizer, compiled once``
    compiles the program in the warm-up (as stim's circuit is built there) and times runs of
    the compiled program."""
    noise = NOISE if noisy else NOISELESS
    name, *variants = engine.split(", ")
    processes = next((int(v.split()[0]) for v in variants if v.endswith("processes")), 1)
    precision = "single" if "single precision" in variants else "double"
    chosen = (
        StateVectorEngine(2**34, processes, precision)
        if name == "state-vector"
        else StabilizerEngine(processes)
    )
    built: dict[str, Program] = {}
    compiled: dict[str, CompiledProgram] = {}

    def run(benchmark: Benchmark, shots: int) -> object:
        if benchmark.name not in built:  # built once, in the warm-up
            built[benchmark.name] = qstation_program(benchmark)
            if "compiled once" in variants and isinstance(chosen, StabilizerEngine):
                compiled[benchmark.name] = chosen.compile(built[benchmark.name], noise)
        if benchmark.name in compiled:
            return compiled[benchmark.name].run(shots, seed=1)
        return chosen.run(built[benchmark.name], shots, seed=1, noise=noise)

    return run


# --- anchors -------------------------------------------------------------------------------


def aer_runner(
    noisy: bool, method: str, branching: bool = False, precision: str = "double"
) -> Callable[[Benchmark, int], object]:
    from qiskit import QuantumCircuit, transpile
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel as AerNoise
    from qiskit_aer.noise import ReadoutError, depolarizing_error

    options: dict[str, object] = {"method": method, "seed_simulator": 1, "precision": precision}
    if branching:
        options["shot_branching_enable"] = True
    if noisy:
        model = AerNoise()
        # aer's parameter is the weight of the fully mixed state: d²/(d²-1) times a Pauli fault's
        model.add_all_qubit_quantum_error(depolarizing_error(P1 * 4 / 3, 1), ["r", "h", "x"])
        model.add_all_qubit_quantum_error(depolarizing_error(P2 * 16 / 15, 2), ["rzz", "cx"])
        readout = ReadoutError([[1 - P_MEAS_0, P_MEAS_0], [P_MEAS_1, 1 - P_MEAS_1]])
        model.add_all_qubit_readout_error(readout)
        options["noise_model"] = model
    simulator = AerSimulator(**options)

    def build(benchmark: Benchmark) -> QuantumCircuit:
        n_bits = sum(step[0] == "measure" for step in benchmark.steps)
        circuit = QuantumCircuit(benchmark.n_qubits, n_bits)
        bits = 0
        for step in benchmark.steps:
            if step[0] == "gate":
                name, qubits, params = step[1], step[2], [np.pi * p for p in step[3]]
                if name == "U1q":
                    circuit.r(params[0], params[1], qubits[0])
                elif name == "Rz":
                    circuit.rz(params[0], qubits[0])
                elif name == "RZZ":
                    circuit.rzz(params[0], *qubits)
                else:
                    getattr(circuit, name.lower())(*qubits)
            elif step[0] == "measure":
                circuit.measure(step[1], bits)
                bits += 1
            elif step[0] == "reset":
                circuit.reset(step[1])
            else:
                with circuit.if_test((circuit.clbits[bits - 1], 1)):
                    circuit.x(step[1])
        return transpile(circuit, simulator, optimization_level=0)

    built: dict[str, QuantumCircuit] = {}

    def run(benchmark: Benchmark, shots: int) -> object:
        if benchmark.name not in built:  # transpiled once, outside the timed runs
            built[benchmark.name] = build(benchmark)
        return simulator.run(built[benchmark.name], shots=shots).result().get_counts()

    return run


def qulacs_runner(noisy: bool) -> Callable[[Benchmark, int], object]:
    """Noiseless: one simulation, then sampling. Noisy: trajectories, built by hand (qulacs's
    NoiseSimulator takes no seed): every shot's Pauli faults are drawn first; the shots without
    any share one ideal simulation, each other shot is simulated from the start with its
    faults. qulacs's own rotation gates: PhasedX(a, b) = Rz(b) Rx(a) Rz(-b), RZZ as a ZZ Pauli
    rotation."""
    import qulacs
    from qulacs.gate import CNOT, H, Pauli, PauliRotation, RotX, RotZ, X

    rng = np.random.default_rng(1)

    def gates(benchmark: Benchmark) -> list[tuple[list[Any], tuple[int, ...], float]]:
        """Each gate as qulacs gates, with its qubits and its fault probability."""
        made = []
        for step in benchmark.steps:
            if step[0] != "gate":
                continue
            name, qubits, params = step[1], step[2], [np.pi * float(p) for p in step[3]]
            if name == "U1q":
                q = qubits[0]
                parts = [RotZ(q, -params[1]), RotX(q, params[0]), RotZ(q, params[1])]
            elif name == "Rz":
                parts = [RotZ(qubits[0], params[0])]
            elif name == "RZZ":
                parts = [PauliRotation(list(qubits), [3, 3], params[0])]
            else:
                constructors: dict[str, Any] = {"H": H, "X": X, "CX": CNOT}
                parts = [constructors[name](*qubits)]
            fault = 0.0 if name == "Rz" else (P1 if len(qubits) == 1 else P2)
            made.append((parts, qubits, fault))
        return made

    def run(benchmark: Benchmark, shots: int) -> object:
        if any(step[0] in ("reset", "flip_if") for step in benchmark.steps):
            raise NotImplementedError("mid-circuit feedback is not in this anchor")
        circuit = gates(benchmark)
        state = qulacs.QuantumState(benchmark.n_qubits)
        if not noisy:
            for parts, _, _ in circuit:
                for part in parts:
                    part.update_quantum_state(state)
            return state.sampling(shots, 1)
        faults = np.array([fault for _, _, fault in circuit])
        hits = rng.random((shots, faults.size)) < faults
        clean = int(np.sum(~hits.any(axis=1)))
        for parts, _, _ in circuit:
            for part in parts:
                part.update_quantum_state(state)
        outcomes = list(state.sampling(clean, 1)) if clean else []
        for shot_hits in hits[hits.any(axis=1)]:
            state.set_zero_state()
            for (parts, qubits, _), hit in zip(circuit, shot_hits, strict=True):
                for part in parts:
                    part.update_quantum_state(state)
                if hit:
                    paulis = rng.integers(0, 4, len(qubits))
                    while not paulis.any():
                        paulis = rng.integers(0, 4, len(qubits))
                    Pauli(list(qubits), [int(p) for p in paulis]).update_quantum_state(state)
            outcomes.append(state.sampling(1, int(rng.integers(1 << 30)))[0])
        return outcomes

    return run


def stim_runner(noisy: bool, prebuilt: bool = True) -> Callable[[Benchmark, int], object]:
    """stim's compiled sampler: compiling and sampling are timed; the circuit is built in the
    warm-up, unless not ``prebuilt`` (then every call builds it, one instruction at a time, as
    this bench did before 2026-11-30)."""
    import stim

    def build(benchmark: Benchmark) -> stim.Circuit:
        circuit = stim.Circuit()
        for step in benchmark.steps:
            if step[0] == "gate":
                if step[1] not in ("H", "CX", "X"):
                    raise NotImplementedError("not a Clifford circuit")
                circuit.append(step[1], list(step[2]))
                if noisy:
                    name = "DEPOLARIZE1" if len(step[2]) == 1 else "DEPOLARIZE2"
                    circuit.append(name, list(step[2]), P1 if len(step[2]) == 1 else P2)
            elif step[0] == "measure":
                # stim's flips are symmetric: the mean of the two flip probabilities
                circuit.append("M", [step[1]], (P_MEAS_0 + P_MEAS_1) / 2 if noisy else 0)
            elif step[0] == "reset":
                circuit.append("R", [step[1]])
            else:
                circuit.append("CX", [stim.target_rec(-1), step[1]])
        return circuit

    built: dict[str, stim.Circuit] = {}

    def run(benchmark: Benchmark, shots: int) -> object:
        if not prebuilt:
            return build(benchmark).compile_sampler(seed=1).sample(shots)
        if benchmark.name not in built:
            built[benchmark.name] = build(benchmark)
        return built[benchmark.name].compile_sampler(seed=1).sample(shots)

    return run


MIN_SAMPLE = 0.2
"""Seconds a timed sample lasts at least: a call shorter than that is repeated within the
sample, so calls of 0.1 ms are not timed one at a time (their medians varied by half)."""


class SelfTimed(float):
    """Seconds an anchor measured itself (in its own process, without its start-up)."""


ANCHOR_VENVS = Path(__file__).resolve().parent.parent / ".bench-venvs"
ANCHOR_PACKAGES = {"pecos": ["quantum-pecos==0.8.0.dev8"]}
"""Anchors that need an environment of their own, and what goes into it."""


def install_anchors() -> None:
    for name, packages in ANCHOR_PACKAGES.items():
        python = ANCHOR_VENVS / name / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)


def qasm_text(benchmark: Benchmark) -> str:
    """The benchmark in OPENQASM 2.0 with qelib1 gates: U1q(a, b) = rz(b) rx(a) rz(-b)."""
    if any(step[0] in ("reset", "flip_if") for step in benchmark.steps):
        raise NotImplementedError("mid-circuit feedback is not in this anchor's runner")
    n = benchmark.n_qubits
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    for step in benchmark.steps:
        if step[0] == "measure":
            lines.append(f"measure q[{step[1]}] -> c[{step[1]}];")
            continue
        name, qubits, params = step[1], step[2], [np.pi * float(p) for p in step[3]]
        targets = ",".join(f"q[{q}]" for q in qubits)
        if name == "U1q":
            lines += [f"rz({-params[1]}) {targets};", f"rx({params[0]}) {targets};",
                      f"rz({params[1]}) {targets};"]  # fmt: skip
        elif params:
            lines.append(f"{name.lower()}({params[0]}) {targets};")
        else:
            lines.append(f"{name.lower()} {targets};")
    return "\n".join(lines) + "\n"


def venv_runner(anchor: str, noisy: bool) -> Callable[[Benchmark, int], object]:
    """An anchor in its own environment (``--install-anchors``), run by its script in
    ``bench/anchors/``, which times the engine call itself."""
    python = ANCHOR_VENVS / anchor / "bin" / "python"
    if not python.exists():
        raise ImportError(name=f"{anchor}: run with --install-anchors")
    script = Path(__file__).resolve().parent / "anchors" / f"{anchor}_run.py"
    noise = {"p1": P1, "p2": P2, "p_meas_0": P_MEAS_0, "p_meas_1": P_MEAS_1} if noisy else None

    def run(benchmark: Benchmark, shots: int) -> object:
        request = {"qasm": qasm_text(benchmark), "shots": shots, "noise": noise}
        answer = subprocess.run(
            [str(python), str(script)], input=json.dumps(request), capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        return SelfTimed(json.loads(answer.stdout.splitlines()[-1])["seconds"])

    return run


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Row:
    engine: str
    benchmark: str
    noisy: bool
    shots: int
    seconds: float | None
    note: str = ""

    @property
    def rate(self) -> float | None:
        return None if self.seconds is None else self.shots / self.seconds


def measure(
    engine: str,
    run: Callable[[Benchmark, int], object],
    benchmark: Benchmark,
    noisy: bool,
    shots: int,
    repeats: int,
) -> Row:
    try:
        run(benchmark, min(shots, 10))  # warm-up: imports, compilation, caches
        times, calls = [], 1
        while len(times) < repeats:
            start = time.perf_counter()
            for _ in range(calls):
                result = run(benchmark, shots)
            elapsed = (time.perf_counter() - start) / calls
            times.append(float(result) if isinstance(result, SelfTimed) else elapsed)
            if calls == 1 and elapsed < MIN_SAMPLE and not isinstance(result, SelfTimed):
                calls = int(MIN_SAMPLE / max(elapsed, 1e-7)) + 1  # that one was a probe
                times.clear()
    except (NotImplementedError, MemoryError) as error:
        return Row(engine, benchmark.name, noisy, shots, None, str(error) or type(error).__name__)
    row = Row(engine, benchmark.name, noisy, shots, statistics.median(times))
    print(f"{engine:38} {benchmark.name:14} {'noisy' if noisy else 'ideal':6} "
          f"{shots:6} shots {row.seconds:8.2f} s {row.rate:12.1f} shots/s", flush=True)  # fmt: skip
    return row


PLAN: list[tuple[str, str, bool, int | None]] = [  # engine, benchmark, noisy, shots (None: all)
    ("qstation state-vector", "B1 seed", False, None),
    ("qiskit-aer", "B1 seed", False, None),
    ("qulacs", "B1 seed", False, None),
    ("qstation state-vector", "B2 random20", False, None),
    ("qstation state-vector, single precision", "B2 random20", False, None),
    ("qiskit-aer", "B2 random20", False, None),
    ("qiskit-aer, single precision", "B2 random20", False, None),
    ("qulacs", "B2 random20", False, None),
    ("qstation state-vector", "B2 random20", True, None),
    ("qstation state-vector, 2 processes", "B2 random20", True, None),
    ("qstation state-vector, single precision", "B2 random20", True, None),
    ("qstation state-vector, single precision, 2 processes", "B2 random20", True, None),
    ("qiskit-aer", "B2 random20", True, 20),
    ("qiskit-aer, single precision", "B2 random20", True, 20),
    ("qiskit-aer shot branching", "B2 random20", True, 50),
    ("qulacs trajectories", "B2 random20", True, 200),
    ("PECOS state-vector", "B2 random20", False, 3),
    ("PECOS state-vector", "B2 random20", True, 3),
    ("qstation state-vector", "B3 midcircuit", False, None),
    ("qstation stabilizer", "B3 midcircuit", False, None),
    ("qiskit-aer", "B3 midcircuit", False, None),
    ("stim", "B3 midcircuit", False, None),
    ("stim, building its circuit per call", "B3 midcircuit", False, None),
    ("qstation stabilizer, compiled once", "B3 midcircuit", False, None),
    ("qstation state-vector", "B3 midcircuit", True, None),
    ("qstation state-vector, 2 processes", "B3 midcircuit", True, None),
    ("qstation stabilizer", "B3 midcircuit", True, None),
    ("qstation stabilizer, 2 processes", "B3 midcircuit", True, None),
    ("qstation stabilizer, compiled once", "B3 midcircuit", True, None),
    ("qiskit-aer", "B3 midcircuit", True, None),
    ("stim", "B3 midcircuit", True, None),
    ("stim, building its circuit per call", "B3 midcircuit", True, None),
    ("qstation stabilizer", "B4 ghz56", False, None),
    ("qstation stabilizer, compiled once", "B4 ghz56", False, None),
    ("qiskit-aer stabilizer", "B4 ghz56", False, None),
    ("stim", "B4 ghz56", False, None),
    ("stim, building its circuit per call", "B4 ghz56", False, None),
    ("qstation state-vector", "B5 tk2brick16", True, None),
    ("qstation state-vector, 2 processes", "B5 tk2brick16", True, None),
    ("qstation state-vector, single precision", "B5 tk2brick16", True, None),
    ("qstation state-vector, single precision, 2 processes", "B5 tk2brick16", True, None),
    ("qiskit-aer", "B5 tk2brick16", True, 100),
    ("qiskit-aer, single precision", "B5 tk2brick16", True, 100),
    ("qulacs trajectories", "B5 tk2brick16", True, 200),
]


def runner(engine: str, noisy: bool) -> Callable[[Benchmark, int], object]:
    if engine.startswith("qstation"):
        return qstation_runner(engine.removeprefix("qstation "), noisy)
    if engine == "qiskit-aer":
        return aer_runner(noisy, "statevector")
    if engine == "qiskit-aer, single precision":
        return aer_runner(noisy, "statevector", precision="single")
    if engine == "qiskit-aer shot branching":
        return aer_runner(noisy, "statevector", branching=True)
    if engine == "qiskit-aer stabilizer":
        return aer_runner(noisy, "stabilizer")
    if engine.startswith("qulacs"):
        return qulacs_runner(noisy)
    if engine.startswith("PECOS"):
        return venv_runner("pecos", noisy)
    return stim_runner(noisy, prebuilt=engine == "stim")


def report(rows: list[Row], seconds: float) -> str:
    lines = [
        "## Emulators",
        "",
        f"Produced by `python bench/emulators.py` on {date.today()} ({platform.machine()}, "
        f"{platform.python_version()}, 2 cores) in {seconds:.0f} s. Circuits: "
        "`../shared/bench/circuits.md`. Times are engine calls on built circuits (qstation's "
        "program form, the anchors' own circuit objects, built once before the timed runs), "
        "medians; each call compiles: qstation its program into its engine's form, stim its "
        'sampler, aer its run. The rows "compiled once" compile qstation\'s program before the '
        "timed runs, as stim's circuit is built before them, and time what stays per call: "
        "sampling, the classical pass, formatting.",
        "",
        f"Noise model in every engine for the noisy rows: {NOISE_TEXT}. stim's readout flip is "
        "symmetric: it gets the mean of the two.",
        "",
        "qstation rows run on one process unless they say otherwise; a worker's default "
        "(`QSTATION_EXECUTION_PROCESSES=0`: its share of the cores) on this 2-core machine is "
        'the "2 processes" rows. Double precision is the default; "single precision" is the '
        "job option `precision: single`.",
        "",
        "| benchmark | noise | engine | shots | s | shots/s | qstation ÷ this |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        per_call = row.engine == "stim, building its circuit per call"
        ours = max(
            (r for r in rows if r.benchmark == row.benchmark and r.noisy == row.noisy
             and r.engine.startswith("qstation") and r.rate
             and not (per_call and "compiled once" in r.engine)),
            key=lambda r: r.rate or 0.0, default=None,
        )  # fmt: skip
        ratio = "" if not (ours and ours.rate and row.rate) else f"{ours.rate / row.rate:.2f}"
        rate = "-" if row.rate is None else f"{row.rate:,.1f}"
        seconds_text = "-" if row.seconds is None else f"{row.seconds:.3f}"
        lines.append(
            f"| {row.benchmark} | {'noisy' if row.noisy else 'ideal'} | {row.engine} "
            f"| {row.shots:,} | {seconds_text} | {rate} | {ratio or row.note} |"
        )
    lines += [
        "",
        "The last column divides the fastest qstation engine's shots/s by this row's, for the "
        "same benchmark and noise: above 1, qstation is faster. Against stim building its "
        "circuit per call, only qstation rows that compile per call count.",
        "",
        "PECOS runs in an environment of its own (`--install-anchors`), its QASM with "
        "U1q(a, b) as rz(-b) rx(a) rz(b), with its plain depolarizing model (a symmetric "
        "readout flip: the mean of the two), timed inside its process after one warm-up shot. "
        "pytket-quantinuum 0.55.8's local emulator (`H1-1LE`) is PECOS too, but it logs in to "
        "the hosted service for the device list before it runs, so it is not measured "
        "separately. Selene (selene-sim 0.2.18 with guppylang 0.21, Quest) installs in an "
        "environment of its own, but on this machine its simulator process is refused when it "
        "connects back to selene's result stream, so it has no row.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--only", help="run only benchmarks whose name contains this")
    parser.add_argument(
        "--install-anchors", action="store_true",
        help=f"first install the anchors that need their own environment into {ANCHOR_VENVS}",
    )  # fmt: skip
    arguments = parser.parse_args()
    if arguments.install_anchors:
        install_anchors()
    benchmarks = {b.name: b for b in (b1(), b2(), b3(), b4(), b5())}
    started = time.perf_counter()
    rows = []
    for engine, name, noisy, shots in PLAN:
        if arguments.only and arguments.only not in name:
            continue
        benchmark = benchmarks[name]
        try:
            run = runner(engine, noisy)
        except ImportError as error:
            rows.append(Row(engine, name, noisy, 0, None, f"not installed ({error.name})"))
            continue
        repeats = 1 if shots is not None else arguments.repeats
        rows.append(measure(engine, run, benchmark, noisy, shots or benchmark.shots, repeats))
    text = report(rows, time.perf_counter() - started)
    if arguments.report:
        write_section(arguments.report, "emulators", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
