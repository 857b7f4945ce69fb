"""Fair-share dispatch, the policy of docs/scheduling.md, as a pure function of the queue.

For each target, the next job to run is the first in this order (the published H-Series
policy, ``../shared/docs/hseries-api.md`` §6.1):

1. the organisation that used the fewest HQCs of that target in the fair-share window (the
   costs of its jobs there that finished in the window, counted by the minute: see
   :func:`first_counted_minute`);
2. then the job's group priority (1 = highest ... 10);
3. then, between groups of equal priority, the group that used fewer HQCs of the target;
4. then its submitter's user priority (1 = highest ... 10);
5. then the oldest submission (and, for equal times, the smaller job ID, so the order is total).

This module is the reference: nothing here touches a database, so each rule is tested on its
own. The store orders the queue with the same rules in SQL (:mod:`qstation.store.dispatch`), and
a property test checks the two agree on random queues.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

FAIR_SHARE_WINDOW = timedelta(hours=3)
"""How far back use of a target counts: the published Fair Queue Time Window is 2-4 hours
(``QSTATION_FAIR_SHARE_WINDOW_HOURS``)."""
MAX_FAIR_SHARE_WINDOW = timedelta(hours=24)
"""The longest window an operator may set; use older than this is forgotten."""
HIGHEST_PRIORITY = 1
LOWEST_PRIORITY = 10
DEFAULT_PRIORITY = 5


@dataclass(frozen=True)
class QueuedJob:
    """What the policy needs to know of a queued job."""

    job_id: str
    machine: str
    organisation: str
    group: str
    group_priority: int
    user_priority: int
    submitted_at: datetime


Usage = Mapping[tuple[str, str, str], float]
"""HQCs each (organisation, group, target) used in the window; absent: none."""


def usage_minute(finished_at: datetime) -> datetime:
    """The minute a finished job's HQCs are counted in."""
    return finished_at.replace(second=0, microsecond=0)


def first_counted_minute(now: datetime, window: timedelta) -> datetime:
    """The oldest minute whose use counts at ``now``: a job's HQCs count from the minute it
    finished until the window has passed that whole minute (up to a minute longer than the
    window itself)."""
    return usage_minute(now - window)


def ranked(jobs: Iterable[QueuedJob], usage: Usage) -> list[QueuedJob]:
    """The jobs in dispatch order (for one target, or for all: a target's jobs keep their
    relative order either way)."""
    by_organisation: dict[tuple[str, str], float] = defaultdict(float)
    for (organisation, _, machine), hqcs in usage.items():
        by_organisation[organisation, machine] += hqcs

    def key(job: QueuedJob) -> tuple[float, int, float, int, datetime, str]:
        return (
            by_organisation.get((job.organisation, job.machine), 0.0),
            job.group_priority,
            usage.get((job.organisation, job.group, job.machine), 0.0),
            job.user_priority,
            job.submitted_at,
            job.job_id,
        )

    return sorted(jobs, key=key)


def queue_positions(jobs: Iterable[QueuedJob], usage: Usage) -> dict[str, int]:
    """Each job's place in its own target's queue: 1 runs next."""
    seen: dict[str, int] = defaultdict(int)
    positions = {}
    for job in ranked(jobs, usage):
        seen[job.machine] += 1
        positions[job.job_id] = seen[job.machine]
    return positions


def check_priority(priority: int) -> int:
    """``priority`` if it is one of 1..10; the caller reports the ValueError."""
    if isinstance(priority, bool) or not HIGHEST_PRIORITY <= priority <= LOWEST_PRIORITY:
        raise ValueError(
            f"a priority is a whole number from {HIGHEST_PRIORITY} (highest) to "
            f"{LOWEST_PRIORITY}, not {priority!r}"
        )
    return priority
