"""Queue positions come from per-target rankings that are kept while fresh (docs/scheduling.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from qstation.model import JobRecord, JobStatus
from qstation.service.queue_positions import QueuePositions

T0 = datetime(2026, 11, 24, 9, 0)


class FakeDispatch:
    """Counts the rankings asked for; each takes ``ranking_seconds`` on the fake clock."""

    def __init__(self, clock: list[float], queue: list[str], ranking_seconds: float = 0.0) -> None:
        self.clock, self.queue, self.ranking_seconds = clock, queue, ranking_seconds
        self.rankings = 0
        self.counted: list[str] = []

    def ranking(self, machine: str, now: datetime, window: timedelta) -> list[str]:
        self.rankings += 1
        self.clock[0] += self.ranking_seconds
        return list(self.queue)

    def position(self, job_id: str, machine: str, now: datetime, window: timedelta) -> int | None:
        self.counted.append(job_id)
        return self.queue.index(job_id) + 1 if job_id in self.queue else None


def job(job_id: str, status: JobStatus = JobStatus.QUEUED) -> JobRecord:
    return JobRecord(
        job_id, "owner", "", "H1-1", "OPENQASM 2.0", "", 1, {}, "G", 0, T0, status=status
    )


def positions(dispatch: FakeDispatch, clock: list[float]) -> QueuePositions:
    return QueuePositions(
        dispatch, timedelta(hours=3), lambda: T0, refresh_seconds=0.5,  # type: ignore[arg-type]
        monotonic=lambda: clock[0],
    )  # fmt: skip


def test_a_fresh_ranking_answers_every_read_until_it_ages() -> None:
    clock = [100.0]
    dispatch = FakeDispatch(clock, ["a", "b", "c"])
    queue = positions(dispatch, clock)
    assert [queue.of(job("c")), queue.of(job("a"))] == [3, 1]
    assert queue.known(job("b")) == 2 and dispatch.rankings == 1
    dispatch.queue = ["b", "c"]  # "a" ran
    clock[0] += 0.6
    assert queue.known(job("b")) is None  # too old to answer without work
    assert queue.of(job("b")) == 1 and dispatch.rankings == 2


def test_a_slow_ranking_is_kept_ten_times_as_long_as_it_took() -> None:
    clock = [0.0]
    dispatch = FakeDispatch(clock, ["a"], ranking_seconds=0.2)
    queue = positions(dispatch, clock)
    queue.of(job("a"))  # taken at 0.0, done at 0.2
    clock[0] += 1.7  # 1.9 s old: older than 0.5 s, younger than 10 x 0.2 s
    assert queue.of(job("a")) == 1 and dispatch.rankings == 1
    clock[0] += 0.2
    assert queue.of(job("a")) == 1 and dispatch.rankings == 2


def test_a_job_newer_than_the_ranking_is_counted_on_its_own() -> None:
    clock = [0.0]
    dispatch = FakeDispatch(clock, ["a"])
    queue = positions(dispatch, clock)
    queue.of(job("a"))
    dispatch.queue.append("late")
    assert queue.of(job("late")) == 2 and dispatch.counted == ["late"]


def test_only_queued_jobs_have_a_position() -> None:
    clock = [0.0]
    dispatch = FakeDispatch(clock, ["a"])
    queue = positions(dispatch, clock)
    assert queue.of(job("a", JobStatus.RUNNING)) is None and dispatch.rankings == 0
