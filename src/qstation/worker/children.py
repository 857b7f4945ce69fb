"""Execution children: one disposable process per execution, forked by a zygote.

The child is disposable (the rq habit): an emulation that crashes, is killed or exhausts its
memory limit ends its job ``failed`` with the cause, and the worker carries on.

Forking a warm worker itself costs it twice: the fork (7 ms for 240 MB), and afterwards a copy
of every page the worker writes while a child still shares it (copy-on-write), which made its
own database work two to four times slower (measured). So the worker forks once a *zygote*
that warms up (:mod:`qstation.worker.warm_up`) and then does nothing but fork: its memory stays
as it was, so forking it costs nobody else anything, and every child starts warm. The worker
asks it for children ahead of need; each waits for its job on a socket of its own, and the
zygote reaps them and reports how each ended.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import resource
import signal
import socket
from multiprocessing.connection import Connection

from qstation.devices.catalogue import DeviceCatalogue
from qstation.engines.parallel import pin_blas_to_one_thread
from qstation.errors import ExecutionError
from qstation.model import ExecutionOutcome, JobStatus
from qstation.processes import address_space, die_with_parent
from qstation.sizes import describe_bytes
from qstation.worker.execution import ExecutionLimits, execute
from qstation.worker.warm_up import touch, warm_up

_MEMORY_SLACK_BYTES = 64 * 2**20
COMPILED = "compiled"
"""Sent by the child when compiling is over: a crash before it is the program's fault."""
_REMEMBERED_EXITS = 1000
_TOUCH_AFTER_SECONDS = 0.05
_SPAWN = b"S"
_REAP = b"R"


class ExecutionChild:
    """A child waiting for (or running) one execution, and the socket to it."""

    def __init__(self, zygote: Zygote, pid: int, connection: Connection) -> None:
        self.pid = pid
        self.connection = connection
        self._zygote = zygote
        self.exit_code: int | None = None

    def kill(self) -> None:
        """Only for a child that has not ended (not yet reaped, so its ID is still its own)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        """Its exit code once it has ended, as ``subprocess`` gives it (-N: signal N)."""
        if self.exit_code is None:
            self.exit_code = self._zygote.reap(self.pid)
        return self.exit_code


class Zygote:
    """The process that forks execution children; started on first use, it dies with the
    worker, and its children die with it."""

    def __init__(self, limits: ExecutionLimits, catalogue: DeviceCatalogue) -> None:
        self.limits = limits
        self.catalogue = catalogue
        self._control: socket.socket | None = None
        self._pid: int | None = None
        self._requested = 0  # children asked for whose sockets have not been received yet
        self._ready: list[ExecutionChild] = []

    def start(self) -> None:
        """Fork the zygote, which warms up before it forks its first child."""
        if self._control is not None:
            return
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the zygote
            ours.close()
            _serve(theirs, self.limits, self.catalogue)
        theirs.close()
        self._control, self._pid = ours, pid

    def wait_until_warm(self) -> None:
        """Return once the zygote has warmed up and forked a first child. A worker claims no
        job before: a job claimed by a cold worker would wait seconds for its child, without
        its lease being renewed."""
        if not self._ready:
            self.prepare()
            self._receive_prepared()

    def prepare(self) -> None:
        """Ask for a child now, to be taken by :meth:`spawn` later: the zygote forks it while
        the worker does other things."""
        self.start()
        assert self._control is not None
        try:
            self._control.sendall(_SPAWN + bytes(4))
            self._requested += 1
        except OSError:
            self.close()

    def spawn(self) -> ExecutionChild:
        """A child waiting for its job: one prepared before, or a new one. A zygote found gone
        (it dies with the thread that started it) is started again."""
        for _ in range(2):
            self._receive_prepared()
            if self._ready:
                return self._ready.pop(0)
            self.prepare()
            self._receive_prepared()
            if self._ready:
                return self._ready.pop(0)
            self.close()
        raise ExecutionError("the zygote stopped forking execution children")

    def _receive_prepared(self) -> None:
        """Take the sockets of the children asked for, in order (before any other exchange)."""
        while self._requested and self._control is not None:
            try:
                message, descriptors, _, _ = socket.recv_fds(self._control, 4, 1)
            except OSError:
                message, descriptors = b"", []
            if len(message) != 4 or len(descriptors) != 1:
                self.close()
                return
            self._requested -= 1
            pid = int.from_bytes(message, "little")
            self._ready.append(ExecutionChild(self, pid, Connection(descriptors[0])))

    def reap(self, pid: int) -> int:
        """Wait for child ``pid`` to end; its exit code (a child whose zygote is gone died with
        it: SIGKILL)."""
        self._receive_prepared()
        if self._control is None:
            return -signal.SIGKILL
        try:
            self._control.sendall(_REAP + pid.to_bytes(4, "little"))
            reply = self._control.recv(4)
        except OSError:
            reply = b""
        if len(reply) != 4:
            return -signal.SIGKILL
        return int.from_bytes(reply, "little", signed=True)

    def close(self) -> None:
        """Stop the zygote, and so its children (they die with it). It is killed rather than
        asked: a process forked meanwhile may hold a copy of its socket, so it might never see
        this end close."""
        for child in self._ready:
            child.connection.close()
        self._ready.clear()
        self._requested = 0
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None


def _serve(control: socket.socket, limits: ExecutionLimits, catalogue: DeviceCatalogue) -> None:
    """The zygote: warm up, then fork a child or report how one ended, as the worker asks;
    it reaps children as they end, keeping their exit codes until asked. Never returns."""
    die_with_parent()
    ended: dict[int, int] = {}
    signal.signal(signal.SIGCHLD, lambda *_: _reap_ended(ended))
    try:
        pin_blas_to_one_thread()
        warm_up(catalogue)
        while request := control.recv(5):
            command, pid = request[:1], int.from_bytes(request[1:], "little")
            if command == _SPAWN:
                ours, theirs = socket.socketpair()
                child = os.fork()
                if child == 0:
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    control.close()
                    ours.close()
                    _child_main(Connection(theirs.detach()), limits, catalogue)
                    os._exit(0)
                theirs.close()
                socket.send_fds(control, [child.to_bytes(4, "little")], [ours.fileno()])
                ours.close()
            elif command == _REAP:
                with contextlib.suppress(ChildProcessError):  # reaped meanwhile: it is in ended
                    _, status = os.waitpid(pid, 0)
                    ended[pid] = os.waitstatus_to_exitcode(status)
                code = ended.pop(pid, -signal.SIGKILL)
                control.sendall(code.to_bytes(4, "little", signed=True))
    finally:
        os._exit(0)


def _reap_ended(ended: dict[int, int]) -> None:
    """Collect every child that has ended (on SIGCHLD); keep the last codes for the worker."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ended[pid] = os.waitstatus_to_exitcode(status)
        if len(ended) > _REMEMBERED_EXITS:
            del ended[next(iter(ended))]


def _child_main(
    connection: Connection, limits: ExecutionLimits, catalogue: DeviceCatalogue
) -> None:
    """Wait for one job, run it under the memory limit, send its outcome. A child left waiting
    touches the common path first (:func:`~qstation.worker.warm_up.touch`): its first job
    then runs in 8 ms instead of 12 (measured); a busy worker's children get their job at once
    and skip it, since it would only add to their work."""
    die_with_parent()
    faulthandler.disable()  # a crash here is reported by the supervisor; no stack dump to stderr
    if not connection.poll(_TOUCH_AFTER_SECONDS):
        with contextlib.suppress(Exception):
            touch(catalogue)
    try:
        job, shots, device = connection.recv()
    except EOFError:  # the worker stopped before it had a job for this child
        return
    memory = limits.memory_bytes
    limit = address_space("VmSize") + memory
    if limit > memory:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        outcome = execute(
            job, device, limits, on_compiled=lambda: connection.send(COMPILED), shots=shots
        )
    except Exception as error:  # a bug must still end the job with a message, not a hang
        # At the address-space limit libraries fail in many ways, not only with MemoryError.
        if address_space("VmPeak") + _MEMORY_SLACK_BYTES >= limit:
            cause = f"the execution ran out of its memory limit of {describe_bytes(memory)}"
        else:
            cause = "internal error"
        outcome = failure(job.id, f"{cause} ({type(error).__name__}: {error})")
    connection.send(outcome)
    connection.close()


def failure(job_id: str, text: str) -> ExecutionOutcome:
    return ExecutionOutcome(JobStatus.FAILED, error=ExecutionError(text).job_error(job_id))
