"""Test hosts without containers: Linux network namespaces joined to this one by veth pairs,
each on a /24 of its own inside 10.231.0.0/16. A process started with :meth:`Host.command`
reaches this host only over its link, so ``ip link set … down`` is a network partition."""

from __future__ import annotations

import os
import subprocess

NETWORK = "10.231.0.0/16"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Host:
    def __init__(self, index: int) -> None:
        tag = f"{os.getpid() % 10000}{index}"
        self.namespace = f"qstation-chaos-{tag}"
        self.outside = f"qsco{tag}"  # interface names: at most 15 characters
        self.inside = f"qsci{tag}"
        self.gateway = f"10.231.{index}.1"
        """This machine's address as the host sees it (PostgreSQL listens there)."""
        self.address = f"10.231.{index}.2"

    def create(self) -> None:
        _ip("netns", "add", self.namespace)
        _ip("link", "add", self.outside, "type", "veth", "peer", "name", self.inside,
            "netns", self.namespace)  # fmt: skip
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.outside)
        _ip("link", "set", self.outside, "up")
        _ip("-n", self.namespace, "addr", "add", f"{self.address}/24", "dev", self.inside)
        _ip("-n", self.namespace, "link", "set", self.inside, "up")
        _ip("-n", self.namespace, "link", "set", "lo", "up")

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the host (``ip netns exec`` execs it: the PID is argv's)."""
        return ["ip", "netns", "exec", self.namespace, *argv]

    def partition(self) -> None:
        _ip("link", "set", self.outside, "down")

    def heal(self) -> None:
        _ip("link", "set", self.outside, "up")

    def destroy(self) -> None:
        subprocess.run(["ip", "netns", "del", self.namespace], check=False, capture_output=True)
        subprocess.run(["ip", "link", "del", self.outside], check=False, capture_output=True)
