"""Small pieces of the live front-end: a cheap filter call, moving windows, per-block stores.

Kept apart from :mod:`detector.live.front` so that each stays short; none of them does I/O.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
from scipy import signal

from detector.detect.envelope import shifted_window

__all__ = ["sosfilt_rows", "filter_lookahead", "moving_window", "window_max", "window_mean",
           "block_median", "Blocks", "TrailingWindow", "FILTER_TAIL", "MAX_FILTER_LOOKAHEAD_S"]

#: Longest look-ahead of the backward filter pass, in seconds (reached at low sampling rates,
#: where the band edge is clamped near the Nyquist frequency and the response rings longest).
MAX_FILTER_LOOKAHEAD_S = 1.0
#: Relative size of the filter's impulse response at which the backward pass is truncated.
FILTER_TAIL = 1e-2

try:  # the compiled kernel behind scipy.signal.sosfilt, without its per-call checks
    from scipy.signal._sosfilt import _sosfilt as _sosfilt_kernel
except ImportError:  # pragma: no cover - other scipy layouts
    _sosfilt_kernel = None


def sosfilt_rows(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
    """Filter each row of ``x`` (rows, n) in place, starting from and updating the state ``zi``
    (rows, sections, 2).

    The same computation as :func:`scipy.signal.sosfilt` (direct form II transposed sections),
    without its argument handling, which costs more than filtering a packet of samples. ``x``
    and ``zi`` must be C-contiguous, with the dtype of ``sos``.
    """
    if _sosfilt_kernel is not None:
        _sosfilt_kernel(sos, x, zi)
        return
    y, zf = signal.sosfilt(sos, x, axis=-1, zi=np.moveaxis(zi, 1, 0))  # pragma: no cover
    x[...], zi[...] = y, np.moveaxis(zf, 0, 1)  # pragma: no cover


def filter_lookahead(sos: np.ndarray, fs_hz: float) -> int:
    """Samples after which the filter's impulse response stays below ``FILTER_TAIL`` of its peak
    (at most ``MAX_FILTER_LOOKAHEAD_S``)."""
    n = int(max(64, 4 * fs_hz))
    imp = np.abs(signal.sosfilt(sos, np.r_[1.0, np.zeros(n - 1)]))
    over = np.flatnonzero(imp > FILTER_TAIL * imp.max())
    tail = int(over[-1]) + 1 if over.size else 1
    return max(1, min(tail, int(math.ceil(MAX_FILTER_LOOKAHEAD_S * fs_hz))))


#: Moving maximum or mean over ``size`` samples, window ``[i - size//2, i + size - size//2)``,
#: shrinking at the ends: the offline envelope smoothing itself.
moving_window = shifted_window


class Blocks:
    """Per-block quantities on the global 1-s block grid (NaN where unknown or in a gap)."""

    def __init__(self) -> None:
        self.size = 0
        self.cap = 0
        self._alloc(1024)

    def _alloc(self, cap: int) -> None:
        def grow(name: str, shape: tuple[int, ...], fill: float | bool, dtype: type) -> None:
            new = np.full((cap,) + shape, fill, dtype)
            old = getattr(self, name, None)
            if old is not None:
                new[: len(old)] = old
            setattr(self, name, new)
        grow("mean", (3,), np.nan, np.float64)       # block mean of the band-passed signal, g
        grow("spread", (), np.nan, np.float64)       # largest per-axis standard deviation, g
        grow("still", (), False, bool)
        grow("posture", (3,), np.nan, np.float32)    # "before" posture of the block, g
        grow("env_med", (), np.nan, np.float64)      # median envelope, g
        grow("floor", (), np.nan, np.float64)        # noise floor, g
        grow("active", (), False, bool)
        self.cap = cap

    def ensure(self, k: int) -> None:
        """Make room for block index ``k``."""
        if k >= self.cap:
            self._alloc(max(2 * self.cap, k + 1))
        self.size = max(self.size, k + 1)


class TrailingWindow:
    """Finite values of the blocks ``[k - width, k)``, kept sorted, for medians and quantiles.

    The window only moves forward; each block's value must be final before the window covers it.
    """

    def __init__(self, width: int, dims: int = 1) -> None:
        self.width = width
        self.lo = self.hi = 0
        self.values: list[list[float]] = [[] for _ in range(dims)]

    def slide(self, k: int, series: np.ndarray, use: np.ndarray | None = None) -> None:
        """Cover blocks ``[k - width, k)`` of ``series`` (n,) or (n, dims); ``use`` masks blocks."""
        lo = max(k - self.width, 0)
        if lo >= self.hi or k - self.hi > self.width:
            for v in self.values:
                v.clear()
            self._add(lo, k, series, use)
        else:
            self._add(self.hi, k, series, use)
            for row in self._rows(self.lo, lo, series, use):
                for v, x in zip(self.values, row):
                    del v[bisect.bisect_left(v, x)]
        self.lo, self.hi = lo, k

    @staticmethod
    def _rows(a: int, b: int, series: np.ndarray, use: np.ndarray | None) -> list[list[float]]:
        """Values (as lists) of the blocks in ``[a, b)`` that are finite and used."""
        if b <= a:
            return []
        if b - a <= 4:    # the usual step of one block: scalar access is cheaper
            out = []
            for j in range(a, b):
                row = series[j].tolist()
                row = row if isinstance(row, list) else [row]
                if math.isfinite(row[0]) and (use is None or use[j]):
                    out.append(row)
            return out
        vals = series[a:b].reshape(b - a, -1)
        ok = np.isfinite(vals[:, 0])
        if use is not None:
            ok &= use[a:b]
        return vals[ok].tolist()

    def _add(self, a: int, b: int, series: np.ndarray, use: np.ndarray | None) -> None:
        for row in self._rows(a, b, series, use):
            for v, x in zip(self.values, row):
                bisect.insort(v, x)

    def __len__(self) -> int:
        return len(self.values[0])

    def quantile(self, q: float, dim: int = 0) -> float:
        """Linear-interpolated quantile (numpy's and pandas' default) of one dimension."""
        v = self.values[dim]
        pos = q * (len(v) - 1)
        i = int(math.floor(pos))
        frac = pos - i
        return v[i] if frac == 0 or i + 1 >= len(v) else v[i] + frac * (v[i + 1] - v[i])


def window_max(d: np.ndarray, s: int) -> np.ndarray:
    """``out[j] = max(d[j:j + s])`` for every full window (length ``len(d) - s + 1``)."""
    m = len(d) - s + 1
    if s > 32:
        return np.lib.stride_tricks.sliding_window_view(d, s).max(axis=1)
    out = d[:m].copy()
    for k in range(1, s):
        np.maximum(out, d[k:k + m], out=out)
    return out


def window_mean(d: np.ndarray, s: int) -> np.ndarray:
    """``out[j] = mean(d[j:j + s])`` for every full window, summed in the offline order."""
    m = len(d) - s + 1
    if s > 32:
        return np.lib.stride_tricks.sliding_window_view(d, s).mean(axis=1).astype(np.float32)
    p = s // 2
    out = d[p:p + m].copy()                  # the window's own sample first, as offline
    for k in range(s):
        if k != p:
            out += d[k:k + m]
    return out / np.float32(s)


def block_median(x: np.ndarray) -> float:
    """Median of a 1-D float array (two middle values averaged)."""
    m = len(x)
    h = m // 2
    if m % 2:
        return float(np.partition(x, h)[h])
    part = np.partition(x, (h - 1, h))
    return 0.5 * (float(part[h - 1]) + float(part[h]))
