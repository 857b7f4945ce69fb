"""A long job seen through the real client while it runs in chunks: ``last-shot`` and the
partial ``results`` grow, and each is an exact prefix of the final results."""

from __future__ import annotations

import json
import time
from pathlib import Path

from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit

from tests.acceptance.conftest import ALICE, client
from tests.acceptance.service import ServiceProcess


def long_circuit() -> Circuit:
    """12 qubits with mid-circuit measurement and feedback: shots run in groups, not sampled
    from one state, so each chunk takes a moment."""
    circuit = Circuit(12, 12)
    for round_ in range(6):
        circuit.PhasedX(0.5, 0.0, 0).ZZPhase(0.5, 0, 1)
        circuit.Measure(0, round_)
        circuit.PhasedX(1.0, 0.0, 1, condition_bits=[round_], condition_value=1)
        circuit.Reset(0)
        for qubit in range(1, 11):
            circuit.ZZPhase(0.25, qubit, qubit + 1)
    for qubit in range(6, 12):
        circuit.Measure(qubit, qubit)
    return circuit


def test_partial_results_grow_as_prefixes_of_the_final_results(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = ServiceProcess(data, ["--data-dir", str(data)])
    service.env["QSTATION_CHUNK_SHOTS"] = "1024"
    service.add_user(ALICE)
    service.start()
    try:
        backend = client(service.url, "H1-1E", ALICE)
        handle = backend.process_circuit(long_circuit(), n_shots=10_000)
        seen: list[tuple[int, dict[str, list[str]]]] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            raw = backend.api_handler.retrieve_job_status(handle[0], use_websocket=False)
            assert raw is not None
            if raw["status"] == "completed":
                final = raw
                break
            if raw["status"] == "running" and raw.get("last-shot"):
                seen.append((raw["last-shot"], raw["results"]))
            time.sleep(0.02)
        else:
            raise AssertionError("the long job did not finish")

        assert final["last-shot"] == 10_000
        growing = sorted({shots for shots, _ in seen})
        assert len(growing) >= 2, growing  # observed at least two different partial states
        assert all(shots % 1024 == 0 and 0 < shots < 10_000 for shots in growing)
        for shots, partial in seen:
            for label, values in partial.items():
                assert len(values) == shots
                assert values == final["results"][label][:shots]
        status = backend.circuit_status(handle)
        assert status.status is StatusEnum.COMPLETED
        assert json.loads(status.message)["last-shot"] == 10_000
        assert sum(backend.get_result(handle).get_counts().values()) == 10_000
    finally:
        service.stop()
