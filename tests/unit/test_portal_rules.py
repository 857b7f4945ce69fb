"""Pure rules of the portal: where sign-in may send a browser, and the results' layouts."""

from __future__ import annotations

from itertools import pairwise

import pytest

from qstation.portal.results import MAX_BARS, histograms
from qstation.portal.web import safe_next


@pytest.mark.parametrize(
    "target",
    ["/jobs", "/jobs?status=queued&name=a+b", "/jobs/0123abcd", "/admin?organisation=x%20y"],
)
def test_paths_of_this_site_are_kept(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example",
     "https://evil.example/", "javascript:alert(1)", "jobs", "", None, "/jobs\r\nSet-Cookie: x"],
)  # fmt: skip
def test_anything_else_goes_to_the_job_list(target: str | None) -> None:
    assert safe_next(target) == "/jobs"


def test_a_histogram_draws_the_most_frequent_outcomes_and_sums_the_rest() -> None:
    outcomes = [format(i % (MAX_BARS + 5), "06b") for i in range(1000)] + ["000000"] * 50
    (histogram,) = histograms({"c": outcomes})
    assert histogram.shots == 1050
    assert len(histogram.bars) == MAX_BARS and histogram.others == 5
    assert sum(bar.count for bar in histogram.bars) + histogram.others_count == 1050
    assert histogram.bars[0].outcome == "000000"
    assert histogram.bars[0].width == histogram.bar_space  # the longest bar fills the space
    assert all(a.count >= b.count for a, b in pairwise(histogram.bars))
