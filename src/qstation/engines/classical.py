"""Classical operations evaluated for all shots at once.

Registers hold one unsigned 64-bit word per shot. Straight-line programs never let a classical
value steer a quantum operation, so the engines settle every measurement first and this module
then replays the classical operations in program order, vectorised over shots.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

from qstation.circuit.program import (
    Assign,
    Binary,
    BitRef,
    BoundRandom,
    CallWasm,
    ClassicalOperation,
    Conditional,
    Const,
    DrawRandom,
    Expression,
    IndexRandom,
    Operation,
    Program,
    ReadBit,
    ReadRegister,
    Record,
    SeedRandom,
    SetBit,
    ShotNumber,
    Unary,
)
from qstation.engines.randomness import mix64, program_random_words, program_stream_seeds
from qstation.engines.wasm import WasmModule, WasmShot

Words = np.ndarray  # uint64, one entry per shot

_ONE = np.uint64(1)
_WORD32 = np.uint64(0xFFFF_FFFF)


def width_mask(width: int) -> np.uint64:
    """The word of a ``width``-bit register's bits: what every write to it keeps."""
    return np.uint64((1 << width) - 1)


def _shift_left(a: Words, b: Words) -> Words:
    return np.where(b < 64, a << np.minimum(b, np.uint64(63)), np.uint64(0))


def _shift_right(a: Words, b: Words) -> Words:
    return np.where(b < 64, a >> np.minimum(b, np.uint64(63)), np.uint64(0))


def _divide(a: Words, b: Words) -> Words:
    return np.where(b == 0, np.uint64(0), a // np.maximum(b, _ONE))


def _remainder(a: Words, b: Words) -> Words:
    return np.where(b == 0, np.uint64(0), a % np.maximum(b, _ONE))


_BINARY: dict[str, Callable[[Words, Words], Words]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "udiv": _divide,
    "urem": _remainder,
    "pow": np.power,  # wraps modulo 2**64, like every other word operation
    "and": np.bitwise_and,
    "or": np.bitwise_or,
    "xor": np.bitwise_xor,
    "shl": _shift_left,
    "lshr": _shift_right,
    "eq": lambda a, b: (a == b).astype(np.uint64),
    "ne": lambda a, b: (a != b).astype(np.uint64),
    "ult": lambda a, b: (a < b).astype(np.uint64),
    "ule": lambda a, b: (a <= b).astype(np.uint64),
    "ugt": lambda a, b: (a > b).astype(np.uint64),
    "uge": lambda a, b: (a >= b).astype(np.uint64),
}


class ClassicalState:
    """Register contents, shot numbers, random streams and WASM instances for a set of
    shots."""

    def __init__(
        self, program: Program, keys: np.ndarray, shots: np.ndarray, wasm: WasmModule | None
    ) -> None:
        """``keys`` are the shots' keys (:func:`shot_keys`); ``shots`` their 0-based indices."""
        self.widths = program.widths()
        self.n_shots = n_shots = keys.size
        self.words = {name: np.zeros(n_shots, dtype=np.uint64) for name in self.widths}
        self.outputs: dict[str, tuple[Words, Record]] = {}
        self.shot_numbers = shots.astype(np.uint64) + _ONE
        self._keys = keys
        self._stream_seeds: Words | None = None
        self.stream_positions = np.zeros(n_shots, dtype=np.uint64)
        self.random_bounds = np.zeros(n_shots, dtype=np.uint64)
        self.active = np.ones(n_shots, dtype=bool)
        """The shots the operation being applied runs in (conditions narrow it)."""
        self.wasm = wasm
        self.wasm_shots: dict[int, WasmShot] = {}

    def subset(self, members: np.ndarray) -> ClassicalState:
        """The state of some of these shots (``members``: their positions here), apart."""
        part = object.__new__(ClassicalState)
        part.widths = self.widths
        part.n_shots = members.size
        part.words = {name: values[members] for name, values in self.words.items()}
        part.outputs = {
            label: (values[members], record) for label, (values, record) in self.outputs.items()
        }
        part.shot_numbers = self.shot_numbers[members]
        part._keys = self._keys[members]
        part._stream_seeds = None if self._stream_seeds is None else self._stream_seeds[members]
        part.stream_positions = self.stream_positions[members]
        part.random_bounds = self.random_bounds[members]
        part.active = self.active[members]
        part.wasm = self.wasm
        part.wasm_shots = {
            new: self.wasm_shots[int(old)]
            for new, old in enumerate(members)
            if int(old) in self.wasm_shots
        }
        return part

    @property
    def stream_seeds(self) -> Words:
        """Each shot's seed for the program's own random numbers: derived from its key the
        first time a program asks (most never draw)."""
        if self._stream_seeds is None:
            self._stream_seeds = program_stream_seeds(self._keys)
        return self._stream_seeds

    @stream_seeds.setter
    def stream_seeds(self, seeds: Words) -> None:
        self._stream_seeds = seeds

    def set_bit(self, target: BitRef, values: Words) -> None:
        bit = np.uint64(1) << np.uint64(target.index)
        current = self.words[target.register]
        self.words[target.register] = (current & ~bit) | ((values & _ONE) * bit)

    def taken(self, operation: Operation) -> np.ndarray:
        """In which shots a (possibly nested) conditional operation runs."""
        taken = np.ones(self.n_shots, dtype=bool)
        while isinstance(operation, Conditional):
            taken &= self.evaluate(operation.condition) != 0
            operation = operation.operation
        return taken

    def evaluate(self, expression: Expression) -> Words:
        match expression:
            case Const(value):
                return np.full(self.n_shots, value & ((1 << 64) - 1), dtype=np.uint64)
            case ReadBit(bit):
                return (self.words[bit.register] >> np.uint64(bit.index)) & _ONE
            case ReadRegister(register):
                return self.words[register].copy()
            case ShotNumber():
                return self.shot_numbers.copy()
            case Unary("not", operand):
                return ~self.evaluate(operand)
            case Unary("neg", operand):
                return np.uint64(0) - self.evaluate(operand)
            case Binary(operator, left, right):
                return np.asarray(
                    _BINARY[operator](self.evaluate(left), self.evaluate(right)), dtype=np.uint64
                )
        raise AssertionError(f"unknown expression {expression!r}")  # pragma: no cover

    def apply(self, operation: ClassicalOperation | Conditional) -> None:
        match operation:
            case Assign(register, value):
                self.words[register] = self.evaluate(value) & width_mask(self.widths[register])
            case SetBit(target, value):
                self.set_bit(target, self.evaluate(value))
            case Record(label, value, width):
                self.outputs[label] = (self.evaluate(value) & width_mask(width), operation)
            case Conditional(condition, inner):
                self._apply_where(self.evaluate(condition) != 0, inner)
            case SeedRandom(seed):
                self.stream_seeds = self.evaluate(seed)
                self.stream_positions = np.zeros(self.n_shots, dtype=np.uint64)
            case BoundRandom(bound):
                self.random_bounds = self.evaluate(bound) & _WORD32
            case IndexRandom(index):
                self.stream_positions = self.evaluate(index)
            case DrawRandom(register, bound):
                bounds = self.random_bounds if bound is None else self.evaluate(bound) & _WORD32
                words = program_random_words(self.stream_seeds, self.stream_positions)
                self.stream_positions = self.stream_positions + _ONE
                drawn = np.where(bounds == 0, words & _WORD32, words % np.maximum(bounds, _ONE))
                self.words[register] = drawn & width_mask(self.widths[register])
            case CallWasm():
                self._call_wasm(operation)
            case _:
                raise AssertionError(f"not a classical operation: {operation!r}")

    def _call_wasm(self, call: CallWasm) -> None:
        """Call the function in each active shot's own instance, one shot after another."""
        assert self.wasm is not None, "programs with WASM calls run with their module"
        arguments = [self.evaluate(argument) for argument in call.arguments]
        results = {register: self.words[register].copy() for register in call.results}
        for shot in map(int, np.flatnonzero(self.active)):
            instance = self.wasm_shots.get(shot)
            if instance is None:
                instance = self.wasm.new_shot(int(self.shot_numbers[shot]))
                self.wasm_shots[shot] = instance
            returned = instance.call(call.function, [int(values[shot]) for values in arguments])
            for register, value in zip(call.results, returned, strict=False):
                results[register][shot] = value & int(width_mask(self.widths[register]))
        self.words.update(results)

    def _apply_where(self, taken: np.ndarray, operation: Operation) -> None:
        """Apply ``operation`` in the shots where ``taken``; the others keep their values."""
        words, outputs = dict(self.words), dict(self.outputs)
        streams = (self.stream_seeds, self.stream_positions, self.random_bounds)
        active = self.active
        self.active = active & taken
        self.apply(operation)  # type: ignore[arg-type]  # only classical operations get here
        self.active = active
        for name, changed in self.words.items():
            if changed is not words[name]:
                self.words[name] = np.where(taken, changed, words[name])
        self.stream_seeds, self.stream_positions, self.random_bounds = (
            np.where(taken, now, before)
            for now, before in zip(
                (self.stream_seeds, self.stream_positions, self.random_bounds), streams, strict=True
            )
        )
        for label, entry in self.outputs.items():
            if entry is not outputs.get(label):
                values, record = entry
                previous = outputs[label][0] if label in outputs else np.zeros_like(values)
                self.outputs[label] = (np.where(taken, values, previous), record)


def format_outputs(outputs: dict[str, tuple[Words, Record]]) -> dict[str, list[str]]:
    """Output values as MSB-first binary strings of their recorded width, one per shot; each
    distinct value is written once."""
    formatted: dict[str, list[str]] = {}
    for label, (values, record) in outputs.items():
        distinct, inverse = _distinct(np.ascontiguousarray(values, dtype=np.uint64))
        width = record.width
        if not 0 < width <= 64 or (record.signed and np.any(distinct >> np.uint64(width - 1))):
            texts = [format_output(int(v), record) for v in distinct]
        else:
            texts = []
            for start in range(0, distinct.size, _TEXTS_AT_ONCE):
                digits = _digits(distinct[start : start + _TEXTS_AT_ONCE], width)
                texts += digits.tobytes().decode("ascii").split()
        formatted[label] = np.array(texts, dtype=object)[inverse].tolist()
    return formatted


_TEXTS_AT_ONCE = 1 << 16
"""Distinct values written as one text: bounds the text's copies for outputs of many shots."""


@numba.njit(cache=True, nogil=True)
def _distinct(values: Words) -> tuple[Words, np.ndarray]:
    """The distinct ``values`` in order of first appearance, and where each value is among
    them: one pass with an open-addressing table (a sort costs several times more), its slots
    chosen by SplitMix64's finaliser, so that no regular pattern of values piles up."""
    bits = 1
    while (1 << bits) < 2 * values.size:
        bits += 1
    slots = np.full(1 << bits, -1, dtype=np.int64)
    distinct = np.empty(values.size, dtype=np.uint64)
    inverse = np.empty(values.size, dtype=np.int64)
    count = 0
    for i in range(values.size):
        value = values[i]
        slot = np.int64(mix64(value) >> np.uint64(64 - bits))
        while slots[slot] >= 0 and distinct[slots[slot]] != value:
            slot = (slot + 1) & ((1 << bits) - 1)
        if slots[slot] < 0:
            slots[slot] = count
            distinct[count] = value
            count += 1
        inverse[i] = slots[slot]
    return distinct[:count], inverse


@numba.njit(cache=True, nogil=True)
def _digits(values: Words, width: int) -> np.ndarray:
    """Each value's ``width`` binary digits in ASCII, most significant first, and a space."""
    digits = np.empty((values.size, width + 1), dtype=np.uint8)
    for k in range(values.size):
        for j in range(width):
            digits[k, j] = 48 + np.uint8((values[k] >> np.uint64(width - 1 - j)) & np.uint64(1))
        digits[k, width] = 32
    return digits


def format_output(value: int, record: Record) -> str:
    width = record.width
    if record.signed and value >> (width - 1):
        return "-" + format((1 << width) - value, f"0{width - 1}b")
    return format(value, f"0{width}b")
