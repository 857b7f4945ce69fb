"""Memory errors: dephasing while a qubit waits for, or is carried to, a two-qubit gate.

The emulator documentation names the channel (coherent quadratic dephasing ``RZ(f * d)`` plus
linear dephasing during transport and idling) but not the machine's timing, so qstation uses
this schedule, stated in docs/noise-model.md:

- time passes in *rounds* of :data:`ROUND_MS` milliseconds, one per layer of two-qubit gates;
  one-qubit gates, measurements and resets take no round;
- a two-qubit gate runs in the first round in which both its qubits are free and a gate zone
  (the device's ``n_gate_zones``) is left; its qubits are then busy for that round;
- before the gate, each of its qubits has idled for the rounds it waited (``idle_dephasing``)
  and is transported for one round (``transport_dephasing``): ``duration`` milliseconds in all.

Over ``duration`` a qubit turns by ``RZ(quadratic_rate * duration)`` (coherent: the same in
every shot, so an error that grows with the square of the time) and suffers Z with probability
``linear_rate * duration``. Without ``coherent_dephasing``, or on the stabilizer engine, which
cannot hold a rotation, the rotation is replaced by Z with probability ``factor * sin^2(angle /
2)``, ``factor`` the ``coherent_to_incoherent_factor``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace

from qstation.circuit.program import Conditional, Gate, Operation, Program, unconditioned
from qstation.noise.model import NoiseModel

ROUND_MS = 0.25
"""One layer of transport and two-qubit gates. With H1-1E's quadratic rate (0.122) an idle
round turns a qubit by 0.03 rad, an error of 2.3e-4: the size of the memory error published
for the H1 machines."""


@dataclass(frozen=True)
class Dephasing:
    """``qubit`` dephases for ``duration`` ms just before the operation at ``position``."""

    position: int
    qubit: int
    duration: float


def dephasing_periods(program: Program, model: NoiseModel) -> list[Dephasing]:
    """Every qubit's dephasing before each multi-qubit gate, from the schedule above."""
    if not model.dephases:
        return []
    free: dict[int, int] = defaultdict(int)  # the first round a qubit is free
    busy: dict[int, int] = defaultdict(int)  # two-qubit gates running in a round
    periods = []
    for position, operation in enumerate(map(unconditioned, program.operations)):
        if not isinstance(operation, Gate) or len(operation.qubits) < 2:
            continue
        round_ = max(free[q] for q in operation.qubits)
        while model.gate_zones and busy[round_] >= model.gate_zones:
            round_ += 1
        busy[round_] += 1
        for qubit in operation.qubits:
            rounds = (round_ - free[qubit] if model.idle_dephasing else 0) + (
                1 if model.transport_dephasing else 0
            )
            if rounds:
                periods.append(Dephasing(position, qubit, rounds * ROUND_MS))
            free[qubit] = round_ + 1
    return periods


def coherent_angle(model: NoiseModel, duration: float) -> float:
    """The rotation (radians) of quadratic dephasing over ``duration`` ms."""
    return model.quadratic_dephasing_rate * duration


def z_probability(model: NoiseModel, duration: float, holds_rotations: bool) -> float:
    """The probability of a Z over ``duration`` ms: linear dephasing, and the rotation's
    incoherent stand-in unless the rotation is coherent and the engine (``holds_rotations``)
    runs it as a gate (:func:`with_dephasing_points`)."""
    linear = min(1.0, model.linear_dephasing_rate * duration)
    if holds_rotations and model.coherent_dephasing:
        return linear
    half = coherent_angle(model, duration) / 2
    quadratic = min(1.0, model.coherent_to_incoherent_factor * math.sin(half) ** 2)
    return linear + quadratic - 2 * linear * quadratic  # one or the other, not both


def with_dephasing_points(program: Program, model: NoiseModel, holds_rotations: bool) -> Program:
    """``program`` with an ``Rz`` just before each gate a qubit dephases before, under the
    gate's condition: the coherent rotation when the engine ``holds_rotations`` and the
    model's dephasing is coherent, else ``Rz(0)``. Either way the period's Z faults come right
    after it (:func:`~qstation.noise.faults.plan_noise`), so they happen exactly in the shots
    where the gate runs."""
    if not model.dephases:
        return program
    rotations: dict[int, list[Dephasing]] = defaultdict(list)
    for period in dephasing_periods(program, model):
        rotations[period.position].append(period)
    coherent = holds_rotations and model.coherent_dephasing
    operations: list[Operation] = []
    for position, operation in enumerate(program.operations):
        for period in rotations.get(position, []):
            turns = coherent_angle(model, period.duration) / math.pi if coherent else 0.0
            operations.append(_as_taken(operation, Gate("Rz", (period.qubit,), (turns,))))
        operations.append(operation)
    return replace(program, operations=tuple(operations))


def _as_taken(operation: Operation, rotation: Gate) -> Operation:
    """``rotation`` under the same (possibly nested) condition as ``operation``."""
    if isinstance(operation, Conditional):
        return replace(operation, operation=_as_taken(operation.operation, rotation))
    return rotation
