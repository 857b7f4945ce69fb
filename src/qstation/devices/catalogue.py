"""The device catalogue: data an operator can edit, served as the machine list.

Each entry is exactly what ``GET /v1/machine/?config=true`` returns for that machine, plus a
``qstation`` section of server-side limits that is never sent. The packaged ``catalogue.json``
mirrors the published H-Series line-up; ``--devices FILE`` replaces it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from qstation.circuit.program import MAX_REGISTER_WIDTH
from qstation.errors import ConfigurationError, UnknownMachine
from qstation.frontends import LANGUAGES
from qstation.model import CreditKind

SERVER_SECTION = "qstation"
_REQUIRED_FIELDS = ("name", "n_qubits", "n_classical_registers", "gateset", "max_n_shots")


class SystemType(enum.StrEnum):
    HARDWARE = "hardware"
    EMULATOR = "emulator"
    SYNTAX_CHECKER = "syntax checker"


@dataclass(frozen=True)
class Device:
    name: str
    system_type: SystemType
    n_qubits: int
    n_classical_registers: int
    max_register_width: int
    max_shots: int
    gateset: frozenset[str]
    languages: frozenset[str]
    state_vector_qubits: int
    """Largest program the state-vector engine runs for this device (0 for syntax checkers)."""
    wire: dict[str, Any]
    """The entry as the machine list serves it."""

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Device:
        missing = [key for key in _REQUIRED_FIELDS if key not in entry]
        if missing:
            raise ConfigurationError(f"device entry {entry.get('name')!r} lacks {missing}")
        limits = entry.get(SERVER_SECTION, {})
        try:
            system_type = SystemType(entry.get("system_type", "hardware"))
        except ValueError:
            raise ConfigurationError(
                f"device {entry['name']!r} has unknown system_type {entry['system_type']!r}"
            ) from None
        try:
            return cls(
                name=str(entry["name"]),
                system_type=system_type,
                n_qubits=int(entry["n_qubits"]),
                n_classical_registers=int(entry["n_classical_registers"]),
                # pytket-quantinuum widens QASM registers to 64 bits whatever the machine list
                # says (for RNG seeds), so 64 is what the server must accept.
                max_register_width=MAX_REGISTER_WIDTH,
                max_shots=int(entry["max_n_shots"]),
                gateset=frozenset(str(gate) for gate in entry["gateset"]),
                languages=frozenset(entry.get("supported_languages", LANGUAGES)),
                state_vector_qubits=int(limits.get("state_vector_qubits", entry["n_qubits"])),
                wire={key: value for key, value in entry.items() if key != SERVER_SECTION},
            )
        except (TypeError, ValueError) as error:
            raise ConfigurationError(
                f"device entry {entry['name']!r} is not valid: {error}"
            ) from None

    @property
    def is_syntax_checker(self) -> bool:
        return self.system_type is SystemType.SYNTAX_CHECKER

    @property
    def credits(self) -> CreditKind | None:
        """The credits its jobs draw on; syntax checkers are free."""
        if self.system_type is SystemType.SYNTAX_CHECKER:
            return None
        return (
            CreditKind.EMULATOR if self.system_type is SystemType.EMULATOR else CreditKind.HARDWARE
        )


class DeviceCatalogue:
    def __init__(self, devices: list[Device]) -> None:
        self._devices = {device.name: device for device in devices}
        if len(self._devices) != len(devices):
            raise ConfigurationError("the device catalogue names a device twice")

    @classmethod
    def load(cls, path: Path | None = None) -> DeviceCatalogue:
        """Read ``path``, or the packaged catalogue when none is given."""
        try:
            if path is None:
                text = resources.files("qstation.devices").joinpath("catalogue.json").read_text()
            else:
                text = path.read_text()
            entries = json.loads(text)
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigurationError(f"cannot read the device catalogue: {error}") from None
        if not isinstance(entries, list):
            raise ConfigurationError("the device catalogue must be a JSON list of machines")
        return cls([Device.from_entry(entry) for entry in entries])

    def get(self, name: str) -> Device:
        try:
            return self._devices[name]
        except KeyError:
            raise UnknownMachine(f"Error: machine {name!r} does not exist") from None

    def __iter__(self) -> Iterator[Device]:
        return iter(self._devices.values())
