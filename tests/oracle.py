"""An independent oracle: pytket circuits run directly over computational-basis states.

Written for the tests, sharing nothing with qstation: it walks the pytket circuit's own
commands. It accepts only gates that keep basis states basis states (``PhasedX(1, φ)`` flips,
``Rz`` and ``ZZ`` phases do nothing to them), so every shot of such a circuit is determined and
the oracle's answer is exact.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytket.circuit import Bit, Circuit, ClBitVar, ClExpr, ClOp, ClRegVar, Op, OpType, Qubit

_WORD = (1 << 64) - 1


class BasisStateOracle:
    def __init__(self, circuit: Circuit) -> None:
        self.circuit = circuit
        self.qubits = {qubit: 0 for qubit in circuit.qubits}
        self.bits = {bit: 0 for bit in circuit.bits}

    def run(self) -> dict[Bit, int]:
        for command in self.circuit.get_commands():
            self._apply(command.op, command.args)
        return self.bits

    def register_values(self) -> dict[str, int]:
        values: dict[str, int] = {}
        for bit, value in self.run().items():
            values[bit.reg_name] = values.get(bit.reg_name, 0) | (value << bit.index[0])
        return values

    def _value(self, bits: Sequence[Bit]) -> int:
        return sum(self.bits[bit] << i for i, bit in enumerate(bits))

    def _apply(self, op: Op, args: Sequence[Qubit | Bit]) -> None:
        kind = op.type
        if kind == OpType.Conditional:
            condition = [b for b in args[: op.width] if isinstance(b, Bit)]
            if self._value(condition) == op.value:
                self._apply(op.op, args[op.width :])
        elif kind == OpType.PhasedX:
            theta = float(op.params[0]) % 2
            if theta not in (0.0, 1.0):
                raise ValueError("the oracle only runs basis-state circuits")
            if theta == 1.0:
                self.qubits[args[0]] ^= 1
        elif kind in (OpType.Rz, OpType.ZZPhase, OpType.ZZMax, OpType.Barrier):
            pass
        elif kind == OpType.Measure:
            self.bits[args[1]] = self.qubits[args[0]]
        elif kind == OpType.Reset:
            self.qubits[args[0]] = 0
        elif kind == OpType.SetBits:
            for bit, value in zip(args, op.values, strict=True):
                self.bits[bit] = int(value)
        elif kind == OpType.CopyBits:
            half = len(args) // 2
            values = [self.bits[b] for b in args[:half]]
            for bit, value in zip(args[half:], values, strict=True):
                self.bits[bit] = value
        elif kind == OpType.RangePredicate:
            self.bits[args[-1]] = int(op.lower <= self._value(args[:-1]) <= op.upper)
        elif kind == OpType.ClExpr:
            self._expression(op, args)
        else:
            raise ValueError(f"the oracle does not know {kind}")

    def _expression(self, op: Op, args: Sequence[Bit]) -> None:
        wired = op.expr
        outputs = [args[p] for p in wired.output_posn]
        value = self._evaluate(wired, wired.expr, args, len(outputs))
        for i, bit in enumerate(outputs):
            self.bits[bit] = (value >> i) & 1

    def _evaluate(self, wired: object, term: object, args: Sequence[Bit], width: int) -> int:
        if isinstance(term, int):
            return term
        if isinstance(term, ClBitVar):
            return self.bits[args[wired.bit_posn[term.index]]]  # type: ignore[attr-defined]
        if isinstance(term, ClRegVar):
            return self._value([args[p] for p in wired.reg_posn[term.index]])  # type: ignore[attr-defined]
        assert isinstance(term, ClExpr)
        values = [self._evaluate(wired, a, args, width) for a in term.args]
        mask = (1 << width) - 1
        operations = {
            ClOp.BitAnd: lambda a, b: a & b, ClOp.RegAnd: lambda a, b: a & b,
            ClOp.BitOr: lambda a, b: a | b, ClOp.RegOr: lambda a, b: a | b,
            ClOp.BitXor: lambda a, b: a ^ b, ClOp.RegXor: lambda a, b: a ^ b,
            ClOp.RegAdd: lambda a, b: (a + b) & _WORD, ClOp.RegSub: lambda a, b: (a - b) & _WORD,
            ClOp.RegMul: lambda a, b: (a * b) & _WORD,
            ClOp.RegEq: lambda a, b: int(a == b), ClOp.RegNeq: lambda a, b: int(a != b),
            ClOp.RegLt: lambda a, b: int(a < b), ClOp.RegGt: lambda a, b: int(a > b),
            ClOp.RegLeq: lambda a, b: int(a <= b), ClOp.RegGeq: lambda a, b: int(a >= b),
            ClOp.RegLsh: lambda a, b: (a << b) & _WORD if b < 64 else 0,
            ClOp.RegRsh: lambda a, b: a >> b,
        }  # fmt: skip
        if term.op in (ClOp.BitNot, ClOp.RegNot):
            return ~values[0] & mask
        return operations[term.op](*values)
