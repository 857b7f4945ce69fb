"""``GET /v1/jobs``: the caller's own jobs, filtered and paged (qstation's extension)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from tests.acceptance.conftest import ALICE, BOB, start_service
from tests.acceptance.test_api_contract import Session, error_of


def test_listing_filters_pages_and_shows_only_the_callers_jobs(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", "--workers", "0")  # jobs stay queued
    try:
        alice, bob = Session(service, ALICE), Session(service, BOB)
        ids = {}
        for name, machine in (("bell one", "H1-1E"), ("bell two", "H1-1E"), ("ghz", "H1-1SC")):
            ids[name] = alice.submit(name=name, machine=machine).json()["job"]
            time.sleep(0.01)  # distinct submission times
        bobs = bob.submit(name="bell bob").json()["job"]
        canceled = alice.submit(name="to cancel").json()["job"]
        assert alice.post(f"job/{canceled}/cancel", {}).status_code == 200

        def listed(query: str, session: Session = alice) -> list[str]:
            response = session.get(f"jobs{query}")
            assert response.status_code == 200, response.text
            return [job["name"] for job in response.json()["jobs"]]

        assert listed("") == ["to cancel", "ghz", "bell two", "bell one"]  # newest first
        assert listed("", bob) == ["bell bob"]
        assert listed("?status=queued") == ["ghz", "bell two", "bell one"]
        assert listed("?status=canceled&status=completed") == ["to cancel"]
        assert listed("?machine=H1-1E&name=bell") == ["bell two", "bell one"]
        assert listed("?group=DEFAULT&name=ONE") == ["bell one"]  # any case
        assert listed("?group=nobody") == []

        everything = alice.get("jobs").json()["jobs"]
        assert set(everything[0]) >= {"job", "name", "status", "machine", "submit-date", "group"}
        assert "results" not in everything[0] and "queue-position" not in everything[0]
        second = datetime.fromisoformat(everything[2]["submit-date"])  # "bell two"
        after = (second - timedelta(microseconds=1)).isoformat()
        assert listed(f"?submitted-after={after}") == ["to cancel", "ghz", "bell two"]
        before = second.replace(tzinfo=UTC).isoformat()  # a zone is converted to UTC
        assert listed(f"?submitted-before={requests.utils.quote(before)}") == ["bell one"]

        page = alice.get("jobs?limit=3").json()
        assert [job["name"] for job in page["jobs"]] == ["to cancel", "ghz", "bell two"]
        assert page["next-offset"] == 3
        last = alice.get("jobs?limit=3&offset=3").json()
        assert [job["name"] for job in last["jobs"]] == ["bell one"]
        assert last["next-offset"] is None
        assert bobs not in {job["job"] for job in everything}

        too_many = alice.get("jobs?limit=501")
        assert (
            too_many.status_code == 400
            and "limit must be from 1 to 500" in error_of(too_many)["text"]
        )
        bad_status = alice.get("jobs?status=sleeping")
        assert bad_status.status_code == 400 and "status" in error_of(bad_status)["text"]
        assert requests.get(service.url + "v1/jobs", timeout=30).status_code == 401

        spec = requests.get(service.url + "openapi.json", timeout=30).json()
        parameters = {p["name"] for p in spec["paths"]["/v1/jobs"]["get"]["parameters"]}
        assert {"status", "machine", "group", "name", "submitted-after", "submitted-before",
                "limit", "offset"} <= parameters  # fmt: skip
    finally:
        service.stop()
