"""Signing in and out of the portal with the accounts the API uses.

Before a session exists the sign-in form is protected by a double-submit token: a random value
in a short-lived ``SameSite=Strict`` cookie that the form must repeat.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from qstation.api.app_state import services_of, source_of
from qstation.errors import AuthenticationFailed, Forbidden, MfaRequired, TooManyRequests
from qstation.portal.web import (
    SESSION_COOKIE,
    CheckedForm,
    SignedIn,
    check_same_origin,
    mark_portal,
    redirect,
    render,
    safe_next,
)

router = APIRouter()
_SIGN_IN_COOKIE = "qstation_signin"
_SIGN_IN_FORM_SECONDS = 3600


@router.get("/")
async def home(request: Request) -> Response:
    mark_portal(request)
    services = services_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    found = await run_in_threadpool(services.portal_sessions.find, cookie)
    return redirect("/jobs" if found is not None else "/signin")


@router.get("/signin")
def sign_in_page(request: Request, next: str = "/jobs") -> Response:
    mark_portal(request)
    return _form(request, safe_next(next))


def _form(
    request: Request,
    target: str,
    status_code: int = 200,
    error: str | None = None,
    email: str = "",
    ask_code: bool = False,
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "signin.html", None, status_code=status_code, form_token=token, next=target,
        error=error, email=email, ask_code=ask_code,
    )  # fmt: skip
    response.set_cookie(
        _SIGN_IN_COOKIE, token, max_age=_SIGN_IN_FORM_SECONDS, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/signin",
    )  # fmt: skip
    return response


@router.post("/signin")
async def sign_in(request: Request) -> Response:
    mark_portal(request)
    check_same_origin(request)
    form = await request.form()
    posted, expected = form.get("form_token"), request.cookies.get(_SIGN_IN_COOKIE)
    if (
        not isinstance(posted, str)
        or not expected
        or not hmac.compare_digest(posted.encode(), expected.encode())
    ):
        raise Forbidden("the sign-in form has expired or did not come from this site; reload it")
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    code = str(form.get("code", "")).strip() or None
    target = safe_next(str(form.get("next", "")))
    services = services_of(request)
    try:
        user = await run_in_threadpool(
            services.logins.authenticate, email, password, code, source_of(request)
        )
    except MfaRequired as error:
        text = None if code is None else error.text
        return _form(request, target, 401, text, email, ask_code=True)
    except (AuthenticationFailed, TooManyRequests) as error:
        return _form(request, target, error.http_status, error.text, email)
    cookie = await run_in_threadpool(services.portal_sessions.open, user)
    response: Response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=services.settings.portal_session_seconds, httponly=True,
        samesite="lax", secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    response.delete_cookie(_SIGN_IN_COOKIE, path="/signin")
    return response


@router.post("/signout")
async def sign_out(request: Request, session: SignedIn, form: CheckedForm) -> Response:
    await run_in_threadpool(services_of(request).portal_sessions.close, session.cookie)
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
