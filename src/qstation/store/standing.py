"""Why a waiting job stands where it does, and each group's fair-share use: what the portal
shows beside a queue position.

Both read the same rule columns as dispatch (:func:`qstation.store.fair_share.with_rules`), so
the explanation cannot disagree with the order jobs are claimed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, select, tuple_

from qstation.scheduling.policy import first_counted_minute
from qstation.store.database import Database
from qstation.store.fair_share import with_rules
from qstation.store.job_states import waiting
from qstation.store.schema import fair_share_usage, jobs


@dataclass(frozen=True)
class Standing:
    """A waiting job's values of the five fair-share rules, and how many jobs are ahead of it
    because of each rule (the first rule in which they come before it)."""

    organisation_use: float
    group_priority: int
    group_use: float
    user_priority: int
    submitted_at: datetime
    ahead_by_rule: tuple[int, int, int, int, int]

    @property
    def position(self) -> int:
        return sum(self.ahead_by_rule) + 1


def _standing_statement() -> Select[Any]:
    columns = ("id", "machine", "organisation", "group_name", "user_priority", "submitted_at")
    waiting_on = select(*(jobs.c[name] for name in columns)).where(
        jobs.c.machine == bindparam("machine"), waiting()
    )
    keyed = with_rules(waiting_on).subquery()
    me = keyed.alias("me")
    same = [keyed.c[f"rule{n}"] == me.c[f"rule{n}"] for n in range(1, 5)]
    decided_by = [
        keyed.c.rule1 < me.c.rule1,
        and_(*same[:1], keyed.c.rule2 < me.c.rule2),
        and_(*same[:2], keyed.c.rule3 < me.c.rule3),
        and_(*same[:3], keyed.c.rule4 < me.c.rule4),
        and_(
            *same,
            tuple_(keyed.c.submitted_at, keyed.c.id) < tuple_(me.c.submitted_at, me.c.id),
        ),
    ]
    counts = [func.coalesce(func.sum(case((rule, 1), else_=0)), 0) for rule in decided_by]
    return (
        select(me.c.rule1, me.c.rule2, me.c.rule3, me.c.rule4, me.c.submitted_at, *counts)
        .select_from(me.join(keyed, keyed.c.id != me.c.id, isouter=True))
        .where(me.c.id == bindparam("job_id"))
        .group_by(me.c.rule1, me.c.rule2, me.c.rule3, me.c.rule4, me.c.submitted_at)
    )


_STANDING = _standing_statement()
_USAGE = (
    select(
        fair_share_usage.c.group_name,
        fair_share_usage.c.machine,
        func.sum(fair_share_usage.c.hqcs),
    )
    .where(
        fair_share_usage.c.organisation == bindparam("organisation"),
        fair_share_usage.c.minute >= bindparam("first_counted"),
    )
    .group_by(fair_share_usage.c.group_name, fair_share_usage.c.machine)
)


_QUEUE_LENGTHS = select(jobs.c.machine, func.count()).where(waiting()).group_by(jobs.c.machine)


def queue_lengths(database: Database) -> dict[str, int]:
    """Waiting jobs per target."""
    with database.read() as conn:
        return {machine: int(count) for machine, count in conn.execute(_QUEUE_LENGTHS).all()}


def standing(
    database: Database, job_id: str, machine: str, now: datetime, window: timedelta
) -> Standing | None:
    """The job's standing in its target's queue; None if it waits no more."""
    parameters = {
        "job_id": job_id,
        "machine": machine,
        "first_counted": first_counted_minute(now, window),
    }
    with database.read() as conn:
        row = conn.execute(_STANDING, parameters).first()
    if row is None:
        return None
    rule1, rule2, rule3, rule4, submitted_at, *ahead = row
    return Standing(
        float(rule1), int(rule2), float(rule3), int(rule4), submitted_at,
        (int(ahead[0]), int(ahead[1]), int(ahead[2]), int(ahead[3]), int(ahead[4])),
    )  # fmt: skip


def window_use(
    database: Database, organisation: str, now: datetime, window: timedelta
) -> dict[tuple[str, str], float]:
    """HQCs each (group, target) of ``organisation`` used in the fair-share window."""
    parameters = {"organisation": organisation, "first_counted": first_counted_minute(now, window)}
    with database.read() as conn:
        rows = conn.execute(_USAGE, parameters).all()
    return {(group, machine): float(hqcs) for group, machine, hqcs in rows}
