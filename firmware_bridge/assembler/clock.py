"""The night's clock: device seconds to host unix seconds along the lower envelope of the
arrival delays (:class:`ClockFit`), and the uniform grid the samples end on (:class:`TimeBase`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from firmware_bridge.assembler.parts import REPLAY_MIN_DISAGREEMENT_S, REPLAY_PPM

__all__ = ["ClockFit", "TimeBase", "grid_times", "index_times"]


def _window_s(span_s: float) -> float:
    """Width (device s) of the windows whose minima the clock fit goes through: 30 s (at least
    8 windows on short spans; at most 400 windows on long ones)."""
    return max(span_s / 400.0, min(30.0, span_s / 8.0))


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``y = c + s * x``; returns (c, s)."""
    xm, ym = float(x.mean()), float(y.mean())
    dx = x - xm
    den = float(dx @ dx)
    s = float(dx @ (y - ym)) / den if den > 0 else 0.0
    return ym - s * xm, s


@dataclass(frozen=True)
class ClockFit:
    """Device clock -> host unix time: ``host = device + offset_s + drift * (device -
    ref_device_s)``, the lower envelope of the arrivals (the minimum latency is in the offset).

    Attributes
    ----------
    offset_s : float
        ``host - device`` at ``ref_device_s``, s.
    drift_ppm : float
        Measured rate difference, ``(host seconds per device second - 1) * 1e6``; positive
        when the device clock runs slow. For a replay this is the replay's rate, not a drift.
    ref_device_s : float
        Device time of the first point (s).
    replay : bool
        The rates differ by more than :data:`REPLAY_PPM`: a replay (or a wrong rate), not drift.
    drift_corrected : bool
        Whether grid timestamps use the measured rate (False for a replay or when the span is
        too short to measure it).
    n_points : int
        Arrivals used.
    n_windows : int
        Windows whose minima the line goes through.
    """

    offset_s: float
    drift_ppm: float
    ref_device_s: float
    replay: bool
    drift_corrected: bool
    n_points: int
    n_windows: int

    @property
    def rate_ratio(self) -> float:
        """Device seconds per host second (60 for a replay at speed 60; ~1 otherwise)."""
        den = 1.0 + self.drift_ppm * 1e-6
        return 1.0 / den if den > 0 and math.isfinite(den) else 1.0

    def to_host(self, device_s: float | np.ndarray) -> float | np.ndarray:
        """Host unix time (s) of device time ``device_s`` (lower envelope)."""
        return device_s + self.offset_s + self.drift_ppm * 1e-6 * (device_s - self.ref_device_s)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe) of the fit."""
        return asdict(self)

    @classmethod
    def fit(cls, device_s: np.ndarray, host_s: np.ndarray,
            window_s: float | None = None) -> "ClockFit | None":
        """Fit the lower envelope of ``host_s - device_s``.

        Parameters
        ----------
        device_s : ndarray
            Device time of the last sample of each notification, s.
        host_s : ndarray
            Host unix time at which each notification arrived, s.
        window_s : float, optional
            Window width in device seconds (default: 30 s, at least 8 and at most 400 windows).

        Returns
        -------
        ClockFit or None
            None without points.
        """
        d = np.asarray(device_s, dtype=np.float64).ravel()
        h = np.asarray(host_s, dtype=np.float64).ravel()
        ok = np.isfinite(d) & np.isfinite(h)
        d, h = d[ok], h[ok]
        if d.size == 0:
            return None
        ref = float(d.min())
        x = d - ref
        y = h - d
        y0 = float(y.min())
        y = y - y0
        span = float(x.max())
        if d.size < 2 or span <= 0:
            return cls(y0, 0.0, ref, False, False, int(d.size), 1)
        width = window_s if window_s else _window_s(span)
        win = np.floor(x / width).astype(np.int64)
        order = np.lexsort((y, win))
        ws = win[order]
        first = np.concatenate(([True], ws[1:] != ws[:-1]))
        idx = order[first]
        xm, ym = x[idx], y[idx]
        if xm.size < 2:
            return cls(y0 + float(ym.min()), 0.0, ref, False, False, int(d.size), int(xm.size))
        c, s = _line(xm, ym)
        for _ in range(2):  # drop windows whose minimum sits far above the line (congestion)
            r = ym - (c + s * xm)
            med = float(np.median(r))
            mad = float(np.median(np.abs(r - med)))
            keep = r <= med + 3.0 * 1.4826 * mad + 1e-6
            if keep.all() or keep.sum() < 2:
                break
            xm, ym = xm[keep], ym[keep]
            c, s = _line(xm, ym)
        replay = False
        corrected = True
        if not (math.isfinite(s) and math.isfinite(c)) or 1.0 + s <= 1e-6:
            # host time standing still or running backwards against the device: not a clock
            mean = float(np.mean(ym))
            s, c, corrected = 0.0, (mean if math.isfinite(mean) else 0.0), False
        elif abs(s) > REPLAY_PPM * 1e-6:
            corrected = False
            if abs(s) * span > REPLAY_MIN_DISAGREEMENT_S:
                replay = True
            else:  # too short to tell: assume no drift
                s = 0.0
                c = float(np.mean(ym))
        return cls(y0 + c, s * 1e6, ref, replay, corrected, int(d.size), int(xm.size))


@dataclass(frozen=True)
class TimeBase:
    """The night's time grid: sample ``k`` is at ``t0_unix_s + k / fs_hz``.

    Attributes
    ----------
    t0_unix_s : float
        Host unix time of night sample 0, s.
    fs_hz : float
        Grid rate in samples per host second: the device rate corrected for the measured drift
        (not for a replay).
    fs_nominal_hz : float
        The rate the stream was started with, Hz.
    fs_device_hz : float
        Samples per device second: nominal for LegAccel, measured for Polar.
    clock : ClockFit
    """

    t0_unix_s: float
    fs_hz: float
    fs_nominal_hz: float
    fs_device_hz: float
    clock: ClockFit

    def times(self, sample_index: np.ndarray) -> np.ndarray:
        """Unix times (s) of night-grid indices."""
        return index_times(sample_index, self.t0_unix_s, self.fs_hz)


def grid_times(n: int, t0_unix_s: float, fs_hz: float) -> np.ndarray:
    """Unix times (s, float64) of grid samples ``0 .. n-1``: ``t0_unix_s + k / fs_hz``."""
    return index_times(np.arange(int(n), dtype=np.int64), t0_unix_s, fs_hz)


def index_times(sample_index: np.ndarray, t0_unix_s: float, fs_hz: float) -> np.ndarray:
    """Unix times (s, float64) of night-grid indices: ``t0_unix_s + index / fs_hz``."""
    k = np.asarray(sample_index, dtype=np.float64)
    return t0_unix_s + k / float(fs_hz)
