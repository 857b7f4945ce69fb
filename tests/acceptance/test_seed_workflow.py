"""The user story of ../shared/seed/, end to end, across processes and a server restart."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pytket.backends.resulthandle import ResultHandle
from pytket.extensions.quantinuum.backends.api_wrappers import QuantinuumAPIError

from tests.acceptance.conftest import ALICE, client, start_service
from tests.acceptance.service import PASSWORD, ServiceProcess

CLIENT_PRELUDE = """
from pytket.extensions.quantinuum import QuantinuumAPI, QuantinuumBackend
backend = QuantinuumBackend(
    device_name="H1-1SC",
    api_handler=QuantinuumAPI(
        api_url={url!r}, _QuantinuumAPI__user_name={email!r}, _QuantinuumAPI__pwd={password!r}
    ),
)
backend.login()
"""

SUBMIT = """
from pytket.circuit import Circuit
from numpy.random import random_sample

circ = Circuit(10)
for qubit in circ.qubits:
    angles = random_sample(2) * 0.1
    circ.PhasedX(*angles.tolist(), qubit)

measurement_circuit = circ.copy().measure_all()
result_handle = backend.process_circuit(
    measurement_circuit, n_shots=10, options={{"tket-opt-level": 2}}
)
file_io = open({handle_file!r}, "w")
file_io.write(str(result_handle))
file_io.close()
"""

FETCH = """
from pytket.backends.resulthandle import ResultHandle
text_stream = open({handle_file!r}, "r")
result_handle_text = text_stream.read()
text_stream.close()
reloaded_result_handle = ResultHandle.from_str(result_handle_text)
result = backend.get_result(reloaded_result_handle)
print(repr(result.get_distribution()))
"""


def run_client_process(script: str, url: str, **values: str) -> str:
    source = textwrap.dedent(CLIENT_PRELUDE + script).format(
        url=url, email=ALICE, password=PASSWORD, **values
    )
    completed = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_handle_saved_in_one_process_gives_results_in_another_after_restart(
    tmp_path: Path,
) -> None:
    service = start_service(tmp_path / "data")
    try:
        handle_file = str(tmp_path / "result_handles.txt")
        run_client_process(SUBMIT, service.url, handle_file=handle_file)
        service.restart()
        printed = run_client_process(FETCH, service.url, handle_file=handle_file)
    finally:
        service.stop()
    assert ast.literal_eval(printed.strip()) == {(0,) * 10: 1.0}


def test_job_id_alone_recovers_full_results_in_a_fresh_process(service: ServiceProcess) -> None:
    from pytket.circuit import Circuit

    backend = client(service.url, "H1-1E")
    circuit = Circuit(3, name="recover-me")
    circuit.PhasedX(1.0, 0.0, 0).PhasedX(1.0, 0.0, 1)
    circuit.measure_all()
    handle = backend.process_circuit(
        circuit, n_shots=5, options={"seed": 3}, noisy_simulation=False
    )
    expected = backend.get_result(handle).get_counts()
    job_id = handle[0]
    printed = run_client_process(
        f"""
from pytket.backends.resulthandle import ResultHandle
result = backend.get_result(ResultHandle({job_id!r}, "null", -1, "null"))
print(repr(dict(result.get_counts())))
""",
        service.url,
    )
    # Without a selection the client labels every column with its Bit, so counts come back in
    # the same (sorted) bit order as with the original handle.
    assert ast.literal_eval(printed.strip()) == dict(expected)
    assert expected == {(1, 1, 0): 5}


def test_unknown_job_id_is_reported_as_code_21(service: ServiceProcess) -> None:
    backend = client(service.url, "H1-1SC")
    with pytest.raises(QuantinuumAPIError) as raised:
        backend.get_result(ResultHandle("66f2da298ea84373b2b7968a7bb6d7b7", "null", 0, "null"))
    assert "'code': 21" in str(raised.value)
    assert "job does not exist" in str(raised.value)
