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
    declarations: list[str]
    body: list[str | CallStatement]
    """Ordinary statements as text, runtime calls read, in source order."""

    @property
    def has_calls(self) -> bool:
        return any(isinstance(statement, CallStatement) for statement in self.body)


def split_program(text: str) -> SplitProgram:
    declarations: list[str] = []
    body: list[str | CallStatement] = []
    for statement in _statements(text):
        if _DECLARATION.match(statement.strip()):
            declarations.append(statement)
        else:
            body.append(read_call(statement) or statement)
    return SplitProgram(declarations, body)


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
    return CallStatement(call, condition, statement)


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
