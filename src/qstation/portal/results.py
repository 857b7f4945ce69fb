"""A job's results as the portal shows them: per-register histograms laid out for SVG, and the
snippet that rebuilds the pytket handle from the job ID."""

from __future__ import annotations

from dataclasses import dataclass

from qstation.results import outcome_counts

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
        counts = outcome_counts(outcomes)
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
