"""The one typed configuration object.

Precedence: command-line flag > ``QSTATION_*`` environment variable > default. Only this module
reads the environment. Secrets (the database URL may hold a password) are never logged: use
:meth:`Settings.describe` for log lines.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from qstation.logs import LogFormat


def default_data_dir() -> Path:
    """The user's data directory, where the embedded SQLite store lives by default."""
    return Path(platformdirs.user_data_dir("qstation", appauthor=False))


class Settings(BaseSettings):
    """Everything an operator can set, with its unit and meaning."""

    model_config = SettingsConfigDict(
        env_prefix="QSTATION_", extra="forbid", use_attribute_docstrings=True
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    """Directory for the embedded SQLite database (``qstation.db``)."""

    log_level: str = "INFO"
    """Lowest level logged: DEBUG, INFO, WARNING or ERROR (``--log-level``)."""
    log_format: LogFormat = "text"
    """``text`` for a terminal; ``json``, one object a line with job, worker and organisation
    fields, for a log shipper (``--log-format``)."""

    database: str | None = None
    """SQLAlchemy URL (``postgresql://…`` or ``sqlite:///…``); default: SQLite in ``data_dir``."""

    database_pool_size: int = Field(default=10, ge=1)
    """PostgreSQL connections each process keeps open (as many again may be opened for a
    burst); count them into the server's ``max_connections`` for every process of a fleet."""

    host: str = "127.0.0.1"
    """Address the HTTP API listens on (``0.0.0.0``: every interface)."""
    port: int = 8000
    """TCP port of the HTTP API."""

    keep_alive_seconds: int = 75
    """Idle HTTP connections stay open this long; it must exceed the client's 5 s poll interval,
    or a poll races the server closing the connection and fails with RemoteDisconnected."""

    workers: int = Field(default=1, ge=0)
    """Worker processes started by ``serve``; 0 runs the API alone."""

    api_processes: int = Field(default=2, ge=1)
    """HTTP API processes ``serve`` runs on its port; each answers requests on its own."""

    status_wait_seconds: float = Field(default=0.05, ge=0, le=1)
    """A status read of a job submitted in the last second, still queued or running, waits up to
    this long for it to finish, so a small job is done by the client's first read (0: never)."""

    tls_cert: Path | None = None
    """PEM certificate (with its chain) to serve HTTPS with; needs ``tls_key``."""
    tls_key: Path | None = None
    """PEM private key of ``tls_cert`` (keep it mode 0600)."""

    trusted_proxies: str = ""
    """Comma-separated addresses of reverse proxies whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed (``*``: any); empty: none, the peer's address is the
    client's (login throttling and the audit log use it)."""

    access_log: bool = False
    """Log every HTTP request (a reverse proxy in front usually does that already)."""

    devices_file: Path | None = None
    """JSON device catalogue replacing the packaged one."""

    lease_seconds: float = 30.0
    """How long a worker owns a claimed job without renewing; past it another worker re-runs it."""

    max_attempts: int = 3
    """Executions a job may start; one cut off this often (its worker died) fails instead."""

    poll_interval_seconds: float = 0.2
    """How often an idle worker looks for queued jobs."""

    chunk_shots: int = Field(default=2048, ge=1024, multiple_of=1024)
    """Shots a worker runs before handing a job back to the queue: long jobs report partial
    results as they go, and others' jobs can run in between. A multiple of 1,024, so that the
    stabilizer engine's sampling blocks, and so the shots, are those of a whole run."""

    fair_share_window_hours: float = Field(default=3.0, gt=0, le=24)
    """How far back HQCs on a target count in fair-share dispatch (published: 2-4 hours; use older
    than 24 hours is not kept)."""

    execution_memory_bytes: int = 8 * 2**30
    """Address-space limit for one execution child; beyond it the job fails, the worker lives."""

    execution_processes: int = Field(default=0, ge=0)
    """Processes one execution may split its noisy shots and shots with feedback over (an exact
    run is one state-vector pass and is not split); 0: the cores this process may use, shared
    by ``serve``'s embedded workers (set it when several standalone workers share a host).
    Engines split only runs whose estimated work outweighs a fork; a program whose shots run
    together in groups does the groups' work in each process (docs/benchmarks.md). The
    execution memory limit holds the states of them all."""

    worker_memory_bytes: int = Field(default=2 * 2**30, ge=2**28)
    """Address space a worker process may add after it has started (results it handles are
    bounded by ``max_result_bytes``); its execution children have their own limit."""

    compile_timeout_seconds: float = 60.0
    """Time a program may take to compile; beyond it the job fails with a compile error."""

    execution_timeout_seconds: float = 24 * 3600.0
    """Wall-clock limit for one execution attempt."""

    id_token_seconds: int = Field(default=3600, ge=300, le=24 * 3600)
    """Lifetime of an id-token (the JWT the client sends with every request), enforced by the
    server whatever the token's ``exp`` says. At least 300: the 0.55.8 client treats a token as
    expired 60 s early, so a shorter one sends it to log in again at every request."""
    refresh_token_seconds: int = Field(default=30 * 24 * 3600, ge=3600)
    """Lifetime of a refresh token; each use spends it and returns a new one."""
    portal_session_seconds: int = Field(default=8 * 3600, ge=300, le=30 * 24 * 3600)
    """How long a sign-in to the user portal lasts; signing out, a new password, revocation
    and ``qstation key rotate`` end it sooner."""

    key_file: Path | None = None
    """The file (mode 0600) holding the master key that id-token signing keys and MFA secrets
    derive from; made on first start. Default: ``secret.key`` in ``data_dir``. Every host of a
    fleet that runs the API needs the same file."""

    max_request_bytes: int = Field(default=16 * 2**20, ge=2**16)
    """Largest request body; a larger one is refused with 413 before it is read."""
    max_program_bytes: int = Field(default=8 * 2**20, ge=2**10)
    """Largest job ``program`` (QASM text or base64 QIR)."""
    max_cfl_bytes: int = Field(default=8 * 2**20, ge=2**10)
    """Largest ``cfl`` (the job's WebAssembly module, base64)."""
    max_options_bytes: int = Field(default=64 * 2**10, ge=2**10)
    """Largest ``options`` object, as JSON."""
    max_client_metadata_bytes: int = Field(default=2**20, ge=2**10)
    """Largest ``client-metadata`` a job may carry (as JSON): what a client keeps with its job,
    such as the native client's post-processing circuit."""
    max_result_bytes: int = Field(default=32 * 2**20, ge=2**16)
    """Largest result a job may produce (one character per measured bit per shot): refused at
    submission when the program's registers tell, failed with this limit named otherwise."""
    max_queued_jobs_per_user: int = Field(default=10_000, ge=1)
    """Jobs one user may have waiting or running; past it a submission gets 429."""

    def processes_per_execution(self) -> int:
        """``execution_processes``, with 0 resolved to this process's cores over ``workers``."""
        if self.execution_processes:
            return self.execution_processes
        return max(1, len(os.sched_getaffinity(0)) // max(1, self.workers))

    @property
    def fair_share_window(self) -> timedelta:
        return timedelta(hours=self.fair_share_window_hours)

    def database_url(self) -> str:
        """The store's URL: the configured one, else SQLite in the data directory."""
        if self.database:
            return normalise_database_url(self.database)
        return f"sqlite:///{(self.data_dir / 'qstation.db').resolve()}"

    @model_validator(mode="after")
    def _tls_in_pairs(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        return self

    def key_path(self) -> Path:
        return self.key_file or self.data_dir / "secret.key"

    def as_environment(self) -> dict[str, str]:
        """These settings as ``QSTATION_*`` variables, to hand to a worker process."""
        return {
            f"QSTATION_{name.upper()}": str(value)
            for name, value in self.model_dump().items()
            if value is not None
        }

    def store_name(self) -> str:
        """The store's URL as people may see it (any password masked)."""
        return make_url(self.database_url()).render_as_string(hide_password=True)

    def store_flags(self) -> str:
        """The flags that name this store to another ``qstation`` command ("" for the
        default), so what ``serve`` prints can be pasted."""
        if self.database:
            return f"--database {self.store_name()}"
        if self.data_dir.resolve() != default_data_dir().resolve():
            return f"--data-dir {self.data_dir}"
        return ""

    def describe(self) -> dict[str, Any]:
        """Settings for a log line, with any password in the database URL masked."""
        shown = self.model_dump(mode="json")
        shown["database"] = make_url(self.database_url()).render_as_string(hide_password=True)
        return shown


def normalise_database_url(url: str) -> str:
    """Accept the plain ``postgresql://`` form users write and pick the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
