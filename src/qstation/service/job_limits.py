"""What one submission may take: sizes of its parts, of its results, and its owner's queue.

Each limit is a setting (docs/reference/settings.md). Sizes are checked before anything is
stored; a result too large to predict here (QIR, whose outputs are known only once compiled) is
stopped by the worker, which fails the job naming the same limit.

The queue cap counts the owner's unfinished jobs from the database at most every
:data:`COUNT_SECONDS` per API process and adds the submissions it accepted since, so checking it
costs no query per submission while the owner is far from the cap; within :data:`NEAR_CAP` of
it every submission counts afresh.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

from qstation.errors import InvalidJobRequest, TooManyRequests
from qstation.settings import Settings
from qstation.store import JobStore

COUNT_SECONDS = 1.0
NEAR_CAP = 100
"""Within this many jobs of the cap the count is read afresh for every submission."""
_CREG = re.compile(r"^\s*creg\s+[A-Za-z_][A-Za-z0-9_]*\s*\[\s*(\d+)\s*\]\s*;", re.MULTILINE)
_QASM = "OPENQASM 2.0"


def _size(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


class SubmissionLimits:
    def __init__(self, store: JobStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._queued: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def check_sizes(
        self,
        program: str,
        cfl: str | None,
        options: dict[str, Any],
        language: str,
        count: int,
        client_metadata: dict[str, Any] | None = None,
    ) -> None:
        settings = self.settings
        _at_most("program", _size(program), settings.max_program_bytes)
        if cfl is not None:
            _at_most("cfl", _size(cfl), settings.max_cfl_bytes)
        _at_most("options", _size(json.dumps(options)), settings.max_options_bytes)
        if client_metadata is not None:
            size = _size(json.dumps(client_metadata))
            _at_most("client-metadata", size, settings.max_client_metadata_bytes)
        if language == _QASM:
            bits = sum(int(width) for width in _CREG.findall(program))
            result_bytes = bits * count
            if result_bytes > settings.max_result_bytes:
                raise InvalidJobRequest(
                    f"the results would take {result_bytes:,} bytes ({count:,} shots of "
                    f"{bits:,} classical bits), above the limit of {settings.max_result_bytes:,}"
                    " (QSTATION_MAX_RESULT_BYTES); use fewer shots or registers"
                )

    def admit(self, owner_id: str) -> None:
        """Count one more unfinished job of ``owner_id``, or refuse it with 429."""
        cap = self.settings.max_queued_jobs_per_user
        now = time.monotonic()
        with self._lock:
            taken, count = self._queued.get(owner_id, (-COUNT_SECONDS - 1.0, 0))
            if now - taken > COUNT_SECONDS or count + 1 >= cap - NEAR_CAP:
                taken, count = now, self.store.jobs.count_unfinished(owner_id)
            if count >= cap:
                self._queued[owner_id] = (taken, count)
                raise TooManyRequests(
                    f"you have {count:,} jobs waiting or running, the most one user may "
                    f"have (QSTATION_MAX_QUEUED_JOBS_PER_USER = {cap:,}); wait for some to end",
                    retry_after=30.0,
                )
            self._queued[owner_id] = (taken, count + 1)


def _at_most(field: str, size: int, limit: int) -> None:
    if size > limit:
        raise InvalidJobRequest(f"{field} is {size:,} bytes, above the limit of {limit:,} bytes")
