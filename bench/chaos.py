"""The long chaos run: the scenario of ``tests/chaos`` (a PostgreSQL fleet, then one SQLite
``serve``) for ten minutes of load, with its figures written to ``docs/reliability.md``.

    sudo .venv/bin/python bench/chaos.py --report docs/reliability.md

It needs root (network namespaces, tmpfs mounts) and PostgreSQL's server binaries; it never
touches the shared server on port 5432.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report import write_section
from tests.chaos.scenario import Plan, Report, run_postgres, run_sqlite

LONG_POSTGRES = Plan(seconds=600, worker_kill_every=4.0, api_kill_every=20.0)
LONG_SQLITE = Plan(seconds=300, api_kill_every=12.0)

INTRODUCTION = """# Reliability

qstation promises that a job answered with 200 is never lost, never completes twice and is
charged once. This page holds the figures of the last long chaos run (`bench/chaos.py`); the
CI-sized run of the same scenario (`tests/chaos/test_chaos.py`, 90 and 60 seconds) makes the
same assertions in every `make test`.

**The scenario.** PostgreSQL: a throwaway cluster of the run's own (`initdb` in a temporary
directory on a 384 MiB tmpfs, its own port), two API processes (`serve --workers 0`) and four
`qstation worker` processes, each on a network-namespace host of its own reaching PostgreSQL
over a veth link; 20 clients submit and poll jobs whose every shot is known in advance (a 6-bit
pattern; 10 to 2,500 shots, up to three chunks of 1,024), with a 3 s lease and ten
attempts a chunk (the runs below were made with the default three, before that setting was
raised for random kills). Meanwhile the harness
kills a worker with `kill -9` every few seconds (restarted 0.5 s later), kills and restarts the
second API process, crashes PostgreSQL once (`pg_ctl stop -m immediate`, crash recovery on
restart), cuts one worker host's link for 8 s (more than two leases) and fills the database's
disk for 4 s. SQLite: one `serve` with two embedded workers, its data directory on a tmpfs,
killed with `kill -9` again and again, and its disk filled once.

**What is checked, from the database and from the clients.** Every acknowledged job exists and
completed with exactly its expected results (clients compare what they read; the harness
compares every row, including jobs whose acknowledgement was lost with a killed API process);
every completed job has exactly one `completed` attempt and one `chunk` attempt per earlier
chunk (none ran to acceptance twice); every completed job has a cost, and each organisation's
recorded use equals the sum of its jobs' costs; every refusal was a JSON 503 (or a refused
connection to a killed process) and succeeded on retry; the memory of the API process that is
never killed stays bounded.
"""


def _mib(value: int) -> str:
    return f"{value / 2**20:.0f} MiB"


def describe(report: Report, seconds: float) -> str:
    ledger = report.ledger
    memory = [value for _, value in report.memory_samples]
    metrics = report.metric_samples
    lease_expiries = (
        f"{metrics[0].get('qstation_lease_expiries_total', 0):.0f} → "
        f"{metrics[-1].get('qstation_lease_expiries_total', 0):.0f}"
        if metrics
        else "n/a"
    )
    depth = [m.get("qstation_queue_depth", 0.0) for m in metrics]
    depths = f"{max(depth):.0f} → {depth[-1]:.0f}" if depth else "n/a"
    load = f"{report.plan.seconds:.0f} s, {report.plan.clients} clients"
    rows = [
        ("load (clients submitting)", load),
        ("whole run, with draining and checks", f"{seconds:.0f} s"),
        ("jobs acknowledged (200)", f"{report.acknowledged:,}"),
        ("jobs in the database (with unacknowledged ones)", f"{report.jobs_in_database:,}"),
        ("completed with exactly the expected results", f"{report.completed_correct:,}"),
        ("lost", f"{len(report.lost)}"),
        ("completed twice", f"{len(report.completed_twice)}"),
        ("wrongly charged", f"{len(report.wrongly_charged)}"),
        ("wrong results seen by clients", f"{len(ledger.wrong_results)}"),
        ("answers neither 200 nor JSON 503", f"{len(ledger.bad_answers)}"),
        ("requests refused with a JSON 503, then retried", f"{ledger.refused_with_503:,}"),
        ("requests refused at the connection (killed API)", f"{ledger.transport_errors:,}"),
        ("worker kills (`kill -9`)", f"{report.worker_kills}"),
        ("API process kills and restarts", f"{report.api_restarts}"),
        ("database restarts", f"{report.database_restarts}"),
        ("network partitions", f"{report.partitions}"),
        ("disk filled", f"{report.disk_fills}"),
        ("peak API memory (any API process)", _mib(report.peak_api_memory)),
        ("API memory measured throughout: first → peak → last",
         f"{_mib(memory[0])} → {_mib(max(memory))} → {_mib(memory[-1])}" if memory else "n/a"),
        ("`/metrics` lease expiries: first scrape → last", lease_expiries),
        ("`/metrics` queue depth: peak → last", depths),
    ]  # fmt: skip
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    problems = report.problems()
    verdict = "every promise kept" if not problems else f"{len(problems)} problems"
    return f"### {report.database}: {verdict}\n\n| | |\n|---|---|\n{table}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--only", choices=["postgresql", "sqlite"])
    arguments = parser.parse_args()
    machine = f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores"
    runs = [("postgresql", run_postgres, LONG_POSTGRES), ("sqlite", run_sqlite, LONG_SQLITE)]
    if arguments.report and not arguments.report.exists():
        arguments.report.write_text(INTRODUCTION)
    for name, run, plan in runs:
        if arguments.only not in (None, name):
            continue
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="qstation-chaos-") as work:
            report = run(plan, Path(work))
        text = describe(report, time.monotonic() - started)
        command = f"sudo .venv/bin/python bench/chaos.py --only {name} --report docs/reliability.md"
        text += f"\n{time.strftime('%Y-%m-%d')}, {machine}: `{command}`.\n"
        for problem in report.problems()[:20]:
            print("PROBLEM:", problem)
        print(text)
        if arguments.report:
            write_section(arguments.report, f"chaos-{name}", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
