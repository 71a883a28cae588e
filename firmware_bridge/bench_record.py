"""Benchmark of the recorder's write path (used by ``legtwitch bench``; not a test).

A night of LegAccel v1 packets (35 samples each, as at an ATT MTU of 247) is fed through
:class:`~firmware_bridge.store.NightStore` exactly as the recorder's consumer does (raw log first,
then decoding, loss accounting and Parquet parts), then finalised, then rebuilt from the raw log by
:func:`~firmware_bridge.store.recover`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["record_benchmark"]


def record_benchmark(hours: float = 8.0, fs_hz: float = 100.0, per_packet: int = 35,
                     seed: int = 1, work: str | Path | None = None) -> dict[str, Any]:
    """Time ingest, finalize and recover of a synthetic night of LegAccel packets.

    Returns
    -------
    dict
        ``n_packets``, ``signal_s``, ``ingest_s`` (wall seconds to log, decode and store every
        packet), ``ingest_realtime_factor`` (signal seconds per ingest second), ``finalize_s``,
        ``recover_s``, ``log_mb`` (raw log size), ``recording_mb``.
    """
    from firmware_bridge.protocols.legaccel import LegAccelPacket, encode_packet
    from firmware_bridge.store import NightStore, recover

    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * fs_hz)
    counts = (rng.normal(0, 8, (n, 3)) + np.array([0, 0, 4096])).astype(np.int16)
    packets = []
    for k, i in enumerate(range(0, n, per_packet)):
        c = counts[i:i + per_packet]
        packets.append(encode_packet(LegAccelPacket(
            seq=k, session_id=7, first_index=i, device_time_us=int(round(i * 1e6 / fs_hz)),
            fs_centihz=int(round(fs_hz * 100)), range_g=8, scale_g=8 / 32768, counts=c)))
    folder = Path(work or tempfile.mkdtemp(prefix="legtwitch-bench-rec-")) / "sensor"
    store = NightStore(folder, protocol="legaccel")
    host0 = time.time()
    t = time.perf_counter()
    store.event(host0, "connected", address="bench")
    for k, p in enumerate(packets):
        host = host0 + (k + 1) * per_packet / fs_hz
        store.data(host, p)
        if k % 200 == 0:
            store.tick(host)
    ingest = time.perf_counter() - t
    t = time.perf_counter()
    path = store.close(finalize=True)
    finalize = time.perf_counter() - t
    t = time.perf_counter()
    recover(folder)
    rec_s = time.perf_counter() - t
    return {"n_packets": len(packets), "signal_s": n / fs_hz, "ingest_s": ingest,
            "ingest_realtime_factor": (n / fs_hz) / ingest, "finalize_s": finalize,
            "recover_s": rec_s, "log_mb": (folder / "raw.log").stat().st_size / 1e6,
            "recording_mb": Path(path).stat().st_size / 1e6}
