"""A stop request a worker can wait on together with its execution child.

SIGTERM must reach a worker that is waiting for its child's answer at once, not at its next
lease renewal (a third of the lease later): the signal handler writes to a pipe that
:func:`multiprocessing.connection.wait` watches beside the child's socket.
"""

from __future__ import annotations

import contextlib
import os


class StopSignal:
    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self._set = False

    def set(self) -> None:
        """Safe in a signal handler: one non-blocking write."""
        self._set = True
        with contextlib.suppress(BlockingIOError):
            os.write(self._write, b"s")

    def is_set(self) -> bool:
        return self._set

    def fileno(self) -> int:
        """Readable once :meth:`set` was called."""
        return self._read

    def close(self) -> None:
        for descriptor in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(descriptor)
