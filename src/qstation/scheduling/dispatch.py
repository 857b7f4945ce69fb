"""Which of the queue's candidates a free worker may take now, in fair-share order.

The store hands over the candidates already in the order of :mod:`qstation.scheduling.policy`
(computed in SQL): the oldest waiting job of each dispatch lane, and each waiting job of a batch
that holds its target. This function applies, in this order, the rules that depend on the moment
rather than on the job's rank (docs/scheduling.md):

1. a target whose operational hours close it to an organisation runs none of its jobs
   (:mod:`qstation.scheduling.calendar`);
2. a target a batch holds runs only that batch's jobs, unless its hours close it to the batch's
   organisation (:mod:`qstation.scheduling.batches`); then the hold does not apply.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from qstation.scheduling.batches import BatchHold
from qstation.scheduling.calendar import Availability


@dataclass(frozen=True)
class Lane:
    """Waiting jobs that share every fair-share rule but age: one target, organisation, group
    and user priority."""

    machine: str
    organisation: str
    group: str
    user_priority: int


@dataclass(frozen=True)
class Candidate:
    """Where the next job may come from: a lane's oldest waiting job (``job_id`` is that job,
    as ranked), or one job of a holding batch (``lane`` None, ``batch_id`` its batch)."""

    job_id: str
    machine: str
    organisation: str
    lane: Lane | None = None
    batch_id: str | None = None


def runnable(
    candidates: Iterable[Candidate],
    availability: Mapping[str, Availability],
    holds: Mapping[str, BatchHold],
) -> Iterator[Candidate]:
    """The candidates that may run now, in the order given. Targets without a calendar entry
    in ``availability`` are always open."""
    for candidate in candidates:
        target = availability.get(candidate.machine)
        if target is not None and not target.runs_jobs_of(candidate.organisation):
            continue  # offline, in maintenance, or reserved for others
        hold = holds.get(candidate.machine)
        applies = hold is not None and (target is None or target.runs_jobs_of(hold.organisation))
        if candidate.lane is None:  # a batch's own job: only while its batch holds the target
            if applies and hold is not None and candidate.batch_id == hold.batch_id:
                yield candidate
        elif not applies:  # lanes are closed while a batch holds their target
            yield candidate
