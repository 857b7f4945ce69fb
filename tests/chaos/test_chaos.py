"""The CI-sized chaos runs (``bench/chaos.py`` runs the long one): nothing acknowledged is
lost, nothing completes twice, everything is charged once, refusals are JSON 503s, and the API
process's memory stays bounded — on a PostgreSQL fleet and on one SQLite ``serve``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.scenario import Plan, Report, run_postgres, run_sqlite

pytestmark = pytest.mark.slow

CI_PLAN = Plan(seconds=90)
MEMORY_GROWTH_LIMIT = 150 * 2**20


def assert_promises_kept(report: Report) -> None:
    assert report.problems() == [], "\n".join(report.events)
    assert report.acknowledged > 0 and report.jobs_in_database >= report.acknowledged
    assert report.ledger.completed_correct > 0


def test_a_postgresql_fleet_under_chaos_keeps_every_promise(tmp_path: Path) -> None:
    report = run_postgres(CI_PLAN, tmp_path)
    assert_promises_kept(report)
    assert report.worker_kills >= 25 and report.api_restarts >= 8
    assert report.database_restarts >= 1 and report.partitions == 1 and report.disk_fills == 1
    assert report.ledger.refused_with_503 + report.ledger.transport_errors > 0
    first, last = report.metric_samples[0], report.metric_samples[-1]
    assert last["qstation_lease_expiries_total"] > first["qstation_lease_expiries_total"]
    assert max(m.get("qstation_queue_depth", 0) for m in report.metric_samples) > 0
    assert last["qstation_queue_depth"] == 0  # drained
    memory = [bytes_ for _, bytes_ in report.memory_samples]
    assert max(memory) - memory[0] < MEMORY_GROWTH_LIMIT


def test_one_sqlite_serve_killed_again_and_again_keeps_every_promise(tmp_path: Path) -> None:
    report = run_sqlite(Plan(seconds=60, api_kill_every=8.0), tmp_path)
    assert_promises_kept(report)
    assert report.api_restarts >= 6 and report.disk_fills == 1
