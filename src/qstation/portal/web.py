"""What every portal page shares: templates, the signed-in user, and checked forms.

A page's handler asks for :data:`SignedIn` (its session, or a redirect to the sign-in page) and,
for a form, :data:`CheckedForm` (the form's fields once its CSRF token and origin are checked).
Errors are rendered as pages by :func:`error_page`, which ``qstation.api.errors`` calls for
every portal request: the one place errors meet the wire.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from qstation import __version__
from qstation.api.app_state import services_of
from qstation.errors import AuthenticationFailed, Forbidden
from qstation.model import Role
from qstation.service.portal_sessions import PortalSession

SESSION_COOKIE = "qstation_session"
PORTAL_MARK = "qstation.portal"
"""Set in a request's scope by every portal route, so errors are answered as pages."""

templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt name fails the page in tests, not silently
    )
)
STATIC_DIRECTORY = Path(__file__).parent / "static"


def mark_portal(request: Request) -> None:
    request.scope[PORTAL_MARK] = True


def is_portal(request: Request) -> bool:
    return bool(request.scope.get(PORTAL_MARK))


def render(
    request: Request,
    template: str,
    session: PortalSession | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    user = None if session is None else session.user
    response: HTMLResponse = templates.TemplateResponse(
        request,
        template,
        {
            "session": session,
            "user": user,
            "is_admin": user is not None and user.role in (Role.ADMIN, Role.OPERATOR),
            "is_operator": user is not None and user.role is Role.OPERATOR,
            "csrf": "" if session is None else session.csrf_token,
            "version": __version__,
            **context,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = _CONTENT_POLICY
    return response


_CONTENT_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


async def signed_in(request: Request) -> PortalSession:
    """The request's live session; without one, :class:`AuthenticationFailed`, which the error
    page answers with a redirect to the sign-in page."""
    mark_portal(request)
    services = services_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = await run_in_threadpool(services.portal_sessions.find, cookie)
    if session is None:
        raise AuthenticationFailed("sign in to see this page")
    return session


SignedIn = Annotated[PortalSession, Depends(signed_in)]


async def checked_form(request: Request, session: SignedIn) -> FormData:
    """The posted form, if it comes from one of our pages: its CSRF token must be the
    session's, and a browser's ``Origin`` (or ``Sec-Fetch-Site``) must be this site."""
    check_same_origin(request)
    form = await request.form()
    token = form.get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(
        token.encode(), session.csrf_token.encode()
    ):
        raise Forbidden("the form has expired or did not come from this site; reload the page")
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def check_same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None and origin != own:
        raise Forbidden("a form from another site was refused")
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Forbidden("a form from another site was refused")


def redirect(path: str, **query: Any) -> RedirectResponse:
    """A 303 to one of our own pages (after a form: the browser follows it with a GET)."""
    pairs = {key: value for key, value in query.items() if value not in (None, "", [])}
    url = path + ("?" + urlencode(pairs, doseq=True) if pairs else "")
    return RedirectResponse(url, status_code=303)


_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*")
"""A path of this site: no scheme or host, nothing a browser would turn into ``//`` (it drops
tabs and newlines, reads ``\\`` as ``/``), only characters a URL path and query may hold."""


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    if target and _LOCAL_PATH.fullmatch(target):
        return target
    return "/jobs"


def error_page(request: Request, status: int, text: str) -> Response:
    """An error as a page: a missing or ended session goes to the sign-in page."""
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/signin?next=" + quote(target, safe=""), status_code=303)
    return render(request, "error.html", None, status_code=status, status=status, text=text)


def moment(value: datetime | None) -> str:
    """Naive UTC as the portal shows it."""
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


templates.env.filters["moment"] = moment
