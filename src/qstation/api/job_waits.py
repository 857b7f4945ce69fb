"""Long polls of job status: ``GET /v1/job/{id}?wait=S`` answers as soon as the job's status or
shots done change, or after ``S`` seconds.

However many requests wait, an API process reads the database once per tick for all of them
(one ``SELECT … WHERE id IN (…)``, in chunks), from one task that runs only while someone waits;
a waiting request holds a future, not a thread. Past :data:`MAX_WAITERS` waiting requests a
process answers at once instead of waiting, so memory stays bounded. A change is seen within a
tick of its commit: :data:`TICK_SECONDS`, or :data:`_READ_SHARE` times the last read if that is
longer, so the poller never takes more than a sixth of a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)

Progress = tuple[str, int]
"""A job's status word and shots done."""
ReadProgress = Callable[[Sequence[str]], Awaitable[dict[str, Progress]]]

TICK_SECONDS = 0.01
_READ_SHARE = 5
MAX_WAITERS = 10_000
"""Waiting requests one API process keeps; more are answered at once."""
MAX_WAIT_SECONDS = 60.0
"""The longest ``wait`` a request may ask for (a proxy's idle timeout is rarely longer)."""


class JobWaits:
    def __init__(self, read_progress: ReadProgress, tick_seconds: float = TICK_SECONDS) -> None:
        self._read = read_progress
        self._tick = tick_seconds
        self._waiting: dict[str, list[tuple[Progress, asyncio.Future[None]]]] = defaultdict(list)
        self._count = 0
        self._poller: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return self._count

    async def until_changed(self, job_id: str, seen: Progress, seconds: float) -> None:
        """Return once the job's progress differs from ``seen``, or after ``seconds``."""
        if seconds <= 0 or self._count >= MAX_WAITERS:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (seen, future)
        self._waiting[job_id].append(entry)
        self._count += 1
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="job-waits")
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(future), seconds)
        finally:
            entries = self._waiting.get(job_id)
            if entries is not None:
                entries.remove(entry)
                if not entries:
                    del self._waiting[job_id]
            self._count -= 1

    async def _poll(self) -> None:
        pause = self._tick
        while self._waiting:
            await asyncio.sleep(pause)
            job_ids = list(self._waiting)
            started = time.monotonic()
            try:
                current = await self._read(job_ids)
            except Exception as error:  # the database is away: waits end by their timeouts
                log.debug("long poll read failed: %s", error)
                continue
            pause = max(self._tick, _READ_SHARE * (time.monotonic() - started))
            for job_id in job_ids:
                now = current.get(job_id)
                for seen, future in self._waiting.get(job_id, ()):
                    if now != seen and not future.done():
                        future.set_result(None)
