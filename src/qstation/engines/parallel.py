"""One execution's shots on several cores: runs of consecutive shots in forked processes.

A shot's result depends only on the program, the seed and the shot's index
(:mod:`qstation.engines.randomness`), so splitting an execution's shots into runs changes no
result; tests compare every engine's split runs with one run, shot for shot. Processes rather
than threads: the engines' Python between kernels holds the GIL. Forked from the execution
child, each starts warm with the compiled program in shared memory and dies with it, so a
canceled or killed execution takes its helpers along.

Engines that call BLAS run it on one thread (:func:`one_blas_thread`), forked processes
too: the cores are the processes'. OpenBLAS's own threads spin between calls, and beside a
second process they took its core: two processes each running 500 shots of B5 in double
precision took 1.7 s each instead of 0.7 s, most of it in the state vector's one ``vdot`` per
sample.
"""

from __future__ import annotations

import itertools
import math
import os
import pickle
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

from qstation.errors import ExecutionError, JobFailure
from qstation.processes import die_with_parent

Results = dict[str, list[str]]


def split_shots(
    shots: range, parts: int, alignment: int = 1, weights: Sequence[float] | None = None
) -> list[range]:
    """At most ``parts`` runs of consecutive shots covering ``shots``. Without ``weights``, of
    near-equal length, each a multiple of ``alignment`` long but the last (an engine whose
    shots come in seeded blocks keeps its blocks whole); with them (each shot's estimated
    work), of near-equal work."""
    if not shots:
        return [shots]
    if weights is not None and math.fsum(weights) > 0:
        return _split_by_work(shots, parts, weights)
    length = math.ceil(len(shots) / max(parts, 1) / alignment) * alignment
    return [
        range(start, min(start + length, shots.stop))
        for start in range(shots.start, shots.stop, length)
    ]


def _split_by_work(shots: range, parts: int, weights: Sequence[float]) -> list[range]:
    """Each cut where the work before it comes nearest its share."""
    before = np.concatenate([[0.0], np.cumsum(weights)])  # work before each shot
    parts = min(parts, len(shots))
    cuts = [0]
    for part in range(1, parts):
        target = before[-1] * part / parts
        cut = int(np.searchsorted(before, target))
        if cut > 0 and target - before[cut - 1] < before[cut] - target:
            cut -= 1
        cuts.append(min(max(cut, cuts[-1] + 1), len(shots) - (parts - part)))
    cuts.append(len(shots))
    return [
        range(shots.start + start, shots.start + stop) for start, stop in itertools.pairwise(cuts)
    ]


def run_in_parts(
    run: Callable[[range], Results],
    shots: range,
    processes: int,
    alignment: int = 1,
    weights: Sequence[float] | None = None,
) -> Results:
    """``run(shots)``, with the shots split over up to ``processes`` processes
    (:func:`split_shots`): this one runs the first run of shots while forked ones run the
    others."""
    parts = split_shots(shots, processes, alignment, weights) if processes > 1 else [shots]
    if len(parts) == 1:
        return run(shots)
    helpers = [_start(run, part) for part in parts[1:]]
    results = [run(parts[0])]
    results.extend(_finish(*helper) for helper in helpers)
    return {label: [bits for result in results for bits in result[label]] for label in results[0]}


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS (numpy's and scipy's, already loaded) on one thread for the duration."""
    if _pinned:
        yield
        return
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield


_pinned = False


def pin_blas_to_one_thread() -> None:
    """BLAS on one thread for good, in a process that only runs engines (a worker's zygote,
    whose execution children inherit it): their runs then skip :func:`one_blas_thread`'s
    setting and resetting, which a freshly forked child paid for by finding the libraries
    again, about 17 ms a run (300,000 shots in chunks of 2,048: 3.2 s before, 6.2 s with it)."""
    global _pinned
    _blas_controller().limit(limits=1, user_api="blas")
    _pinned = True


_controller: tuple[int, ThreadpoolController] | None = None


def _blas_controller() -> ThreadpoolController:
    """The thread pools of the libraries loaded so far, found again only after a new module
    was imported (it may have loaded a library): finding them takes about 1 ms in a process
    with the benchmarks' anchors loaded, a run of B1 about as much."""
    global _controller
    if _controller is None or _controller[0] != len(sys.modules):
        _controller = (len(sys.modules), ThreadpoolController())
    return _controller[1]


def _start(run: Callable[[range], Results], shots: range) -> tuple[int, int, range]:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the helper: run, send, leave without cleaning up the parent's state
        try:
            os.close(reader)
            die_with_parent()
            try:
                reply: tuple[str, object] = ("results", run(shots))
            except JobFailure as failure:
                reply = ("failure", failure)
            except Exception as error:  # reported by the parent, naming the shots
                reply = ("error", f"{type(error).__name__}: {error}")
            with os.fdopen(writer, "wb") as pipe:
                pickle.dump(reply, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            os._exit(0)
    os.close(writer)
    return pid, reader, shots


def _finish(pid: int, reader: int, shots: range) -> Results:
    """A helper's results, once it has sent them and ended."""
    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        code = os.waitstatus_to_exitcode(status)
        raise ExecutionError(
            f"the process running shots {shots.start} to {shots.stop - 1} ended without a result"
            f" (exit code {code})"
        )
    kind, value = pickle.loads(data)  # written by our own forked process
    if kind == "failure":
        raise value
    if kind == "error":
        raise ExecutionError(f"shots {shots.start} to {shots.stop - 1}: {value}")
    return value  # type: ignore[no-any-return]
