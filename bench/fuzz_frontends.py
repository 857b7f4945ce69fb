"""Fuzz the program front ends: mutated QASM and QIR through the worker's execution path.

Each program runs as a job would: ``qstation.worker.execution.execute`` in a forked child (the
worker's own isolation), with a time limit. Every input must end as a completed job or a job
failed with a compile or execution error; an ``internal error``, a crash outside the compile
phase, or a hang is a finding. Usage:

    python bench/fuzz_frontends.py --count 100000 --seed 1 [--report docs/fuzzing.md]
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import wasmtime
from pytket.circuit import Circuit
from pytket.circuit.logic_exp import reg_eq
from pytket.qasm import circuit_to_qasm_str
from pytket.qir import QIRFormat, QIRProfile, pytket_to_qir
from pytket.wasm import WasmFileHandler

from qstation.devices.catalogue import DeviceCatalogue
from qstation.model import JobRecord, JobStatus
from qstation.worker.execution import ExecutionLimits, execute

QASM, QIR = "OPENQASM 2.0", "QIR 1.0"
SHOTS = 3
MEMORY = 2 * 2**30


WASM_MODULE = Path(__file__).parents[1] / "tests" / "data" / "accumulator.wat"


def wasm_module() -> WasmFileHandler:
    """The accumulator module of the WASM tests; every fuzzed job carries it as its cfl."""
    path = Path(tempfile.mkdtemp()) / "accumulator.wasm"
    path.write_bytes(wasmtime.wat2wasm(WASM_MODULE.read_text()))
    return WasmFileHandler(str(path))


def seed_circuits(rng: np.random.Generator, count: int, wasm: WasmFileHandler) -> Iterator[Circuit]:
    """Small circuits with gates, measurements, resets, classical logic, random numbers, shot
    numbers and WASM calls."""
    for _ in range(count):
        n = int(rng.integers(1, 5))
        circuit = Circuit(n)
        a = circuit.add_c_register("a", 3)
        m = circuit.add_c_register("m", n)
        r = circuit.add_c_register("r", 32)
        for _ in range(int(rng.integers(1, 10))):
            q = int(rng.integers(n))
            step = int(rng.integers(10))
            if step == 0:
                circuit.PhasedX(*rng.uniform(0, 2, 2).tolist(), q)
            elif step == 1 and n > 1:
                circuit.ZZPhase(float(rng.uniform(0, 2)), q, (q + 1) % n)
            elif step == 2:
                circuit.Measure(q, m[int(rng.integers(n))])
            elif step == 3:
                circuit.Reset(q)
            elif step == 4:
                circuit.PhasedX(1.0, 0.0, q, condition_bits=[m[0]], condition_value=1)
            elif step == 5:
                circuit.add_clexpr_from_logicexp(a ^ m, list(a)) if n == 3 else circuit.Rz(0.5, q)
            elif step == 7:
                circuit.get_rng_num(r) if q % 2 else circuit.get_job_shot_num(r)
            elif step == 8:
                circuit.add_wasm_to_reg("add", wasm, [a], [r])
            else:
                circuit.PhasedX(0.5, 0.0, q, condition=reg_eq(a, int(rng.integers(8))))
        for q in range(n):
            circuit.Measure(q, m[q])
        yield circuit


def corpus(rng: np.random.Generator, count: int) -> list[tuple[str, bytes | str]]:
    """Valid programs in all three forms: the starting points for mutation."""
    programs: list[tuple[str, bytes | str]] = []
    for circuit in seed_circuits(rng, count, wasm_module()):
        programs.append((QASM, circuit_to_qasm_str(circuit, header="hqslib1", maxwidth=64)))
        for profile in (QIRProfile.PYTKET, QIRProfile.ADAPTIVE):
            bitcode = pytket_to_qir(circuit, "fuzz", QIRFormat.BINARY, profile=profile)
            assert isinstance(bitcode, bytes)
            programs.append((QIR, bitcode))
    return programs


_QASM_TOKENS = [
    "qreg", "creg", "measure", "reset", "barrier", "if", "==", "U1q", "rz", "RZZ", "ZZ",
    "Rxxyyzz", "->", ";", "[", "]", "(", ")", "{", "}", "pi", "-", "*", "/", "0", "1", "64",
    "99999999999999999999", "q", "c", "a", "m", "tk_SCRATCH_BIT", "\x00", "\n", "~", "^",
    "RNGnum()", "JOB_shotnum", "gate", "opaque", "include", "\"qelib1.inc\"", "RNGseed(r)",
    "add(a)", "collatz(r)", "divide(r, r)", "spin()", "r =", ",",
]  # fmt: skip


def mutate_text(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        if not text:
            text = rng.choice(_QASM_TOKENS)
        position = rng.randrange(len(text) + 1)
        choice = rng.randrange(6)
        if choice == 0:  # delete a span
            text = text[:position] + text[position + rng.randint(1, 12) :]
        elif choice == 1:  # insert a token
            text = text[:position] + rng.choice(_QASM_TOKENS) + text[position:]
        elif choice == 2:  # replace a character
            text = text[:position] + chr(rng.randrange(32, 127)) + text[position + 1 :]
        elif choice == 3:  # duplicate a line
            lines = text.splitlines(keepends=True)
            if lines:
                line = rng.randrange(len(lines))
                lines.insert(line, lines[line])
                text = "".join(lines)
        elif choice == 4:  # change a number
            digits = [i for i, ch in enumerate(text) if ch.isdigit()]
            if digits:
                i = rng.choice(digits)
                text = (
                    text[:i] + str(rng.choice([0, 1, 2, 7, 19, 20, 21, 63, 64, 65])) + text[i + 1 :]
                )
        else:  # truncate
            text = text[:position]
    return text


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not buffer:
            buffer = bytearray(rng.randbytes(8))
        position = rng.randrange(len(buffer))
        choice = rng.randrange(5)
        if choice == 0:
            buffer[position] = rng.randrange(256)
        elif choice == 1:
            buffer[position] ^= 1 << rng.randrange(8)
        elif choice == 2:
            del buffer[position : position + rng.randint(1, 16)]
        elif choice == 3:
            buffer[position:position] = rng.randbytes(rng.randint(1, 8))
        else:
            buffer = buffer[:position]
    return bytes(buffer)


def mutants(
    programs: list[tuple[str, bytes | str]], count: int, seed: int
) -> Iterator[tuple[str, str]]:
    rng = random.Random(seed)
    for _ in range(count):
        language, original = rng.choice(programs)
        if isinstance(original, str):
            yield language, mutate_text(original, rng)
        elif rng.random() < 0.9:
            yield language, base64.b64encode(mutate_bytes(original, rng)).decode()
        else:  # now and then, damage the base64 text itself
            yield language, mutate_text(base64.b64encode(original).decode(), rng)


def job_for(index: int, language: str, program: str, cfl: str) -> JobRecord:
    return JobRecord(
        id=f"{index:032x}", owner_id="f" * 32, name="fuzz", machine="H1-1E", language=language,
        program=program, count=SHOTS, options={}, group="DEFAULT", seed=index, cfl=cfl,
        submitted_at=datetime(2026, 1, 1), status=JobStatus.RUNNING,
    )  # fmt: skip


COMPILED = "compiled"


def _serve(connection: Connection) -> None:
    """A child that executes jobs until its pipe closes; the parent restarts it if it dies.

    Like the worker's execution child, it reports when compiling is over, so the parent can
    tell a crash or a time-out while compiling (a compile error in the worker) from one after.
    """
    device = DeviceCatalogue.load().get("H1-1E")
    cfl = wasm_module().bytecode_base64.decode()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # pyqir prints Rust panics it raises as errors
    while True:
        try:
            index, language, program = connection.recv()
        except EOFError:
            return
        job = job_for(index, language, program, cfl)
        limits = ExecutionLimits(memory_bytes=MEMORY, max_result_bytes=2**26)
        outcome = execute(job, device, limits, on_compiled=lambda: connection.send(COMPILED))
        connection.send((outcome.status.value, outcome.error))


@dataclass
class Findings:
    outcomes: Counter[str]
    problems: list[tuple[str, str, str]]  # kind, language, program


def classify(status: str, error: str | None) -> str:
    if status == "completed":
        return "completed"
    text = error or ""
    if "internal error" in text:
        return "internal error"
    if text.startswith("1000: Compile error"):
        return "compile error"
    if text.startswith("2000: Execution error"):
        return "execution error"
    return "other failure"


def run(count: int, seed: int, timeout: float, save_to: Path | None = None) -> Findings:
    programs = corpus(np.random.default_rng(seed), 60)
    context = multiprocessing.get_context("fork")
    findings = Findings(Counter(), [])
    receiver = child = None
    for index, (language, program) in enumerate(mutants(programs, count, seed)):
        if child is None or not child.is_alive():
            receiver, child_end = context.Pipe()
            child = context.Process(target=_serve, args=(child_end,), daemon=True)
            child.start()
            child_end.close()  # else a dead child's end stays open here and EOF never comes
        assert receiver is not None
        receiver.send((index, language, program))
        compiled = False
        reply: object = None
        while reply is None or reply == COMPILED:
            compiled = compiled or reply == COMPILED
            if not receiver.poll(timeout):
                reply = "timeout"
                break
            try:
                reply = receiver.recv()
            except EOFError:
                reply = "crash"
        if reply in ("timeout", "crash"):
            child.kill()
            child.join()
            child = None
            if compiled:  # the worker would report an execution error: a real finding here
                findings.outcomes[f"{reply} while running"] += 1
                findings.problems.append((f"{reply} while running", language, program))
            else:  # the worker ends these as compile errors (crash / compile time limit)
                findings.outcomes[f"compile error ({reply} while compiling)"] += 1
                if save_to:
                    (save_to / f"{reply}-{index}.txt").write_text(program)
            continue
        status, error = reply  # type: ignore[misc]
        kind = classify(status, error)
        findings.outcomes[kind] += 1
        if kind in ("internal error", "other failure"):
            findings.problems.append((f"{kind}: {error}", language, program))
    if child is not None:
        receiver.close()  # type: ignore[union-attr]
        child.join(timeout=5)
    return findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a hang")
    parser.add_argument("--report", type=Path, help="write the summary as Markdown here")
    parser.add_argument("--save", type=Path, help="keep programs that crash or time out here")
    arguments = parser.parse_args()
    started = time.perf_counter()
    if arguments.save:
        arguments.save.mkdir(parents=True, exist_ok=True)
    findings = run(arguments.count, arguments.seed, arguments.timeout, arguments.save)
    elapsed = time.perf_counter() - started
    lines = [
        f"Fuzzed {arguments.count:,} mutated programs (seed {arguments.seed}) in {elapsed:.0f} s.",
        "",
        f"Time limit per program: {arguments.timeout:.0f} s; {SHOTS} shots on H1-1E.",
        "",
        "| outcome | programs |",
        "|---|---|",
        *(f"| {kind} | {n:,} |" for kind, n in findings.outcomes.most_common()),
    ]
    for kind, language, program in findings.problems[:10]:
        lines.append(f"\nFinding ({language}): {kind}\n```\n{program[:400]}\n```")
    summary = "\n".join(lines)
    print(summary)
    if arguments.report:
        arguments.report.write_text(summary + "\n")
    return 1 if findings.problems else 0


if __name__ == "__main__":
    sys.exit(main())
