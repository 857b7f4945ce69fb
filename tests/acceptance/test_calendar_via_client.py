"""Operational hours set with the admin CLI, read by the real client's calendar and state
calls; a job on a target that is offline waits in the queue."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit
from pytket.extensions.quantinuum import QuantinuumBackend

from tests.acceptance.conftest import ALICE, client, start_service
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import qstation, run_qstation


def test_calendar_and_machine_states_through_the_client(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = ["--data-dir", str(data)]
    qstation("org", "add", "acme", *store)
    now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    hour = timedelta(hours=1)

    def moment(offset: timedelta) -> str:
        return (now + offset).strftime("%Y-%m-%dT%H:%M")

    # H1-1: open now, maintenance later; H2-1: reserved for acme later, closed now
    qstation("calendar", "add", "H1-1", "online", moment(-hour), moment(2 * hour), *store)
    qstation("calendar", "add", "H1-1", "maintenance", moment(3 * hour), moment(4 * hour), *store)
    added = qstation(
        "calendar", "add", "H2-1", "reservation", moment(hour), moment(2 * hour), "--org",
        "acme", *store,
    )  # fmt: skip
    assert added.startswith("added event 3: H2-1\treservation")
    service = start_service(data)
    try:
        h1 = client(service.url, "H1-1", ALICE)
        assert QuantinuumBackend.device_state("H1-1", h1.api_handler) == "online"
        assert QuantinuumBackend.device_state("H2-1", h1.api_handler) == "offline"
        assert QuantinuumBackend.device_state("H2-1E", h1.api_handler) == "online"

        events = h1.get_calendar(now - 2 * hour, now + 5 * hour, localise=False)
        assert [(e["event-type"], e["organization"]) for e in events] == [
            ("online", "Fair-Share Queue")
        ]
        assert events[0]["start-date"] == (now - hour).replace(tzinfo=UTC)  # maintenance: a gap
        h2 = client(service.url, "H2-1", ALICE)
        reserved = h2.get_calendar(now - 2 * hour, now + 5 * hour, localise=False)
        assert [e["event-type"] for e in reserved] == ["reservation"]
        assert reserved[0]["organization"] == "Fair-Share Queue"  # alice is not in acme

        circuit = h1.get_compiled_circuit(Circuit(1).PhasedX(0.5, 0.0, 0).measure_all())
        done = h1.process_circuit(circuit, n_shots=5)
        waiting = h2.process_circuit(circuit, n_shots=5)
        assert wait_until_done(h1, done) is StatusEnum.COMPLETED
        status = h2.circuit_status(waiting)
        assert status.status is StatusEnum.QUEUED
        assert json.loads(status.message)["queue-position"] == 1
    finally:
        service.stop()

    listing = qstation("calendar", "list", *store).splitlines()
    assert len(listing) == 3 and listing[0].startswith("1\tH1-1\tonline\t")
    refused = run_qstation(
        "calendar", "add", "H1-1E", "online", moment(-hour), moment(hour), *store
    )
    assert refused.returncode == 1 and "not a hardware target" in refused.stderr
