"""Each benchmark script owns one section of docs/benchmarks.md and rewrites only that one."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TITLE = "# Benchmarks\n\nEach section below is written by the script it names, from one run.\n"


def write_section(path: Path, name: str, text: str) -> None:
    """Put ``text`` between the ``name`` markers of ``path``, keeping every other section."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{text.strip()}\n{end}\n"
    current = path.read_text() if path.exists() else TITLE
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _: block, current)
    else:
        updated = current.rstrip() + "\n\n" + block
    path.write_text(updated)


def run_per_database(
    description: str,
    section: str,
    measure: Callable[[str], Any],
    report: Callable[[dict[str, Any], float], str],
) -> int:
    """The command line of a benchmark measured once per database: ``--databases``, and
    ``--report FILE`` to write its section."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--databases", default="sqlite,postgresql")
    arguments = parser.parse_args()
    started = time.perf_counter()
    results = {database: measure(database) for database in arguments.databases.split(",")}
    text = report(results, time.perf_counter() - started)
    print(text)
    if arguments.report:
        write_section(arguments.report, section, text)
    return 0
