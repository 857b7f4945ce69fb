"""``QStationBackend``: a pytket backend for current pytket, talking to a qstation server with
no dependency on pytket-quantinuum.

Circuits are compiled by pytket's own passes to the device's gate set, written as OPENQASM 2.0
with the ``hqslib1`` header, and submitted with their post-processing circuit and result
selection as ``client-metadata``, which the server keeps and gives back to the job's owner:
:meth:`QStationBackend.handle_from_job_id` rebuilds the full handle from the job ID alone.
Waiting uses the server's long poll (``?wait=``), so a result arrives as soon as the job ends.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

from pytket.architecture import FullyConnected
from pytket.backends.backend import Backend
from pytket.backends.backend_exceptions import CircuitNotRunError
from pytket.backends.backendinfo import BackendInfo
from pytket.backends.backendresult import BackendResult
from pytket.backends.resulthandle import ResultHandle, _ResultIdTuple
from pytket.backends.status import CircuitStatus, StatusEnum
from pytket.circuit import Circuit, OpType
from pytket.passes import (
    AutoRebase,
    BasePass,
    DecomposeBoxes,
    FullPeepholeOptimise,
    RemoveRedundancies,
    SequencePass,
    SynthesiseTK,
)
from pytket.predicates import (
    GateSetPredicate,
    MaxNQubitsPredicate,
    NoSymbolsPredicate,
    Predicate,
)
from pytket.utils.prepare import prepare_circuit

from qstation import __version__
from qstation.client.handles import HANDLE_TYPES, backend_result, handle_parts, make_handle
from qstation.client.ledger import Entry, Ledger, now_text
from qstation.client.programs import circuit_hash, program_text, script, selection_of
from qstation.client.progress import Progress
from qstation.client.session import ClientError, ServiceSession
from qstation.client.waiting import UNFINISHED, wait_all, wait_until_final

NATIVE_GATES = {"U1q": OpType.PhasedX, "Rz": OpType.Rz, "ZZ": OpType.ZZMax, "RZZ": OpType.ZZPhase,
                "Rxxyyzz": OpType.TK2}  # fmt: skip
"""The devices' gate names (``GET /v1/machine/``) and the pytket operations they are."""
CLASSICAL = {
    OpType.Measure, OpType.Reset, OpType.Barrier, OpType.Conditional, OpType.SetBits,
    OpType.CopyBits, OpType.RangePredicate, OpType.ExplicitPredicate, OpType.ExplicitModifier,
    OpType.MultiBit, OpType.ClExpr, OpType.WASM, OpType.Phase, OpType.JobShotNum,
    OpType.RNGSeed, OpType.RNGBound, OpType.RNGIndex, OpType.RNGNum,
}  # fmt: skip
STATUSES = {
    "queued": StatusEnum.QUEUED, "running": StatusEnum.RUNNING,
    "completed": StatusEnum.COMPLETED, "failed": StatusEnum.ERROR,
    "canceling": StatusEnum.CANCELLING, "canceled": StatusEnum.CANCELLED,
    "depleted": StatusEnum.ERROR, "terminated": StatusEnum.ERROR,
}  # fmt: skip
_X = Circuit(1).add_gate(OpType.PhasedX, [1, 0], [0])
"""An X gate in the devices' gates, for the gates ``prepare_circuit`` moves or adds."""


class QStationBackend(Backend):
    _supports_shots = True
    _supports_counts = True
    _supports_contextual_optimisation = True
    _persistent_handles = True

    def __init__(
        self, device_name: str, url: str | None = None, ledger: Ledger | None = None
    ) -> None:
        """``url``: the server (default ``QSTATION_URL``, else the stored ``qstation login``);
        ``ledger``: where submissions are recorded (default: the user's own,
        :func:`qstation.client.ledger.ledger_path`)."""
        super().__init__()
        self._device_name = device_name
        self._url = url
        self.ledger = ledger or Ledger()
        self._session: ServiceSession | None = None
        self._device: dict[str, Any] | None = None

    # --- the server and the device --------------------------------------------------------

    def login(self) -> None:
        """Open the session now (the stored login's; ``qstation login`` makes one)."""
        self._connected()

    def _connected(self) -> ServiceSession:
        if self._session is None:
            self._session = ServiceSession(self._url)
        return self._session

    @property
    def device(self) -> dict[str, Any]:
        """The device's entry in the server's machine list."""
        if self._device is None:
            machines = self._connected().call("GET", "/v1/machine/")
            found = [m for m in machines if m["name"] == self._device_name]
            if not found:
                names = ", ".join(m["name"] for m in machines)
                raise ClientError(f"the server has no device {self._device_name!r}: {names}")
            self._device = found[0]
        return self._device

    @property
    def gate_set(self) -> set[OpType]:
        return {NATIVE_GATES[name] for name in self.device["gateset"] if name in NATIVE_GATES}

    @property
    def backend_info(self) -> BackendInfo:
        device = self.device
        return BackendInfo(
            name=type(self).__name__, device_name=self._device_name, version=__version__,
            architecture=FullyConnected(int(device["n_qubits"]), "q"),
            gate_set=self.gate_set | CLASSICAL, n_cl_reg=device.get("n_classical_registers"),
            supports_fast_feedforward=True, supports_reset=True,
            supports_midcircuit_measurement=True,
            misc={"cl_reg_width": device.get("max_classical_register_width"),
                  "system_type": device.get("system_type")},
        )  # fmt: skip

    # --- compilation ------------------------------------------------------------------------

    @property
    def required_predicates(self) -> list[Predicate]:
        return [
            NoSymbolsPredicate(),
            GateSetPredicate(self.gate_set | CLASSICAL),
            MaxNQubitsPredicate(int(self.device["n_qubits"])),
        ]

    def rebase_pass(self) -> BasePass:
        return AutoRebase(self.gate_set)

    def default_compilation_pass(self, optimisation_level: int = 2) -> BasePass:
        """0: the device's gates only; 1: plus local resynthesis; 2 and 3: plus pytket's full
        peephole optimisation (3 also lets it commute and merge more)."""
        if optimisation_level not in range(4):
            raise ValueError(f"optimisation_level must be 0 to 3, not {optimisation_level}")
        passes: list[BasePass] = [DecomposeBoxes()]
        if optimisation_level == 1:
            passes.append(SynthesiseTK())
        elif optimisation_level >= 2:
            passes.append(FullPeepholeOptimise(allow_swaps=optimisation_level == 3))
        passes += [self.rebase_pass(), RemoveRedundancies()]
        return SequencePass(passes)

    # --- jobs -------------------------------------------------------------------------------

    @property
    def _result_id_type(self) -> _ResultIdTuple:
        return HANDLE_TYPES

    def process_circuits(
        self,
        circuits: Sequence[Circuit],
        n_shots: int | Sequence[int | None] | None = None,
        valid_check: bool = True,
        **kwargs: Any,
    ) -> list[ResultHandle]:
        """Submit each circuit and record it in the ledger. Keyword arguments: ``name``,
        ``group``, ``max_cost``, ``seed``, ``noisy_simulation`` (default True), ``options``
        (sent as the job's options), ``language`` (``"QASM"``, the default, or ``"QIR"`` /
        ``"PQIR"`` with pytket-qir installed), ``wasm_file_handler``, ``request_options``
        (added to the request, as the H-Series client does), ``tags`` (kept in the ledger
        only), ``postprocess`` (default False, as the H-Series client; True moves the gates
        after the last measurements into a classical circuit that travels in the handle)."""
        circuits = list(circuits)
        shots = Backend._get_n_shots_as_list(n_shots, len(circuits), optional=False)
        if valid_check:
            self._check_all_circuits(circuits)
        session = self._connected()
        handles = []
        for index, (circuit, count) in enumerate(zip(circuits, shots, strict=True)):
            if kwargs.get("postprocess", False):
                program, ppcirc = prepare_circuit(circuit, allow_classical=False, xcirc=_X)
                ppcirc_rep: dict[str, Any] | None = ppcirc.to_dict()
            else:
                program, ppcirc_rep = circuit, None
            body = self._job_body(program, int(count), index, kwargs)
            selection = selection_of(program, body)
            body["client-metadata"] = {"ppcirc": ppcirc_rep, "results-selection": selection}
            accepted = session.call("POST", "/v1/job", body)
            handle = make_handle(accepted["job"], ppcirc_rep, selection)
            self._cache[handle] = {}
            handles.append(handle)
            self.ledger.record(
                Entry(
                    session.url, accepted["job"], self._device_name, body["name"],
                    [str(tag) for tag in kwargs.get("tags") or []], circuit_hash(circuit),
                    script(), accepted["submit-date"] or now_text(), str(handle),
                    accepted["status"], None,
                )
            )  # fmt: skip
        return handles

    def _job_body(
        self, program: Circuit, count: int, index: int, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        options = {
            "simulator": "state-vector",
            "error-model": bool(kwargs.get("noisy_simulation", True)),
            **dict(kwargs.get("options") or {}),
        }
        if kwargs.get("seed") is not None:
            options["seed"] = int(kwargs["seed"]) + index
        language, text = program_text(program, str(kwargs.get("language") or "QASM"))
        body: dict[str, Any] = {
            "machine": self._device_name, "language": language, "program": text,
            "count": count, "name": str(kwargs.get("name") or "job"), "options": options,
            **dict(kwargs.get("request_options") or {}),
        }  # fmt: skip
        wasm = kwargs.get("wasm_file_handler")
        if wasm is not None:
            body["cfl"] = wasm.bytecode_base64.decode("utf-8")
        if kwargs.get("group") is not None:
            body["group"] = kwargs["group"]
        if kwargs.get("max_cost") is not None:
            body["max-cost"] = kwargs["max_cost"]
        return body

    def start_batch(
        self, max_batch_cost: int, circuit: Circuit, n_shots: int | None = None, **kwargs: Any
    ) -> ResultHandle:
        """Submit the first job of a batch, which closes once its jobs cost ``max_batch_cost``
        HQCs; the batch holds its target between its jobs (docs/scheduling.md)."""
        options = {**dict(kwargs.pop("request_options", None) or {}), "batch-exec": max_batch_cost}
        return self.process_circuits([circuit], n_shots, request_options=options, **kwargs)[0]

    def add_to_batch(
        self,
        batch_start_job: ResultHandle,
        circuit: Circuit,
        n_shots: int | None = None,
        batch_end: bool = False,
        **kwargs: Any,
    ) -> ResultHandle:
        """Submit a job to the batch ``batch_start_job`` began; ``batch_end`` closes it."""
        options = dict(kwargs.pop("request_options", None) or {})
        options["batch-exec"] = handle_parts(batch_start_job)[0]
        if batch_end:
            options["batch-end"] = True
        return self.process_circuits([circuit], n_shots, request_options=options, **kwargs)[0]

    def handle_from_job_id(self, job_id: str) -> ResultHandle:
        """The full handle of a job submitted by this client, from its ID alone (the server
        kept its post-processing circuit and result selection); a job of another client gets
        the handle that takes every bit of every register."""
        status = self._connected().call("GET", f"/v1/job/{job_id}")
        kept = status.get("client-metadata") or {}
        selection = kept.get("results-selection")
        if selection is None:
            return ResultHandle(job_id, "null", -1, "null")
        return make_handle(job_id, kept.get("ppcirc"), [tuple(pair) for pair in selection])

    def circuit_status(self, handle: ResultHandle) -> CircuitStatus:
        self._check_handle_type(handle)
        job_id = handle_parts(handle)[0]
        session = self._connected()
        status = session.call("GET", f"/v1/job/{job_id}")
        self.ledger.update(session.url, job_id, status["status"])
        return _status_of(status)

    def get_result(self, handle: ResultHandle, **kwargs: Any) -> BackendResult:
        """Wait for the job (long polls; ``timeout`` in seconds, default none) and return its
        results; a job that did not complete raises :class:`RuntimeError` with its error.
        While waiting, a terminal or notebook shows the job's progress (``progress=False``
        turns it off)."""
        self._check_handle_type(handle)
        cached = self._cache.get(handle, {})
        if "result" in cached:
            return cast(BackendResult, cached["result"])
        job_id, ppcirc, selection = handle_parts(handle)
        session = self._connected()
        kept = self.ledger.get(session.url, job_id)
        if kept is not None and kept.results is not None and kept.status == "completed":
            return backend_result(kept.results, ppcirc, selection)  # read from disk
        timeout = kwargs.get("timeout")
        deadline = None if timeout is None else time.monotonic() + float(cast(float, timeout))
        progress = Progress(enabled=None if kwargs.get("progress", True) else False)
        status = wait_until_final(session, job_id, deadline, progress)
        return self._result_of(handle, status)

    async def get_results_async(
        self, handles: Sequence[ResultHandle], timeout: float | None = None
    ) -> list[BackendResult]:
        """:meth:`get_result` for many handles at once (one long poll per unfinished job, all
        on one connection pool), in the order given."""
        for handle in handles:
            self._check_handle_type(handle)
        session = self._connected()
        deadline = None if timeout is None else time.monotonic() + timeout
        job_ids = [handle_parts(handle)[0] for handle in handles]
        statuses = await wait_all(session, job_ids, deadline)
        return [self._result_of(h, s) for h, s in zip(handles, statuses, strict=True)]

    def _result_of(self, handle: ResultHandle, status: dict[str, Any]) -> BackendResult:
        """The handle's result from the job's final status (kept in the ledger and cache)."""
        job_id, ppcirc, selection = handle_parts(handle)
        if status["status"] in UNFINISHED:
            raise TimeoutError(f"job {job_id} is still {status['status']}")
        self.ledger.update(self._connected().url, job_id, status["status"], status.get("results"))
        if status["status"] != "completed":
            raise RuntimeError(f"job {job_id} {status['status']}: {status.get('error')}")
        result = backend_result(status["results"], ppcirc, selection)
        self._cache[handle] = {"result": result}
        return result

    def jobs(
        self,
        status: str | None = None,
        machine: str | None = None,
        name: str | None = None,
        tag: str | None = None,
        limit: int = 100,
    ) -> list[Entry]:
        """Jobs of this server in the local ledger, newest first (``reconcile`` first to
        include those submitted from elsewhere). ``ResultHandle.from_str(entry.handle)`` gives
        each one's handle."""
        server = self._connected().url
        return self.ledger.find(
            server, status=status, machine=machine, name=name, tag=tag, limit=limit
        )

    def reconcile(self) -> int:
        """Bring the ledger up to date with the server's list of the user's jobs: new entries
        for jobs it lacks (their handles rebuilt from the job ID), statuses for the rest.
        Returns how many entries were added."""
        session = self._connected()
        added, offset = 0, 0
        while offset is not None:
            page = session.call("GET", "/v1/jobs", limit=500, offset=offset)
            for listed in page["jobs"]:
                if self.ledger.get(session.url, listed["job"]) is not None:
                    self.ledger.update(session.url, listed["job"], listed["status"])
                    continue
                handle = self.handle_from_job_id(listed["job"])
                self.ledger.record(
                    Entry(
                        session.url, listed["job"], listed["machine"], listed["name"], [], None,
                        None, listed["submit-date"], str(handle), listed["status"], None,
                    )
                )  # fmt: skip
                added += 1
            offset = page["next-offset"]
        return added

    def cancel(self, handle: ResultHandle) -> None:
        self._check_handle_type(handle)
        job_id = handle_parts(handle)[0]
        try:
            self._connected().call("POST", f"/v1/job/{job_id}/cancel")
        except ClientError as error:
            raise CircuitNotRunError(handle) from error

    def cost(self, circuit: Circuit, n_shots: int, syntax_checker: str | None = None) -> float:
        """The job's HQCs, as the device's syntax checker reports them (it runs nothing)."""
        checker = syntax_checker or self.device.get("syntax_checker") or self._device_name
        backend = QStationBackend(checker, self._url)
        handle = backend.process_circuits([circuit], n_shots, valid_check=False)[0]
        backend.get_result(handle)
        status = self._connected().call("GET", f"/v1/job/{handle_parts(handle)[0]}")
        return float(status["cost"])


def _status_of(status: dict[str, Any]) -> CircuitStatus:
    position = status.get("queue-position")
    shots = status.get("last-shot") or 0
    message = f"{status['status']}, {shots} of {status['count']} shots"
    if position is not None:
        message += f", position {position} in the queue"
    if status.get("error"):
        message += f": {status['error']}"
    return CircuitStatus(STATUSES.get(status["status"], StatusEnum.ERROR), message)
