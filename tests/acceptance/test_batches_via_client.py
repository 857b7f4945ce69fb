"""Batches as the real client makes them (``start_batch``, ``add_to_batch``), and the
submissions the service refuses."""

from __future__ import annotations

from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit

from tests.acceptance.conftest import ALICE, BOB, client
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import ServiceProcess
from tests.acceptance.test_api_contract import Session, error_of


def test_a_batch_from_the_client_runs_and_bad_batch_fields_are_refused(
    service: ServiceProcess,
) -> None:
    backend = client(service.url, "H1-1E")
    circuit = Circuit(2).PhasedX(0.5, 0.0, 0).ZZPhase(0.5, 0, 1).measure_all()
    first = backend.start_batch(500, circuit, n_shots=10)
    rest = [backend.add_to_batch(first, circuit, n_shots=10) for _ in range(2)]
    rest.append(backend.add_to_batch(first, circuit, n_shots=10, batch_end=True))
    for handle in (first, *rest):
        assert wait_until_done(backend, handle) is StatusEnum.COMPLETED

    alice, bob = Session(service, ALICE), Session(service, BOB)
    for body, text in (
        ({"batch-exec": 0}, "batch-exec, a batch's cost limit, must be positive"),
        ({"batch-exec": "0" * 32}, "batch-exec names no job of yours"),
        ({"batch-end": True}, "batch-end needs batch-exec"),
        ({"batch-exec": first[0], "machine": "H1-1SC"}, "runs on H1-1E"),
        ({"batch-exec": rest[0][0]}, "does not start a batch"),
    ):
        refused = alice.submit(**body)
        assert refused.status_code == 400 and text in error_of(refused)["text"], refused.text
    someone_elses = bob.submit(**{"batch-exec": first[0]})
    assert someone_elses.status_code == 400  # a batch is its owner's
