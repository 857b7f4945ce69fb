"""The plainest programs pytket writes, read without a grammar.

pytket's QASM reader parses with a lark grammar, token by token: 10 ms for the seed job's 23
statements, most of a small job's whole run. The programs pytket writes for the H-Series are
mostly register declarations, native gates whose angles are multiples of pi, measurements and
resets. For a program made only of those, this module builds the same pytket circuit with
pytket's own API; anything else (a comment, an expression, a broadcast, any other statement)
makes it decline, and the program goes to pytket's reader. ``tests/unit/test_frontend_qasm_plain``
checks that both give the same circuit on random programs of these statements.
"""

from __future__ import annotations

import re

from pytket._tket.circuit import Circuit, OpType
from pytket._tket.unit_id import Bit, Qubit

from qstation.circuit.program import MAX_REGISTER_WIDTH

_HEADER = ("OPENQASM 2.0", 'include "hqslib1.inc"')
_NAME = r"[a-z][A-Za-z0-9_]*"
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ANGLE = re.compile(rf"(-?)(?:({_NUMBER})\*)?pi")  # x*pi is x half-turns, exactly
_DECLARATION = re.compile(rf"(qreg|creg) ({_NAME})\[(\d+)\]")
_GATE = re.compile(rf"([A-Za-z][A-Za-z0-9]*)(?:\(([^()]*)\))? ({_NAME}\[\d+\](?:,{_NAME}\[\d+\])*)")
_MEASURE = re.compile(rf"measure ({_NAME})\[(\d+)\] -> ({_NAME})\[(\d+)\]")
_RESET = re.compile(rf"reset ({_NAME})\[(\d+)\]")
_ARGUMENT = re.compile(rf"({_NAME})\[(\d+)\]")

# name -> (pytket type, parameters, qubits), as hqslib1.inc defines them for pytket's reader
_GATES = {
    "U1q": (OpType.PhasedX, 2, 1),
    "rz": (OpType.Rz, 1, 1),
    "Rz": (OpType.Rz, 1, 1),
    "RZZ": (OpType.ZZPhase, 1, 2),
    "ZZ": (OpType.ZZMax, 0, 2),
}


class _Decline(Exception):
    """The program is not plain: pytket's reader takes it."""


def plain_circuit(text: str) -> Circuit | None:
    """The circuit of a plain program, as pytket's reader would build it; None otherwise."""
    if "//" in text or "/*" in text:
        return None
    statements = [" ".join(part.split()) for part in text.split(";")]
    if statements[-1]:
        return None  # text after the last semicolon
    statements.pop()
    if tuple(statements[:2]) != _HEADER:
        return None
    circuit = Circuit()
    sizes: dict[str, tuple[str, int]] = {}
    try:
        for statement in statements[2:]:
            _add(circuit, statement, sizes)
    except _Decline:
        return None
    return circuit


def _add(circuit: Circuit, statement: str, sizes: dict[str, tuple[str, int]]) -> None:
    if match := _DECLARATION.fullmatch(statement):
        kind, name, size = match[1], match[2], int(match[3])
        if name in sizes or size == 0 or (kind == "creg" and size > MAX_REGISTER_WIDTH):
            raise _Decline
        sizes[name] = (kind, size)
        if kind == "qreg":
            circuit.add_q_register(name, size)
        else:
            circuit.add_c_register(name, size)
    elif match := _MEASURE.fullmatch(statement):
        qubit = Qubit(match[1], _index(sizes, "qreg", match[1], match[2]))
        circuit.Measure(qubit, Bit(match[3], _index(sizes, "creg", match[3], match[4])))
    elif match := _RESET.fullmatch(statement):
        circuit.Reset(Qubit(match[1], _index(sizes, "qreg", match[1], match[2])))
    elif match := _GATE.fullmatch(statement):
        gate = _GATES.get(match[1])
        if gate is None:
            raise _Decline
        optype, n_params, n_qubits = gate
        params = [] if match[2] is None else [_half_turns(p) for p in match[2].split(",")]
        qubits = [
            Qubit(name, _index(sizes, "qreg", name, index))
            for name, index in _ARGUMENT.findall(match[3])
        ]
        if len(params) != n_params or len(qubits) != n_qubits or len(set(qubits)) != n_qubits:
            raise _Decline
        circuit.add_gate(optype, params, qubits)
    else:
        raise _Decline


def _index(sizes: dict[str, tuple[str, int]], kind: str, name: str, index: str) -> int:
    if sizes.get(name, ("", 0))[0] != kind or int(index) >= sizes[name][1]:
        raise _Decline
    return int(index)


def _half_turns(angle: str) -> float:
    match = _ANGLE.fullmatch(angle.strip())
    if match is None:
        raise _Decline
    value = float(match[2]) if match[2] else 1.0
    return -value if match[1] else value
