"""Requests to a qstation server as the stored login's user, with tokens renewed as needed."""

from __future__ import annotations

import json
import logging
import os
import time
import weakref
from pathlib import Path
from typing import Any

import httpx
import jwt

from qstation.client import credentials
from qstation.client.credentials import EXPIRY_MARGIN_SECONDS, Login

logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise to users

TIMEOUT_SECONDS = 90.0
"""Longer than the longest long poll (60 s) with room for the network."""
_TOKEN_EXPIRED = 3


class ClientError(Exception):
    """A request the server refused, or a server that cannot be reached: its message is what
    the user needs to read."""

    def __init__(self, text: str, status: int = 0, code: int = 0) -> None:
        super().__init__(text)
        self.status = status
        self.code = code


def normalise_url(url: str) -> str:
    """``http://host:port`` with no trailing slash (the 0.55.8 client needs one; we add it)."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ClientError(f"the server's URL must start with http:// or https://, not {url!r}")
    return url


def login(url: str, email: str, password: str, code: str | None = None) -> Login:
    """Log in with a password (and MFA code); the caller saves the result."""
    url = normalise_url(url)
    body: dict[str, Any] = {"email": email, "password": password}
    if code:
        body["code"] = code
    with httpx.Client(timeout=TIMEOUT_SECONDS) as http:
        tokens = response_json(_send(http, "POST", f"{url}/v1/login", content=json.dumps(body)))
    return _with_tokens(Login(url, email, ""), tokens)


class ServiceSession:
    """One server, one user: the stored login (``QSTATION_URL`` or ``url`` may name the server
    it belongs to; another server without a login of its own is refused)."""

    def __init__(self, url: str | None = None, path: Path | None = None) -> None:
        self._path = path
        stored = credentials.load(path)
        wanted = url or os.environ.get("QSTATION_URL")
        if stored is None:
            raise ClientError("not logged in: run `qstation login --url URL` first")
        if wanted is not None and normalise_url(wanted) != stored.url:
            raise ClientError(
                f"the stored login is for {stored.url}, not {normalise_url(wanted)}: run "
                f"`qstation login --url {normalise_url(wanted)}`"
            )
        self.login = stored
        self.http = httpx.Client(timeout=TIMEOUT_SECONDS)
        # a backend is rarely closed by its user: its connections close when it is collected
        self._closer = weakref.finalize(self, self.http.close)

    @property
    def url(self) -> str:
        return self.login.url

    def close(self) -> None:
        self._closer()

    def __enter__(self) -> ServiceSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        """The JSON answer of one request, as the logged-in user."""
        content = None if body is None else json.dumps(body)
        query = {key: value for key, value in params.items() if value is not None}
        for attempt in (1, 2):
            headers = {"Authorization": self._id_token()}
            answer = _send(
                self.http, method, self.url + path, content=content, params=query,
                headers=headers,
            )  # fmt: skip
            expired = answer.status_code == 401 and _error_code(answer) == _TOKEN_EXPIRED
            if expired and attempt == 1:
                self._refresh(force=True)
                continue
            return response_json(answer)
        raise AssertionError("unreachable")

    def authorization(self) -> dict[str, str]:
        """The header a request needs now (renewing the id-token first if it is about to
        expire), for callers that send their own requests."""
        return {"Authorization": self._id_token()}

    def _id_token(self) -> str:
        if time.time() > self.login.id_token_expires - EXPIRY_MARGIN_SECONDS:
            self._refresh(force=False)
        return self.login.id_token

    def _refresh(self, force: bool) -> None:
        """New tokens from the refresh token, under the stored login's lock; another command
        may have refreshed meanwhile, and then its tokens are taken instead."""
        with credentials.locked(self._path):
            stored = credentials.load(self._path) or self.login
            fresh = time.time() < stored.id_token_expires - EXPIRY_MARGIN_SECONDS
            if fresh and (not force or stored.id_token != self.login.id_token):
                self.login = stored
                return
            body = json.dumps({"refresh-token": stored.refresh_token})
            answer = _send(self.http, "POST", f"{self.url}/v1/login", content=body)
            if answer.status_code != 200:
                raise ClientError(
                    f"the stored login for {self.url} is no longer valid: run `qstation login "
                    f"--url {self.url}` again",
                    answer.status_code,
                    _error_code(answer),
                )
            self.login = _with_tokens(stored, response_json(answer))
            credentials.save(self.login, self._path)


def _with_tokens(login: Login, tokens: dict[str, str]) -> Login:
    claims = jwt.decode(tokens["id-token"], options={"verify_signature": False})
    return Login(
        login.url, login.email, tokens["refresh-token"], tokens["id-token"], float(claims["exp"])
    )


def _send(http: httpx.Client, method: str, url: str, **options: Any) -> httpx.Response:
    try:
        return http.request(method, url, **options)
    except httpx.HTTPError as error:
        raise ClientError(f"cannot reach {url}: {error}") from None


def _error_code(answer: httpx.Response) -> int:
    try:
        return int(answer.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return 0


def response_json(answer: httpx.Response) -> Any:
    if answer.status_code == 200:
        return answer.json()
    try:
        text = str(answer.json()["error"]["text"])
    except (ValueError, KeyError, TypeError):
        text = answer.text[:200]
    raise ClientError(
        f"{text} (HTTP {answer.status_code})", answer.status_code, _error_code(answer)
    )
