"""Server-side TKET optimisation for the ``tket-opt-level`` job option.

Each maximal run of gates between measurements, resets, barriers and classical operations is a
unitary block; pytket optimises each block at the requested level and rebases it to the native
gates. Blocks are optimised separately so the measurement, reset and classical structure of the
program is kept exactly, whichever front end produced it.

A block without multi-qubit gates is only squashed, qubit by qubit, into native one-qubit gates:
that is all levels 1 and 2 can do to it, and pytket's full passes cost tens of milliseconds
even on ten lone one-qubit gates (the seed job's whole circuit).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from pytket.circuit import Circuit, OpType
from pytket.passes import (
    AutoRebase,
    AutoSquash,
    BasePass,
    FullPeepholeOptimise,
    RemoveRedundancies,
    SequencePass,
    SynthesiseTK,
)

from qstation.circuit.gates import GATE_BY_OPTYPE, GATES
from qstation.circuit.program import Gate, Operation, Program

OPTIMISATION_LEVELS = (0, 1, 2)
_NATIVE_TARGET = {OpType.PhasedX, OpType.Rz, OpType.ZZPhase}


@cache
def _level_pass(level: int, single_qubit_block: bool) -> BasePass:
    rebase = AutoRebase(_NATIVE_TARGET)
    squash = AutoSquash({OpType.PhasedX, OpType.Rz})
    if level == 0:
        return rebase
    if single_qubit_block:
        return SequencePass([rebase, squash, RemoveRedundancies()])
    if level == 1:
        return SequencePass([SynthesiseTK(), rebase, squash, RemoveRedundancies()])
    # No implicit swaps: a block is read back gate by gate, so a qubit relabelling would be lost.
    peephole = FullPeepholeOptimise(allow_swaps=False, target_2qb_gate=OpType.TK2)
    return SequencePass([peephole, rebase, squash, RemoveRedundancies()])


def optimise(program: Program, level: int) -> Program:
    """The program with every unitary block optimised at ``level`` (0, 1 or 2)."""
    operations: list[Operation] = []
    block: list[Gate] = []
    for operation in (*program.operations, None):
        if isinstance(operation, Gate):
            block.append(operation)
            continue
        if block:
            single_qubit = all(len(gate.qubits) == 1 for gate in block)
            compilation = _level_pass(level, single_qubit)
            operations.extend(_optimise_block(block, program.n_qubits, compilation))
            block = []
        if operation is not None:
            operations.append(operation)
    return replace(program, operations=tuple(operations))


def _optimise_block(block: list[Gate], n_qubits: int, compilation: BasePass) -> list[Gate]:
    circuit = Circuit(n_qubits)
    for gate in block:
        circuit.add_gate(GATES[gate.name].optype, list(gate.params), list(gate.qubits))
    compilation.apply(circuit)
    return [
        Gate(
            GATE_BY_OPTYPE[command.op.type].name,
            tuple(qubit.index[0] for qubit in command.qubits),
            tuple(float(p) for p in command.op.params),
        )
        for command in circuit.get_commands()
    ]
