"""The portal in headless Chromium, as its users use it; each test also writes screenshots of
the pages it visits to docs/portal/ (1280x800 and 390x844), linked from the README."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.acceptance.service import PASSWORD, qstation
from tests.portal.browser import DESKTOP, PHONE, OfflineContext, screenshot, sign_in
from tests.portal.conftest import ADMIN, MEMBER, OPERATOR, WAITING_MACHINE, Portal

pytestmark = pytest.mark.slow


def _both_widths(browser: Browser, portal: Portal, email: str | None, path: str, name: str) -> None:
    """Screenshots of one page at both widths, signed in as ``email``."""
    for viewport in (DESKTOP, PHONE):
        context = OfflineContext(browser, portal.url, viewport)
        page = context.new_page()
        if email is not None:
            sign_in(page, email, PASSWORD)
        page.goto(path)
        screenshot(page, name)
        assert context.refused == [], f"{path} asked the network for {context.refused}"
        context.close()


def test_a_user_signs_in_finds_a_job_by_name_and_sees_its_histogram_and_csv(
    portal: Portal, browser: Browser
) -> None:
    portal.wait(ADMIN, portal.submit(ADMIN, "calibration sweep"))
    wanted = portal.submit(ADMIN, "bell check 17")
    expected = portal.wait(ADMIN, wanted)
    assert expected["status"] == "completed", expected
    _both_widths(browser, portal, None, "/signin", "signin")

    context = OfflineContext(browser, portal.url, DESKTOP)
    page = context.new_page()
    sign_in(page, ADMIN, PASSWORD)
    page.get_by_label("Name contains").fill("bell check")
    page.get_by_role("button", name="Filter", exact=True).click()
    page.wait_for_url("**/jobs?*name=bell+check*")
    rows = page.locator("#job-rows tr[id]")
    assert rows.count() == 1
    assert wanted in rows.first.inner_text()
    page.get_by_role("link", name="bell check 17").click()
    page.wait_for_url(f"**/jobs/{wanted}")

    drawn = {
        bar.get_attribute("data-outcome"): int(bar.get_attribute("data-count") or -1)
        for bar in page.locator("figure.histogram g.bar").all()
    }
    assert drawn == dict(Counter(expected["results"]["c"]))
    assert len(drawn) == 4  # the program's four outcomes

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    rows_of_csv = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert [row["c"] for row in rows_of_csv] == expected["results"]["c"]
    assert [int(row["shot"]) for row in rows_of_csv] == list(range(200))
    snippet = page.locator("#snippet").inner_text()
    assert f'ResultHandle("{wanted}", "null", -1, "null")' in snippet
    assert context.refused == []
    context.close()
    _both_widths(browser, portal, ADMIN, "/jobs", "jobs")
    _both_widths(browser, portal, ADMIN, f"/jobs/{wanted}", "job")


def test_cancelling_a_queued_job_in_the_portal_cancels_it_for_the_api(
    portal: Portal, browser: Browser
) -> None:
    waiting = portal.submit(MEMBER, "waits for the machine", machine=WAITING_MACHINE)
    keep = portal.submit(MEMBER, "keeps waiting", machine=WAITING_MACHINE)
    assert portal.job(MEMBER, waiting)["status"] == "queued"
    context = OfflineContext(browser, portal.url, DESKTOP)
    page = context.new_page()
    sign_in(page, MEMBER, PASSWORD)
    page.get_by_label("Select job waits for the machine").check()
    page.get_by_role("button", name="Cancel selected…").click()
    page.wait_for_url("**/jobs/cancel")
    assert page.get_by_role("heading", name="Cancel 1 job?").is_visible()
    assert waiting in page.locator("ul.confirm-list").inner_text()
    screenshot(page, "cancel-confirm")
    page.set_viewport_size(PHONE)
    screenshot(page, "cancel-confirm")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Yes, cancel 1 job").click()
    page.wait_for_url("**/jobs?*cancelled=1*")
    assert "Cancelled 1 job" in page.get_by_role("status").inner_text()
    assert portal.job(MEMBER, waiting)["status"] == "canceled"
    assert portal.job(MEMBER, keep)["status"] == "queued"
    context.close()
    _both_widths(browser, portal, MEMBER, f"/jobs/{keep}", "job-queued")
    waiting_page = _page_text(browser, portal, MEMBER, f"/jobs/{keep}")
    assert f"{WAITING_MACHINE} is offline now" in waiting_page
    assert "Position" in waiting_page and "Jobs ahead because of it" in waiting_page


def test_rows_of_waiting_jobs_update_without_reloading_the_page(
    portal: Portal, browser: Browser
) -> None:
    job_id = portal.submit(MEMBER, "watched while waiting", machine=WAITING_MACHINE)
    context = OfflineContext(browser, portal.url, DESKTOP)
    page = context.new_page()
    sign_in(page, MEMBER, PASSWORD)
    row = page.locator(f"#job-{job_id}")
    assert "queued" in row.inner_text()
    page.evaluate("window.loadedOnce = true")
    portal.api("POST", f"/v1/job/{job_id}/cancel", MEMBER)
    expect(page.locator(f"#job-{job_id}")).to_contain_text("canceled", timeout=15_000)
    assert page.evaluate("window.loadedOnce") is True  # the same page: no reload
    context.close()


def test_a_calendar_window_added_with_the_cli_shows_on_the_machine_page(
    portal: Portal, browser: Browser
) -> None:
    qstation("calendar", "add", "H2-1", "maintenance", "2031-03-04T05:06", "2031-03-04T09:00",
             *portal.store_args)  # fmt: skip
    context = OfflineContext(browser, portal.url, DESKTOP)
    page = context.new_page()
    sign_in(page, MEMBER, PASSWORD)
    page.goto("/machines")
    h1_row = page.locator("tr", has=page.get_by_role("link", name=WAITING_MACHINE, exact=True))
    assert "offline" in h1_row.inner_text()  # its only window opens tomorrow
    page.goto(f"/machines/{WAITING_MACHINE}")
    calendar = page.locator("table.calendar").inner_text()
    assert "online" in calendar
    events = qstation("calendar", "list", *portal.store_args)
    assert WAITING_MACHINE in events
    context.close()
    # 2031 is beyond the page's four weeks: the page shows what is coming, not everything
    page_text = _page_text(browser, portal, MEMBER, "/machines/H2-1")
    assert "2031-03-04" not in page_text
    _both_widths(browser, portal, MEMBER, "/machines", "machines")
    _both_widths(browser, portal, MEMBER, f"/machines/{WAITING_MACHINE}", "machine")


def _page_text(browser: Browser, portal: Portal, email: str, path: str) -> str:
    context = OfflineContext(browser, portal.url, DESKTOP)
    page = context.new_page()
    sign_in(page, email, PASSWORD)
    page.goto(path)
    text = page.locator("main").inner_text()
    context.close()
    return text


def test_an_administrator_sets_a_group_priority_that_the_cli_then_lists(
    portal: Portal, browser: Browser
) -> None:
    qstation("group", "add", "default", "optics", *portal.store_args)
    context = OfflineContext(browser, portal.url, DESKTOP)
    page = context.new_page()
    sign_in(page, ADMIN, PASSWORD)
    page.get_by_role("link", name="Administration").click()
    page.get_by_label("Priority of optics").fill("2")
    page.locator("#group-optics").get_by_role("button", name="Set").click()
    page.wait_for_url("**/admin?*done=1*")
    listed = qstation("group", "list", *portal.store_args).splitlines()
    assert "default\toptics\t2" in listed
    audit = qstation("audit", *portal.store_args)
    assert "group.set-priority" in audit and ADMIN in audit
    context.close()
    _both_widths(browser, portal, OPERATOR, "/admin", "admin")


def test_a_member_sees_no_administration_and_is_refused_it(
    portal: Portal, browser: Browser
) -> None:
    context = OfflineContext(browser, portal.url, DESKTOP)
    page = context.new_page()
    sign_in(page, MEMBER, PASSWORD)
    assert page.get_by_role("link", name="Administration").count() == 0
    answer = page.goto("/admin")
    assert answer is not None and answer.status == 403
    assert "Not allowed" in page.get_by_role("heading").first.inner_text()
    context.close()


def test_usage_warns_before_a_quota_runs_out(portal: Portal, browser: Browser) -> None:
    assert float(portal.wait(ADMIN, portal.submit(ADMIN, "charged"))["cost"]) > 0
    qstation("quota", "set", "default", "emulator", "1000000", *portal.store_args)
    listed = qstation("quota", "list", *portal.store_args).splitlines()
    spent = float(next(line for line in listed if "\temulator\t" in line).split("\t")[4])
    qstation("quota", "set", "default", "emulator", f"{spent / 0.9:.4f}", *portal.store_args)
    context = OfflineContext(browser, portal.url, DESKTOP)
    page = context.new_page()
    sign_in(page, ADMIN, PASSWORD)
    page.goto("/usage")
    row = page.locator("tr.band-warning", has_text="emulator")
    assert row.count() >= 1 and "nearly used up" in row.first.inner_text()
    context.close()
    _both_widths(browser, portal, ADMIN, "/usage", "usage")


def test_the_api_documentation_renders_without_the_internet(
    portal: Portal, browser: Browser
) -> None:
    context = OfflineContext(browser, portal.url, DESKTOP)
    page: Page = context.new_page()
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)
    assert "qstation machine API" in page.locator(".swagger-ui .info").inner_text()
    page.goto("/redoc")
    page.wait_for_selector("h1", timeout=15_000)
    deadline = time.monotonic() + 15
    while "qstation machine API" not in page.locator("body").inner_text():
        assert time.monotonic() < deadline, "ReDoc did not render"
        time.sleep(0.2)
    assert context.refused == [], f"the documentation asked the network for {context.refused}"
    context.close()
