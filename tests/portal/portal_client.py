"""The portal over plain HTTP, as a browser without JavaScript uses it: for the tests that
post forms by the hundred (isolation, CSRF, roles)."""

from __future__ import annotations

import re

import requests

_FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


class PortalClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.csrf = ""

    def sign_in(self, email: str, password: str) -> requests.Response:
        page = self.http.get(self.base_url + "/signin", timeout=30)
        token = _FORM_TOKEN.search(page.text)
        assert token is not None, page.text
        answer = self.http.post(
            self.base_url + "/signin",
            data={"form_token": token.group(1), "email": email, "password": password},
            timeout=30,
        )
        if answer.status_code == 200 and answer.url.endswith("/jobs"):  # signed in
            self.csrf = csrf_of(answer.text)
        return answer

    def get(self, path: str, **options: object) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=30, allow_redirects=False, **options)  # type: ignore[arg-type]

    def post(
        self, path: str, data: dict[str, object] | list[tuple[str, str]], with_csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:  # fmt: skip
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if with_csrf:
            fields.append(("csrf", self.csrf))
        return self.http.post(
            self.base_url + path, data=fields, timeout=30, allow_redirects=False,
            headers=headers or {},
        )  # fmt: skip


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)
