"""Rows to records and back: the one place that knows how record fields map to columns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from sqlalchemy import Row

from qstation.model import Attempt, Group, JobRecord, JobStatus, NewJob, Role, User
from qstation.scheduling.calendar import CalendarEvent, EventKind

# Record fields whose column is named differently ("group" is an SQL keyword).
_COLUMN_OF_FIELD = {"group": "group_name"}


def columns_of(record: NewJob | User) -> dict[str, Any]:
    return {_COLUMN_OF_FIELD.get(f.name, f.name): getattr(record, f.name) for f in fields(record)}


def _fields_of(
    record_type: type[JobRecord | User | Attempt], row: Row[Any] | Mapping[str, Any]
) -> dict[str, Any]:
    columns = row._mapping if isinstance(row, Row) else row
    return {f.name: columns[_COLUMN_OF_FIELD.get(f.name, f.name)] for f in fields(record_type)}


def job_record(row: Row[Any] | Mapping[str, Any]) -> JobRecord:
    """A job from a row (or a :meth:`~qstation.store.database.Database.read_rows` mapping)."""
    values = _fields_of(JobRecord, row)
    return JobRecord(**{**values, "status": JobStatus(values["status"])})


def user_record(row: Row[Any] | Mapping[str, Any]) -> User:
    values = _fields_of(User, row)
    return User(**{**values, "role": Role(values["role"])})


def attempt_record(row: Row[Any]) -> Attempt:
    return Attempt(**_fields_of(Attempt, row))


def group_record(row: Row[Any]) -> Group:
    return Group(row.organisation, row.name, row.priority)


def calendar_event(row: Row[Any]) -> CalendarEvent:
    return CalendarEvent(
        row.machine, EventKind(row.kind), row.starts_at, row.ends_at, row.organisation, row.id
    )
