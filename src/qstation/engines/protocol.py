"""What every engine offers the worker: a check that a program fits it, and a run.

Engines are picked by the job's ``simulator`` option through :mod:`.registry`, which the
submission check and the worker share, so a name the worker could not run is refused when the
job is submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # the API process imports the registry, not the engines' dependencies
    from qstation.circuit.program import Program
    from qstation.devices.catalogue import Device
    from qstation.engines.wasm import WasmModule
    from qstation.noise.model import NoiseModel


@dataclass(frozen=True)
class EngineLimits:
    memory_bytes: int
    """What one execution process may use (``QSTATION_EXECUTION_MEMORY_BYTES``)."""
    processes: int
    """Processes one execution may split its shots over (``QSTATION_EXECUTION_PROCESSES``)."""


class Engine(Protocol):
    def fits(self, program: Program, device: Device) -> None:
        """Raise :class:`~qstation.errors.ExecutionError`, naming the cause, if this engine
        cannot run ``program`` for ``device``: before any shot runs, not half-way."""

    def run(
        self,
        program: Program,
        n_shots: int,
        seed: int,
        wasm: WasmModule | None,
        noise: NoiseModel,
        first_shot: int,
    ) -> dict[str, list[str]]:
        """Shots ``first_shot`` to ``first_shot + n_shots - 1`` of the job, each the same as
        in a run of the whole job: outputs by label, one binary string per shot."""
        ...


@runtime_checkable
class Truncating(Protocol):
    """An engine that approximates, and says by how much after each :meth:`Engine.run`: the
    figure the job's status reports with its results."""

    truncation_error: float
    """The largest estimated ``1 - fidelity`` of a state the last run's shots were drawn from."""
