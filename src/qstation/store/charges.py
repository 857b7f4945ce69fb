"""What jobs cost their organisations: monthly spending against quotas.

A completed job is charged in the transaction that records it (:mod:`qstation.store.jobs`);
these queries run inside that transaction, and inside the reads of ``qstation quota list``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, func, select

from qstation.devices.cost import format_cost
from qstation.model import CreditKind, ExecutionOutcome
from qstation.store.schema import credit_quotas, jobs


def quota_key(organisation: str, group: str | None, kind: CreditKind) -> ColumnElement[bool]:
    return and_(
        credit_quotas.c.organisation == organisation,
        credit_quotas.c.group_name == (group or ""),
        credit_quotas.c.kind == kind,
    )


def holder(organisation: str, group: str | None) -> str:
    return f"group {group} of {organisation}" if group else f"organisation {organisation}"


def spent(
    conn: Connection, organisation: str, group: str | None, kind: CreditKind, now: datetime
) -> float:
    """HQCs charged to the organisation (or group) for ``kind`` since the month began."""
    month_began = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    query = select(func.coalesce(func.sum(jobs.c.cost), 0.0)).where(
        jobs.c.organisation == organisation,
        jobs.c.credits == kind,
        jobs.c.finished_at >= month_began,
    )
    if group is not None:
        query = query.where(jobs.c.group_name == group)
    return float(conn.scalar(query) or 0.0)


def quota_shortfall(
    conn: Connection, organisation: str, group_name: str, outcome: ExecutionOutcome, now: datetime
) -> str | None:
    """Why charging the completed job would break a quota of its organisation or group, or
    None. The quota rows are locked, so concurrent charges to one organisation queue up."""
    assert outcome.credits is not None and outcome.cost is not None
    quotas = conn.execute(
        select(credit_quotas)
        .where(
            credit_quotas.c.organisation == organisation,
            credit_quotas.c.kind == outcome.credits,
            credit_quotas.c.group_name.in_(("", group_name)),
        )
        .with_for_update()
    ).all()
    for quota in quotas:
        group = quota.group_name or None
        left = quota.credits - spent(conn, organisation, group, outcome.credits, now)
        if outcome.cost > left + 1e-9:
            return (
                f"it costs {format_cost(outcome.cost)} HQCs and the "
                f"{holder(organisation, group)} has {format_cost(max(left, 0.0))} of its "
                f"{format_cost(quota.credits)} {quota.kind} HQCs for this month left"
            )
    return None
