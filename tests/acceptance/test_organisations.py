"""Organisations, groups and priorities from the admin CLI, seen through the real client.

With no worker running, queued jobs report their ``queue-position`` in fair-share order, and a
priority the administrator changes reorders the queue at once.
"""

from __future__ import annotations

import json
from pathlib import Path

from pytket.circuit import Circuit
from pytket.extensions.quantinuum.backends.api_wrappers import QuantinuumAPIError

from tests.acceptance.conftest import client
from tests.acceptance.service import PASSWORD, ServiceProcess, qstation, run_qstation

ADA = "ada@acme.org"
BOB = "bob@acme.org"


def queue_position(backend: object, handle: object) -> int | None:
    status = backend.circuit_status(handle)  # type: ignore[attr-defined]
    return json.loads(status.message)["queue-position"]  # type: ignore[no-any-return]


def test_priorities_set_from_the_cli_order_the_queue_the_client_sees(tmp_path: Path) -> None:
    store = ["--data-dir", str(tmp_path)]
    qstation("org", "add", "acme", *store)
    qstation("group", "add", "acme", "research", "--priority", "2", *store)
    qstation("group", "add", "acme", "batch", "--priority", "9", *store)
    for email, group, priority in ((ADA, "research", "3"), (BOB, "batch", "1")):
        added = qstation(
            "user", "add", email, "--org", "acme", "--group", group, "--priority", priority,
            "--password-stdin", *store, stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert f"organisation acme, group {group}, priority {priority}" in added
    groups = qstation("group", "list", *store).splitlines()
    assert {"acme\tresearch\t2", "acme\tbatch\t9", "acme\tDEFAULT\t5"} <= set(groups)
    assert "acme" in qstation("org", "list", *store).split()
    assert f"{BOB}\tbatch\t" in qstation("user", "list", *store)

    refused = run_qstation("group", "add", "acme", "night", "--priority", "11", *store)
    assert refused.returncode == 2 and "11 is not in the range 1<=x<=10" in refused.stderr
    again = run_qstation("org", "add", "acme", *store)
    assert again.returncode == 1 and "exists already" in again.stderr
    nowhere = run_qstation(
        "user",
        "add",
        "eve@x.org",
        "--org",
        "nowhere",
        "--password-stdin",
        *store,
        stdin=PASSWORD + "\n",
    )
    assert nowhere.returncode == 1 and "No organisation nowhere" in nowhere.stderr

    service = ServiceProcess(tmp_path, store, ["--workers", "0"])
    service.start()
    try:
        circuit = Circuit(1).PhasedX(0.5, 0.0, 0).measure_all()
        ada, bob = client(service.url, "H1-1", ADA), client(service.url, "H1-1", BOB)
        bob_job = bob.process_circuit(bob.get_compiled_circuit(circuit), n_shots=10)
        ada_job = ada.process_circuit(ada.get_compiled_circuit(circuit), n_shots=10)
        # research (priority 2) before batch (9), though bob submitted first
        assert [queue_position(ada, ada_job), queue_position(bob, bob_job)] == [1, 2]

        qstation("group", "set-priority", "acme", "batch", "1", *store)
        assert [queue_position(ada, ada_job), queue_position(bob, bob_job)] == [2, 1]

        try:  # batch, which bob's group has priority 1 in, is not ada's to use
            ada.process_circuit(ada.get_compiled_circuit(circuit), n_shots=10, group="batch")
        except QuantinuumAPIError as error:
            assert "you are not a member of the group 'batch' of acme" in str(error)
        else:
            raise AssertionError("a group the submitter is not a member of was accepted")
        qstation("group", "add-member", "acme", "batch", ADA, *store)
        assert qstation("group", "members", "acme", "batch", *store).split() == [ADA, BOB]
        ada_batch = ada.process_circuit(
            ada.get_compiled_circuit(circuit), n_shots=10, group="batch"
        )  # now a member
        assert queue_position(ada, ada_batch) == 2  # batch; bob's user priority 1 beats her 3
        try:
            ada.process_circuit(ada.get_compiled_circuit(circuit), n_shots=10, group="physics")
        except QuantinuumAPIError as error:
            assert "the organisation acme has no group 'physics'" in str(error)
        else:
            raise AssertionError("a group outside the organisation was accepted")
    finally:
        service.stop()
