"""Several days and nights on one ankle, for multi-day tests and the bench.

Each night is a :func:`detector.sim.night.simulate_night` (its events in the truth, seconds from
the night's first sample); the days between are a person up and about: walking (the shin swings
about the knee with a heel strike each stride), sitting and standing (the shin upright, still).
What separates a night from a day for a shin-worn sensor is the posture: lying, the shin is
near horizontal; sitting, standing and walking, it is near vertical.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from detector.sim.night import simulate_night
from detector.sim.scenarios import HEEL_STRIKE_G, NOISE_RMS_G, SHIN_SWING_DEG, STRIDE_HZ

__all__ = ["SimulatedDays", "simulate_days"]


@dataclass(frozen=True)
class SimulatedDays:
    """Where the nights of :func:`simulate_days` are.

    Attributes
    ----------
    nights : DataFrame
        One row per night: ``night`` (1..), ``start_unix_s`` and ``end_unix_s`` of its samples
        (lights off to lights on), ``scenario``, ``seed``.
    truth : DataFrame
        The nights' events, ``start_s``/``end_s`` in unix seconds, with a ``night`` column.
    start_unix_s, end_unix_s : float
        First and last sample of the recording.
    """

    nights: pd.DataFrame
    truth: pd.DataFrame
    start_unix_s: float
    end_unix_s: float


def _day(rng: np.random.Generator, t0: float, duration_s: float, fs_hz: float,
         mount: np.ndarray) -> pd.DataFrame:
    """A day up and about: walking, sitting and standing bouts, on the grid from ``t0``."""
    n = int(round(duration_s * fs_hz))
    t = np.arange(n) / fs_hz
    up = mount @ np.array([1.0, 0.0, 0.0])              # shin upright: gravity along the shin
    acc = np.tile(up, (n, 1))
    edges = [0.0]
    while edges[-1] < duration_s:
        edges.append(edges[-1] + 60.0 * rng.uniform(3.0, 40.0))
    for k in range(len(edges) - 1):
        i0, i1 = int(edges[k] * fs_hz), min(int(edges[k + 1] * fs_hz), n)
        if i1 <= i0:
            continue
        if k % 2 == 0:                                   # walking
            f = rng.uniform(*STRIDE_HZ)
            amp = np.radians(rng.uniform(*SHIN_SWING_DEG))
            th = amp * np.sin(2 * np.pi * f * t[i0:i1])
            shin = np.stack([np.cos(th), np.zeros_like(th), np.sin(th)], axis=1)
            acc[i0:i1] = shin @ mount.T
            phase = (f * t[i0:i1]) % 1.0
            hit = np.exp(-phase * 20.0) * rng.uniform(*HEEL_STRIKE_G)
            acc[i0:i1] += hit[:, None] * up[None, :]
        else:                                            # sitting or standing, a little tilt
            tilt = np.radians(rng.normal(0.0, 10.0))
            acc[i0:i1] = mount @ np.array([np.cos(tilt), 0.0, np.sin(tilt)])
    acc += rng.normal(0.0, NOISE_RMS_G[1], acc.shape)
    return pd.DataFrame({"timestamp": t0 + t, "x": acc[:, 0], "y": acc[:, 1], "z": acc[:, 2]})


def _segments(n_nights: int, night_hours: float, day_hours: float, edge_hours: float,
              fs_hz: float, seed: int, start_unix_s: float, scenario: str
              ) -> Iterator[tuple[str, pd.DataFrame, dict]]:
    """The recording piece by piece: evening, night 1, day, night 2, ..., morning."""
    rng = np.random.default_rng([int(seed), zlib.crc32(b"days")])
    t = float(start_unix_s)
    mount = None
    for k in range(n_nights):
        night = simulate_night(scenario, night_hours, fs_hz, seed=seed + k,
                               start_unix_s=t + (edge_hours if k == 0 else day_hours) * 3600.0)
        new_mount = np.asarray(night.info["mount"])
        gap_s = (edge_hours if k == 0 else day_hours) * 3600.0
        # each night's sensor sits its own way: strapped on again in the late morning
        morning_s = min(5 * 3600.0, gap_s / 4) if mount is not None else 0.0
        if morning_s:
            yield "day", _day(rng, t, morning_s, fs_hz, mount), {}
        yield "day", _day(rng, t + morning_s, gap_s - morning_s, fs_hz, new_mount), {}
        mount = new_mount
        s = night.samples
        yield "night", s, {"night": k + 1, "truth": night.truth,
                           "start_unix_s": float(s["timestamp"].iloc[0]),
                           "end_unix_s": float(s["timestamp"].iloc[-1])}
        t = float(s["timestamp"].iloc[-1]) + 1.0 / fs_hz
        if k == n_nights - 1:
            yield "day", _day(rng, t, edge_hours * 3600.0, fs_hz, mount), {}


def simulate_days(path: str | Path, n_nights: int = 3, *, night_hours: float = 8.0,
                  day_hours: float = 16.0, edge_hours: float = 4.0, fs_hz: float = 100.0,
                  seed: int = 0, start_unix_s: float = 1_700_000_000.0,
                  scenario: str = "plmd") -> SimulatedDays:
    """Write a recording of ``n_nights`` nights with days between them, piece by piece (memory
    stays that of one night), as Parquet (``*.parquet``) or CSV (``*.csv``).

    Parameters
    ----------
    path : str or Path
    n_nights : int
    night_hours, day_hours, edge_hours : float
        Length of each night, of each day between nights, and of the evening before the first
        night and the morning after the last.
    fs_hz : float
    seed : int
        Night k is ``simulate_night(scenario, seed=seed + k - 1)``.
    start_unix_s : float
        First sample (the evening before the first night).
    scenario : str

    Returns
    -------
    SimulatedDays
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from detector.fileio import open_private

    path = Path(path)
    parquet = path.name.lower().endswith(".parquet")
    nights, truths = [], []
    first = last = None
    schema = pa.schema([("timestamp", pa.float64()), ("x", pa.float32()), ("y", pa.float32()),
                        ("z", pa.float32())])
    with open_private(path, "wb") as fh:
        writer = pq.ParquetWriter(fh, schema, compression="zstd") if parquet else None
        header = True
        for kind, samples, meta in _segments(n_nights, night_hours, day_hours, edge_hours,
                                             fs_hz, seed, start_unix_s, scenario):
            first = float(samples["timestamp"].iloc[0]) if first is None else first
            last = float(samples["timestamp"].iloc[-1])
            if parquet:
                table = pa.table({"timestamp": samples["timestamp"].to_numpy(np.float64),
                                  **{c: samples[c].to_numpy(np.float32) for c in "xyz"}},
                                 schema=schema)
                writer.write_table(table, row_group_size=1 << 20)
            else:
                table = pa.table({"timestamp": np.round(samples["timestamp"].to_numpy(), 6),
                                  **{c: np.round(samples[c].to_numpy(), 6) for c in "xyz"}})
                pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=header,
                                                              quoting_style="none"))
                header = False
            if kind == "night":
                nights.append({"night": meta["night"], "start_unix_s": meta["start_unix_s"],
                               "end_unix_s": meta["end_unix_s"], "scenario": scenario,
                               "seed": seed + meta["night"] - 1})
                tr = meta["truth"].copy()
                tr["start_s"] += meta["start_unix_s"]
                tr["end_s"] += meta["start_unix_s"]
                tr["night"] = meta["night"]
                truths.append(tr)
        if writer is not None:
            writer.close()
    return SimulatedDays(pd.DataFrame(nights), pd.concat(truths, ignore_index=True),
                         float(first), float(last))

