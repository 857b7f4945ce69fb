"""The device catalogue is operator-edited data: mistakes in it get clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qstation.devices.catalogue import DeviceCatalogue, SystemType
from qstation.errors import ConfigurationError, UnknownMachine

ENTRY = {
    "name": "X1",
    "n_qubits": 4,
    "n_classical_registers": 10,
    "gateset": ["ZZ", "U1q"],
    "max_n_shots": 100,
}


def load(tmp_path: Path, entries: object) -> DeviceCatalogue:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps(entries))
    return DeviceCatalogue.load(path)


def test_an_edited_catalogue_replaces_the_packaged_one(tmp_path: Path) -> None:
    catalogue = load(tmp_path, [{**ENTRY, "qstation": {"state_vector_qubits": 3}}])
    device = catalogue.get("X1")
    assert device.system_type is SystemType.HARDWARE and device.state_vector_qubits == 3
    assert "qstation" not in device.wire
    with pytest.raises(UnknownMachine):
        catalogue.get("H1-1")


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"not": "a list"}, "JSON list"),
        ([{**ENTRY, "n_qubits": "many"}], "'X1' is not valid"),
        ([{k: v for k, v in ENTRY.items() if k != "gateset"}], "lacks ['gateset']"),
        ([ENTRY, ENTRY], "names a device twice"),
        ([{**ENTRY, "system_type": "toaster"}], "unknown system_type"),
    ],
)
def test_catalogue_mistakes_are_configuration_errors(
    tmp_path: Path, entries: object, message: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load(tmp_path, entries)
    assert message in raised.value.text


def test_unreadable_catalogue_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "devices.json").write_text("[{")
    with pytest.raises(ConfigurationError, match="cannot read the device catalogue"):
        DeviceCatalogue.load(tmp_path / "devices.json")
