"""A 26-qubit state-vector job, run as the worker's execution child runs it, in its own process
so that its peak resident memory is its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

JOB = textwrap.dedent(
    """
    import json, resource
    from datetime import datetime
    from qstation.devices.catalogue import DeviceCatalogue
    from qstation.model import JobRecord, JobStatus
    from qstation.worker.execution import ExecutionLimits, execute

    n = 26
    body = "".join(f"U1q(0.5*pi,0.25*pi) q[{q}];\\n" for q in range(n))
    body += "".join(f"RZZ(0.3*pi) q[{q}],q[{q + 1}];\\n" for q in range(n - 1))
    body += "Rxxyyzz(0.1*pi,0.2*pi,0.3*pi) q[3],q[20];\\n"
    program = (
        f'OPENQASM 2.0;\\ninclude "hqslib1.inc";\\nqreg q[{n}];\\ncreg c[{n}];\\n{body}'
        + "".join(f"measure q[{q}] -> c[{q}];\\n" for q in range(n))
    )
    job = JobRecord(
        id="0" * 32, owner_id="f" * 32, name="m", machine="H2-1E", language="OPENQASM 2.0",
        program=program, count=200, options={"error-model": False}, group="DEFAULT", seed=1,
        submitted_at=datetime(2026, 1, 1), status=JobStatus.RUNNING,
    )
    limits = ExecutionLimits(memory_bytes=8 * 2**30, max_result_bytes=2**30)
    outcome = execute(job, DeviceCatalogue.load().get("H2-1E"), limits)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"status": outcome.status.value, "error": outcome.error, "peak": peak,
                      "shots": len(outcome.results["c"]) if outcome.results else 0}))
    """
)


def test_a_26_qubit_state_vector_job_stays_under_2_5_gib_resident() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", JOB], capture_output=True, text=True, timeout=600, check=True
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["status"] == "completed", report["error"]
    assert report["shots"] == 200
    assert report["peak"] < 2.5 * 2**30, f"peak resident {report['peak'] / 2**30:.2f} GiB"
