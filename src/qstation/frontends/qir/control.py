"""The control-flow graph of a QIR entry point, as the translator flattens it.

A program is one flat list of operations, so the translator lays the blocks of the entry point
out in a topological order of the graph and runs each block in the shots that reach it. A block
on every path from the entry to a ``ret`` (the entry itself, the join after an ``if``) always
runs; any other block runs under a reaching condition built from the guards of its incoming
edges. That is exact because the graph is acyclic, so each block runs at most once per shot and
every value it defines keeps its value afterwards: loops are refused.

Only the blocks the entry reaches are kept. A branch on a constant keeps both edges, one never
taken: the adaptive profile of pytket-qir folds the condition on a register nothing has written
yet to ``false``, and OPENQASM still has that ``if``, so the operations stay, conditional, and
cost the same in both languages. The blocks the entry reaches must end in ``br``, ``switch`` or
``ret``; a ``ret`` ends a path.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import pyqir

from qstation.errors import CompileError
from qstation.frontends.qir.operands import int_width, mnemonic

Block = pyqir.BasicBlock


@dataclass(frozen=True, slots=True)
class Guard:
    """When an edge is taken, given that its source block runs.

    The edge is taken when ``value`` (the integer its terminator branches on) is one of
    ``cases`` or, if ``negated``, when it is none of them. Without a ``value`` it always is.
    """

    value: pyqir.Value | None
    cases: frozenset[int] = frozenset()
    negated: bool = False


ALWAYS = Guard(None)


@dataclass(frozen=True)
class ControlFlow:
    order: list[Block]
    """The blocks the entry reaches, in a topological order that keeps the layout where it can."""
    predecessors: dict[Block, list[tuple[Block, Guard]]]
    """Each block's incoming edges, one per predecessor, in ``order``."""
    always: set[Block]
    """The blocks on every path from the entry to a ``ret``."""
    labels: dict[Block, str]
    """Each block's label as LLVM prints it, without the ``%``."""
    names: dict[pyqir.Value, str]
    """The name LLVM prints for each instruction that has a value (``%x`` or ``%7``)."""


def analyse(blocks: list[Block]) -> ControlFlow:
    """The control flow of a function whose blocks, entry first, are ``blocks``."""
    labels, names = _names(blocks)
    successors = _reachable(blocks[0], labels)
    order = _topological(successors, blocks)
    predecessors: dict[Block, list[tuple[Block, Guard]]] = {block: [] for block in order}
    for source in order:
        for target, guard in successors[source].items():
            predecessors[target].append((source, guard))
    return ControlFlow(order, predecessors, _always(order, successors), labels, names)


def control_flow_error(opcode: pyqir.Opcode) -> CompileError:
    return CompileError(f"QIR control flow ({mnemonic(opcode)}) is not supported")


def _names(blocks: list[Block]) -> tuple[dict[Block, str], dict[pyqir.Value, str]]:
    """LLVM's numbering: unnamed blocks and unnamed values share one counter, in layout order."""
    labels: dict[Block, str] = {}
    names: dict[pyqir.Value, str] = {}
    number = 0
    for block in blocks:
        if block.name:
            labels[block] = block.name
        else:
            labels[block], number = str(number), number + 1
        for instruction in block.instructions:
            if instruction.type.is_void:
                continue
            if instruction.name:
                names[instruction] = f"%{instruction.name}"
            else:
                names[instruction], number = f"%{number}", number + 1
    return labels, names


def _successors(block: Block, labels: dict[Block, str]) -> dict[Block, Guard]:
    """The edges out of ``block`` that can be taken, one per target, each with its guard."""
    terminator = block.terminator
    if terminator is None:  # pragma: no cover - the verifier requires a terminator
        raise CompileError(f"block '{labels[block]}' has no terminator")
    opcode = terminator.opcode
    if opcode == pyqir.Opcode.RET:
        return {}
    if opcode == pyqir.Opcode.BR:
        operands = terminator.operands
        if len(operands) == 1:
            return {_block(operands[0]): ALWAYS}
        condition, if_false, if_true = operands  # LLVM keeps the false target first
        return _guards(condition, {_block(if_true): {1}}, _block(if_false))
    if isinstance(terminator, pyqir.Switch):
        int_width(terminator.cond.type, "a switch condition")
        cases: dict[Block, set[int]] = {}
        for value, target in terminator.cases:
            cases.setdefault(target, set()).add(value.value)
        return _guards(terminator.cond, cases, terminator.default)
    raise control_flow_error(opcode)


def _block(value: pyqir.Value) -> Block:
    if not isinstance(value, Block):  # pragma: no cover - the verifier checks branch targets
        raise CompileError("a branch target is not a basic block")
    return value


def _guards(value: pyqir.Value, cases: dict[Block, set[int]], default: Block) -> dict[Block, Guard]:
    """Guards for branching on ``value``: to the block of its case, else to ``default``."""
    every_case = frozenset().union(*cases.values())
    guards: dict[Block, Guard] = {}
    for target, values in cases.items():
        if target == default:  # also the default: taken unless another target's case matches
            guards[target] = Guard(value, every_case - values, negated=True)
        else:
            guards[target] = Guard(value, frozenset(values))
    guards.setdefault(default, Guard(value, every_case, negated=True))
    return {
        target: ALWAYS if guard.negated and not guard.cases else guard
        for target, guard in guards.items()
    }


def _reachable(entry: Block, labels: dict[Block, str]) -> dict[Block, dict[Block, Guard]]:
    """The successors of every block the entry reaches; a depth-first walk refuses loops."""
    successors = {entry: _successors(entry, labels)}
    on_path = {entry}
    stack = [(entry, iter(successors[entry]))]
    while stack:
        block, pending = stack[-1]
        target = next(pending, None)
        if target is None:
            stack.pop()
            on_path.discard(block)
        elif target in on_path:
            raise CompileError(
                f"QIR loops are not supported: block '{labels[block]}' "
                f"branches back to '{labels[target]}'"
            )
        elif target not in successors:
            successors[target] = _successors(target, labels)
            on_path.add(target)
            stack.append((target, iter(successors[target])))
    return successors


def _topological(successors: dict[Block, dict[Block, Guard]], blocks: list[Block]) -> list[Block]:
    """Kahn's order, taking the earliest ready block in the layout: a layout that is already
    topological, as pytket-qir writes it, is kept as it is."""
    layout = {block: index for index, block in enumerate(blocks)}
    waiting = dict.fromkeys(successors, 0)  # predecessors not yet placed
    for targets in successors.values():
        for target in targets:
            waiting[target] += 1
    ready = [layout[block] for block, count in waiting.items() if count == 0]  # the entry
    order: list[Block] = []
    while ready:
        block = blocks[heapq.heappop(ready)]
        order.append(block)
        for target in successors[block]:
            waiting[target] -= 1
            if waiting[target] == 0:
                heapq.heappush(ready, layout[target])
    return order


def _always(order: list[Block], successors: dict[Block, dict[Block, Guard]]) -> set[Block]:
    """The blocks on every path from the entry to a ``ret``.

    Every block here is reached from the entry and, the graph being acyclic with every path
    ending in a ``ret``, reaches a virtual exit after the last block. In a topological order, a
    path from the entry to the exit avoids a block exactly when one of its edges jumps over the
    block's position, and every edge lies on some such path: the blocks always run are those no
    edge jumps over.
    """
    position = {block: index for index, block in enumerate(order)}
    exit_position = len(order)
    jumps = [0] * (len(order) + 1)  # jumps[i]: edges that start over position i, minus ends
    for block in order:
        start = position[block] + 1
        for end in [position[target] for target in successors[block]] or [exit_position]:
            if start < end:
                jumps[start] += 1
                jumps[end] -= 1
    always: set[Block] = set()
    over = 0
    for index, block in enumerate(order):
        over += jumps[index]
        if over == 0:
            always.add(block)
    return always
