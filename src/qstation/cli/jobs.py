"""``qstation jobs`` and ``qstation job show|results|cancel|wait``: your jobs on any server, as
the stored login's user."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from qstation.cli.output import echo_json, histogram, status_word, table
from qstation.cli.remote import client_errors, json_option, url_option
from qstation.client.progress import Progress
from qstation.client.session import ClientError, ServiceSession
from qstation.client.waiting import UNFINISHED, wait_until_final
from qstation.results import results_csv

STATUSES = ("queued", "running", "completed", "failed", "canceling", "canceled", "depleted",
            "terminated")  # fmt: skip
EXIT_COMPLETED, EXIT_FAILED, EXIT_CANCELED, EXIT_TIMED_OUT = 0, 3, 4, 5
"""``job wait``'s exit statuses (1 and 2 are click's: an error, a bad command line)."""
MOST_CANCELS = 500


def _filters(command: Any) -> Any:
    for option in reversed([
        click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES),
                     help="Any of these statuses (repeat the option)."),
        click.option("--machine", help="Submitted to this machine."),
        click.option("--group", help="Run for this group."),
        click.option("--name", help="Whose name contains this, in any case."),
        click.option("--after", help="Submitted after this date or time (UTC)."),
        click.option("--before", help="Submitted before this date or time (UTC)."),
    ]):  # fmt: skip
        command = option(command)
    return command


def _query(flags: dict[str, Any], limit: int, offset: int = 0) -> dict[str, Any]:
    return {
        "status": list(flags["statuses"]) or None, "machine": flags["machine"],
        "group": flags["group"], "name": flags["name"], "submitted-after": flags["after"],
        "submitted-before": flags["before"], "limit": limit, "offset": offset,
    }  # fmt: skip


@click.command()
@url_option
@_filters
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many (paging).")
@json_option
@client_errors
def jobs(url: str | None, limit: int, offset: int, as_json: bool, **flags: Any) -> None:
    """Your jobs, newest first, with the filters of GET /v1/jobs."""
    with ServiceSession(url) as session:
        page = session.call("GET", "/v1/jobs", **_query(flags, limit, offset))
    if as_json:
        echo_json(page)
        return
    table(
        ["job", "name", "machine", "status", "shots", "cost", "submitted"],
        [[j["job"], j["name"], j["machine"], status_word(j["status"]),
          f"{j['last-shot'] or 0}/{j['count']}", j["cost"], (j["submit-date"] or "")[:19]]
         for j in page["jobs"]],
    )  # fmt: skip
    if page["next-offset"] is not None:
        click.echo(f"more: --offset {page['next-offset']}")


@click.group()
def job() -> None:
    """One job, or a few: show, results, cancel, wait."""


@job.command()
@url_option
@click.argument("job_id")
@json_option
@client_errors
def show(url: str | None, job_id: str, as_json: bool) -> None:
    """Status, queue position, cost, and a histogram of each register's results."""
    with ServiceSession(url) as session:
        status = session.call("GET", f"/v1/job/{job_id}")
    if as_json:
        echo_json(status)
        return
    facts = [
        ("job", status["job"]), ("name", status["name"]), ("machine", status["machine"]),
        ("status", status_word(status["status"])), ("queue position", status["queue-position"]),
        ("shots", f"{status['last-shot'] or 0} of {status['count']}"),
        ("cost (HQC)", status["cost"]), ("submitted", status["submit-date"]),
        ("started", status["start-date"]), ("finished", status["result-date"]),
        ("error", status["error"]),
    ]  # fmt: skip
    for label, value in facts:
        if value is not None:
            click.echo(f"{label:>15}: {value}")
    for register, outcomes in (status.get("results") or {}).items():
        click.echo()
        histogram(register, outcomes)


@job.command()
@url_option
@click.argument("job_id")
@click.option("--format", "form", type=click.Choice(["json", "csv"]), default="json",
              show_default=True)  # fmt: skip
@client_errors
def results(url: str | None, job_id: str, form: str) -> None:
    """The job's results (so far, while it runs): JSON by register, or CSV one row a shot."""
    with ServiceSession(url) as session:
        status = session.call("GET", f"/v1/job/{job_id}")
    found = status.get("results")
    if found is None:
        raise click.ClickException(f"job {job_id} has no results yet ({status['status']})")
    click.echo(results_csv(found) if form == "csv" else json.dumps(found), nl=form == "json")


@job.command()
@url_option
@click.argument("job_ids", nargs=-1)
@_filters
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@client_errors
def cancel(url: str | None, job_ids: tuple[str, ...], yes: bool, **flags: Any) -> None:
    """Cancel the given jobs, or every unfinished job matching the filters (at most 500)."""
    filtered = any(flags[key] for key in ("statuses", "machine", "group", "name", "after",
                                          "before"))  # fmt: skip
    if bool(job_ids) == filtered:
        raise click.UsageError("name jobs by their IDs, or give filters, not both")
    with ServiceSession(url) as session:
        targets = list(job_ids)
        if filtered:
            statuses = [s for s in (flags["statuses"] or sorted(UNFINISHED)) if s in UNFINISHED]
            if not statuses:  # only finished statuses asked for: nothing can be cancelled
                click.echo("no unfinished job matches")
                return
            query = _query({**flags, "statuses": statuses}, MOST_CANCELS)
            targets = [j["job"] for j in session.call("GET", "/v1/jobs", **query)["jobs"]]
        if not targets:
            click.echo("no unfinished job matches")
            return
        if not yes:
            click.confirm(f"Cancel {len(targets)} job(s)?", abort=True)
        failed = 0
        for job_id in targets:
            try:
                answer = session.call("POST", f"/v1/job/{job_id}/cancel")
                click.echo(f"{job_id} {status_word(answer['status'])}")
            except ClientError as error:
                failed += 1
                click.echo(f"{job_id} not cancelled: {error}", err=True)
    if failed:
        sys.exit(1)


@job.command()
@url_option
@click.argument("job_ids", nargs=-1, required=True)
@click.option("--timeout", type=click.FloatRange(min=0), help="Give up after this many seconds.")
@json_option
@client_errors
def wait(url: str | None, job_ids: tuple[str, ...], timeout: float | None, as_json: bool) -> None:
    """Wait until every job has ended. Exit status: 0 all completed, 3 one failed (or was
    depleted or terminated), 4 one was canceled, 5 the timeout came first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    final: dict[str, dict[str, Any]] = {}
    with ServiceSession(url) as session:
        for job_id in job_ids:
            final[job_id] = wait_until_final(session, job_id, deadline, Progress())
    words = [status["status"] for status in final.values()]
    if as_json:
        echo_json({job_id: {"status": s["status"], "error": s["error"]}
                   for job_id, s in final.items()})  # fmt: skip
    else:
        for job_id, status in final.items():
            click.echo(f"{job_id} {status_word(status['status'])}")
    if any(word in UNFINISHED for word in words):
        sys.exit(EXIT_TIMED_OUT)
    if any(word in ("failed", "depleted", "terminated") for word in words):
        sys.exit(EXIT_FAILED)
    if "canceled" in words:
        sys.exit(EXIT_CANCELED)
