"""Identifiers shared by the sensor protocols, the recorder and the virtual sensor."""

from __future__ import annotations

__all__ = [
    "LEGACCEL_SERVICE_UUID", "LEGACCEL_DATA_UUID", "LEGACCEL_CONTROL_UUID",
    "PMD_SERVICE_UUID", "PMD_CONTROL_UUID", "PMD_DATA_UUID",
    "BATTERY_SERVICE_UUID", "BATTERY_LEVEL_UUID",
    "DEVICE_INFO_SERVICE_UUID", "MANUFACTURER_NAME_UUID", "MODEL_NUMBER_UUID",
    "SERIAL_NUMBER_UUID", "FIRMWARE_REVISION_UUID",
    "DEFAULT_VIRTUAL_HOST", "DEFAULT_VIRTUAL_PORT", "PROTOCOLS", "MAX_ABS_G",
]

#: LegAccel v1, our reference sensor protocol (see PROTOCOL.md): custom 128-bit service.
LEGACCEL_SERVICE_UUID = "2e96d311-7e54-4e7e-93b0-772648356f88"
#: Notify: one data packet per notification.
LEGACCEL_DATA_UUID = "2e96d312-7e54-4e7e-93b0-772648356f88"
#: Write (with response) commands; notify status replies.
LEGACCEL_CONTROL_UUID = "2e96d313-7e54-4e7e-93b0-772648356f88"

#: Polar Measurement Data (PMD) service of the Polar BLE SDK (Verity Sense, H10).
PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
#: PMD control point: read (feature bitmask), write (requests), indicate (replies).
PMD_CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
#: PMD data: notify (measurement frames).
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

#: Bluetooth SIG assigned numbers: Battery Service 0x180F, Battery Level 0x2A19.
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
#: Device Information Service 0x180A and its strings.
DEVICE_INFO_SERVICE_UUID = "0000180a-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME_UUID = "00002a29-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER_UUID = "00002a24-0000-1000-8000-00805f9b34fb"
SERIAL_NUMBER_UUID = "00002a25-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID = "00002a26-0000-1000-8000-00805f9b34fb"

#: The virtual sensor serves the recorder's HCI transport here (loopback only by default).
DEFAULT_VIRTUAL_HOST = "127.0.0.1"
DEFAULT_VIRTUAL_PORT = 47330

#: Protocol names used on the command line and in recording metadata.
PROTOCOLS = ("legaccel", "polar")

#: A sample further than this from zero on any axis (g) cannot come from a leg-worn sensor (the
#: largest ranges are +-16 g): a packet holding one is a bad packet. Files use the same limit
#: (``detector.io.clean.MAX_ABS_G``; a test keeps the two equal).
MAX_ABS_G = 20.0
