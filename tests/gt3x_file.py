"""Write a small ActiGraph .gt3x file as ActiGraph documents the format (a zip archive holding
``info.txt``, ``key: value`` lines, and ``log.bin``, a sequence of log records: separator 0x1E,
type, timestamp (uint32, the device's local clock in seconds), payload size (uint16), payload,
and a one-byte checksum, the ones' complement of the XOR of all the bytes before it). Samples go
in ACTIVITY2 records (type 0x1A): one record per second of little-endian int16 x, y, z counts,
``Acceleration Scale`` counts per g.

Only for the tests: legtwitch reads .gt3x files through ActiGraph's pygt3x.
"""

from __future__ import annotations

import struct
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

#: .NET ticks (100 ns) from 0001-01-01 to 1970-01-01, as info.txt writes its dates.
_TICKS_AT_EPOCH = 621_355_968_000_000_000


def _ticks(local: datetime) -> int:
    seconds = (local.replace(tzinfo=timezone.utc)
               - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds()
    return _TICKS_AT_EPOCH + int(round(seconds * 10_000_000))


def _record(kind: int, timestamp: int, payload: bytes) -> bytes:
    head = struct.pack("<BBLH", 0x1E, kind, timestamp, len(payload))
    check = 0
    for byte in head + payload:
        check ^= byte
    return head + payload + bytes([~check & 0xFF])


def write_gt3x(path: Path, acc_g: np.ndarray, fs_hz: int, start_local: datetime,
               utc_offset: timedelta, scale: float = 256.0) -> np.ndarray:
    """Write ``acc_g`` (n x 3 g, n a multiple of ``fs_hz``) from ``start_local`` (the device's
    local clock, naive) and return the counts written (what a reader gives back, x scale)."""
    n = len(acc_g)
    assert n % fs_hz == 0
    counts = np.round(np.asarray(acc_g) * scale).astype("<i2")
    sign = "-" if utc_offset < timedelta(0) else ""
    off = abs(utc_offset)
    zone = f"{sign}{off.seconds // 3600:02d}:{off.seconds % 3600 // 60:02d}:00"
    stop = start_local + timedelta(seconds=n / fs_hz)
    info = "\n".join([
        "Serial Number: MOS2E00000000", "Device Type: wGT3XBT", "Firmware: 1.9.2",
        "Battery Voltage: 4.12", f"Sample Rate: {fs_hz}", f"Start Date: {_ticks(start_local)}",
        f"Stop Date: {_ticks(stop)}", f"Last Sample Time: {_ticks(stop)}",
        f"TimeZone: {zone}", f"Download Date: {_ticks(stop)}", "Board Revision: 4",
        "Unexpected Resets: 0", f"Acceleration Scale: {scale}", "Acceleration Min: -8.0",
        "Acceleration Max: 8.0", "",
    ])
    t0 = int((start_local.replace(tzinfo=timezone.utc)
              - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds())
    log = b"".join(_record(0x1A, t0 + k, counts[k * fs_hz:(k + 1) * fs_hz].tobytes())
                   for k in range(n // fs_hz))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("info.txt", info)
        z.writestr("log.bin", log)
    return counts
