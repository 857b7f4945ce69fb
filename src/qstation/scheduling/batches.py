"""Batches: jobs that run back to back on their target once the first reaches the head.

A batch starts with a job sent with ``batch-exec`` set to a cost limit (HQCs); later jobs name
that first job in ``batch-exec``, and the last may say ``batch-end``. Once the first job has
started, the batch holds its target: only its own jobs run there, as they arrive. It closes
when its ``batch-end`` job has finished, when its finished jobs cost more than the limit, or
once :data:`BATCH_IDLE` passed with none of its jobs waiting or running. A closed batch stays
closed: jobs that join it later run as ordinary jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

BATCH_IDLE = timedelta(seconds=60)
"""How long an open batch holds its target with nothing of its own to run."""


@dataclass(frozen=True)
class BatchJob:
    """What deciding whether a batch is open needs to know of one of its jobs."""

    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    waiting_or_running: bool
    cost: float | None
    batch_end: bool


def holds_target(first: BatchJob, limit: float, jobs: Sequence[BatchJob], now: datetime) -> bool:
    """Whether the batch (its first job, its limit, all its jobs) holds its target at ``now``."""
    if first.started_at is None:
        return False  # not at the head of the queue yet
    if any(job.batch_end and job.finished_at is not None for job in jobs):
        return False
    if sum(job.cost or 0.0 for job in jobs if job.finished_at is not None) > limit:
        return False
    # Each job keeps the batch busy from its submission to its end; an idle stretch longer
    # than BATCH_IDLE after the batch started closed it, whatever joined later.
    busy = sorted((job.submitted_at, job.finished_at or now) for job in jobs)
    busy_until = busy[0][1]
    for start, end in busy[1:]:
        if busy_until >= first.started_at and start - busy_until > BATCH_IDLE:
            return False
        busy_until = max(busy_until, end)
    waiting = any(job.waiting_or_running for job in jobs)
    return waiting or now - busy_until <= BATCH_IDLE


@dataclass(frozen=True)
class BatchHold:
    """A batch that holds its target: only its own jobs run there."""

    batch_id: str
    organisation: str


@dataclass(frozen=True)
class Batch:
    """A batch as its first job describes it, with all its jobs."""

    batch_id: str
    machine: str
    organisation: str
    limit: float
    first: BatchJob
    jobs: Sequence[BatchJob]


def holding_batches(batches: Iterable[Batch], now: datetime) -> dict[str, BatchHold]:
    """Each target a batch holds at ``now`` -> that batch. Two workers may start two batches
    on one target at once: the one that started first holds it."""
    holders: dict[str, tuple[datetime, str, Batch]] = {}
    for batch in batches:
        if batch.first.started_at is None or not holds_target(
            batch.first, batch.limit, batch.jobs, now
        ):
            continue
        holder = (batch.first.started_at, batch.batch_id, batch)
        current = holders.get(batch.machine)
        if current is None or holder[:2] < current[:2]:
            holders[batch.machine] = holder
    return {
        machine: BatchHold(batch.batch_id, batch.organisation)
        for machine, (_, _, batch) in holders.items()
    }
