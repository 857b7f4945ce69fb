"""Byte counts as people read them in error messages."""

from __future__ import annotations


def describe_bytes(count: float) -> str:
    """``48.0 GiB`` from one GiB up, whole ``MiB`` below."""
    if count >= 2**30:
        return f"{count / 2**30:.1f} GiB"
    return f"{count / 2**20:.0f} MiB"
