"""One exception root for qstation.

Every error a user can see is a subclass of :class:`QStationError` carrying its machine-API
error code and HTTP status; ``qstation.api.errors`` turns them into the wire format
``{"error": {"code": N, "text": "..."}}`` in one place. Job-level failures (a job that ends
``failed``) use :class:`JobFailure` subclasses whose codes are the documented job failure codes
and whose text becomes the job's ``error`` field as ``"<code>: <text>"``.
"""

from __future__ import annotations


class QStationError(Exception):
    """Something went wrong in qstation."""

    code: int = 1
    http_status: int = 500

    def __init__(self, text: str | None = None) -> None:
        self.text = text or (self.__doc__ or "").strip()
        super().__init__(self.text)


# --- request errors: answered over HTTP -------------------------------------------------


class BadRequest(QStationError):
    """The request is malformed."""

    code = 2
    http_status = 400


class AuthenticationFailed(QStationError):
    """Authorization failed: the credentials or token are not valid."""

    code = 3
    http_status = 401


class MfaRequired(AuthenticationFailed):
    """MFA verification code required"""  # the client asks its user for a code on code 73

    code = 73


class InvalidRefreshToken(QStationError):
    """Invalid Refresh Token"""  # the client string-matches this exact phrase

    code = 4
    http_status = 400


class NotFound(QStationError):
    """Something the request names does not exist."""

    http_status = 404


class AlreadyExists(QStationError):
    """Something the request would create exists already."""

    http_status = 409


class JobNotFound(NotFound):
    """Error: job does not exist"""  # the seed notebook shows this text verbatim

    code = 21


class JobAlreadyFinished(QStationError):
    """Error: job has completed already"""  # the client's integration test matches this phrase

    code = 22
    http_status = 400


class UnknownMachine(NotFound):
    """Error: machine does not exist"""

    code = 23


class InvalidJobRequest(QStationError):
    """The job request is not valid."""

    code = 24
    http_status = 400


class UserExists(AlreadyExists):
    """A user with this email exists already."""

    code = 30


class UserNotFound(NotFound):
    """No such user."""

    code = 31


class AccountExists(AlreadyExists):
    """An organisation or group of this name exists already."""

    code = 32


class AccountNotFound(NotFound):
    """No such organisation or group."""

    code = 33


class Forbidden(QStationError):
    """You may not do this."""

    code = 8
    http_status = 403


class PayloadTooLarge(QStationError):
    """The request body is too large."""

    code = 2
    http_status = 413


class TooManyRequests(QStationError):
    """Too many requests; try again later."""

    code = 6
    http_status = 429

    def __init__(self, text: str | None = None, retry_after: float = 60.0) -> None:
        super().__init__(text)
        self.retry_after = retry_after
        """Seconds the client should wait: sent as ``Retry-After``."""


class ServiceBusy(QStationError):
    """The service is busy; try again in a few seconds."""

    code = 7
    http_status = 503
    retry_after = 5.0


class SchemaMismatch(QStationError):
    """The database's schema belongs to another qstation version."""

    code = 7
    http_status = 503
    retry_after = 30.0


class ConfigurationError(QStationError):
    """The service configuration is not valid."""

    code = 40
    http_status = 500


class StoreUnavailable(QStationError):
    """The job store is unavailable; try again."""

    code = 5
    http_status = 503


# --- job failures: recorded on the job, never raised through the API ----------------------


class JobFailure(QStationError):
    """Job processing error"""

    code = 1001
    label = "Job processing error"

    def job_error(self, job_id: str) -> str:
        """The job's ``error`` field: ``"<code>: <label>: job <id>: <text>"``."""
        return f"{self.code}: {self.label}: job {job_id}: {self.text}"


class CompileError(JobFailure):
    """the program could not be compiled"""

    code = 1000
    label = "Compile error"


class CostLimitExceeded(JobFailure):
    """the job costs more than it may"""

    code = 1002
    label = "Job cost exceeds allowed cost"


class ExecutionError(JobFailure):
    """the program could not be executed"""

    code = 2000
    label = "Execution error"
