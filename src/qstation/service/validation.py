"""Checks every piece of user text passes before it reaches the store.

PostgreSQL refuses NUL characters and over-long values with a database error; checking here
turns them into a clear 400 that names the field instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

from qstation.errors import BadRequest

NAME_LENGTH = 256
GROUP_LENGTH = 64
EMAIL_LENGTH = 320


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if not _is_unicode_text(value):
        raise ValueError("must be Unicode text (it holds a lone surrogate)")
    return value


def _is_unicode_text(value: str) -> bool:
    """JSON's ``\\ud800`` escapes decode to lone surrogates, which no database can store."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


PlainText = Annotated[str, AfterValidator(_without_nul)]
"""A string field of a request model: any text but NUL."""

Name = Annotated[PlainText, StringConstraints(max_length=NAME_LENGTH)]
GroupName = Annotated[PlainText, StringConstraints(min_length=1, max_length=GROUP_LENGTH)]
Identifier = Annotated[PlainText, StringConstraints(min_length=1, max_length=64)]
Program = Annotated[PlainText, StringConstraints(min_length=1)]


def check_plain_text(value: str, what: str, max_length: int) -> str:
    """The same rules for text that does not come through a request model (the CLI)."""
    if "\x00" in value:
        raise BadRequest(f"{what} must not contain NUL characters")
    if not _is_unicode_text(value):
        raise BadRequest(f"{what} must be Unicode text (it holds a lone surrogate)")
    if len(value) > max_length:
        raise BadRequest(f"{what} is longer than {max_length} characters")
    return value


def describe_problems(problems: Iterable[Mapping[str, Any]]) -> str:
    """pydantic's validation errors as one line: ``field: message; field: message``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
        for problem in problems
    )


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"the request body is not valid JSON: {name} is not a number")


def parse_json_body(raw: bytes) -> Any:
    """Bodies arrive as raw JSON text without a Content-Type (the client's habit)."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest("the request body is not valid JSON: it is nested too deeply") from None
    except ValueError as error:  # bad JSON, bad UTF-8, an integer of thousands of digits
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
