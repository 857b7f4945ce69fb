"""OPENQASM 2.0 text as statements, with hqslib1's runtime calls picked out.

pytket's reader cannot read ``RNGseed``/``RNGbound``/``RNGindex``/``RNGnum()``, ``JOB_shotnum``
or WASM calls without the WASM module at hand, and it orders commands by dependency, not by
source, while these calls act on hidden per-shot state (the random stream, the WASM instance)
whose order is the source order. So the text is split into statements here; declarations go
to every pytket parse, runs of ordinary statements are parsed by pytket, and each runtime call
is read by :func:`read_call`, between the runs, exactly where the source has it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qstation.circuit.program import MAX_REGISTER_WIDTH
from qstation.errors import CompileError

_DECLARATION = re.compile(r"(OPENQASM|include|qreg|creg|gate|opaque)\b")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_CONDITION = re.compile(
    rf"if\s*\(\s*(?P<register>{_NAME})\s*(?:\[\s*(?P<index>\d+)\s*\])?\s*"
    r"(?P<operator>==|!=|<=|>=|<|>)\s*(?P<value>\d+)\s*\)\s*"
)
_RANDOM_SETTER = re.compile(
    rf"(?P<function>RNGseed|RNGbound|RNGindex)\s*\(\s*(?P<register>{_NAME})\s*\)"
)
_RANDOM_NUMBER = re.compile(rf"(?P<register>{_NAME})\s*=\s*RNGnum\s*\(\s*\)")
_SHOT_NUMBER = re.compile(rf"(?P<register>{_NAME})\s*=\s*JOB_shotnum")
_EXTERN_CALL = re.compile(
    rf"(?:(?P<results>{_NAME}(?:\s*,\s*{_NAME})*)\s*=\s*)?"
    rf"(?P<function>{_NAME})\s*\(\s*(?P<arguments>{_NAME}(?:\s*,\s*{_NAME})*)?\s*\)"
)
_QREG = re.compile(r"qreg\s+[A-Za-z_][A-Za-z0-9_]*\s*\[\s*(?P<size>\d+)\s*\]")
MAX_DECLARED_QUBITS = 1024
"""More than any device has; the device check gives the precise limit later."""
_RUNTIME_WORDS = re.compile(r"\b(RNGseed|RNGbound|RNGindex|RNGnum|JOB_shotnum)\b")


@dataclass(frozen=True)
class Condition:
    """``if (register[index] <operator> value)``; ``index`` is None for a whole register."""

    register: str
    index: int | None
    operator: str
    value: int


@dataclass(frozen=True)
class RandomSetter:
    function: str  # RNGseed, RNGbound or RNGindex
    register: str


@dataclass(frozen=True)
class RandomNumber:
    register: str


@dataclass(frozen=True)
class ShotNumberRead:
    register: str


@dataclass(frozen=True)
class ExternCall:
    """A WASM call: whole registers in, whole registers out."""

    function: str
    arguments: tuple[str, ...]
    results: tuple[str, ...]


RuntimeCall = RandomSetter | RandomNumber | ShotNumberRead | ExternCall


@dataclass(frozen=True)
class CallStatement:
    call: RuntimeCall
    condition: Condition | None
    text: str


@dataclass(frozen=True)
class SplitProgram:
    statements: list[str]
    """The source's statements in order, comments blanked: joined, they keep its line breaks."""
    declarations: set[int]
    calls: dict[int, CallStatement]
    """The runtime calls, by statement index."""

    @property
    def has_calls(self) -> bool:
        return bool(self.calls)

    def header(self) -> str:
        """The declarations alone, as a text for pytket."""
        return self._text(set())

    def parts(self) -> list[str | CallStatement]:
        """Each runtime call, and for each run of ordinary statements between them, a text for
        pytket: the declarations and the run, every other statement blanked to its line breaks,
        so the line numbers in pytket's errors are the source's."""
        parts: list[str | CallStatement] = []
        run: set[int] = set()
        for index in range(len(self.statements)):
            call = self.calls.get(index)
            if call is not None:
                if run:
                    parts.append(self._text(run))
                    run = set()
                parts.append(call)
            elif index not in self.declarations:
                run.add(index)
        if run:
            parts.append(self._text(run))
        return parts

    def _text(self, kept: set[int]) -> str:
        return "".join(
            statement if index in kept or index in self.declarations else _blank(statement)
            for index, statement in enumerate(self.statements)
        )


def split_program(text: str) -> SplitProgram:
    statements = _statements(text)
    declarations: set[int] = set()
    calls: dict[int, CallStatement] = {}
    declared_qubits = 0
    for index, statement in enumerate(statements):
        if _DECLARATION.match(statement.strip()):
            declarations.add(index)
            declared_qubits += _declared_qubits(statement)
        elif call := read_call(statement):
            calls[index] = call
    if declared_qubits > MAX_DECLARED_QUBITS:
        raise CompileError(
            f"the program declares {declared_qubits} qubits; at most {MAX_DECLARED_QUBITS} may be "
            "declared"
        )
    return SplitProgram(statements, declarations, calls)


def _declared_qubits(declaration: str) -> int:
    """How many qubits a ``qreg`` declares (0 for other declarations), checked before pytket
    would try to make them all."""
    match = _QREG.match(declaration.strip())
    return int(match["size"]) if match else 0


def _blank(statement: str) -> str:
    return "\n" * statement.count("\n")


def read_call(statement: str) -> CallStatement | None:
    """The runtime call ``statement`` makes, or None when it is an ordinary statement."""
    statement = statement.strip()
    condition_match = _CONDITION.match(statement)
    rest = statement[condition_match.end() :] if condition_match else statement
    rest = rest.rstrip().removesuffix(";").strip()
    call = _call(rest)
    if call is None:
        if _RUNTIME_WORDS.search(rest):
            raise CompileError(f"malformed hqslib1 runtime call: {statement.strip()!r}")
        return None
    condition = None
    if condition_match:
        index = condition_match["index"]
        condition = Condition(
            condition_match["register"],
            None if index is None else int(index),
            condition_match["operator"],
            int(condition_match["value"]),
        )
        _check_condition(condition, statement)
    return CallStatement(call, condition, statement)


def _check_condition(condition: Condition, statement: str) -> None:
    """The conditions pytket's reader accepts on ordinary statements, and no others."""
    if condition.value >= 2**MAX_REGISTER_WIDTH:
        raise CompileError(f"condition value {condition.value} in {statement!r} exceeds 64 bits")
    if condition.index is not None and (
        condition.operator not in ("==", "!=") or condition.value > 1
    ):
        raise CompileError(f"a bit condition must be '== 0/1' or '!= 0/1' in {statement!r}")


def _call(text: str) -> RuntimeCall | None:
    if match := _RANDOM_SETTER.fullmatch(text):
        return RandomSetter(match["function"], match["register"])
    if match := _RANDOM_NUMBER.fullmatch(text):
        return RandomNumber(match["register"])
    if match := _SHOT_NUMBER.fullmatch(text):
        return ShotNumberRead(match["register"])
    match = _EXTERN_CALL.fullmatch(text)
    if match and not _RUNTIME_WORDS.fullmatch(match["function"]):
        return ExternCall(match["function"], _names(match["arguments"]), _names(match["results"]))
    return None


def _names(listed: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in listed.split(",")) if listed else ()


def _statements(text: str) -> list[str]:
    """Statements end at a top-level ``;`` or at the ``}`` closing a gate body."""
    source = re.sub(r"//[^\n]*", "", text)
    statements: list[str] = []
    start = depth = 0
    for position, character in enumerate(source):
        if character == "{":
            depth += 1
        elif character == "}":
            depth -= 1
            if depth < 0:
                raise CompileError("invalid OPENQASM 2.0: unbalanced '}'")
        if depth == 0 and character in ";}":
            statements.append(source[start : position + 1])
            start = position + 1
    if depth or source[start:].strip():
        raise CompileError("invalid OPENQASM 2.0: the program ends inside a statement")
    return [statement for statement in statements if statement.strip()]
