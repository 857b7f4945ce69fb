"""A one-line progress display while a job is waited for: on a terminal (or a notebook, which
honours carriage returns), never when output goes to a file or a pipe."""

from __future__ import annotations

import sys
from typing import Any, TextIO


def _interactive(stream: TextIO) -> bool:
    if stream.isatty():
        return True
    return "ipykernel" in sys.modules and type(stream).__name__ == "OutStream"


class Progress:
    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = _interactive(self.stream) if enabled is None else enabled
        self._width = 0

    def show(self, status: dict[str, Any]) -> None:
        """The job's status, queue position, shots done and cost, in place of the last line."""
        if not self.enabled:
            return
        parts = [f"job {status['job']}: {status['status']}"]
        if status.get("queue-position") is not None:
            parts.append(f"position {status['queue-position']} in the queue")
        parts.append(f"{status.get('last-shot') or 0}/{status['count']} shots")
        if status.get("cost") is not None:
            parts.append(f"{status['cost']} HQC")
        line = ", ".join(parts)
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def done(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0
