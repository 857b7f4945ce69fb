"""Device catalogue, device limits and the HQC cost model."""

from qstation.devices.catalogue import Device, DeviceCatalogue, SystemType

__all__ = ["Device", "DeviceCatalogue", "SystemType"]
