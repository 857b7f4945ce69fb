"""Warm a worker before it forks: every front end and engine runs once in the worker itself.

Each job runs in a child forked from the worker, so whatever the worker has loaded, compiled
or built lazily, the child has for free: pytket's QASM grammar (built on its first use, about a
second), pyqir and LLVM, wasmtime, pytket's passes, the numba kernels, stim. Left cold, every
child would pay for all of it again. Afterwards the worker's objects are frozen out of the
garbage collector, so a child's collections do not touch (and copy) the pages they live on.
"""

from __future__ import annotations

import base64
import gc
import logging
from datetime import UTC, datetime

import pyqir
import wasmtime

from qstation.devices.catalogue import Device, DeviceCatalogue, SystemType
from qstation.engines import kernels
from qstation.frontends import QASM, QIR
from qstation.model import JobRecord, JobStatus
from qstation.worker.execution import ExecutionLimits, execute

log = logging.getLogger(__name__)

_WARM_LIMITS = ExecutionLimits(memory_bytes=2**30, max_result_bytes=2**20)

# Every kind of statement the QASM front end translates, a WASM call and a conditional.
_QASM = """OPENQASM 2.0;
include "hqslib1.inc";
qreg q[2];
creg c[2];
creg w[32];
U1q(0.5*pi,0.5*pi) q[0];
rz(0.5*pi) q[1];
RZZ(0.5*pi) q[0],q[1];
ZZ q[0],q[1];
measure q[0] -> c[0];
if(c==1) U1q(1.0*pi,0.0*pi) q[1];
reset q[0];
w = add(c);
c[1] = c[0] ^ 1;
measure q[1] -> c[1];
"""

_PLAIN_QASM = """OPENQASM 2.0;
include "hqslib1.inc";
qreg q[2];
creg c[2];
U1q(0.5*pi,0.5*pi) q[0];
RZZ(0.5*pi) q[0],q[1];
measure q[0] -> c[0];
measure q[1] -> c[1];
"""

_WAT = """(module
  (func (export "init"))
  (func (export "add") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"""


def warm_up(catalogue: DeviceCatalogue) -> None:
    """Run small programs through the catalogue's first syntax checker and emulator; a failure
    costs speed, never the worker."""
    kernels.warm_up()
    cfl = base64.b64encode(wasmtime.wat2wasm(_WAT)).decode()
    jobs: list[tuple[str, str, str | None, dict[str, object]]] = [
        (QASM, _QASM, cfl, {"tket-opt-level": 2}),
        (QASM, _QASM, cfl, {"simulator": "stabilizer"}),
        (QIR, _qir_program(), None, {}),
    ]
    for device in _devices(catalogue):
        for language, program, module, options in jobs:
            if language not in device.languages:
                continue
            job = _job(device, language, program, module, options)
            outcome = execute(job, device, _WARM_LIMITS)
            if outcome.status is not JobStatus.COMPLETED:
                log.warning("warming up on %s: %s", device.name, outcome.error)
    gc.collect()
    gc.freeze()


def touch(catalogue: DeviceCatalogue) -> None:
    """Run the smallest job once: in a child waiting for its job, this copies the pages the
    common path writes (copy-on-write after the fork) before the job arrives, not after."""
    for device in catalogue:
        if device.system_type is SystemType.SYNTAX_CHECKER:
            execute(
                _job(device, QASM, _PLAIN_QASM, None, {"tket-opt-level": 2}), device, _WARM_LIMITS
            )
            return


def _devices(catalogue: DeviceCatalogue) -> list[Device]:
    """One syntax checker and one emulator, where the catalogue has them."""
    chosen: dict[SystemType, Device] = {}
    for device in catalogue:
        if device.system_type is not SystemType.HARDWARE:
            chosen.setdefault(device.system_type, device)
    return list(chosen.values())


def _qir_program() -> str:
    module = pyqir.SimpleModule("warm_up", num_qubits=2, num_results=2)
    qis = pyqir.BasicQisBuilder(module.builder)
    qis.h(module.qubits[0])
    qis.cx(module.qubits[0], module.qubits[1])
    qis.mz(module.qubits[0], module.results[0])
    qis.mz(module.qubits[1], module.results[1])
    return base64.b64encode(module.bitcode()).decode()


def _job(
    device: Device, language: str, program: str, cfl: str | None, options: dict[str, object]
) -> JobRecord:
    return JobRecord(
        id="0" * 32,
        owner_id="",
        name="warm-up",
        machine=device.name,
        language=language,
        program=program,
        count=4,
        options=dict(options),
        group="",
        seed=1,
        submitted_at=datetime.now(UTC).replace(tzinfo=None),
        cfl=cfl,
        status=JobStatus.RUNNING,
    )
