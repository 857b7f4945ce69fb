"""The engines a job may name in its ``simulator`` option, shared by the submission check and
the worker.

An engine's module is imported only when a worker creates one: the API process checks names
and never loads the numerical kernels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qstation.engines.protocol import Engine, EngineLimits


@dataclass(frozen=True)
class EngineKind:
    name: str
    """The ``simulator`` option's value."""
    summary: str
    create: Callable[[EngineLimits, Mapping[str, Any]], Engine]
    """An engine for a worker's limits, set up by the job's options (an engine reads only its
    own; a bad value is a :class:`~qstation.errors.CompileError`)."""


def _state_vector(limits: EngineLimits, options: Mapping[str, Any]) -> Engine:
    from qstation.engines.statevector import StateVectorEngine  # workers only

    return StateVectorEngine.of(limits.memory_bytes, limits.processes, options)


def _stabilizer(limits: EngineLimits, _options: Mapping[str, Any]) -> Engine:
    from qstation.engines.stabilizer import StabilizerEngine  # a tableau is small: O(qubits²)

    return StabilizerEngine(limits.processes)


def _mps(limits: EngineLimits, options: Mapping[str, Any]) -> Engine:
    from qstation.engines.mps import MPSEngine, MPSOptions  # workers only

    return MPSEngine(limits.memory_bytes, MPSOptions.of(options))


ENGINES: dict[str, EngineKind] = {
    kind.name: kind
    for kind in (
        EngineKind(
            "state-vector",
            "exact state vector, any program, up to the device's state-vector qubits",
            _state_vector,
        ),
        EngineKind(
            "stabilizer",
            "stim's tableau simulator and sampler: Clifford programs, up to the device's qubits",
            _stabilizer,
        ),
        EngineKind(
            "mps",
            "quimb's matrix-product state, truncated to mps-max-bond: wide, shallow programs, "
            "up to the device's qubits",
            _mps,
        ),
    )
}
DEFAULT_ENGINE = "state-vector"


def unknown_engine(options: Mapping[str, Any]) -> str | None:
    """Why the job's ``simulator`` option names no engine; None when it names one (or none,
    which means :data:`DEFAULT_ENGINE`)."""
    name = options.get("simulator", DEFAULT_ENGINE)
    if isinstance(name, str) and name in ENGINES:
        return None
    return f"simulator must be one of {list(ENGINES)}, not {name!r}"


def engine_kind(options: Mapping[str, Any]) -> EngineKind:
    """The engine the job's options name (check with :func:`unknown_engine` first)."""
    return ENGINES[options.get("simulator", DEFAULT_ENGINE)]
