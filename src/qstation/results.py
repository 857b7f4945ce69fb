"""A job's results (register name -> one outcome string per shot) as people read them: counts
of outcomes, and CSV. Shared by the portal and the CLI."""

from __future__ import annotations

import csv
import io
from collections import Counter

Results = dict[str, list[str]]


def outcome_counts(outcomes: list[str]) -> list[tuple[str, int]]:
    """Each distinct outcome with its count, most frequent first (ties by outcome)."""
    return sorted(Counter(outcomes).items(), key=lambda item: (-item[1], item[0]))


def results_csv(results: Results) -> str:
    """One row per shot, one column per register, outcomes as the API gives them (text, so
    leading zeros survive)."""
    registers = list(results)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["shot", *registers])
    shots = max((len(values) for values in results.values()), default=0)
    for shot in range(shots):
        row = [results[name][shot] if shot < len(results[name]) else "" for name in registers]
        writer.writerow([shot, *row])
    return out.getvalue()
