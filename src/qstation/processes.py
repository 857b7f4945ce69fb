"""What every process ``serve`` starts shares: dying with the process that started it, and
limits on its own memory."""

from __future__ import annotations

import resource
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so no orphan keeps running."""
    if sys.platform != "linux":
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def address_space(field: str = "VmSize") -> int:
    """``VmSize`` or ``VmPeak`` of this process, in bytes (0 where /proc is absent)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def limit_own_memory(extra_bytes: int) -> None:
    """Let this process grow by at most ``extra_bytes`` of address space from now on. Only the
    soft limit is set, so an execution child forked later may set its own, larger one."""
    current = address_space()
    if current:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (current + extra_bytes, hard))
