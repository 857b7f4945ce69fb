"""Group commit: concurrent writes of one process share a transaction, and so its flush.

A submission is answered only once it is committed, and each commit waits for the disk
(SQLite's WAL sync, PostgreSQL's WAL flush). Callers hand their item to one committer thread
and wait; the thread writes everything that arrived while the previous transaction committed,
in one transaction, then wakes them all. One caller alone waits for exactly one commit, as
before; many callers share them. If a shared transaction fails, each item is written again on
its own, so one bad item fails only its own caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_GROUP = 64
"""Most items one transaction takes, so one group's commit stays short."""


class GroupCommit(Generic[Item, Result]):
    def __init__(self, write_all: Callable[[Sequence[Item]], list[Result]], name: str) -> None:
        """``write_all`` writes its items in one transaction and returns their results."""
        self._write_all = write_all
        self._pending: queue.SimpleQueue[tuple[Item, Future[Result]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False
        self._lock = threading.Lock()

    def write(self, item: Item) -> Result:
        """Write ``item`` (with whatever else is waiting) and return its result once committed;
        its own error is raised here."""
        return self.submit(item).result()

    def submit(self, item: Item) -> Future[Result]:
        """Queue ``item``; the future holds its result (or error) once its group committed."""
        future: Future[Result] = Future()
        self._start()
        self._pending.put((item, future))
        return future

    def close(self) -> None:
        if self._started:
            self._pending.put(None)
            self._thread.join()

    def _start(self) -> None:
        if not self._started:
            with self._lock:
                if not self._started:
                    self._thread.start()
                    self._started = True

    def _run(self) -> None:
        while (first := self._pending.get()) is not None:
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    waiting = self._pending.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    self._pending.put(None)  # stop after this group
                    break
                group.append(waiting)
            self._commit(group)

    def _commit(self, group: list[tuple[Item, Future[Result]]]) -> None:
        try:
            results = self._write_all([item for item, _ in group])
        except Exception as error:
            if len(group) == 1:
                group[0][1].set_exception(error)
                return
            for member in group:  # find who failed: each on its own
                self._commit([member])
            return
        for (_, future), result in zip(group, results, strict=True):
            future.set_result(result)
