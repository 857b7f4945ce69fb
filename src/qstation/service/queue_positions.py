"""Where queued jobs stand, from per-target rankings recomputed at most every so often.

Ranking a target's queue costs time in proportion to its length (about 0.25 s for 100,000 jobs
on SQLite), so it is not done for every status read: each API process keeps the latest ranking
of each target and computes a new one when a read finds it older than ``refresh_seconds``, or
than ten times the last ranking's duration if that is longer, so ranking never takes more than
a tenth of a core. One read does that while the others, in the meantime, answer from the
previous ranking. A job newer than its target's ranking is counted on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from qstation.model import JobRecord, JobStatus
from qstation.service.clock import Clock, utc_now
from qstation.store.dispatch import DispatchQueue

REFRESH_SECONDS = 0.5
"""How old a target's ranking may be before a read computes a new one (at least)."""
_RANKING_SHARE = 10
"""A ranking is kept for at least this many times as long as it took to compute."""


@dataclass
class _Ranking:
    taken: float  # monotonic seconds
    positions: dict[str, int]
    lifetime: float  # seconds it is fresh for


@dataclass
class _Target:
    ranking: _Ranking | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class QueuePositions:
    def __init__(
        self,
        dispatch: DispatchQueue,
        fair_share_window: timedelta,
        clock: Clock = utc_now,
        refresh_seconds: float = REFRESH_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dispatch = dispatch
        self._window = fair_share_window
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._targets: dict[str, _Target] = {}
        self._targets_lock = threading.Lock()

    def known(self, job: JobRecord) -> int | None:
        """The job's place from a ranking fresh enough to answer with, without any I/O; None
        when :meth:`of` has to do the work (or the job is not queued)."""
        if job.status is not JobStatus.QUEUED:
            return None
        target = self._targets.get(job.machine)
        ranking = None if target is None else target.ranking
        if ranking is None or self._monotonic() - ranking.taken > ranking.lifetime:
            return None
        return ranking.positions.get(job.id)

    def of(self, job: JobRecord) -> int | None:
        """The job's place in its target's queue (1 runs next); None unless it is queued."""
        if job.status is not JobStatus.QUEUED:
            return None
        ranking = self._ranking(job.machine)
        position = ranking.positions.get(job.id)
        if position is None:  # submitted since the ranking (or just dispatched)
            return self._dispatch.position(job.id, job.machine, self._clock(), self._window)
        return position

    def _ranking(self, machine: str) -> _Ranking:
        with self._targets_lock:
            target = self._targets.setdefault(machine, _Target())
        current = target.ranking
        if current is not None:
            if self._monotonic() - current.taken <= current.lifetime:
                return current
            if not target.lock.acquire(blocking=False):
                return current  # another read is ranking anew
        else:
            target.lock.acquire()
        try:
            latest = target.ranking
            if latest is not None and latest is not current:  # ranked while this one waited
                return latest
            taken = self._monotonic()
            order = self._dispatch.ranking(machine, self._clock(), self._window)
            positions = {job_id: i for i, job_id in enumerate(order, 1)}
            took = self._monotonic() - taken
            lifetime = max(self._refresh_seconds, _RANKING_SHARE * took)
            target.ranking = _Ranking(taken, positions, lifetime)
            return target.ranking
        finally:
            target.lock.release()
