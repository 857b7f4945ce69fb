"""Submitting, reading and cancelling jobs on behalf of a user."""

from __future__ import annotations

import json
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from qstation.devices.catalogue import DeviceCatalogue
from qstation.errors import BadRequest, InvalidJobRequest
from qstation.model import JobRecord, NewJob, User
from qstation.service.clock import Clock, utc_now
from qstation.store import JobStore

_SEED_LIMIT = 2**63  # seeds are stored as signed 64-bit integers


class JobRequest(BaseModel):
    """The body of ``POST /v1/job`` as pytket-quantinuum builds it; unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, strict=True)

    machine: str = Field(min_length=1)
    language: str
    program: str = Field(min_length=1)
    count: StrictInt = Field(ge=1)
    name: str = "job"
    options: dict[str, Any] = Field(default_factory=dict)
    group: str | None = None
    cfl: str | None = None
    max_cost: float | int | None = Field(default=None, alias="max-cost")
    batch_exec: StrictInt | str | None = Field(default=None, alias="batch-exec")
    batch_end: StrictBool | None = Field(default=None, alias="batch-end")


def parse_json_body(raw: bytes) -> Any:
    """Bodies arrive as raw JSON text without a Content-Type (the client's habit)."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequest(f"the request body is not valid JSON: {error}") from None


def _describe(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        parts.append(f"{where}: {problem['msg']}")
    return "; ".join(parts)


class JobService:
    def __init__(self, store: JobStore, catalogue: DeviceCatalogue, clock: Clock = utc_now) -> None:
        self.store = store
        self.catalogue = catalogue
        self.clock = clock

    def submit(self, user: User, body: Any) -> JobRecord:
        """Validate and commit a job; it is durable before this returns."""
        if not isinstance(body, dict):
            raise InvalidJobRequest("the job request must be a JSON object")
        try:
            request = JobRequest.model_validate(body)
        except ValidationError as error:
            raise InvalidJobRequest(f"invalid job request: {_describe(error)}") from None
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
        job = NewJob(
            id=secrets.token_hex(16),
            owner_id=user.id,
            name=request.name,
            machine=device.name,
            language=request.language,
            program=request.program,
            count=request.count,
            options=request.options,
            group=request.group or user.group,
            seed=self._seed(request.options),
            submitted_at=self.clock(),
            cfl=request.cfl,
            max_cost=None if request.max_cost is None else float(request.max_cost),
        )
        return self.store.create_job(job)

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
        return self.store.get_job(job_id, user.id)

    def cancel(self, user: User, job_id: str) -> JobRecord:
        return self.store.cancel_job(job_id, user.id, self.clock())
