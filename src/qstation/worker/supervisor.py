"""The worker loop: claim a job, run it in a child process, report exactly once.

While the child runs (:mod:`qstation.worker.children`), the worker renews the job's lease; if
the worker itself dies, the lease expires and another worker runs the job again. A stale
worker's report is refused by the store's guard.

Each execution gets a child of its own, but the next child is forked ahead of time, while the
current one runs, and waits for its job: a small job should not wait for a fork.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from enum import Enum
from multiprocessing.connection import wait as wait_for_any

from qstation import __version__
from qstation.devices.catalogue import Device, DeviceCatalogue
from qstation.errors import CompileError, QStationError, StoreUnavailable
from qstation.model import ClaimedJob, ExecutionOutcome, JobRecord, JobStatus
from qstation.service.clock import Clock, utc_now
from qstation.settings import Settings
from qstation.store import JobStore
from qstation.store.wakeups import Listener
from qstation.worker.children import ExecutionChild, Zygote, failure
from qstation.worker.execution import ExecutionLimits
from qstation.worker.stop_signal import StopSignal

log = logging.getLogger(__name__)

_MAX_BACKOFF_SECONDS = 30.0


class Interruption(Enum):
    """Why a chunk's execution ended without an outcome to report."""

    TAKEN_OVER = "another worker owns the job now"
    STOPPING = "the worker is stopping"


class Worker:
    def __init__(
        self,
        store: JobStore,
        catalogue: DeviceCatalogue,
        settings: Settings,
        worker_id: str | None = None,
        clock: Clock = utc_now,
        stop: StopSignal | None = None,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.clock = clock
        limits = ExecutionLimits(
            settings.execution_memory_bytes, settings.max_result_bytes,
            settings.processes_per_execution(),
        )  # fmt: skip
        self._zygote = Zygote(limits, catalogue)
        self.executing_pid: int | None = None
        """The process ID of the child running a job now, if any."""
        self.stop = stop or StopSignal()
        """Set it to stop: a running chunk is handed back to the queue at once."""
        self._registered = False
        self._last_beat = -float("inf")

    def run_forever(self, should_stop: Callable[[], bool]) -> None:
        """Work until told to stop; an unavailable store or a bug costs a pause, not the worker."""
        try:
            self._zygote.start()
            self._zygote.wait_until_warm()
            log.info("worker %s started", self.worker_id)
            self._work(lambda: self.stop.is_set() or should_stop())
        finally:
            self._sign_off()
            self.close()
        log.info("worker %s stopped", self.worker_id)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the zygote, and with it its children."""
        self._zygote.close()

    def _work(self, should_stop: Callable[[], bool]) -> None:
        wakeups = self.store.database.wakeup_listener()
        try:
            self._loop(should_stop, wakeups)
        finally:
            wakeups.close()

    def _loop(self, should_stop: Callable[[], bool], wakeups: Listener) -> None:
        """Run jobs while there are any; otherwise wait for a wake-up, or a poll interval."""
        backoff = self.settings.poll_interval_seconds
        while not should_stop():
            try:
                self._beat(None, None)
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
                    wakeups.wait(self.settings.poll_interval_seconds)
                continue
            time.sleep(backoff)
            backoff = min(2 * backoff, _MAX_BACKOFF_SECONDS)

    def _beat(self, job_id: str | None, shots: range | None) -> None:
        """Register, or tell the store this worker lives (at most every third of a lease)."""
        now = self.clock()
        alive = timedelta(seconds=self.settings.lease_seconds)
        if not self._registered:
            host = socket.gethostname()
            workers = self.store.workers
            workers.register(self.worker_id, host, os.getpid(), __version__, now, alive)
            self._registered = True
        elif time.monotonic() - self._last_beat >= self.settings.lease_seconds / 3:
            self.store.workers.beat(self.worker_id, now, alive, job_id, shots)
        else:
            return
        self._last_beat = time.monotonic()

    def _sign_off(self) -> None:
        if not self._registered:
            return
        try:
            self.store.workers.stopped(self.worker_id, self.clock())
        except StoreUnavailable:
            log.warning("worker %s: could not record its stop (store unavailable)", self.worker_id)

    def run_once(self) -> bool:
        """Claim a job and run its next chunk of shots (all that are left, up to
        ``chunk_shots``): the last chunk finishes the job, an earlier one records its results
        and hands the job back to the queue. False when the queue had nothing to run."""
        return self._run_next()

    def _run_next(self) -> bool:
        claim = self.store.dispatch.claim_next_job(
            self.worker_id,
            self.clock(),
            self.settings.lease_seconds,
            self.settings.max_attempts,
            self.settings.fair_share_window,
            self.settings.chunk_shots,
        )
        if claim is None:
            return False
        job, shots = claim.job, claim.shots
        fields = {"job": job.id, "worker": self.worker_id, "organisation": job.organisation}
        log.info(
            "worker %s runs job %s on %s, shots %d to %d of %d (attempt %d at this chunk)",
            self.worker_id, job.id, job.machine, shots.start, shots.stop - 1, job.count,
            job.attempts, extra=fields,
        )  # fmt: skip
        started = time.monotonic()
        outcome = self._supervise(claim, shots)
        if outcome is Interruption.TAKEN_OVER:
            log.warning("job %s: another worker owns it now", job.id, extra=fields)
            return True
        if outcome is Interruption.STOPPING:
            if self.store.jobs.hand_back(claim.attempt_id, self.clock()):
                log.info("worker %s handed job %s back: it is stopping", self.worker_id, job.id,
                         extra=fields)  # fmt: skip
            return True
        status = self.store.jobs.finish_attempt(claim.attempt_id, outcome, self.clock())
        if status is None:
            log.warning("job %s: attempt %s was superseded", job.id, claim.attempt_id,
                        extra=fields)  # fmt: skip
        elif status.is_final:
            _log_outcome(job, status, outcome, time.monotonic() - started, fields)
        return True

    def _supervise(self, claim: ClaimedJob, shots: range) -> ExecutionOutcome | Interruption:
        """Run the child on ``shots`` to its end, unless another worker takes the job over or
        this one is asked to stop."""
        job = claim.job
        try:
            device = self.catalogue.get(job.machine)
        except QStationError as error:
            return failure(job.id, error.text)
        child = self._start_child(job, shots, device)
        self.executing_pid = child.pid
        receiver = child.connection
        started = time.monotonic()
        deadline = started + self.settings.execution_timeout_seconds
        compile_deadline = started + self.settings.compile_timeout_seconds
        heartbeat = self.settings.lease_seconds / 3
        compiled = reported = False
        try:
            while True:
                remaining = compile_deadline - time.monotonic()
                wait = heartbeat if compiled else min(heartbeat, remaining)
                ready = wait_for_any([receiver, self.stop.fileno()], max(wait, 0.0))
                if receiver in ready:  # an outcome that has arrived is reported, stop or not
                    message = self._receive(child, job.id, compiled)
                    if isinstance(message, ExecutionOutcome):
                        reported = True
                        return message
                    compiled = True
                    continue
                if self.stop.is_set():
                    return Interruption.STOPPING
                if not compiled and time.monotonic() > compile_deadline:
                    # pyqir's reader can spin on damaged bitcode: that is the program's fault.
                    seconds = self.settings.compile_timeout_seconds
                    slow = CompileError(f"compiling the program took longer than {seconds:g} s")
                    return ExecutionOutcome(JobStatus.FAILED, error=slow.job_error(job.id))
                lease = self.store.jobs.renew_lease(
                    claim.attempt_id, self.clock(), self.settings.lease_seconds
                )
                if not lease.owned:
                    return Interruption.TAKEN_OVER
                self._beat(job.id, shots)
                if lease.cancel_requested:
                    return ExecutionOutcome(JobStatus.CANCELED)
                if time.monotonic() > deadline:
                    limit = timedelta(seconds=self.settings.execution_timeout_seconds)
                    return failure(job.id, f"the execution exceeded its time limit of {limit}")
        finally:
            if not reported:  # canceled, timed out, taken over or stopping: its work ends now
                child.kill()
            child.connection.close()  # the zygote reaps it
            self.executing_pid = None

    def _start_child(self, job: JobRecord, shots: range, device: Device) -> ExecutionChild:
        """A waiting child (a new one if it died waiting) with the job sent to it; the next
        one is asked for at once, so the zygote forks it while this one runs."""
        child = self._zygote.spawn()
        try:
            child.connection.send((job, shots, device))
        except (BrokenPipeError, ConnectionResetError):  # it died waiting
            child.connection.close()
            child = self._zygote.spawn()
            child.connection.send((job, shots, device))
        self._zygote.prepare()
        return child

    @staticmethod
    def _receive(child: ExecutionChild, job_id: str, compiled: bool) -> ExecutionOutcome | str:
        """The child's next message, or a failure naming how and in which phase it died."""
        try:
            message = child.connection.recv()
        except (EOFError, OSError):
            code = child.wait()
            cause = f"signal {-code}" if code < 0 else f"exit code {code}"
            if not compiled:
                crash = CompileError(f"the program crashed the compiler ({cause})")
                return ExecutionOutcome(JobStatus.FAILED, error=crash.job_error(job_id))
            return failure(job_id, f"the execution process terminated unexpectedly ({cause})")
        if not isinstance(message, ExecutionOutcome | str):
            return failure(job_id, f"the execution process sent {type(message).__name__}")
        return message


def _log_outcome(
    job: JobRecord,
    status: JobStatus,
    outcome: ExecutionOutcome,
    seconds: float,
    fields: dict[str, str],
) -> None:
    """One line for every job that ends on a worker (the report of the chunk that ended it):
    what an operator greps for."""
    extra = {**fields, "status": status.value}
    if status is JobStatus.COMPLETED:
        cost = "" if outcome.cost is None else f", {outcome.cost:g} HQCs"
        log.info("job %s completed on %s: %d shots%s; last chunk %.2f s",
                 job.id, job.machine, job.count, cost, seconds, extra=extra)  # fmt: skip
    elif status is JobStatus.CANCELED:
        log.info("job %s canceled on %s", job.id, job.machine, extra=extra)
    else:
        log.info("job %s %s on %s: %s", job.id, status.value, job.machine,
                 outcome.error, extra=extra)  # fmt: skip
