"""Jobs for tests through the real client, and waiting for them the way a patient user would,
without the client's 5-second polls."""

from __future__ import annotations

import time

from pytket.backends.backend import ResultHandle
from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit
from pytket.extensions.quantinuum import QuantinuumBackend

DONE = {StatusEnum.COMPLETED, StatusEnum.ERROR, StatusEnum.CANCELLED}


def wait_until_done(
    backend: QuantinuumBackend, handle: ResultHandle, timeout: float = 120
) -> StatusEnum:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = backend.circuit_status(handle).status
        if status in DONE:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {handle[0]} did not finish within {timeout} s")


def small_circuit() -> Circuit:
    return Circuit(2).PhasedX(0.5, 0.0, 0).ZZPhase(0.5, 0, 1).measure_all()


def slow_circuit() -> Circuit:
    """Each qubit measured mid-circuit, then turned again: the random outcomes split the shots
    into up to 2^12 groups, each simulated on its own, so each job runs for a while (a program
    whose measurements come last settles them in one go, however many shots)."""
    circuit = Circuit(12)
    middle = circuit.add_c_register("middle", 12)
    for qubit in range(12):
        circuit.PhasedX(0.5, 0.1 * qubit, qubit)
    for qubit in range(11):
        circuit.ZZPhase(0.3, qubit, qubit + 1)
    for qubit in range(12):
        circuit.Measure(qubit, middle[qubit])
        circuit.PhasedX(0.5, 0.0, qubit)
    for qubit in range(11):
        circuit.ZZPhase(0.3, qubit, qubit + 1)
    return circuit.measure_all()
