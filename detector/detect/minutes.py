"""Minute by minute: where gravity points and how much the leg moved, from a file read in
batches.

A week at 100 Hz is 60 million samples; its minutes are 10,080 rows. :class:`MinuteSummary`
takes the samples batch by batch (in any order) and keeps per minute the summed acceleration
(its mean is the direction of gravity in the sensor's frame) and how many of its seconds the
leg moved in. That is all the rest windows of a long recording are found from
(:func:`detector.score.restwindow.nights_from_minutes`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MinuteSummary", "MOVING_RANGE_G"]

#: A second in which the magnitude of the acceleration spans more than this is a second of
#: movement (van Hees et al. 2011 call a sensor still when its range stays below 50 mg).
MOVING_RANGE_G = 0.05


class MinuteSummary:
    """Per-minute gravity direction and movement of a recording, accumulated batch by batch.

    Attributes (after :meth:`add`)
    ------------------------------
    t0_unix_s : float
        Start of the first minute (a whole minute of the unix clock).
    first_unix_s, last_unix_s : float
        First and last sample time seen.
    """

    def __init__(self) -> None:
        self._m0: int | None = None
        self._sum = np.zeros((0, 3))
        self._n = np.zeros(0, np.int64)
        self._moving = np.zeros(0, np.int64)
        self._seconds = np.zeros(0, np.int64)
        self.first_unix_s = math.inf
        self.last_unix_s = -math.inf

    def _grow(self, m_lo: int, m_hi: int) -> None:
        if self._m0 is None:
            self._m0 = m_lo
        lo = min(self._m0, m_lo)
        hi = max(self._m0 + len(self._n), m_hi + 1)
        if lo == self._m0 and hi == self._m0 + len(self._n):
            return
        pad0, pad1 = self._m0 - lo, hi - (self._m0 + len(self._n))
        self._sum = np.pad(self._sum, ((pad0, pad1), (0, 0)))
        for name in ("_n", "_moving", "_seconds"):
            setattr(self, name, np.pad(getattr(self, name), (pad0, pad1)))
        self._m0 = lo

    def add(self, t_unix_s: np.ndarray, xyz_g: np.ndarray) -> None:
        """Add a batch of samples (seconds, n x 3 g); rows with a non-finite value are left out."""
        ok = np.isfinite(t_unix_s) & np.isfinite(xyz_g).all(axis=1)
        if not ok.any():
            return
        t = np.asarray(t_unix_s)[ok]
        xyz = np.asarray(xyz_g, dtype=np.float64)[ok]
        self.first_unix_s = min(self.first_unix_s, float(t.min()))
        self.last_unix_s = max(self.last_unix_s, float(t.max()))
        sec = np.floor(t).astype(np.int64)
        if np.any(np.diff(sec) < 0):
            order = np.argsort(sec, kind="stable")
            sec, xyz = sec[order], xyz[order]
        minute = sec // 60
        self._grow(int(minute[0]), int(minute[-1]))
        k = minute - self._m0
        size = len(self._n)
        self._n += np.bincount(k, minlength=size)
        for i in range(3):
            self._sum[:, i] += np.bincount(k, weights=xyz[:, i], minlength=size)
        # seconds: the range of the magnitude within each (a second cut by a batch boundary
        # counts twice, a fraction that does not matter to a minute)
        start = np.flatnonzero(np.r_[True, sec[1:] != sec[:-1]])
        mag = np.sqrt((xyz ** 2).sum(axis=1))
        span = np.maximum.reduceat(mag, start) - np.minimum.reduceat(mag, start)
        ks = k[start]
        self._seconds += np.bincount(ks, minlength=size)
        self._moving += np.bincount(ks, weights=(span > MOVING_RANGE_G), minlength=size
                                    ).astype(np.int64)

    @property
    def t0_unix_s(self) -> float:
        return float((self._m0 or 0) * 60)

    @property
    def n_samples(self) -> np.ndarray:
        """Samples per minute."""
        return self._n.copy()

    @property
    def gravity_g(self) -> np.ndarray:
        """Mean acceleration per minute (m x 3 g; NaN for a minute without samples)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._sum / self._n[:, None]

    @property
    def moving_share(self) -> np.ndarray:
        """Share of each minute's seconds with movement (NaN without samples)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self._seconds > 0, self._moving / np.maximum(self._seconds, 1),
                            np.nan)
