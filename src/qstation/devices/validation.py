"""Checks that a compiled program fits a device: what the syntax checker reports as errors.

A program may hold standard gates (QIR's ``h``, ``cnot``, ...) on any device, as the hosted
service compiles them to the native gate set; a native gate must be in the device's gate set.
"""

from __future__ import annotations

from qstation.circuit.gates import GATES, GateSpec
from qstation.circuit.program import Gate, Program, unconditioned
from qstation.devices.catalogue import Device
from qstation.errors import CompileError


def check_program_fits(program: Program, device: Device) -> None:
    if program.n_qubits > device.n_qubits:
        raise CompileError(
            f"program uses {program.n_qubits} qubits but {device.name} has {device.n_qubits}"
        )
    if len(program.registers) > device.n_classical_registers:
        raise CompileError(
            f"program declares {len(program.registers)} classical registers but {device.name} "
            f"allows {device.n_classical_registers}"
        )
    for name, width in program.registers.items():
        if width > device.max_register_width:
            raise CompileError(
                f"classical register {name!r} is {width} bits wide; the limit is "
                f"{device.max_register_width}"
            )
    for gate in map(unconditioned, program.operations):
        if isinstance(gate, Gate) and not _runs_on(GATES[gate.name], device):
            raise CompileError(
                f"gate {gate.name} on qubits {list(gate.qubits)} is not in {device.name}'s gate "
                f"set {sorted(device.gateset)}"
            )


def _runs_on(gate: GateSpec, device: Device) -> bool:
    """Standard gates fit every device: the service compiles them to its native gates."""
    return not gate.native or bool(gate.device_names & device.gateset)
