"""Long jobs run in chunks of shots: partial results that are exact prefixes of the whole run,
others' jobs in between, cancel keeping what ran, and a lost chunk run again, charged once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from qstation.engines.stabilizer import StabilizerEngine
from qstation.engines.statevector import StateVectorEngine
from qstation.frontends import compile_program
from qstation.model import ExecutionOutcome, Group, JobRecord, JobStatus, NewJob, User
from qstation.noise.model import NOISELESS, NoiseModel
from qstation.service.clock import utc_now
from qstation.store import JobStore
from tests.integration.workers.conftest import MakeWorker
from tests.integration.workers.jobs import OWNER, qasm, submit

FEEDBACK = qasm(
    3,
    "creg r[1];\ncreg seed[64];\ncreg draw[32];\ncreg shot[32];\n"
    "U1q(0.5*pi,0) q[0];\nmeasure q[0] -> r[0];\nif(r==1) U1q(1.0*pi,0) q[1];\n"
    "reset q[0];\nU1q(0.3*pi,0.2*pi) q[0];\nRZZ(0.4*pi) q[0],q[2];\n"
    "seed = 5;\nRNGseed(seed);\ndraw = RNGnum();\nshot = JOB_shotnum;\n",
)
FIXED = qasm(4, "".join(f"U1q(0.{q + 1}*pi,0) q[{q}];\n" for q in range(4)) + "ZZ q[0],q[1];\n")


@pytest.mark.parametrize("program", [FEEDBACK, FIXED], ids=["feedback", "terminal"])
@pytest.mark.parametrize("noisy", [False, True])
def test_a_chunk_of_shots_is_that_slice_of_the_whole_run(program: str, noisy: bool) -> None:
    compiled = compile_program("OPENQASM 2.0", program)
    noise = NoiseModel(p1=0.05, p2=0.1, p_meas_0=0.02, p_meas_1=0.03) if noisy else NOISELESS
    engine = StateVectorEngine(2**30)
    whole = engine.run(compiled, 3000, seed=9, noise=noise)
    pieces = [
        engine.run(compiled, count, seed=9, noise=noise, first_shot=first)
        for first, count in ((0, 1024), (1024, 1024), (2048, 952))
    ]
    for label, values in whole.items():
        assert [value for piece in pieces for value in piece[label]] == values


def test_stabilizer_chunks_on_its_sampling_blocks_are_slices_of_the_whole_run() -> None:
    compiled = compile_program(
        "OPENQASM 2.0", qasm(3, "U1q(0.5*pi,0.5*pi) q[0];\nZZ q[0],q[1];\nU1q(0.5*pi,0) q[2];\n")
    )
    engine = StabilizerEngine()
    whole = engine.run(compiled, 2500, seed=3)
    pieces = [engine.run(compiled, n, seed=3, first_shot=f) for f, n in ((0, 2048), (2048, 452))]
    assert pieces[0]["c"] + pieces[1]["c"] == whole["c"]


def test_a_long_job_records_growing_prefixes_and_finishes_as_a_whole_run(
    store: JobStore,
    make_worker: MakeWorker,
) -> None:
    job = submit(store, FEEDBACK, count=3500)
    chunked = make_worker(store, chunk_shots=1024)
    seen = []
    while (current := store.jobs.get(job.id, None)).status is not JobStatus.COMPLETED:
        assert chunked.run_once()
        seen.append(store.jobs.get(job.id, None))
    assert [record.shots_done for record in seen] == [1024, 2048, 3072, 3500]
    assert [record.status for record in seen[:-1]] == [JobStatus.RUNNING] * 3

    reference = submit(store, FEEDBACK, count=3500)
    assert make_worker(store, chunk_shots=4096).run_once()
    whole = store.jobs.get(reference.id, None)
    assert whole.results is not None and current.results == whole.results
    for partial in seen[:-1]:
        assert partial.results is not None
        for label, values in partial.results.items():
            assert values == whole.results[label][: partial.shots_done]
    assert current.cost == whole.cost  # charged once, for all the shots
    assert len(store.jobs.attempts(job.id)) == 4


def test_another_organisations_higher_priority_job_runs_between_chunks(
    store: JobStore,
    make_worker: MakeWorker,
) -> None:
    store.organisations.create("rival", utc_now())
    store.organisations.create_group(Group("rival", "urgent", 1))
    rival = store.accounts.create_user(
        User(uuid.uuid4().hex, "r@rival.org", "x", "urgent", utc_now(), organisation="rival")
    )
    long_job = submit(store, FIXED, count=3000)
    chunked = make_worker(store, chunk_shots=1024)
    assert chunked.run_once()  # the first chunk of the long job
    urgent = store.jobs.create(
        NewJob(
            id=uuid.uuid4().hex,
            owner_id=rival.id,
            name="u",
            machine="H1-1E",
            language="OPENQASM 2.0",
            program=FIXED,
            count=10,
            options={},
            group="urgent",
            seed=1,
            submitted_at=utc_now(),
            organisation="rival",
        )
    )
    assert chunked.run_once()
    assert store.jobs.get(urgent.id, None).status is JobStatus.COMPLETED
    assert store.jobs.get(long_job.id, None).shots_done == 1024  # it waited for one chunk


def test_cancelling_between_chunks_keeps_the_shots_taken(
    store: JobStore, make_worker: MakeWorker
) -> None:
    job = submit(store, FIXED, count=5000)
    chunked = make_worker(store, chunk_shots=2048)
    assert chunked.run_once()
    canceled = store.jobs.cancel(job.id, OWNER.id, utc_now())
    assert canceled.status is JobStatus.CANCELED
    assert canceled.results is not None and len(canceled.results["c"]) == 2048
    assert canceled.shots_done == 2048
    assert not chunked.run_once()  # nothing left to run


def test_a_chunk_whose_worker_died_runs_again_from_the_last_recorded_shot(
    store: JobStore,
    make_worker: MakeWorker,
) -> None:
    job = submit(store, FIXED, count=3000)
    chunked = make_worker(store, chunk_shots=1024, lease_seconds=30)
    assert chunked.run_once()
    lost = store.dispatch.claim_next_job(
        "dead-worker", utc_now(), 30, 3, chunk_shots=1024
    )  # claims chunk 2, then dies
    assert lost is not None and lost.job.id == job.id and lost.job.shots_done == 1024
    later = make_worker(store, chunk_shots=1024, lease_seconds=30)
    later.clock = lambda: utc_now() + timedelta(seconds=31)  # the dead worker's lease ran out
    while later.run_once():
        pass
    done: JobRecord = store.jobs.get(job.id, None)
    assert done.status is JobStatus.COMPLETED and done.results is not None
    assert len(done.results["c"]) == 3000 and done.cost is not None
    outcomes = [attempt.outcome for attempt in store.jobs.attempts(job.id)]
    assert outcomes == ["chunk", "lease_expired", "chunk", "completed"]


def test_a_cancel_during_a_chunk_keeps_the_chunks_shots(store: JobStore) -> None:
    job = submit(store, FIXED, count=3000)
    claim = store.dispatch.claim_next_job("w", utc_now(), 60, 3, chunk_shots=1024)
    assert claim is not None
    assert store.jobs.cancel(job.id, OWNER.id, utc_now()).status is JobStatus.CANCELING
    results = {"c": ["0000"] * 1024}
    outcome = ExecutionOutcome(JobStatus.COMPLETED, results=results)
    assert store.jobs.finish_attempt(claim.attempt_id, outcome, utc_now()) is JobStatus.CANCELED
    canceled = store.jobs.get(job.id, None)
    assert canceled.status is JobStatus.CANCELED and canceled.results == results
    assert canceled.shots_done == 1024
