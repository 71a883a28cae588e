"""Write an Axivity .cwa file as Open Movement documents the format (``cwa.h``): a 1024-byte
``MD`` header, then 512-byte ``AX`` data blocks of 120 packed 3-axis samples (three 10-bit
values in 1/256 g and a 2-bit exponent per 32-bit word), each with the device's local time in
whole seconds, the index of the sample that time belongs to, and a checksum that makes the
block's 16-bit words sum to zero.

Only for the tests: the files are checked against scikit-digital-health's reader, and a
recording of several days can be written without holding it (``append``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

#: Sample-rate codes (rate = 3200 / 2**(15 - code)); the top bits 01 say +-8 g.
RATE_CODE = {12.5: 0x47, 25.0: 0x48, 50.0: 0x49, 100.0: 0x4A, 200.0: 0x4B}


def header(fs_hz: float, device_id: int = 4321, session_id: int = 77) -> bytes:
    h = bytearray(1024)
    h[0:2] = b"MD"
    h[2:4] = (1020).to_bytes(2, "little")
    h[5:7] = device_id.to_bytes(2, "little")
    h[7:11] = session_id.to_bytes(4, "little")
    h[11:13] = b"\xff\xff"
    h[35] = 0                                   # accelerometer only
    h[36] = RATE_CODE[fs_hz]
    return bytes(h)


def _packed_stamp(local_s: np.ndarray) -> np.ndarray:
    out = np.zeros(len(local_s), np.uint32)
    for k, s in enumerate(local_s.astype(np.int64)):
        d = datetime.fromtimestamp(int(s), timezone.utc)
        out[k] = ((d.year - 2000) << 26 | d.month << 22 | d.day << 17 | d.hour << 12
                  | d.minute << 6 | d.second)
    return out


def _pack(xyz_g: np.ndarray) -> np.ndarray:
    """(n, 3) g -> (n,) uint32 packed words."""
    raw = np.round(np.asarray(xyz_g, np.float64) * 256).astype(np.int64)
    e = np.zeros(len(raw), np.int64)
    for k in range(3):                         # smallest exponent that fits all three axes
        e = np.where(np.abs(raw).max(axis=1) >> e > 511, e + 1, e)
    v = raw >> e[:, None]
    word = (v[:, 0] & 0x3FF) | (v[:, 1] & 0x3FF) << 10 | (v[:, 2] & 0x3FF) << 20 | e << 30
    return word.astype(np.uint32)


def blocks(t0_local_s: float, fs_hz: float, xyz_g: np.ndarray, first_sequence: int = 0,
           session_id: int = 77) -> bytes:
    """Data blocks for samples from ``t0_local_s`` (device clock, s) at ``fs_hz`` (full blocks
    of 120; a remainder is dropped)."""
    n = len(xyz_g) // 120
    words = _pack(xyz_g[:n * 120]).reshape(n, 120)
    first = t0_local_s + np.arange(n) * 120 / fs_hz     # time of each block's first sample
    stamp_s = np.ceil(first)                            # the whole second within the block
    offset = np.round((stamp_s - first) * fs_hz).astype(np.int16)
    out = np.zeros((n, 512), np.uint8)
    out[:, 0:2] = np.frombuffer(b"AX", np.uint8)
    out[:, 2:4] = np.frombuffer((508).to_bytes(2, "little"), np.uint8)
    out[:, 6:10] = np.frombuffer(session_id.to_bytes(4, "little"), np.uint8)
    out[:, 10:14] = (np.arange(first_sequence, first_sequence + n, dtype="<u4")
                     .view(np.uint8).reshape(n, 4))
    out[:, 14:18] = _packed_stamp(stamp_s).astype("<u4").view(np.uint8).reshape(n, 4)
    out[:, 20:22] = np.frombuffer((int(25 * 3.142 + 171)).to_bytes(2, "little"), np.uint8)
    out[:, 24] = RATE_CODE[fs_hz]
    out[:, 25] = 0x30                                   # 3 axes, packed
    out[:, 26:28] = offset.astype("<i2").view(np.uint8).reshape(n, 2)
    out[:, 28:30] = np.frombuffer((120).to_bytes(2, "little"), np.uint8)
    out[:, 30:510] = words.astype("<u4").view(np.uint8).reshape(n, 480)
    total = out[:, :510].view("<u2").astype(np.uint32).sum(axis=1)
    out[:, 510:512] = ((-total) & 0xFFFF).astype("<u2").view(np.uint8).reshape(n, 2)
    return out.tobytes()


def write_cwa(path: Path, t0_local_s: float, fs_hz: float, xyz_g: np.ndarray) -> Path:
    """A whole .cwa file of ``xyz_g`` sampled at ``fs_hz`` from ``t0_local_s``."""
    path = Path(path)
    path.write_bytes(header(fs_hz) + blocks(t0_local_s, fs_hz, xyz_g))
    return path
