"""Records shared by the store, the service, the worker and the API.

Job status words are the eight the machine API knows (any other word crashes the client).
Every status change goes through :data:`ALLOWED_TRANSITIONS`; the store guards each change in SQL
(``… WHERE status IN (:expected)``) so two workers can never both finish one job.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qstation.scheduling.policy import DEFAULT_PRIORITY

DEFAULT_ORGANISATION = "default"
"""The organisation of every user no administrator placed in another."""
DEFAULT_GROUP = "DEFAULT"
"""The group of an organisation that jobs naming no group go to; every organisation has one."""


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELING = "canceling"
    CANCELED = "canceled"
    DEPLETED = "depleted"
    TERMINATED = "terminated"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELED,
        JobStatus.DEPLETED,
        JobStatus.TERMINATED,
    }
)

ALLOWED_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset(
        {JobStatus.RUNNING, JobStatus.CANCELED, JobStatus.FAILED, JobStatus.DEPLETED}
    ),
    # RUNNING -> RUNNING is a re-claim after the previous worker's lease expired, or the claim
    # of a job's next chunk; RUNNING -> CANCELED cancels a job between chunks, which no worker
    # holds.
    JobStatus.RUNNING: frozenset(
        {
            JobStatus.RUNNING,
            JobStatus.COMPLETED,
            JobStatus.FAILED,
            JobStatus.CANCELING,
            JobStatus.CANCELED,
            JobStatus.DEPLETED,
            JobStatus.TERMINATED,
        }
    ),
    JobStatus.CANCELING: frozenset({JobStatus.CANCELED, JobStatus.FAILED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELED: frozenset(),
    JobStatus.DEPLETED: frozenset(),
    JobStatus.TERMINATED: frozenset(),
}


class Role(enum.StrEnum):
    """What a user may administer besides their own jobs."""

    MEMBER = "member"
    """Their own jobs only."""
    ADMIN = "admin"
    """Also their organisation: its users, groups, members, priorities and quotas."""
    OPERATOR = "operator"
    """Every organisation, the calendar of operational hours, and the audit log."""


@dataclass(frozen=True)
class User:
    id: str
    email: str
    password_hash: str
    group: str
    """The group the user's jobs go to when they name none."""
    created_at: datetime
    organisation: str = DEFAULT_ORGANISATION
    priority: int = DEFAULT_PRIORITY
    tokens_valid_after: datetime | None = None
    """id-tokens issued before this are refused (set by revocation and a new password)."""
    mfa_secret: str | None = None
    """The TOTP secret, encrypted (see :mod:`qstation.security.keys`); None: no MFA."""
    mfa_last_step: int | None = None
    """The time step of the last code accepted, so no code is accepted twice."""
    role: Role = Role.MEMBER


class CreditKind(enum.StrEnum):
    """Credits are allotted per device type: hardware and emulators are kept apart."""

    HARDWARE = "hardware"
    EMULATOR = "emulator"


@dataclass(frozen=True)
class CreditQuota:
    """HQCs an organisation (or one of its groups) may spend on a kind of device per calendar
    month (UTC)."""

    organisation: str
    kind: CreditKind
    credits: float
    group: str | None = None  # None: the whole organisation


@dataclass(frozen=True)
class JobQuery:
    """Which of a user's jobs to list (``GET /v1/jobs``); every given filter must hold."""

    statuses: frozenset[JobStatus] = frozenset()  # empty: any
    machine: str | None = None
    group: str | None = None
    name_contains: str | None = None
    submitted_after: datetime | None = None  # exclusive
    submitted_before: datetime | None = None  # exclusive
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class Group:
    """A group of an organisation's users, with its dispatch priority (1 = highest)."""

    organisation: str
    name: str
    priority: int = DEFAULT_PRIORITY


@dataclass(frozen=True)
class NewJob:
    """A validated submission, ready to be committed."""

    id: str
    owner_id: str
    name: str
    machine: str
    language: str
    program: str
    count: int
    options: dict[str, Any]
    group: str
    seed: int
    submitted_at: datetime
    cfl: str | None = None
    max_cost: float | None = None
    organisation: str = DEFAULT_ORGANISATION
    batch_id: str | None = None
    """The first job of the batch this job belongs to (the first job names itself)."""
    batch_limit: float | None = None
    """On a batch's first job: the HQCs past which the batch closes."""
    batch_end: bool = False
    client_metadata: dict[str, Any] | None = None
    """What the submitting client asked the server to keep with the job and give back to its
    owner (qstation's native client: the post-processing circuit and result selection, so a
    handle can be rebuilt from the job ID alone)."""


@dataclass(frozen=True, kw_only=True)
class JobRecord(NewJob):
    """A committed job: the submission plus where it is in its life."""

    status: JobStatus
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    cost: float | None = None
    results: dict[str, list[str]] | None = None
    attempts: int = 0
    """Attempts at the chunk of shots claimed last (each chunk counts its own)."""
    shots_done: int = 0
    """Shots whose results are recorded: an exact prefix, as chunks may end out of order."""
    truncation_error: float | None = None
    """The largest truncation error of the job's chunks (the MPS engine's estimated
    ``1 - fidelity``); None: no chunk ran on an engine that truncates."""


@dataclass(frozen=True)
class ClaimedJob:
    """A chunk of a job (its ``shots``) a worker now runs until ``lease_expires_at`` (renewed
    by heartbeats)."""

    job: JobRecord
    attempt_id: int
    worker_id: str
    lease_expires_at: datetime
    shots: range


@dataclass(frozen=True)
class LeaseState:
    """Answer to a heartbeat: does the worker still own the job, and is a cancel pending?"""

    owned: bool
    cancel_requested: bool


@dataclass(frozen=True)
class Attempt:
    """One execution attempt of a job: who ran it, when, and how it ended."""

    id: int
    job_id: str
    worker_id: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    message: str | None = None


@dataclass(frozen=True)
class ExecutionOutcome:
    """What a worker reports when an attempt ends."""

    status: JobStatus  # COMPLETED, FAILED or CANCELED
    results: dict[str, list[str]] | None = None
    cost: float | None = None
    error: str | None = None
    credits: CreditKind | None = None
    """The credits a completed job's cost is drawn from; None: free (syntax checkers)."""
    truncation_error: float | None = None
    """What an approximate engine's truncations lost (the MPS engine's estimated
    ``1 - fidelity``); None: the engine is exact."""
