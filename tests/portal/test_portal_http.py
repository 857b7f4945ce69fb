"""The portal over HTTP: isolation between users, CSRF, roles and sessions, each as a matrix
over every page and action."""

from __future__ import annotations

import re

import pytest

from tests.acceptance.service import PASSWORD, qstation
from tests.portal.conftest import ADMIN, MEMBER, OPERATOR, OUTSIDER, WAITING_MACHINE, Portal
from tests.portal.portal_client import PortalClient

UNKNOWN_JOB = "0123456789abcdef0123456789abcdef"


def _signed_in(portal: Portal, email: str) -> PortalClient:
    client = PortalClient(portal.url)
    answer = client.sign_in(email, PASSWORD)
    assert answer.status_code == 200 and answer.url.endswith("/jobs"), answer.text[:500]
    return client


def _job_requests(job_id: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Every page and action that names a job: (method, path, form fields)."""
    return [
        ("GET", f"/jobs/{job_id}", []),
        ("GET", f"/jobs/{job_id}/results.json", []),
        ("GET", f"/jobs/{job_id}/results.csv", []),
        ("POST", f"/jobs/{job_id}/cancel", []),
        ("GET", f"/jobs/rows?id={job_id}", []),
        ("POST", "/jobs/cancel", [("job", job_id), ("scope", "selected")]),
        ("POST", "/jobs/cancel", [("job", job_id), ("confirm", "yes")]),
    ]


def _answer(
    client: PortalClient, method: str, path: str, fields: list[tuple[str, str]]
) -> tuple[int, str]:
    response = client.get(path) if method == "GET" else client.post(path, fields)
    return response.status_code, response.text


@pytest.mark.parametrize("owner_status", ["queued", "completed"])
def test_another_users_job_gives_the_same_answer_as_an_unknown_one(
    portal: Portal, owner_status: str
) -> None:
    machine = WAITING_MACHINE if owner_status == "queued" else "H1-1E"
    theirs = portal.submit(ADMIN, f"private {owner_status}", machine=machine)
    if owner_status == "completed":
        portal.wait(ADMIN, theirs)
    for caller in (MEMBER, OUTSIDER):
        client = _signed_in(portal, caller)
        for method, path, fields in _job_requests(theirs):
            status, body = _answer(client, method, path, fields)
            unknown_status, unknown_body = _answer(
                client, method, path.replace(theirs, UNKNOWN_JOB),
                [(k, v.replace(theirs, UNKNOWN_JOB)) for k, v in fields],
            )  # fmt: skip
            assert status == unknown_status, (caller, method, path, status, unknown_status)
            assert body.replace(theirs, UNKNOWN_JOB) == unknown_body, (caller, method, path)
            assert f"private {owner_status}" not in body
    assert portal.job(ADMIN, theirs)["status"] == owner_status  # nothing was cancelled


def test_a_form_without_the_token_or_from_another_site_changes_nothing(portal: Portal) -> None:
    job_id = portal.submit(MEMBER, "csrf target", machine=WAITING_MACHINE)
    qstation("group", "add", "default", "csrf-group", "--priority", "5", *portal.store_args)
    member = _signed_in(portal, MEMBER)
    admin = _signed_in(portal, ADMIN)
    attempts = [
        (member, f"/jobs/{job_id}/cancel", [], False, {}),
        (member, f"/jobs/{job_id}/cancel", [("csrf", "forged")], False, {}),
        (member, "/jobs/cancel", [("job", job_id), ("confirm", "yes")], False, {}),
        (member, f"/jobs/{job_id}/cancel", [], True, {"Origin": "http://evil.example"}),
        (member, f"/jobs/{job_id}/cancel", [], True, {"Sec-Fetch-Site": "cross-site"}),
        (admin, "/admin/groups/priority", [("name", "csrf-group"), ("priority", "1")], False, {}),
        (admin, "/admin/groups/priority", [("name", "csrf-group"), ("priority", "1")], True,
         {"Origin": "http://evil.example"}),
    ]  # fmt: skip
    for client, path, fields, with_csrf, headers in attempts:
        answer = client.post(path, fields, with_csrf=with_csrf, headers=headers)
        assert answer.status_code == 403, (path, headers, answer.status_code)
        assert "did not come from this site" in answer.text or "another site" in answer.text
    assert portal.job(MEMBER, job_id)["status"] == "queued"
    assert "default\tcsrf-group\t5" in qstation("group", "list", *portal.store_args).splitlines()
    # the same request with the token, from this site, works
    answer = member.post(f"/jobs/{job_id}/cancel", [], headers={"Origin": portal.url})
    assert answer.status_code == 303
    assert portal.job(MEMBER, job_id)["status"] == "canceled"


def test_the_sign_in_form_needs_its_own_token_and_never_redirects_off_site(
    portal: Portal,
) -> None:
    client = PortalClient(portal.url)
    forged = client.http.post(
        portal.url + "/signin",
        data={"form_token": "x", "email": MEMBER, "password": PASSWORD},
        allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert forged.status_code == 403 and "qstation_session" not in forged.cookies
    page = client.http.get(portal.url + "/signin?next=//evil.example/x", timeout=30)
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.http.post(
        portal.url + "/signin",
        data={"form_token": token.group(1), "email": MEMBER, "password": PASSWORD,
              "next": "//evil.example/x"},
        allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/jobs"


def test_the_session_cookie_is_http_only_same_site_and_ends_on_sign_out(portal: Portal) -> None:
    client = _signed_in(portal, MEMBER)
    cookie = next(c for c in client.http.cookies if c.name == "qstation_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "lax"
    stolen = cookie.value
    assert client.post("/signout", []).status_code == 303
    replay = PortalClient(portal.url)
    replay.http.cookies.set("qstation_session", stolen)
    answer = replay.get("/jobs")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


def test_a_wrong_password_is_refused_on_the_page_and_opens_no_session(portal: Portal) -> None:
    client = PortalClient(portal.url)
    answer = client.sign_in(MEMBER, "not the passphrase at all")
    assert answer.status_code == 401
    assert "Invalid username or password" in answer.text
    assert client.get("/jobs").status_code == 303


ADMIN_ACTIONS: list[tuple[str, list[tuple[str, str]]]] = [
    ("/admin/users", [("email", "new@example.com"), ("password", PASSWORD)]),
    ("/admin/users/revoke", [("email", ADMIN)]),
    ("/admin/users/priority", [("email", ADMIN), ("priority", "1")]),
    ("/admin/users/role", [("email", MEMBER), ("role", "admin")]),
    ("/admin/users/remove", [("email", ADMIN), ("confirm", "yes")]),
    ("/admin/quotas/remove", [("kind", "emulator")]),
    ("/admin/groups", [("name", "by-a-member")]),
    ("/admin/groups/priority", [("name", "DEFAULT"), ("priority", "1")]),
    ("/admin/groups/members", [("name", "DEFAULT"), ("email", MEMBER), ("action", "add")]),
    ("/admin/groups/members", [("name", "DEFAULT"), ("email", ADMIN), ("action", "remove")]),
    ("/admin/quotas", [("kind", "hardware"), ("credits", "1")]),
    ("/admin/calendar", [("machine", "H1-1"), ("kind", "maintenance"),
                         ("start", "2030-01-01T00:00"), ("end", "2030-01-02T00:00")]),
    ("/admin/calendar/remove", [("event_id", "1")]),
]  # fmt: skip


def test_a_member_is_refused_every_administration_page_and_action(portal: Portal) -> None:
    before = qstation("audit", *portal.store_args)
    groups_before = qstation("group", "list", *portal.store_args)
    member = _signed_in(portal, MEMBER)
    assert member.get("/admin").status_code == 403
    assert member.get("/admin?organisation=default").status_code == 403
    for path, fields in ADMIN_ACTIONS:
        answer = member.post(path, fields)
        assert answer.status_code == 403, (path, answer.status_code, answer.text[:300])
    assert qstation("group", "list", *portal.store_args) == groups_before
    changes = qstation("audit", *portal.store_args).replace(before, "")
    assert "group." not in changes and "user." not in changes and "quota." not in changes


def test_an_administrator_is_refused_other_organisations_and_the_calendar(
    portal: Portal,
) -> None:
    admin = _signed_in(portal, ADMIN)
    assert admin.get("/admin").status_code == 200
    assert admin.get("/admin?organisation=elsewhere").status_code == 403
    elsewhere = [("organisation", "elsewhere"), ("name", "DEFAULT"), ("priority", "1")]
    assert admin.post("/admin/groups/priority", elsewhere).status_code == 403
    for path, fields in ADMIN_ACTIONS[-2:]:  # the calendar is the operators'
        assert admin.post(path, fields).status_code == 403, path
    operator = _signed_in(portal, OPERATOR)
    assert operator.get("/admin?organisation=elsewhere").status_code == 200
    added = operator.post("/admin/calendar", dict(ADMIN_ACTIONS[-2][1]))
    assert added.status_code == 303
    assert "2030-01-01" in qstation("calendar", "list", *portal.store_args)


def test_bad_form_input_gets_a_page_that_says_what_is_wrong(portal: Portal) -> None:
    admin = _signed_in(portal, ADMIN)
    answer = admin.post("/admin/groups/priority", [("name", "DEFAULT"), ("priority", "eleven")])
    assert answer.status_code == 400 and "priority" in answer.text
    listing = admin.get("/jobs?after=yesterday")
    assert listing.status_code == 400 and "YYYY-MM-DD" in listing.text
    assert admin.get("/jobs?status=lost").status_code == 400
    assert admin.get("/machines/H9-9").status_code == 404


PORTAL_PUBLIC = {("GET", "/"), ("GET", "/signin"), ("POST", "/signin")}
"""Pages anyone may open: the sign-in form (and ``/``, which sends to it)."""


def _portal_routes() -> set[tuple[str, str]]:
    from fastapi.routing import APIRoute

    from qstation.portal import PAGES

    return {
        (method, route.path)
        for module in PAGES
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


def _covered() -> set[tuple[str, str]]:
    """Routes the isolation and role matrices above exercise."""
    job_routes = {
        (method, path.split("?")[0].replace("{id}", "{job_id}"))
        for method, path, _ in _job_requests("{id}")
    }
    admin_routes = {("POST", path) for path, _ in ADMIN_ACTIONS} | {("GET", "/admin")}
    pages = {("GET", path) for path in ("/jobs", "/machines", "/machines/{name}", "/usage")}
    return job_routes | admin_routes | pages | {("POST", "/signout")}


def test_every_portal_route_is_covered_and_closed_to_anonymous_callers(portal: Portal) -> None:
    routes = _portal_routes()
    assert routes == _covered() | PORTAL_PUBLIC, routes ^ (_covered() | PORTAL_PUBLIC)
    anonymous = PortalClient(portal.url)
    for method, path in sorted(routes - PORTAL_PUBLIC):
        concrete = path.replace("{job_id}", UNKNOWN_JOB).replace("{name}", "H1-1")
        answer = (
            anonymous.get(concrete)
            if method == "GET"
            else anonymous.post(concrete, [], with_csrf=False)
        )
        assert answer.status_code == 303, (method, path, answer.status_code)
        assert answer.headers["location"].startswith("/signin?next="), (method, path)


def test_an_administrator_manages_users_and_quotas_and_the_cli_agrees(portal: Portal) -> None:
    admin = _signed_in(portal, ADMIN)
    added = admin.post("/admin/users", [("email", "temp@example.com"), ("password", PASSWORD)])
    assert added.status_code == 303
    assert admin.post("/admin/users/priority", [("email", "temp@example.com"),
                                                ("priority", "2")]).status_code == 303  # fmt: skip
    assert admin.post("/admin/users/role", [("email", "temp@example.com"),
                                            ("role", "admin")]).status_code == 303  # fmt: skip
    made_operator = admin.post(
        "/admin/users/role", [("email", "temp@example.com"), ("role", "operator")]
    )
    assert made_operator.status_code == 403  # only operators make operators
    users = qstation("user", "list", *portal.store_args)
    fields = next(row for row in users.splitlines() if row.startswith("temp@")).split("\t")
    assert fields[4:6] == ["2", "admin"], fields
    unconfirmed = admin.post("/admin/users/remove", [("email", "temp@example.com")])
    assert unconfirmed.status_code == 400 and "confirm" in unconfirmed.text
    removed = admin.post("/admin/users/remove", [("email", "temp@example.com"), ("confirm", "yes")])
    assert removed.status_code == 303
    assert "temp@example.com" not in qstation("user", "list", *portal.store_args)

    qstation("quota", "set", "default", "hardware", "50", *portal.store_args)
    assert admin.post("/admin/quotas/remove", [("kind", "hardware")]).status_code == 303
    assert "\thardware\t" not in qstation("quota", "list", *portal.store_args)
    audit = qstation("audit", "--actor", ADMIN, *portal.store_args)
    for action in ("user.add", "user.set-priority", "user.set-role", "user.remove", "quota.remove"):
        assert action in audit, action


def test_administrators_cannot_probe_other_organisations_accounts(portal: Portal) -> None:
    admin = _signed_in(portal, ADMIN)
    answers = [
        admin.post("/admin/users/priority", [("email", email), ("priority", "3")])
        for email in (OUTSIDER, "nobody@nowhere.example")
    ]
    assert [a.status_code for a in answers] == [403, 403]
    assert answers[0].text.replace(OUTSIDER, "X") == answers[1].text.replace(
        "nobody@nowhere.example", "X"
    )
    assert "elsewhere" not in answers[0].text.replace(OUTSIDER, "")  # not their organisation
    member = admin.post("/admin/groups/members", [("name", "DEFAULT"), ("email", OUTSIDER)])
    assert member.status_code == 403 and "elsewhere" not in member.text.replace(OUTSIDER, "")
    assert admin.post("/admin/users/revoke", [("email", OPERATOR)]).status_code == 403


def test_odd_cookies_forms_and_filters_get_pages_not_500s(portal: Portal) -> None:
    odd = PortalClient(portal.url)
    for cookie in ("1.a.\u00e9", "\u00b2.a.b", "x", "1..", "9" * 40 + ".a.b"):
        odd.http.cookies.set("qstation_session", cookie)
        answer = odd.get("/jobs")
        assert answer.status_code == 303, (cookie, answer.status_code)
    member = _signed_in(portal, MEMBER)
    assert member.post("/jobs/cancel", [("csrf", "\u00e9")], with_csrf=False).status_code == 403
    bogus = member.post("/jobs/cancel", [("scope", "matching"), ("status", "bogus")])
    assert bogus.status_code == 400 and "status must be among" in bogus.text


def test_pages_of_a_filtered_list_keep_the_filter_and_downloads_are_not_cached(
    portal: Portal,
) -> None:
    for index in range(52):
        portal.submit(OUTSIDER, f"paged {index}", machine=WAITING_MACHINE, shots=1)
    outsider = _signed_in(portal, OUTSIDER)
    first = outsider.get("/jobs?status=queued&name=paged")
    older = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert "status=queued" in link and "name=paged" in link and "page=2" in link
    second = outsider.get(link)
    assert second.status_code == 200
    assert len(re.findall(r'<tr id="job-[0-9a-f]{32}"', second.text)) == 2
    done = portal.wait(ADMIN, portal.submit(ADMIN, "downloaded"))
    admin = _signed_in(portal, ADMIN)
    for kind in ("json", "csv"):
        answer = admin.get(f"/jobs/{done['job']}/results.{kind}")
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
