"""Time as the service sees it: naive UTC, injectable so tests control it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def epoch_seconds(moment: datetime) -> float:
    """Seconds since the epoch for a naive UTC datetime (``.timestamp()`` would assume local)."""
    return moment.replace(tzinfo=UTC).timestamp()
