"""HQC cost, by the published formula.

``HQC = 5 + C · (N1q + 10·N2q + 5·Nm) / 5000`` with C the shots, N1q the single-qubit gates
(``Rz`` included, as pytket's gate counts do), N2q the native two-qubit gates and Nm the state
preparations, measurements and resets, counting one implicit preparation per qubit. Conditional
operations are charged whether or not they run: the formula charges every branch.

Standard gates (QIR's ``h``, ``cnot``, ...) are charged as the native gates they stand for
(:attr:`qstation.circuit.gates.GateSpec.charged`): one single-qubit gate each for ``H``, ``Rx``
and the like, one two-qubit gate for ``CX`` or ``CZ``. That approximates what compiling them to
the native gate set would give (which adds single-qubit gates around each two-qubit one, and may
merge or cancel others). A job with ``tket-opt-level`` is charged after that optimisation, which
rebases its unconditional gates to native ones.
"""

from __future__ import annotations

from qstation.circuit.gates import GATES
from qstation.circuit.program import Gate, Measure, Program, Reset, unconditioned


def hqc_cost(program: Program, shots: int) -> float:
    one_qubit = two_qubit = state_operations = 0
    for operation in map(unconditioned, program.operations):
        if isinstance(operation, Gate):
            charged = GATES[operation.name].charged
            one_qubit += charged.one_qubit
            two_qubit += charged.two_qubit
        elif isinstance(operation, Measure | Reset):
            state_operations += 1
    state_operations += program.n_qubits
    return 5 + shots * (one_qubit + 10 * two_qubit + 5 * state_operations) / 5000


def format_cost(cost: float) -> str:
    """Costs go over the wire as 2-decimal strings, as the real service sends them."""
    return f"{cost:.2f}"
