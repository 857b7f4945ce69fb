"""Each benchmark script owns one section of docs/benchmarks.md and rewrites only that one."""

from __future__ import annotations

import re
from pathlib import Path

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
