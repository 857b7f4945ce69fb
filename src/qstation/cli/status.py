"""``qstation status``: the fleet as an operator sees it from a host with database access —
each worker, what it runs and when it was last seen, and each target's queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from qstation.cli.common import fail_cleanly, make_settings, store_options
from qstation.cli.output import echo_json, table
from qstation.cli.remote import json_option
from qstation.service.clock import utc_now
from qstation.store import open_store
from qstation.store.metrics import figures
from qstation.store.workers import WorkerRecord, is_alive


@click.command()
@store_options
@json_option
@fail_cleanly
def status(as_json: bool, **flags: Any) -> None:
    """Workers (alive, stopped, or lost: not seen for a lease period) and the queue of every
    target, read from the store."""
    settings = make_settings(**flags)
    store = open_store(settings.database_url(), pool_size=1)
    try:
        now = utc_now()
        counted = figures(store.database, now)
        workers = store.workers.listing()
    finally:
        store.close()
    queues: list[dict[str, Any]] = [
        {
            "machine": machine,
            "waiting": machine_figures.queue_depth,
            "running": machine_figures.running,
            "oldest_waiting_seconds": round(machine_figures.oldest_queued_seconds, 1),
        }
        for machine, machine_figures in sorted(counted.machines.items())
        if machine_figures.queue_depth or machine_figures.running
    ]
    shown = [_worker(worker, now) for worker in workers]
    if as_json:
        echo_json({"workers": shown, "queues": queues})
        return
    alive = sum(worker["state"] == "alive" for worker in shown)
    click.echo(click.style(f"Workers: {alive} alive of {len(shown)} known", bold=True))
    if shown:
        table(
            ["ID", "VERSION", "STATE", "LAST SEEN", "JOB", "SHOTS"],
            [
                [w["id"], w["version"], w["state"], _ago(w["last_seen_seconds"]), w["job_id"],
                 w["shots"]]
                for w in shown
            ],
        )  # fmt: skip
    click.echo(click.style("\nQueues", bold=True))
    if not queues:
        click.echo("(every queue is empty)")
        return
    table(
        ["TARGET", "WAITING", "RUNNING", "OLDEST WAITING"],
        [
            [q["machine"], q["waiting"], q["running"], _ago(q["oldest_waiting_seconds"])]
            for q in queues
        ],
    )


def _worker(worker: WorkerRecord, now: datetime) -> dict[str, Any]:
    if worker.stopped_at is not None:
        state = "stopped"
    else:
        state = "alive" if is_alive(worker, now) else "lost"
    return {
        "id": worker.id,
        "host": worker.host,
        "pid": worker.pid,
        "version": worker.version,
        "state": state,
        "started_at": worker.started_at.isoformat(),
        "last_seen_seconds": round((now - worker.last_seen_at).total_seconds(), 1),
        "job_id": worker.job_id if state == "alive" else None,
        "shots": worker.shots if state == "alive" else None,
    }


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
