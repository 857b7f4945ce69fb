"""Results of a job's chunks: kept with their attempts while the job runs, joined once.

A job run in chunks (in parallel, possibly finishing out of order) records its progress as
``jobs.shots_done``, the end of the prefix of shots whose chunks are all done. The chunks'
results stay in their own attempt rows until the job ends; only then are they joined, in shot
order, into ``jobs.results`` and dropped from the attempts. Rewriting the job's whole results
document at every chunk made a job's cost grow with the square of its chunks (1,000,000 shots
in 16,384-shot chunks took 124 s against 58 s in 65,536-shot ones); now each chunk costs one
write of its own results, and a read of a running job joins its prefix on demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, bindparam, select, update

from qstation.model import JobRecord, JobStatus
from qstation.store.job_states import CHUNK
from qstation.store.records import job_record
from qstation.store.schema import job_attempts, jobs

Results = dict[str, list[str]]
"""Outcomes by classical register label, one bit string per shot."""


class Chunk(NamedTuple):
    shots: range
    results: Mapping[str, Sequence[str]]


def keep(
    conn: Connection, attempt_id: int, results: Mapping[str, Sequence[str]], now: datetime,
    message: str,
) -> None:  # fmt: skip
    """End the attempt as a done chunk whose results wait for the job to end."""
    conn.execute(_KEEP, {"attempt_id": attempt_id, "results": results, "now": now, "m": message})


def frontier(conn: Connection, job_id: str, start: int) -> int:
    """The end of the run of done chunks that starts at shot ``start`` (``start`` if none)."""
    done = start
    for first_shot, stop_shot in conn.execute(_KEPT_SPANS, {"job_id": job_id, "from": start}):
        if first_shot != done:
            break
        done = stop_shot
    return done


def settle(conn: Connection, job_id: str, upto: int, extra: Chunk | None = None) -> Results | None:
    """The results of a job that is ending, for its shots before ``upto``: its done chunks and
    ``extra`` (a chunk not kept), joined in shot order; ``None`` if there are none. Its
    chunks' results are dropped from their attempts (the caller writes these to the job)."""
    if extra is not None and extra.shots == range(upto):  # one chunk ran every shot
        return dict(_joined([extra]))
    kept = [
        Chunk(range(first, stop), results)
        for first, stop, results in conn.execute(_KEPT_RESULTS, {"job_id": job_id})
        if first < upto
    ]
    conn.execute(_DROP, {"of_job": job_id})
    chunks = kept if extra is None else [*kept, extra]
    return _joined(chunks) if chunks else None


def settle_ended(conn: Connection, job: Row[Any]) -> Row[Any]:
    """:func:`settle` a job that has just ended without its results; its row with them."""
    if not job.shots_done:
        return job
    results = settle(conn, job.id, job.shots_done)
    return conn.execute(_RECORD_RESULTS, {"job_id": job.id, "results": results}).one()


def with_prefix(conn: Connection, job: JobRecord) -> JobRecord:
    """A running job with the results of its done prefix. Its kept chunks are read first,
    then the job again: a job that ended meanwhile comes back as it ended (with its results),
    and one still running had every chunk of its prefix kept; its ``shots_done`` is then the end
    of the chunks read (a chunk that finished in between moved the job on)."""
    kept = conn.execute(_KEPT_RESULTS, {"job_id": job.id}).all()
    current = conn.execute(_JOB, {"job_id": job.id}).first()
    if current is None:
        return job
    now = job_record(current)
    if now.status not in (JobStatus.RUNNING, JobStatus.CANCELING):
        return now
    prefix, done = list[Chunk](), 0
    for first, stop, results in sorted(kept, key=lambda chunk: chunk[0]):
        if first != done or stop > now.shots_done:
            break
        prefix.append(Chunk(range(first, stop), results))
        done = stop
    return replace(now, results=_joined(prefix) if prefix else None, shots_done=done)


def _joined(chunks: Iterable[Chunk]) -> Results:
    results: Results = {}
    for chunk in sorted(chunks, key=lambda chunk: chunk.shots.start):
        for label, values in chunk.results.items():
            results.setdefault(label, []).extend(values)
    return results


_JOB = select(jobs).where(jobs.c.id == bindparam("job_id"))
_KEEP = (
    update(job_attempts)
    .where(job_attempts.c.id == bindparam("attempt_id"))
    .values(
        ended_at=bindparam("now"),
        outcome=CHUNK,
        message=bindparam("m"),
        results=bindparam("results", type_=job_attempts.c.results.type),
        lease_expires_at=None,
    )
)
_KEPT = (
    job_attempts.c.job_id == bindparam("job_id"),
    job_attempts.c.outcome == CHUNK,
    job_attempts.c.results.is_not(None),
)
_KEPT_SPANS = (
    select(job_attempts.c.first_shot, job_attempts.c.stop_shot)
    .where(*_KEPT, job_attempts.c.first_shot >= bindparam("from"))
    .order_by(job_attempts.c.first_shot)
)
_KEPT_RESULTS = select(
    job_attempts.c.first_shot, job_attempts.c.stop_shot, job_attempts.c.results
).where(*_KEPT)
_RECORD_RESULTS = (
    update(jobs)
    .where(jobs.c.id == bindparam("job_id"))
    .values(results=bindparam("results", type_=jobs.c.results.type))
    .returning(*jobs.c)
)
_DROP = (
    update(job_attempts)
    .where(job_attempts.c.job_id == bindparam("of_job"), job_attempts.c.results.is_not(None))
    .values(results=None)
)
