"""Every error becomes ``{"error": {"code": N, "text": "..."}}`` here, and only here (or, for
the portal's pages, an error page: :func:`qstation.portal.web.error_page`).

The client calls ``.json()`` on every non-200 answer, so even a route that does not exist or an
unexpected crash must answer with a JSON body.
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from qstation.errors import QStationError
from qstation.portal.web import error_page, is_portal
from qstation.service.validation import describe_problems

log = logging.getLogger(__name__)

_HTTP_ERROR_CODE = 2  # same code as BadRequest: the request does not fit any route


def error_response(
    status: int, code: int, text: str, retry_after: float | None = None
) -> JSONResponse:
    """The machine API's JSON error."""
    headers = None if retry_after is None else {"Retry-After": str(max(1, math.ceil(retry_after)))}
    return JSONResponse(
        {"error": {"code": code, "text": text}}, status_code=status, headers=headers
    )


def _answer(
    request: Request, status: int, code: int, text: str, retry_after: float | None = None
) -> Response:
    """JSON for the API; a page (or the sign-in page) for the portal's own routes."""
    if is_portal(request):
        return error_page(request, status, text)
    return error_response(status, code, text, retry_after)


async def _on_qstation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, QStationError)
    if error.http_status >= 500:  # the server's problem: keep the cause for the operator
        log.error("%s %s: %s", request.method, request.url.path, error.text, exc_info=error)
    retry_after = getattr(error, "retry_after", None)
    return _answer(request, error.http_status, error.code, error.text, retry_after)


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return _answer(request, error.status_code, _HTTP_ERROR_CODE, str(error.detail))


async def _on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = describe_problems(error.errors())
    return _answer(request, 400, _HTTP_ERROR_CODE, f"invalid request: {problems}")


async def _on_unexpected_error(request: Request, error: Exception) -> Response:
    log.exception("unexpected error answering %s %s", request.method, request.url.path)
    return _answer(request, 500, 1, f"internal server error: {type(error).__name__}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(QStationError, _on_qstation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
