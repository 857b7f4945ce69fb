"""Jobs for tests that run a real worker on a real SQLite store."""

from __future__ import annotations

import os

from qstation.model import JobRecord, NewJob, User
from qstation.service.clock import utc_now
from qstation.store import JobStore

OWNER = User("0" * 32, "owner@example.com", "x", "DEFAULT", utc_now())


def qasm(n_qubits: int, body: str = "") -> str:
    measures = "".join(f"measure q[{q}] -> c[{q}];\n" for q in range(n_qubits))
    return (
        f'OPENQASM 2.0;\ninclude "hqslib1.inc";\nqreg q[{n_qubits}];\ncreg c[{n_qubits}];\n'
        f"{body}{measures}"
    )


def submit(
    store: JobStore,
    program: str,
    machine: str = "H1-1E",
    count: int = 10,
    language: str = "OPENQASM 2.0",
    cfl: str | None = None,
) -> JobRecord:
    job = NewJob(
        id=os.urandom(16).hex(), owner_id=OWNER.id, name="t", machine=machine,
        language=language, program=program, count=count, options={}, group="DEFAULT",
        seed=1, submitted_at=utc_now(), cfl=cfl,
    )  # fmt: skip
    return store.jobs.create(job)
