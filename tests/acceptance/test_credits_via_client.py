"""HQC accounting as the real client sees it: the cost it reports, max-cost and quotas.

The circuit is native already, so its cost is the published formula by hand:
HQC = 5 + C (N1q + 10 N2q + 5 Nm) / 5000, with Nm counting each qubit's initial preparation.
"""

from __future__ import annotations

import json
from pathlib import Path

from pytket.backends.status import StatusEnum
from pytket.circuit import Circuit

from tests.acceptance.conftest import ALICE, client, start_service
from tests.acceptance.jobs import wait_until_done
from tests.acceptance.service import qstation

SHOTS = 100
# one PhasedX, one ZZPhase, two preparations and two measurements, 100 shots
COST = 5 + SHOTS * (1 + 10 * 1 + 5 * 4) / 5000  # 5.62


def native_circuit() -> Circuit:
    return Circuit(2).PhasedX(0.5, 0.0, 0).ZZPhase(0.5, 0, 1).measure_all()


def error_of(backend: object, handle: object) -> str:
    status = backend.circuit_status(handle)  # type: ignore[attr-defined]
    return str(json.loads(status.message)["error"])


def test_cost_max_cost_and_monthly_quota_through_the_client(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = start_service(data)  # alice is in the organisation "default"
    store = ["--data-dir", str(data)]
    try:
        emulator = client(service.url, "H1-1E", ALICE)
        assert emulator.cost(native_circuit(), SHOTS, syntax_checker="H1-1SC") == COST

        within = emulator.process_circuit(native_circuit(), n_shots=SHOTS, max_cost=COST + 0.01)
        assert wait_until_done(emulator, within) is StatusEnum.COMPLETED
        assert json.loads(emulator.circuit_status(within).message)["cost"] == f"{COST:.2f}"

        capped = emulator.process_circuit(native_circuit(), n_shots=SHOTS, max_cost=5.0)
        assert wait_until_done(emulator, capped) is StatusEnum.ERROR
        assert error_of(emulator, capped) == (
            f"1002: Job cost exceeds allowed cost: job {capped[0]}: it costs {COST:.2f} HQCs, "
            "above its max-cost of 5.00"
        )

        # 5.62 spent this month; a quota of 10 leaves room for no second job
        qstation("quota", "set", "default", "emulator", "10", *store)
        depleted = emulator.process_circuit(native_circuit(), n_shots=SHOTS)
        assert wait_until_done(emulator, depleted) is StatusEnum.ERROR  # the client's mapping
        raw = emulator.api_handler.retrieve_job_status(depleted[0], use_websocket=False)
        assert raw is not None and raw["status"] == "depleted"
        assert "the organisation default has 4.38 of its 10.00 emulator HQCs" in raw["error"]
        assert "default\t-\temulator\t10\t5.62" in qstation("quota", "list", *store)

        hardware = client(service.url, "H1-1", ALICE)  # hardware credits are apart
        on_hardware = hardware.process_circuit(native_circuit(), n_shots=SHOTS)
        assert wait_until_done(hardware, on_hardware) is StatusEnum.COMPLETED
    finally:
        service.stop()
