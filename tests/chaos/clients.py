"""Clients of a fleet under chaos: each logs in, then submits jobs whose results are known in
advance and polls them to the end, retrying through outages the way a careful client would.

A job sets a 6-bit pattern with X gates and measures it without noise: every shot must read
exactly that pattern, so a lost, doubled or misplaced chunk shows in its results. Every
submission attempt has a name of its own, so even a job whose acknowledgement was lost (the
API process died after committing it) can be checked against what was asked for.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field

import requests

from tests.acceptance.service import PASSWORD

MACHINE = "H1-1E"
SIZES = (10, 100, 1000, 2500)  # 2,500 shots: three chunks of 1,024
REQUEST_SECONDS = 10.0
FINAL = {"completed", "failed", "canceled", "depleted"}


def program(pattern: int) -> str:
    flips = "".join(f"U1q(1.0*pi,0) q[{bit}];\n" for bit in range(6) if pattern >> bit & 1)
    measures = "".join(f"measure q[{bit}] -> c[{bit}];\n" for bit in range(6))
    return f'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[6];\ncreg c[6];\n{flips}{measures}'


def expected_results(pattern: int, count: int) -> dict[str, list[str]]:
    return {"c": [format(pattern, "06b")] * count}


@dataclass(frozen=True)
class Order:
    """One submission attempt: its name and what its results must be."""

    name: str
    pattern: int
    count: int


@dataclass
class Ledger:
    """What the clients asked for and saw, shared by their threads."""

    orders: dict[str, Order] = field(default_factory=dict)
    acknowledged: dict[str, Order] = field(default_factory=dict)
    """Job ID -> its order, for every submission answered 200."""
    refused_with_503: int = 0
    transport_errors: int = 0
    bad_answers: list[str] = field(default_factory=list)
    """Answers that were neither success nor a JSON 503: each one is a failure."""
    completed_correct: int = 0
    wrong_results: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client(threading.Thread):
    def __init__(
        self, index: int, email: str, urls: list[str], submit_until: float, poll_until: float,
        ledger: Ledger,
    ) -> None:  # fmt: skip
        super().__init__(name=f"chaos-client-{index}", daemon=True)
        self.index = index
        self.email = email
        self.urls = urls
        self.submit_until = submit_until
        self.poll_until = poll_until
        self.ledger = ledger
        self.random = random.Random(index)
        self.session = requests.Session()
        self.token = ""
        self._requests = 0

    def run(self) -> None:
        self.token = self._call("POST", "v1/login", {"email": self.email, "password": PASSWORD})[
            "id-token"
        ]
        number = 0
        while time.monotonic() < self.submit_until:
            number += 1
            pattern, count = self.random.randrange(64), self.random.choice(SIZES)
            job_id = self._submit(number, pattern, count)
            if job_id is not None:
                self._follow(job_id, pattern, count)

    def _submit(self, number: int, pattern: int, count: int) -> str | None:
        for attempt in range(1000):
            order = Order(f"chaos-{self.index}-{number}-{attempt}", pattern, count)
            with self.ledger.lock:
                self.ledger.orders[order.name] = order
            body = {
                "name": order.name, "count": count, "machine": MACHINE,
                "language": "OPENQASM 2.0", "program": program(pattern),
                "options": {"error-model": False, "simulator": "state-vector"},
            }  # fmt: skip
            answer = self._try("POST", "v1/job", body)
            if answer is not None:
                with self.ledger.lock:
                    self.ledger.acknowledged[answer["job"]] = order
                return str(answer["job"])
            if time.monotonic() > self.submit_until:
                return None
        return None

    def _follow(self, job_id: str, pattern: int, count: int) -> None:
        while time.monotonic() < self.poll_until:
            view = self._try("GET", f"v1/job/{job_id}", None)
            if view is not None and view["status"] in FINAL:
                right = view["status"] == "completed" and view.get("results") == (
                    expected_results(pattern, count)
                )
                with self.ledger.lock:
                    if right:
                        self.ledger.completed_correct += 1
                    else:
                        self.ledger.wrong_results.append(f"{job_id}: {view['status']}")
                return
            time.sleep(0.2)

    def _call(self, method: str, path: str, body: object) -> dict[str, object]:
        """Retry until answered (login at the start)."""
        while True:
            answer = self._try(method, path, body)
            if answer is not None:
                return answer
            assert time.monotonic() < self.poll_until, f"{path} never answered"

    def _try(self, method: str, path: str, body: object) -> dict[str, object] | None:
        """The JSON answer, or None after a refusal the client may retry (counted); a pause
        follows every refusal."""
        self._requests += 1
        url = self.urls[self._requests % len(self.urls)] + path
        headers = {"Authorization": self.token} if self.token else {}
        try:
            response = self.session.request(
                method, url, data=None if body is None else json.dumps(body),
                headers=headers, timeout=REQUEST_SECONDS,
            )  # fmt: skip
        except requests.RequestException:
            with self.ledger.lock:
                self.ledger.transport_errors += 1
            time.sleep(0.3)
            return None
        if response.status_code == 200:
            return dict(response.json())
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = None
        with self.ledger.lock:
            if response.status_code == 503 and error is not None:
                self.ledger.refused_with_503 += 1
            else:
                self.ledger.bad_answers.append(f"{method} {path}: {response.status_code} {error}")
        time.sleep(0.3)
        return None
