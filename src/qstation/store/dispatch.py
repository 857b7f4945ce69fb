"""Dispatch: which job a free worker takes next, and in what order a target's queue stands.

The fair-share order (:mod:`qstation.scheduling.policy`) is computed by SQL over *lanes*:
waiting jobs of one target, organisation, group and user priority share every rule but age, so
the order is the lanes' order, each lane's jobs oldest first. A claim ranks the lanes by their
oldest waiting job (one index seek each on ``ix_jobs_waiting_by_lane``), lets
:func:`qstation.scheduling.dispatch.runnable` drop what the calendar or a batch keeps from
running now, and locks the first job left (``FOR UPDATE SKIP LOCKED`` on PostgreSQL). Its cost
grows with the number of lanes, not with the length of the queue.

The order's SQL and the tables it reads are :mod:`qstation.store.fair_share`; what the calendar
and batches keep from running, :mod:`qstation.store.holds`; starting an attempt at a chunk, or
taking over one whose worker vanished, :mod:`qstation.store.chunk_claims`.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    bindparam,
    false,
    func,
    null,
    select,
    true,
    tuple_,
    union_all,
)

from qstation.model import ClaimedJob
from qstation.scheduling.batches import holding_batches
from qstation.scheduling.dispatch import Candidate, Lane, runnable
from qstation.scheduling.policy import FAIR_SHARE_WINDOW, first_counted_minute
from qstation.store.chunk_claims import EXPIRED, take_chunk, take_over
from qstation.store.database import Database, PreparedRead
from qstation.store.fair_share import rule_order, with_rules
from qstation.store.holds import active_batches, availability
from qstation.store.job_states import waiting
from qstation.store.schema import dispatch_lanes, jobs
from qstation.store.standing import Standing, queue_lengths, standing, window_use


class DispatchQueue:
    def __init__(self, database: Database) -> None:
        self._db = database

    def claim_next_job(
        self,
        worker_id: str,
        now: datetime,
        lease_seconds: float,
        max_attempts: int,
        fair_share_window: timedelta = FAIR_SHARE_WINDOW,
        chunk_shots: int | None = None,
    ) -> ClaimedJob | None:
        """Take over a chunk whose worker's lease expired or that was handed back (oldest job
        first: it was dispatched already), else the next ``chunk_shots`` shots (None: all that
        are left) of the first waiting job in fair-share order that may run now. Chunks of
        one job run in parallel: a job waits as long as some of its shots are untaken.

        A chunk whose worker died is not run again when its job is being canceled, or when it
        has already been cut off ``max_attempts`` times (the job ends failed); the search then
        goes on to the next claimable chunk.
        """
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        lease_expires_at = now + timedelta(seconds=lease_seconds)
        with self._db.write() as conn:
            while (row := conn.execute(EXPIRED, {"now": now}).first()) is not None:
                claim = take_over(conn, row, worker_id, now, lease_expires_at, max_attempts)
                if claim is not None:
                    return claim
            holds = holding_batches(active_batches(conn, now), now)
            holder_ids = sorted(hold.batch_id for hold in holds.values())
            ranked = conn.execute(
                _CANDIDATES_AND_BATCHES if holder_ids else _CANDIDATES,
                {
                    "first_counted": first_counted_minute(now, fair_share_window),
                    "holder_ids": holder_ids,
                },
            ).all()
            for candidate in runnable(map(_candidate, ranked), availability(conn, now), holds):
                row = conn.execute(*_next_waiting(candidate)).first()
                if row is not None:
                    claim = take_chunk(conn, row, worker_id, now, lease_expires_at, chunk_shots)
                    if claim is not None:
                        return claim
        return None

    def ranking(
        self, machine: str, now: datetime, fair_share_window: timedelta = FAIR_SHARE_WINDOW
    ) -> list[str]:
        """The IDs of the target's waiting jobs in fair-share order: its whole queue.

        The lanes come in the order of rules 1-4 (SQL, as for a claim); each lane's jobs come
        oldest first from the lane index itself, so nothing is sorted but the lanes; lanes that
        tie on rules 1-4 are merged by age (rule 5)."""
        first_counted = first_counted_minute(now, fair_share_window)
        with self._db.read() as conn:
            lanes = conn.execute(
                _LANES_IN_ORDER, {"machine": machine, "first_counted": first_counted}
            ).all()
        queues: dict[tuple[Any, ...], list[tuple[Any, str]]] = defaultdict(list)
        for organisation, group, priority, submitted_at, job_id in self._db.read_raw(
            _WAITING_BY_LANE, {"machine": machine}
        ):
            queues[organisation, group, priority].append((submitted_at, job_id))
        order: list[str] = []
        for _, tied in groupby(lanes, key=lambda lane: lane[3:]):
            lane_queues = [queues.get(tuple(lane[:3]), []) for lane in tied]
            merged = lane_queues[0] if len(lane_queues) == 1 else heapq.merge(*lane_queues)
            order.extend(job_id for _, job_id in merged)
        return order

    def position(
        self,
        job_id: str,
        machine: str,
        now: datetime,
        fair_share_window: timedelta = FAIR_SHARE_WINDOW,
    ) -> int | None:
        """Where one waiting job stands in its target's queue (1 runs next), counted afresh;
        None if it waits no more."""
        parameters = {
            "machine": machine,
            "job_id": job_id,
            "first_counted": first_counted_minute(now, fair_share_window),
        }
        with self._db.read() as conn:
            if conn.scalar(_IS_WAITING, parameters) is None:
                return None
            return int(conn.scalar(_AHEAD, parameters) or 0) + 1

    def standing(
        self, job_id: str, machine: str, now: datetime, window: timedelta = FAIR_SHARE_WINDOW
    ) -> Standing | None:
        """Why a waiting job stands where it does (:mod:`qstation.store.standing`)."""
        return standing(self._db, job_id, machine, now, window)

    def queue_lengths(self) -> dict[str, int]:
        """Waiting jobs per target."""
        return queue_lengths(self._db)

    def window_use(
        self, organisation: str, now: datetime, window: timedelta = FAIR_SHARE_WINDOW
    ) -> dict[tuple[str, str], float]:
        """HQCs each (group, target) of the organisation used in the fair-share window."""
        return window_use(self._db, organisation, now, window)


# --- the fair-share order in SQL ------------------------------------------------------------


_CANDIDATE_COLUMNS = ("id", "machine", "organisation", "group_name", "user_priority")


def _candidates(with_batches: bool) -> Select[Any]:
    """Each lane's oldest waiting job and, ``with_batches``, every waiting job of the batches
    bound as ``holder_ids``, in fair-share order."""
    head = jobs.alias("head")
    lane_job = jobs.alias("lane_job")
    oldest_in_lane = (
        select(lane_job.c.id)
        .where(*_in_lane(lane_job, dispatch_lanes.c), waiting(lane_job))
        .order_by(lane_job.c.submitted_at, lane_job.c.id)
        .limit(1)
        .correlate(dispatch_lanes)
        .scalar_subquery()
    )
    lane_heads = select(
        *(head.c[name] for name in _CANDIDATE_COLUMNS),
        head.c.submitted_at,
        null().label("batch_id"),
        true().label("is_lane"),
    ).select_from(dispatch_lanes.join(head, head.c.id == oldest_in_lane))
    candidates = lane_heads
    if with_batches:
        batch_members = select(
            *(jobs.c[name] for name in _CANDIDATE_COLUMNS),
            jobs.c.submitted_at,
            jobs.c.batch_id,
            false().label("is_lane"),
        ).where(jobs.c.batch_id.in_(bindparam("holder_ids", expanding=True)), waiting())
        candidates = select(union_all(lane_heads, batch_members).subquery())
    keyed = with_rules(candidates).subquery()
    return select(keyed).order_by(*rule_order(keyed))


def _queue_statements() -> tuple[Select[Any], Select[Any], Select[Any]]:
    """A target's (bound as ``machine``) lanes in the order of rules 1-4; whether the job bound
    as ``job_id`` waits in its queue; how many of its jobs are ahead of that job."""
    waiting_on = select(*(jobs.c[name] for name in (*_CANDIDATE_COLUMNS, "submitted_at"))).where(
        jobs.c.machine == bindparam("machine"), waiting()
    )
    keyed = with_rules(waiting_on).subquery()
    me = keyed.alias("me")
    lanes = with_rules(
        select(
            dispatch_lanes.c.organisation, dispatch_lanes.c.group_name,
            dispatch_lanes.c.user_priority, dispatch_lanes.c.machine,
        ).where(dispatch_lanes.c.machine == bindparam("machine"))
    ).subquery()  # fmt: skip
    lanes_in_order = select(
        lanes.c.organisation, lanes.c.group_name, lanes.c.user_priority,
        lanes.c.rule1, lanes.c.rule2, lanes.c.rule3, lanes.c.rule4,
    ).order_by(lanes.c.rule1, lanes.c.rule2, lanes.c.rule3, lanes.c.rule4)  # fmt: skip
    is_waiting = select(keyed.c.id).where(keyed.c.id == bindparam("job_id"))
    ahead = (
        select(func.count())
        .select_from(keyed.join(me, me.c.id == bindparam("job_id")))
        .where(tuple_(*rule_order(keyed)) < tuple_(*rule_order(me)))
    )
    return lanes_in_order, is_waiting, ahead


def _in_lane(table: Any, lane: Any) -> list[ColumnElement[bool]]:
    return [
        table.c.machine == lane.machine,
        table.c.organisation == lane.organisation,
        table.c.group_name == lane.group_name,
        table.c.user_priority == lane.user_priority,
    ]


def _candidate(row: Row[Any]) -> Candidate:
    lane = (
        Lane(row.machine, row.organisation, row.group_name, row.user_priority)
        if row.is_lane
        else None
    )
    return Candidate(row.id, row.machine, row.organisation, lane, row.batch_id)


def _next_waiting(candidate: Candidate) -> tuple[Select[Any], dict[str, Any]]:
    """The candidate's job, locked; for a lane, its oldest waiting job no other PostgreSQL
    worker holds (the one ranked may have been taken meanwhile)."""
    lane = candidate.lane
    if lane is None:
        return _WAITING_JOB, {"job_id": candidate.job_id}
    return _OLDEST_IN_LANE, {
        "machine": lane.machine,
        "organisation": lane.organisation,
        "group_name": lane.group,
        "user_priority": lane.user_priority,
    }


_CANDIDATES = _candidates(with_batches=False)
_CANDIDATES_AND_BATCHES = _candidates(with_batches=True)
_LANES_IN_ORDER, _IS_WAITING, _AHEAD = _queue_statements()
_WAITING_BY_LANE = PreparedRead(
    select(
        jobs.c.organisation, jobs.c.group_name, jobs.c.user_priority, jobs.c.submitted_at,
        jobs.c.id,
    )
    .where(jobs.c.machine == bindparam("machine"), waiting())
    .order_by(
        jobs.c.organisation, jobs.c.group_name, jobs.c.user_priority, jobs.c.submitted_at,
        jobs.c.id,
    )
)  # fmt: skip
_WAITING_JOB = (
    select(jobs)
    .where(jobs.c.id == bindparam("job_id"), waiting())
    .with_for_update(skip_locked=True)
)
_OLDEST_IN_LANE = (
    select(jobs)
    .where(
        *(
            jobs.c[name] == bindparam(name)
            for name in ("machine", "organisation", "group_name", "user_priority")
        ),
        waiting(),
    )
    .order_by(jobs.c.submitted_at, jobs.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
