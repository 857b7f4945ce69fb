"""The worker loop: claim a job, run it in a forked child, report exactly once.

The child is disposable (the rq habit): an emulation that crashes, is killed or exhausts its
memory limit ends that job ``failed`` with the cause, and the worker carries on. While the child
runs, the worker renews the job's lease; if the worker itself dies, the lease expires and another
worker runs the job again. A stale worker's report is refused by the store's guard.
"""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from multiprocessing.connection import Connection
from typing import Any

from qstation.devices.catalogue import Device, DeviceCatalogue
from qstation.engines import kernels
from qstation.errors import CompileError, ExecutionError, QStationError, StoreUnavailable
from qstation.model import ClaimedJob, ExecutionOutcome, JobRecord, JobStatus
from qstation.service.clock import Clock, utc_now
from qstation.settings import Settings
from qstation.sizes import describe_bytes
from qstation.store import JobStore
from qstation.worker.execution import execute

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so no orphan keeps running."""
    if sys.platform != "linux":
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_MEMORY_SLACK_BYTES = 64 * 2**20
_MAX_BACKOFF_SECONDS = 30.0
_COMPILED = "compiled"
"""Sent by the child when compiling is over: a crash before it is the program's fault."""


def _address_space(field: str) -> int:
    """``VmSize`` or ``VmPeak`` of this process, in bytes (0 where /proc is absent)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child_main(
    connection: Connection, job: JobRecord, shots: range, device: Device, memory: int
) -> None:
    die_with_parent()
    faulthandler.disable()  # a crash here is reported by the supervisor; no stack dump to stderr
    limit = _address_space("VmSize") + memory
    if limit > memory:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        outcome = execute(
            job, device, memory, on_compiled=lambda: connection.send(_COMPILED), shots=shots
        )
    except Exception as error:  # a bug must still end the job with a message, not a hang
        # At the address-space limit libraries fail in many ways, not only with MemoryError.
        if _address_space("VmPeak") + _MEMORY_SLACK_BYTES >= limit:
            cause = f"the execution ran out of its memory limit of {describe_bytes(memory)}"
        else:
            cause = "internal error"
        outcome = _failure(job.id, f"{cause} ({type(error).__name__}: {error})")
    connection.send(outcome)
    connection.close()


class Worker:
    def __init__(
        self,
        store: JobStore,
        catalogue: DeviceCatalogue,
        settings: Settings,
        worker_id: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.clock = clock
        self._context = multiprocessing.get_context("fork")

    def run_forever(self, should_stop: Callable[[], bool]) -> None:
        """Work until told to stop; an unavailable store or a bug costs a pause, not the worker."""
        log.info("worker %s started", self.worker_id)
        kernels.warm_up()  # once here rather than in every forked job execution
        backoff = self.settings.poll_interval_seconds
        while not should_stop():
            try:
                found = self.run_once()
            except StoreUnavailable:
                log.warning(
                    "worker %s: store unavailable; retry in %.1f s", self.worker_id, backoff
                )
            except Exception:  # the job's lease runs out by itself, so it runs again later
                log.exception(
                    "worker %s: unexpected error; retry in %.1f s", self.worker_id, backoff
                )
            else:
                backoff = self.settings.poll_interval_seconds
                if not found:
                    time.sleep(self.settings.poll_interval_seconds)
                continue
            time.sleep(backoff)
            backoff = min(2 * backoff, _MAX_BACKOFF_SECONDS)
        log.info("worker %s stopped", self.worker_id)

    def run_once(self) -> bool:
        """Claim a job and run its next chunk of shots (all that are left, up to
        ``chunk_shots``): the last chunk finishes the job, an earlier one records its results
        and hands the job back to the queue. False when the queue had nothing to run."""
        claim = self.store.dispatch.claim_next_job(
            self.worker_id,
            self.clock(),
            self.settings.lease_seconds,
            self.settings.max_attempts,
            self.settings.fair_share_window,
        )
        if claim is None:
            return False
        job = claim.job
        shots = range(job.shots_done, min(job.shots_done + self.settings.chunk_shots, job.count))
        log.info(
            "worker %s runs job %s, shots %d to %d (attempt %s)",
            self.worker_id, job.id, shots.start, shots.stop - 1, claim.attempt_id,
        )  # fmt: skip
        outcome = self._supervise(claim, shots)
        if outcome is None:
            return True
        if outcome.results is not None:
            outcome = replace(outcome, results=_appended(job.results, outcome.results))
        now = self.clock()
        if outcome.status is JobStatus.COMPLETED and shots.stop < job.count:
            assert outcome.results is not None
            accepted = self.store.jobs.record_chunk(
                claim.attempt_id, outcome.results, shots.stop, now
            )
        else:
            accepted = self.store.jobs.finish_attempt(claim.attempt_id, outcome, now)
        if not accepted:
            log.warning("job %s: attempt %s was superseded", job.id, claim.attempt_id)
        return True

    def _supervise(self, claim: ClaimedJob, shots: range) -> ExecutionOutcome | None:
        """Run the child on ``shots`` to its end; None when another worker owns the job now."""
        job = claim.job
        try:
            device = self.catalogue.get(job.machine)
        except QStationError as error:
            return _failure(job.id, error.text)
        receiver, sender = self._context.Pipe(duplex=False)
        child = self._context.Process(
            target=_child_main,
            args=(sender, job, shots, device, self.settings.execution_memory_bytes),
            daemon=True,
        )
        child.start()
        sender.close()
        started = time.monotonic()
        deadline = started + self.settings.execution_timeout_seconds
        compile_deadline = started + self.settings.compile_timeout_seconds
        heartbeat = self.settings.lease_seconds / 3
        compiled = False
        try:
            while True:
                remaining = compile_deadline - time.monotonic()
                wait = heartbeat if compiled else min(heartbeat, remaining)
                if receiver.poll(max(wait, 0.0)):
                    message = self._receive(receiver, child, job.id, compiled)
                    if isinstance(message, ExecutionOutcome):
                        return message
                    compiled = True
                    continue
                if not compiled and time.monotonic() > compile_deadline:
                    # pyqir's reader can spin on damaged bitcode: that is the program's fault.
                    seconds = self.settings.compile_timeout_seconds
                    slow = CompileError(f"compiling the program took longer than {seconds:g} s")
                    return ExecutionOutcome(JobStatus.FAILED, error=slow.job_error(job.id))
                lease = self.store.jobs.renew_lease(
                    claim.attempt_id, self.clock(), self.settings.lease_seconds
                )
                if not lease.owned:
                    return None
                if lease.cancel_requested:
                    return ExecutionOutcome(JobStatus.CANCELED)
                if time.monotonic() > deadline:
                    limit = timedelta(seconds=self.settings.execution_timeout_seconds)
                    return _failure(job.id, f"the execution exceeded its time limit of {limit}")
        finally:
            receiver.close()
            if child.is_alive():
                child.kill()
            child.join()

    @staticmethod
    def _receive(
        receiver: Connection, child: Any, job_id: str, compiled: bool
    ) -> ExecutionOutcome | str:
        """The child's next message, or a failure naming how and in which phase it died."""
        try:
            message = receiver.recv()
        except (EOFError, OSError):
            child.join()
            code = child.exitcode
            cause = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            if not compiled:
                crash = CompileError(f"the program crashed the compiler ({cause})")
                return ExecutionOutcome(JobStatus.FAILED, error=crash.job_error(job_id))
            return _failure(job_id, f"the execution process terminated unexpectedly ({cause})")
        if not isinstance(message, ExecutionOutcome | str):
            return _failure(job_id, f"the execution process sent {type(message).__name__}")
        return message


def _appended(
    earlier: dict[str, list[str]] | None, chunk: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The results of the chunks so far, then this chunk's."""
    return {label: [*(earlier or {}).get(label, []), *values] for label, values in chunk.items()}


def _failure(job_id: str, text: str) -> ExecutionOutcome:
    return ExecutionOutcome(JobStatus.FAILED, error=ExecutionError(text).job_error(job_id))
