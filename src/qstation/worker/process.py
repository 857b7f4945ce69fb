"""A worker as an operating-system process: ``qstation worker`` and the ones ``serve`` starts."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType

from qstation.devices.catalogue import DeviceCatalogue
from qstation.processes import die_with_parent, limit_own_memory
from qstation.settings import Settings
from qstation.store import open_store
from qstation.worker.stop_signal import StopSignal
from qstation.worker.supervisor import Worker

log = logging.getLogger(__name__)


def run_worker(settings: Settings, embedded_by: int | None = None) -> None:
    """Work until SIGTERM/SIGINT (or, when ``serve`` process ``embedded_by`` started it, until
    that process is gone); a chunk running then is handed back to the queue at once."""
    stop = StopSignal()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if embedded_by is not None:
        die_with_parent()
        # A server killed while this process was starting is gone before the request to die
        # with it: without this, the worker would outlive it and poll the store forever.
        if os.getppid() != embedded_by:
            log.warning("the server that started this worker has ended; not starting")
            return
    store = open_store(settings.database_url(), settings.database_pool_size)
    try:
        catalogue = DeviceCatalogue.load(settings.devices_file)
        worker = Worker(store, catalogue, settings, stop=stop)
        # the zygote it forks inherits this soft limit; each execution child sets its own
        limit_own_memory(settings.worker_memory_bytes)
        worker.run_forever(lambda: embedded_by is not None and os.getppid() != embedded_by)
    finally:
        store.close()
        stop.close()


class EmbeddedWorkers:
    """Worker processes owned by ``serve``: started and stopped with it, restarted if they die."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="worker-monitor", daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        environment = {**os.environ, **self.settings.as_environment()}
        command = [sys.executable, "-m", "qstation", "worker", "--embedded-by", str(os.getpid())]
        return subprocess.Popen(command, env=environment)

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.settings.workers)]
        self._monitor.start()

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            for i, process in enumerate(self.processes):
                if process.poll() is not None and not self._stopping.is_set():
                    log.warning(
                        "worker process %s exited (%s); restarting", process.pid, process.returncode
                    )
                    self.processes[i] = self._spawn()

    def stop(self, grace_seconds: float = 10.0) -> None:
        self._stopping.set()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + grace_seconds
        for process in self.processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
