"""How the job commands print: aligned tables, bars, JSON; colour only on a terminal (click
strips it otherwise)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from qstation.results import outcome_counts

STATUS_COLOURS = {
    "completed": "green", "failed": "red", "depleted": "red", "terminated": "red",
    "canceled": "yellow", "canceling": "yellow", "queued": "cyan", "running": "blue",
}  # fmt: skip
BAR_WIDTH = 40
MOST_OUTCOMES = 16


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=1))


def status_word(status: str) -> str:
    return click.style(status, fg=STATUS_COLOURS.get(status))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Columns padded to their widest cell (measured without colour codes)."""
    cells = [[("" if cell is None else str(cell)) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(click.unstyle(cell)))
    click.echo(
        "  ".join(click.style(h.ljust(w), bold=True) for h, w in zip(headers, widths, strict=True))
    )
    for row in cells:
        padded = [
            cell + " " * (w - len(click.unstyle(cell))) for cell, w in zip(row, widths, strict=True)
        ]
        click.echo("  ".join(padded).rstrip())


def histogram(register: str, outcomes: list[str]) -> None:
    """The register's most frequent outcomes as bars of block characters."""
    counts = outcome_counts(outcomes)
    click.echo(f"{register}: {len(outcomes)} shots, {len(counts)} distinct outcomes")
    top = counts[0][1] if counts else 1
    label = max((len(outcome) for outcome, _ in counts[:MOST_OUTCOMES]), default=0)
    for outcome, count in counts[:MOST_OUTCOMES]:
        bar = "█" * max(1, round(BAR_WIDTH * count / top))
        click.echo(f"  {outcome.rjust(label)} {click.style(bar, fg='blue')} {count}")
    if len(counts) > MOST_OUTCOMES:
        rest = sum(count for _, count in counts[MOST_OUTCOMES:])
        click.echo(f"  … {len(counts) - MOST_OUTCOMES} more outcomes, {rest} shots")
