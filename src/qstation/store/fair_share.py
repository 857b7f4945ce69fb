"""The fair-share order in SQL, and the tables it reads: dispatch lanes and use by the minute.

Rules 1-4 of :mod:`qstation.scheduling.policy` become columns ``rule1`` … ``rule4`` of any
selection of waiting jobs or lanes (:func:`with_rules`), so a claim, a ranking and a position count
sort by the same expressions. Use in the fair-share window comes from ``fair_share_usage``, HQCs
by the minute, written in the transaction that charges a job (:func:`record_usage`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Select,
    Subquery,
    and_,
    bindparam,
    delete,
    func,
    select,
)

from qstation.scheduling.policy import DEFAULT_PRIORITY, MAX_FAIR_SHARE_WINDOW, usage_minute
from qstation.store.database import Database
from qstation.store.schema import dispatch_lanes, fair_share_usage, user_groups


def add_lanes(
    database: Database, conn: Connection, lanes: Select[Any] | Iterable[tuple[str, str, str, int]]
) -> None:
    """Make sure every lane (target, organisation, group, user priority) in ``lanes``, given or
    selected, exists, so dispatch sees its jobs. Lanes are never removed: an empty lane costs
    one index seek per claim, and removing one could race a submission into it."""
    upsert = database.insert(dispatch_lanes)
    if isinstance(lanes, Select):
        conn.execute(upsert.from_select(_LANE_COLUMNS, lanes).on_conflict_do_nothing())
        return
    given = [dict(zip(_LANE_COLUMNS, lane, strict=True)) for lane in lanes]
    if given:
        conn.execute(upsert.on_conflict_do_nothing(), given)


_LANE_COLUMNS = ("machine", "organisation", "group_name", "user_priority")


def record_usage(
    database: Database,
    conn: Connection,
    organisation: str,
    group: str,
    machine: str,
    hqcs: float,
    finished_at: datetime,
) -> None:
    """Count a finished job's HQCs in the fair-share use of its minute; forget use older than
    the longest window."""
    upsert = _USAGE_UPSERTS.get(database.dialect)
    if upsert is None:
        insert_usage = database.insert(fair_share_usage)
        upsert = _USAGE_UPSERTS[database.dialect] = insert_usage.on_conflict_do_update(
            index_elements=["organisation", "group_name", "machine", "minute"],
            set_={"hqcs": fair_share_usage.c.hqcs + insert_usage.excluded.hqcs},
        )
    minute = usage_minute(finished_at)
    row = {
        "organisation": organisation, "group_name": group, "machine": machine,
        "minute": minute, "hqcs": hqcs,
    }  # fmt: skip
    conn.execute(upsert, row)
    if minute != _last_forgotten.get(database.dialect):  # once a minute is enough
        forgotten = usage_minute(finished_at - MAX_FAIR_SHARE_WINDOW - timedelta(minutes=1))
        conn.execute(_FORGET_USAGE, {"before": forgotten})
        _last_forgotten[database.dialect] = minute


_USAGE_UPSERTS: dict[str, Any] = {}
_last_forgotten: dict[str, datetime] = {}
_FORGET_USAGE = delete(fair_share_usage).where(fair_share_usage.c.minute < bindparam("before"))


def _usage(*keys: str) -> Subquery:
    """HQCs per ``keys`` (a prefix of organisation, group, target) in the window."""
    columns = [fair_share_usage.c[key] for key in keys]
    return (
        select(*columns, func.sum(fair_share_usage.c.hqcs).label("hqcs"))
        .where(fair_share_usage.c.minute >= bindparam("first_counted", type_=DateTime))
        .group_by(*columns)
        .subquery()
    )


def with_rules(candidates: Select[Any]) -> Select[Any]:
    """``candidates`` (id, machine, organisation, group_name, user_priority, submitted_at, …)
    with the policy's rules 1-4 as columns ``rule1`` … ``rule4``; use counts from the minute
    bound as ``first_counted``."""
    rows = candidates.subquery()
    by_organisation = _usage("organisation", "machine")
    by_group = _usage("organisation", "group_name", "machine")
    return select(
        rows,
        # 1. the organisation's use of the target in the window
        func.coalesce(by_organisation.c.hqcs, 0.0).label("rule1"),
        # 2. the group's priority
        func.coalesce(user_groups.c.priority, DEFAULT_PRIORITY).label("rule2"),
        # 3. the group's use of the target in the window
        func.coalesce(by_group.c.hqcs, 0.0).label("rule3"),
        # 4. the submitter's priority
        rows.c.user_priority.label("rule4"),
    ).select_from(
        rows.outerjoin(
            user_groups,
            and_(
                user_groups.c.organisation == rows.c.organisation,
                user_groups.c.name == rows.c.group_name,
            ),
        )
        .outerjoin(
            by_organisation,
            and_(
                by_organisation.c.organisation == rows.c.organisation,
                by_organisation.c.machine == rows.c.machine,
            ),
        )
        .outerjoin(
            by_group,
            and_(
                by_group.c.organisation == rows.c.organisation,
                by_group.c.group_name == rows.c.group_name,
                by_group.c.machine == rows.c.machine,
            ),
        )
    )


def rule_order(keyed: Any) -> list[ColumnElement[Any]]:
    """The sort key of a :func:`with_rules` row: rules 1-4, then 5, age (and ID, so it is total)."""
    c = keyed.c
    return [c.rule1, c.rule2, c.rule3, c.rule4, c.submitted_at, c.id]
