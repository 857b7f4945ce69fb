"""A job's results as the portal shows them: per-register histograms, CSV, and the snippet
that rebuilds the pytket handle from the job ID."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass

MAX_BARS = 32
"""Outcomes one histogram shows; the rest are summed into one line below it."""
_BAR_HEIGHT = 20
_LABEL_WIDTH = 200
_BAR_SPACE = 360


@dataclass(frozen=True)
class Bar:
    outcome: str
    count: int
    y: int
    width: int


@dataclass(frozen=True)
class Histogram:
    """One register's outcomes, most frequent first, laid out for an SVG of ``height``."""

    register: str
    shots: int
    bars: list[Bar]
    others: int
    """Outcomes beyond :data:`MAX_BARS`, not drawn."""
    others_count: int
    height: int
    label_width: int = _LABEL_WIDTH
    bar_space: int = _BAR_SPACE

    @property
    def width(self) -> int:
        return self.label_width + self.bar_space + 70


def histograms(results: dict[str, list[str]]) -> list[Histogram]:
    """One histogram per register, in the results' order."""
    made = []
    for register, outcomes in results.items():
        counts = sorted(Counter(outcomes).items(), key=lambda item: (-item[1], item[0]))
        shown, hidden = counts[:MAX_BARS], counts[MAX_BARS:]
        top = shown[0][1] if shown else 1
        bars = [
            Bar(outcome, count, index * _BAR_HEIGHT, max(1, round(_BAR_SPACE * count / top)))
            for index, (outcome, count) in enumerate(shown)
        ]
        made.append(
            Histogram(
                register=register,
                shots=len(outcomes),
                bars=bars,
                others=len(hidden),
                others_count=sum(count for _, count in hidden),
                height=max(1, len(bars)) * _BAR_HEIGHT,
            )
        )
    return made


def results_csv(results: dict[str, list[str]]) -> str:
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


def handle_snippet(job_id: str, machine: str, api_url: str) -> str:
    """Python that fetches the job's results with pytket-quantinuum 0.55.8 from its ID alone
    (width -1: every column labelled by its bit, see docs/protocol.md)."""
    return (
        "from pytket.backends.resulthandle import ResultHandle\n"
        "from pytket.extensions.quantinuum import QuantinuumAPI, QuantinuumBackend\n"
        "\n"
        "backend = QuantinuumBackend(\n"
        f'    device_name="{machine}", api_handler=QuantinuumAPI(api_url="{api_url}")\n'
        ")\n"
        "backend.login()\n"
        f'handle = ResultHandle("{job_id}", "null", -1, "null")\n'
        "result = backend.get_result(handle)\n"
        "print(result.get_counts())\n"
    )
