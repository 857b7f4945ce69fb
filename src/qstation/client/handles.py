"""Result handles and results in the H-Series client's own formats, so that a handle saved by
either client loads in the other.

A handle is ``ResultHandle(job_id, ppcirc, width, selection)``: the post-processing circuit as
JSON (``"null"`` for none), the number of result bits (-1: every bit of every register), and
the JSON list of ``[register, index]`` pairs that says which bit of which register each result
column is (``""`` or ``"null"``: all of them).
"""

from __future__ import annotations

import json
from typing import Any

from pytket.backends.backendresult import BackendResult
from pytket.backends.resulthandle import ResultHandle
from pytket.circuit import Bit, Circuit
from pytket.utils.outcomearray import OutcomeArray

HANDLE_TYPES = (str, str, int, str)


def make_handle(
    job_id: str, ppcirc: dict[str, Any] | None, selection: list[tuple[str, int]]
) -> ResultHandle:
    return ResultHandle(job_id, json.dumps(ppcirc), len(selection), json.dumps(selection))


def handle_parts(
    handle: ResultHandle,
) -> tuple[str, Circuit | None, list[tuple[str, int]] | None]:
    """The job ID, post-processing circuit and bit selection a handle carries."""
    parts = tuple(handle)  # older handles have two or three parts
    job_id = parts[0]
    ppcirc_text = parts[1] if len(parts) > 1 else ""
    selection_text = parts[3] if len(parts) > 3 else ""
    ppcirc_rep = json.loads(ppcirc_text) if ppcirc_text else None
    ppcirc = Circuit.from_dict(ppcirc_rep) if ppcirc_rep is not None else None
    selection = json.loads(selection_text) if selection_text else None
    if selection is not None:
        selection = [(str(name), int(index)) for name, index in selection]
    return str(job_id), ppcirc, selection


def backend_result(
    results: dict[str, list[str]], ppcirc: Circuit | None, selection: list[tuple[str, int]] | None
) -> BackendResult:
    """Shots from the service's result strings (one per register and shot, the register's bit
    0 last). Without a selection every bit of every register is taken, registers in reverse
    name order and bits from the highest, as the H-Series client does."""
    for register, outcomes in results.items():
        if any("-" in outcome for outcome in outcomes):
            raise ValueError(
                f"register {register} has a negative value: the program wrote a signed result "
                "into it"
            )
    if selection is None:
        selection = [
            (name, index)
            for name in sorted(results, reverse=True)
            for index in range(len(results[name][0]) - 1 if results[name] else -1, -1, -1)
        ]
    shots = len(next(iter(results.values()), []))
    readouts = [
        [int(results[name][shot][-1 - index]) for name, index in selection] for shot in range(shots)
    ]
    return BackendResult(
        c_bits=[Bit(name, index) for name, index in selection],
        shots=OutcomeArray.from_readouts(readouts),
        ppcirc=ppcirc,
    )
