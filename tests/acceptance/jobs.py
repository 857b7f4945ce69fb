"""Waiting for jobs the way a patient user would, without the client's 5-second polls."""

from __future__ import annotations

import time

from pytket.backends.backend import ResultHandle
from pytket.backends.status import StatusEnum
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
