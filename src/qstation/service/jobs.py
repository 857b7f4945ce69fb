"""Submitting, reading and cancelling jobs on behalf of a user."""

from __future__ import annotations

import re
import secrets
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
)

from qstation.devices.catalogue import DeviceCatalogue
from qstation.engines.registry import unknown_engine
from qstation.errors import BadRequest, Forbidden, InvalidJobRequest, JobNotFound
from qstation.model import TRUNCATION_ERROR, JobQuery, JobRecord, NewJob, User
from qstation.scheduling.policy import FAIR_SHARE_WINDOW
from qstation.service.audit import AuditLog
from qstation.service.clock import Clock, utc_now
from qstation.service.job_limits import SubmissionLimits
from qstation.service.queue_positions import QueuePositions
from qstation.service.validation import (
    GroupName,
    Identifier,
    Name,
    PlainText,
    Program,
    describe_problems,
)
from qstation.settings import Settings
from qstation.store import JobStore
from qstation.store.audit import AuditEntry
from qstation.store.standing import Standing

_SEED_LIMIT = 2**63  # seeds are stored as signed 64-bit integers
_JOB_ID = re.compile(r"[0-9a-f]{32}")


class JobRequest(BaseModel):
    """The body of ``POST /v1/job`` as pytket-quantinuum builds it; unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, strict=True)

    machine: Identifier
    language: Identifier
    program: Program
    count: StrictInt = Field(ge=1)
    name: Name = "job"
    options: dict[str, Any] = Field(default_factory=dict)
    group: GroupName | None = None
    cfl: PlainText | None = None
    max_cost: float | int | None = Field(default=None, alias="max-cost")
    batch_exec: StrictInt | str | None = Field(default=None, alias="batch-exec")
    batch_end: StrictBool | None = Field(default=None, alias="batch-end")
    client_metadata: dict[str, Any] | None = Field(default=None, alias="client-metadata")

    @field_validator("max_cost")
    @classmethod
    def _finite_cost(cls, value: float | int | None) -> float | int | None:
        if value is not None and not 0 <= value <= MAX_HQCS:
            raise ValueError(f"must be a number of HQCs from 0 to {MAX_HQCS:g}")
        return value

    @field_validator("batch_exec")
    @classmethod
    def _batch_limit_in_range(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value > MAX_HQCS:  # not positive: refused with the batch
            raise ValueError(f"a batch's cost limit must be at most {MAX_HQCS:g} HQCs")
        return value


MAX_HQCS = 1e9
"""Largest cost limit a job or batch may name: far above any real job, and a float exactly."""


_FRESH = timedelta(seconds=1)
MAX_PAGE = 500
"""Most jobs one ``GET /v1/jobs`` returns."""
MAX_OFFSET = 2**31 - 1


class JobService:
    def __init__(
        self,
        store: JobStore,
        catalogue: DeviceCatalogue,
        clock: Clock = utc_now,
        fair_share_window: timedelta = FAIR_SHARE_WINDOW,
        settings: Settings | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.store = store
        self.catalogue = catalogue
        self.clock = clock
        self.window = fair_share_window
        self.positions = QueuePositions(store.dispatch, fair_share_window, clock)
        self.limits = SubmissionLimits(store, settings or Settings())
        self.audit = audit

    def submit(self, user: User, body: Any) -> JobRecord:
        """Validate and commit a job; it is durable before this returns."""
        return self.store.jobs.create(self.prepare(user, body))

    def commit(self, job: NewJob, submitter: User, source: str) -> Future[JobRecord]:
        """Commit a prepared job with its audit row; the job is durable once the future is
        done."""
        entry = AuditEntry(
            job.submitted_at, "job.submit", "ok", submitter.email, job.id, source, job.machine
        )
        return self.store.jobs.create_later(job, entry)

    def prepare(self, user: User, body: Any) -> NewJob:
        """The job a submission describes, validated and ready to commit."""
        if not isinstance(body, dict):
            raise InvalidJobRequest("the job request must be a JSON object")
        try:
            request = JobRequest.model_validate(body)
        except ValidationError as error:
            raise InvalidJobRequest(
                f"invalid job request: {describe_problems(error.errors())}"
            ) from None
        device = self.catalogue.get(request.machine)
        if request.count > device.max_shots:
            raise InvalidJobRequest(
                f"count {request.count} exceeds {device.name}'s maximum of {device.max_shots} shots"
            )
        if request.language not in device.languages:
            raise InvalidJobRequest(
                f"language {request.language!r} is not supported by {device.name}; "
                f"use one of {sorted(device.languages)}"
            )
        self.limits.check_sizes(
            request.program, request.cfl, request.options, request.language, request.count,
            request.client_metadata,
        )  # fmt: skip
        unknown = unknown_engine(request.options)
        if unknown is not None:
            raise InvalidJobRequest(f"options.{unknown}")
        if TRUNCATION_ERROR in request.options:
            raise InvalidJobRequest(f"options.{TRUNCATION_ERROR} is reported, not set by a job")
        self.limits.admit(user.id)
        job_id = secrets.token_hex(16)
        batch_id, batch_limit = self._batch(user, job_id, device.name, request)
        return NewJob(
            id=job_id,
            owner_id=user.id,
            name=request.name,
            machine=device.name,
            language=request.language,
            program=request.program,
            count=request.count,
            options=request.options,
            group=self._group(user, request.group),
            seed=self._seed(request.options),
            submitted_at=self.clock(),
            cfl=request.cfl,
            max_cost=None if request.max_cost is None else float(request.max_cost),
            organisation=user.organisation,
            batch_id=batch_id,
            batch_limit=batch_limit,
            batch_end=bool(request.batch_end),
            client_metadata=request.client_metadata,
        )

    def _batch(
        self, user: User, job_id: str, machine: str, request: JobRequest
    ) -> tuple[str | None, float | None]:
        """The batch the job joins and, for a first job, the batch's cost limit."""
        named = request.batch_exec
        if named is None:
            if request.batch_end:
                raise InvalidJobRequest("batch-end needs batch-exec: the batch's first job")
            return None, None
        if isinstance(named, int):
            if named <= 0:
                raise InvalidJobRequest(
                    f"batch-exec, a batch's cost limit, must be positive, not {named}"
                )
            return job_id, float(named)
        try:
            first = self.store.jobs.get(_checked_id(named), user.id)
        except JobNotFound:
            raise InvalidJobRequest(f"batch-exec names no job of yours: {named!r}") from None
        if first.batch_id != first.id:
            raise InvalidJobRequest(f"job {first.id} does not start a batch")
        if first.machine != machine:
            raise InvalidJobRequest(f"the batch of job {first.id} runs on {first.machine}")
        return first.id, None

    def _group(self, user: User, named: str | None) -> str:
        """The group the job runs for: the one it names, of which the submitter must be a
        member, or the submitter's own."""
        if named is None or named == user.group:
            return user.group
        if self.store.organisations.is_member(user.organisation, named, user.id):
            return named
        if self.store.organisations.get_group(user.organisation, named) is None:
            raise InvalidJobRequest(f"the organisation {user.organisation} has no group {named!r}")
        raise Forbidden(
            f"you are not a member of the group {named!r} of {user.organisation}; an "
            "administrator adds members with qstation group add-member"
        )

    def find(self, user: User, query: JobQuery) -> list[JobRecord]:
        if not 1 <= query.limit <= MAX_PAGE:
            raise BadRequest(f"limit must be from 1 to {MAX_PAGE}, not {query.limit}")
        if not 0 <= query.offset <= MAX_OFFSET:
            raise BadRequest(f"offset must be from 0 to {MAX_OFFSET}, not {query.offset}")
        return self.store.jobs.find(user.id, query)

    def queue_position(self, job: JobRecord) -> int | None:
        """Where a queued job stands in its target's queue (1 runs next)."""
        return self.positions.of(job)

    def may_finish_soon(self, job: JobRecord) -> bool:
        """Submitted in the last second and not finished: worth a short wait before answering."""
        fresh = self.clock() - job.submitted_at < _FRESH
        return fresh and not job.status.is_final

    def standing(self, job: JobRecord) -> Standing | None:
        """Where a waiting job stands and which rule puts each job ahead of it."""
        return self.store.dispatch.standing(job.id, job.machine, self.clock(), self.window)

    def known_queue_position(self, job: JobRecord) -> int | None:
        """:meth:`queue_position` when a fresh ranking has it at hand (no I/O), else None."""
        return self.positions.known(job)

    @staticmethod
    def _seed(options: dict[str, Any]) -> int:
        seed = options.get("seed")
        if seed is None:
            return secrets.randbelow(_SEED_LIMIT)
        if (
            isinstance(seed, bool)
            or not isinstance(seed, int)
            or not -_SEED_LIMIT <= seed < _SEED_LIMIT
        ):
            raise InvalidJobRequest(f"options.seed must be a 64-bit signed integer, not {seed!r}")
        return seed

    def get(self, user: User, job_id: str) -> JobRecord:
        return self.store.jobs.get(_checked_id(job_id), user.id)

    def cancel(self, user: User, job_id: str) -> JobRecord:
        canceled = self.store.jobs.cancel(_checked_id(job_id), user.id, self.clock())
        if self.audit is not None:
            self.audit.record("job.cancel", actor=user.email, subject=job_id)
        return canceled


def _checked_id(job_id: str) -> str:
    """Anything that is not a job ID names no job: the same answer as an unknown one."""
    if not _JOB_ID.fullmatch(job_id):
        raise JobNotFound()
    return job_id
