"""Headless Chromium from Debian's packages, driven by Playwright (which downloads no browser
here: it is pointed at ``/usr/bin/chromium``). Each launch gets a fresh profile directory of
Playwright's own (``--user-data-dir`` in a temporary directory)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGUMENTS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-background-networking",  # the closed network refuses these connections
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "portal"


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        raise AssertionError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=ARGUMENTS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


class OfflineContext:
    """A browser context that may reach only the server under test: any other request is
    aborted and remembered, so a page that needs the internet shows it."""

    def __init__(self, browser: Browser, base_url: str, viewport: dict[str, int]) -> None:
        self.allowed = urlsplit(base_url).netloc
        self.refused: list[str] = []
        self.context: BrowserContext = browser.new_context(
            base_url=base_url,
            viewport=viewport,
            accept_downloads=True,  # type: ignore[arg-type]
        )
        self.context.route("**/*", self._route)

    def _route(self, route: Route) -> None:
        if urlsplit(route.request.url).netloc == self.allowed:
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()

    def new_page(self) -> Page:
        return self.context.new_page()

    def close(self) -> None:
        self.context.close()


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/jobs")


def screenshot(page: Page, name: str) -> None:
    """The page as a reader of the README sees it: docs/portal/<name>-<width>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"))
