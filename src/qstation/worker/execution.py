"""One execution attempt of a job: compile, optimise, check, cost and run.

This runs inside the disposable child process, so whatever it does (a crash, running out of
memory) cannot take down the worker or the server. Every failure becomes a ``failed`` outcome
whose error names the job and the cause.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qstation.circuit.optimise import OPTIMISATION_LEVELS, optimise
from qstation.circuit.program import Program
from qstation.devices.catalogue import Device
from qstation.devices.cost import format_cost, hqc_cost
from qstation.devices.validation import check_program_fits
from qstation.engines.protocol import EngineLimits, Truncating
from qstation.engines.registry import engine_kind, unknown_engine
from qstation.engines.wasm import WasmModule
from qstation.errors import CompileError, CostLimitExceeded, ExecutionError, JobFailure
from qstation.frontends import compile_program
from qstation.model import ExecutionOutcome, JobRecord, JobStatus
from qstation.noise.model import NoiseModel, noise_model


@dataclass(frozen=True)
class ExecutionLimits:
    memory_bytes: int
    """The address space one execution may add (``QSTATION_EXECUTION_MEMORY_BYTES``)."""
    max_result_bytes: int
    """The largest result a job may have (``QSTATION_MAX_RESULT_BYTES``)."""
    processes: int = 1
    """Processes one execution may split its shots over (``QSTATION_EXECUTION_PROCESSES``)."""


def execute(
    job: JobRecord,
    device: Device,
    limits: ExecutionLimits,
    on_compiled: Callable[[], None] = lambda: None,
    shots: range | None = None,
) -> ExecutionOutcome:
    """Run one attempt of the job's ``shots`` (all by default): its results are those shots,
    its cost the whole job's. ``on_compiled`` marks the end of the compile phase for the
    supervisor."""
    shots = range(job.count) if shots is None else shots
    try:
        program = prepare_program(job, device)
        wasm = load_wasm(program, job)
        noise = noise_model(device, job.options)
        unknown = unknown_engine(job.options)
        if unknown is not None:  # submitted before the name was checked at submission
            raise CompileError(unknown)
        on_compiled()
        check_result_size(program, job.count, limits.max_result_bytes)
        cost = hqc_cost(program, job.count)
        if device.credits is not None and job.max_cost is not None and cost > job.max_cost:
            raise CostLimitExceeded(
                f"it costs {format_cost(cost)} HQCs, above its max-cost of "
                f"{format_cost(job.max_cost)}"
            )
        if device.is_syntax_checker:
            results, truncation_error = all_zero_results(program, len(shots)), None
        else:
            engine_limits = EngineLimits(limits.memory_bytes, limits.processes)
            results, truncation_error = emulate(
                program, job, shots, device, engine_limits, wasm, noise
            )
    except JobFailure as failure:
        return ExecutionOutcome(JobStatus.FAILED, error=failure.job_error(job.id))
    return ExecutionOutcome(
        JobStatus.COMPLETED, results=results, cost=cost, credits=device.credits,
        truncation_error=truncation_error,
    )  # fmt: skip


def prepare_program(job: JobRecord, device: Device) -> Program:
    """The program as the device will run it: translated, optimised if asked, checked."""
    program = compile_program(job.language, job.program)
    level = job.options.get("tket-opt-level")
    if level is not None:
        if level not in OPTIMISATION_LEVELS or isinstance(level, bool):
            raise CompileError(
                f"tket-opt-level must be one of {OPTIMISATION_LEVELS}, not {level!r}"
            )
        program = optimise(program, level)
    check_program_fits(program, device)
    return program


def load_wasm(program: Program, job: JobRecord) -> WasmModule | None:
    """The job's WASM module (``cfl``), checked against every call the program makes."""
    calls = program.wasm_calls()
    if not calls:
        return None
    if job.cfl is None:
        raise CompileError(
            f"the program calls WASM function {calls[0].function!r}, "
            "but the job carries no WASM module (cfl)"
        )
    module = WasmModule(job.cfl)
    for call in calls:
        module.check(call)
    return module


def check_result_size(program: Program, count: int, max_result_bytes: int) -> None:
    """Refuse a job whose results (one character per output bit per shot) would pass the
    limit, before any shot runs."""
    bits = sum(record.width for record in program.outputs().values())
    if bits * count > max_result_bytes:
        raise ExecutionError(
            f"its results would take {bits * count:,} bytes ({count:,} shots of {bits:,} output "
            f"bits), above the limit of {max_result_bytes:,} (QSTATION_MAX_RESULT_BYTES)"
        )


def all_zero_results(program: Program, shots: int) -> dict[str, list[str]]:
    """What a syntax checker returns: every output zero in every shot."""
    return {label: ["0" * record.width] * shots for label, record in program.outputs().items()}


def emulate(
    program: Program,
    job: JobRecord,
    shots: range,
    device: Device,
    limits: EngineLimits,
    wasm: WasmModule | None,
    noise: NoiseModel,
) -> tuple[dict[str, list[str]], float | None]:
    """Emulators apply their noise model unless the job turns it off, on the engine the job
    names; hardware targets, having no hardware behind them here, run exactly. The results,
    and the truncation error of an engine that truncates (None from an exact one)."""
    engine = engine_kind(job.options).create(limits, job.options)
    engine.fits(program, device)
    results = engine.run(program, len(shots), job.seed, wasm, noise, shots.start)
    return results, engine.truncation_error if isinstance(engine, Truncating) else None
