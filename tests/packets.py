"""Encoded sensor packets with known content, shared by the assembler and store tests: LegAccel
packets of a steady stream and Polar frames of a sensor whose true rate is off its nominal one.
Counts are a function of the sample number (:func:`values`), so where a sample lands can be
checked."""

from __future__ import annotations

import numpy as np

from firmware_bridge.protocols import legaccel, polar_pmd

FS = 100.0
SPP = 35
SCALE = 1.0 / 4096
H0 = 1_700_000_000.0


def values(idx: np.ndarray) -> np.ndarray:
    """Counts as a function of the sample number, so that placement can be checked."""
    idx = np.asarray(idx, dtype=np.int64)
    return np.stack([idx % 1000 - 500, (idx * 7) % 2000 - 1000, 4096 + idx % 13],
                    axis=1).astype(np.int16)


def la(seq: int, sid: int = 1, dev0_s: float = 50.0, spp: int = SPP, flags: int = 0) -> bytes:
    """LegAccel packet ``seq`` of a session whose sample 0 was taken at device time dev0_s."""
    i0 = seq * spp
    return legaccel.encode_packet(legaccel.LegAccelPacket(
        seq=seq, session_id=sid, first_index=i0,
        device_time_us=int(round(dev0_s * 1e6)) + int(round(i0 * 1e6 / FS)),
        fs_centihz=int(FS * 100), range_g=8, scale_g=SCALE,
        counts=values(np.arange(i0, i0 + spp)), flags=flags))


def arrival(seq: int, spp: int = SPP, host0: float = H0) -> float:
    """Host time of packet ``seq`` of a steady stream: just after its last sample."""
    return host0 + (seq + 1) * spp / FS + 0.02


POLAR_N = 71
POLAR_TRUE_HZ = 52.3
POLAR_START = {"event": "stream_started", "protocol": "polar", "fs_hz": 52, "range_g": 8,
               "factor": 1.0}
TS0_NS = 780_000_000 * 10**9  # PMD time (ns since 2000) of the night's first sample


def polar_frame(k: int) -> tuple[float, bytes]:
    """Frame k (71 samples each) of a sensor that really samples at 52.3 Hz."""
    last = (k + 1) * POLAR_N - 1
    ts = TS0_NS + int(round(last * 1e9 / POLAR_TRUE_HZ))
    counts = values(np.arange(k * POLAR_N, (k + 1) * POLAR_N))
    host = polar_pmd.pmd_ns_to_unix_s(ts) + 0.05
    return host, polar_pmd.encode_acc_frame(counts, ts, frame_type=polar_pmd.FRAME_RAW_INT16)
