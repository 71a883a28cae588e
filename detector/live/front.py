"""Live signal front-end: the offline steps 1-3 (band-pass, envelope, thresholds) made causal.

:class:`SignalFront` takes contiguous samples of one recording as they arrive and keeps, for
every sample it has finished, the band-passed acceleration, the resting posture it is compared
to, the movement envelope and the on / off / edge thresholds, in one rolling buffer. It follows
the offline pipeline (:mod:`detector.detect.filters`, :mod:`detector.detect.envelope`,
:mod:`detector.detect.thresholds`) with the same :class:`~detector.config.Config` fields, and
departs from it only where the offline analysis looks far ahead:

* **Band-pass.** The forward pass is the offline one (same second-order sections, same odd
  extension at the start of a segment, state carried across packets). The backward pass runs on
  fixed frames of ``FRAME_S`` with a look-ahead where the filter's impulse response has decayed
  below 1 % (0.14 s at 100 Hz; at most 1 s, at 25 Hz), started from the steady state. At the
  end of a segment the exact odd extension is used, as offline.
* **Posture.** The "before" posture is the offline one: the median of the still 1-s blocks in
  the previous ``baseline_window_s``. The offline "after" posture (the still blocks in the next
  ``baseline_window_s``) differs from it only once the leg rests in a new posture, after a
  sustained movement (turning over, getting up). Here, during a bout of activity longer than an
  LM (``classify.lm_max_s``; pauses of up to ``GATE_GAP_BLOCKS`` blocks bridged), the posture
  of any stretch where the leg is still from ``POSTURE_LOOKBACK_S`` before to
  ``POSTURE_LOOKAHEAD_S`` after a sample is taken as the posture to come, and kept for
  ``baseline_window_s``. In shorter movements the "after" posture is the "before" one, so an LM
  that holds still for a moment is not split (the offline 30-s median is not moved by a few
  held seconds either).
* **Settling a little elsewhere.** When the leg last rested a few degrees from that median (it
  settled in steps, or an LM left it 1-2 degrees away) and either the movement before went
  farther or the leg has stayed there ``SETTLED_S``, that resting posture replaces the median:
  offline, the resting postures on both sides do this with hindsight (a still leg is never a
  movement); live, a short hold of an LM is not yet known to come back, hence the conditions.
* **After a gap** the leg may rest in a posture the history has not seen: when the segment's
  first ``POSTURE_LOOKAHEAD_S`` are still, their mean is the posture to come; otherwise the
  first still stretch within ``SEEK_AFTER_GAP_S`` is.
* **Noise floor.** The quantile of the 1-s envelope medians over the previous
  ``noise_window_s`` (offline: centred on the block).
* **Still limit.** ``4 x`` the median block spread so far (offline: over the whole night).

All per-block quantities live on the recording's global block grid (``index // round(fs)``),
across gaps, as the offline analysis computes them on the whole night. Every value depends
only on the samples, never on how they were split into packets or when they were processed.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
from scipy import signal

from detector.config import Config
from detector.detect.filters import design_bandpass
from detector.live.posture import (BIG_CHANGE_DEG, DIST, ENV, FILT, FRAME_S, GAP_CHANGE_DEG, LEVEL,
                                   N_ROWS, OFF, ON, POSTURE_LOOKAHEAD_S, POSTURE_LOOKBACK_S, RAW,
                                   SETTLED_S, STILL_FACTOR, STILL_MIN_G, STILL_PRIOR_BLOCKS, YF,
                                   LivePosture)
from detector.live.util import (block_median, Blocks, filter_lookahead, moving_window, sosfilt_rows,
                                TrailingWindow, window_max, window_mean)

__all__ = ["SignalFront"]


class SignalFront(LivePosture):
    """Causal band-pass, posture, envelope and thresholds of a stream of samples.

    Parameters
    ----------
    fs_hz : float
        Sampling rate of the stream, Hz.
    config : Config
        The offline configuration; ``bandpass``, ``envelope`` and ``classify.lm_max_s`` are used.

    Notes
    -----
    Usage: :meth:`start_segment`, :meth:`append` (any number of samples), :meth:`advance` (work
    through what has arrived), then the next segment. Everything is indexed by the global sample
    index. The results depend only on the samples, never on how they were split into packets.
    Finished samples: band-passed up to ``filt_end``, envelope up to ``env_end``, thresholds up to
    ``thr_end`` (read them with :meth:`view`).
    """

    def __init__(self, fs_hz: float, config: Config) -> None:
        bp, ev = config.bandpass, config.envelope
        self.fs = float(fs_hz)
        self.block = max(int(round(fs_hz)), 1)
        sos, _ = design_bandpass(self.fs, bp.lowcut_hz, bp.highcut_hz, bp.order)
        # As filters._design32: float32 sections, steady-state conditions, scipy's pad length.
        ntaps = 2 * len(sos) + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
        self.sos = np.ascontiguousarray(sos, dtype=np.float32)
        self.zi = signal.sosfilt_zi(sos).astype(np.float32)
        self.padlen = 3 * ntaps
        self.lookahead = filter_lookahead(sos, self.fs)
        # Largest gain of the zero-phase filter on any signal: the sum of the absolute
        # forward-backward impulse response.
        imp = np.zeros(2 * int(4 * self.fs) + 1)
        imp[len(imp) // 2] = 1.0
        self.gain = float(np.abs(signal.sosfiltfilt(sos, imp)).sum())
        self.frame = max(int(round(FRAME_S * self.fs)), 1)
        self.q_look = max(int(round(POSTURE_LOOKAHEAD_S * self.fs)), 2)
        self.q_back = int(round(POSTURE_LOOKBACK_S * self.fs))
        self.smooth = int(round(ev.smooth_s * self.fs))
        p = self.smooth // 2
        self.smooth_back = 2 * p if self.smooth > 1 else 0
        self.smooth_ahead = 2 * (self.smooth - p - 1) if self.smooth > 1 else 0
        self.base_w = max(int(round(bp.baseline_window_s)), 1)
        self.noise_w = max(int(round(ev.noise_window_s)), 1)
        self.ev = ev
        self.long_blocks = int(math.ceil(config.classify.lm_max_s)) + 1
        self.settled_blocks = max(int(round(SETTLED_S)), 1)
        # Distance (g) between two 1-g postures BIG_CHANGE_DEG apart.
        self.far_g = 2.0 * math.sin(math.radians(BIG_CHANGE_DEG) / 2.0)
        self.fresh_g = 2.0 * math.sin(math.radians(GAP_CHANGE_DEG) / 2.0)
        self.blocks = Blocks()
        # Sorted spreads of all analysed blocks, starting from a prior of quiet ones: early in
        # a night the running median can be dominated by movement (offline: whole night).
        self._spreads: list[float] = [STILL_MIN_G / STILL_FACTOR] * STILL_PRIOR_BLOCKS
        self._limits: list[tuple[int, float]] = []  # (block, still limit once it was known)
        self.alt_q: np.ndarray | None = None        # "after" posture of a sustained movement
        self.alt_until = -1                         # ... used up to this sample index
        self.run_blocks = 0                         # blocks in the current bout of activity
        self.quiet_blocks = 0                       # inactive blocks since its last active one
        self.run_next = 0                           # next block whose activity is counted
        self._still_win = TrailingWindow(self.base_w, 3)   # still block means
        self._floor_win = TrailingWindow(self.noise_w)      # envelope block medians
        self._post_k, self._post_v = -1, np.zeros(3, np.float32)
        self._floor_k, self._thr = -1, (0.0, 0.0, 0.0)
        self._frame_index: dict[int, np.ndarray] = {}
        self._night_end = False
        self.buf = np.zeros((N_ROWS, 0), np.float32)
        self.buf0 = 0
        self.seg0 = self.n = 0
        self.seg_end: int | None = None
        self.open = False
        self.qualified = False
        self.fresh = False
        self.seeking_until = -1

    # ------------------------------------------------------------------ segment and buffer
    def start_segment(self, index: int) -> None:
        """Begin a new gap-free segment at global sample ``index``."""
        self.seg0 = self.n = self.buf0 = int(index)
        self.seg_end = None
        self.buf = np.zeros((N_ROWS, max(8 * self.block, 1024)), np.float32)
        self.fwd_end = self.filt_end = self.dist_end = self.env_end = self.thr_end = index
        self.stats_next = -(-index // self.block)   # first block wholly inside the segment
        self.med_next = self.stats_next
        self.zf = np.zeros((3, len(self.sos), 2), np.float32)
        self.qualified = False
        self.open = True
        self._night_end = False
        self.fresh = index > 0
        self.seeking_until = -1

    def append(self, acc_g: np.ndarray) -> None:
        """Add contiguous samples (n, 3) in g at the end of the current segment."""
        m = len(acc_g)
        need = self.n + m - self.buf0
        if need > self.buf.shape[1]:
            new = np.zeros((N_ROWS, max(2 * self.buf.shape[1], need)), np.float32)
            new[:, : self.n - self.buf0] = self.buf[:, : self.n - self.buf0]
            self.buf = new
        self.buf[RAW, self.n - self.buf0: need] = acc_g.T
        self.n += m

    def view(self, rows: slice | int, a: int, b: int) -> np.ndarray:
        """Buffer ``rows`` (e.g. ``FILT``, ``ENV``) of global samples ``[a, b)``, a view."""
        return self.buf[rows, a - self.buf0: b - self.buf0]

    def trim(self, keep_from: int) -> None:
        """Forget samples before ``keep_from`` (still keeping what the front-end needs)."""
        keep = min(keep_from, self.dist_end - self.q_back - 2,
                   self.env_end - self.smooth_back - 2, self.n - self.padlen - 2,
                   self.thr_end - self.block)
        if keep - self.buf0 < 8192:
            return
        live = self.n - keep
        new = np.zeros((N_ROWS, max(self.buf.shape[1], 2 * live)), np.float32)
        new[:, :live] = self.buf[:, keep - self.buf0: self.n - self.buf0]
        self.buf, self.buf0 = new, keep

    @property
    def posture_now(self) -> np.ndarray:
        """The latest resting posture (3,), g."""
        return self._post_v

    @property
    def seg_len(self) -> int:
        """Samples in the current segment."""
        return self.n - self.seg0

    # ------------------------------------------------------------------ main step
    def advance(self, min_segment: int, final: bool = False, night_end: bool = False) -> None:
        """Work through the samples that have arrived.

        Parameters
        ----------
        min_segment : int
            Segments shorter than this many samples are not analysed (offline: 2 s); nothing is
            done until the segment reaches it.
        final : bool
            The segment ends at the last sample appended: finish every sample, then close it.
        night_end : bool
            With ``final``: the segment ends the recording (the envelope smoothing window
            shrinks there instead of meeting a gap).
        """
        if not self.qualified:
            if self.seg_len < min_segment or self.seg_len <= self.padlen:
                if final:
                    self.open = False
                return
            self.qualified = True
            self._start_filter()
        if final:
            self.seg_end = self.n
            self._night_end = night_end
        self._forward()
        self._backward(final)
        self._block_stats()
        self._distances(final)
        self._smooth(final)
        self._thresholds(final)
        if final:
            self.open = False

    # ------------------------------------------------------------------ band-pass
    def _steady(self, first: np.ndarray) -> np.ndarray:
        """Steady-state filter state (rows, sections, 2) for rows starting at ``first``."""
        return first[:, None, None] * self.zi[None, :, :]

    def _start_filter(self) -> None:
        x = self.view(RAW, self.seg0, self.seg0 + self.padlen + 1)
        ext = 2 * x[:, :1] - x[:, self.padlen:0:-1]             # odd extension, (3, padlen)
        self.zf = self._steady(ext[:, 0])
        sosfilt_rows(self.sos, ext, self.zf)

    def _forward(self) -> None:
        if self.n > self.fwd_end:
            i, j = self.fwd_end - self.buf0, self.n - self.buf0
            y = np.ascontiguousarray(self.buf[RAW, i:j])
            sosfilt_rows(self.sos, y, self.zf)
            self.buf[YF, i:j] = y
            self.fwd_end = self.n

    def _backward(self, final: bool) -> None:
        f, la = self.frame, self.lookahead
        k = (self.fwd_end - la - self.filt_end) // f
        if k > 0:
            i = self.filt_end - self.buf0
            idx = self._frame_index.get(k)
            if idx is None:    # sample offsets of k frames with their look-ahead, reversed
                idx = (np.arange(k) * f)[:, None] + np.arange(f + la - 1, -1, -1)[None, :]
                self._frame_index[k] = idx
            rows = np.take(self.buf[YF, i:i + k * f + la], idx, axis=1).reshape(3 * k, f + la)
            sosfilt_rows(self.sos, rows, self._steady(rows[:, 0]))
            out = rows.reshape(3, k, f + la)[:, :, la:][:, :, ::-1]
            self.buf[FILT, i:i + k * f] = out.reshape(3, k * f)
            self.filt_end += k * f
        if final and self.filt_end < self.n:
            # Exact end: the odd extension after the last sample, as scipy's sosfiltfilt.
            x = self.view(RAW, self.n - self.padlen - 1, self.n)
            ext = 2 * x[:, -1:] - x[:, -2::-1]
            sosfilt_rows(self.sos, ext, self.zf.copy())
            y = np.concatenate([self.view(YF, self.filt_end, self.n), ext], axis=1)[:, ::-1]
            y = np.ascontiguousarray(y)
            sosfilt_rows(self.sos, y, self._steady(y[:, 0]))
            self.view(FILT, self.filt_end, self.n)[...] = y[:, ::-1][:, : self.n - self.filt_end]
            self.filt_end = self.n

    # ------------------------------------------------------------------ blocks
    def _block_stats(self) -> None:
        b, bk = self.block, self.blocks
        k0 = self.stats_next
        k1 = self.filt_end // b
        if k1 <= k0:
            return
        bk.ensure(k1 - 1)
        x = self.view(FILT, k0 * b, k1 * b).reshape(3, k1 - k0, b)
        mean = np.add.reduce(x, axis=2, dtype=np.float64) / b               # (3, blocks)
        var = np.einsum("ijk,ijk->ij", x, x, dtype=np.float64) / b - mean * mean
        bk.mean[k0:k1] = mean.T
        spreads = np.sqrt(np.maximum(var.max(axis=0), 0.0)).tolist()
        bk.spread[k0:k1] = spreads
        for k, spread in zip(range(k0, k1), spreads):
            bisect.insort(self._spreads, spread)
            limit = self.still_limit()
            bk.still[k] = spread <= limit
            self._limits.append((k, limit))
        self.stats_next = k1


    def _smooth(self, final: bool) -> None:
        a = self.env_end
        tail = final and self.dist_end == self.n
        stop = self.dist_end if tail else self.dist_end - self.smooth_ahead
        if stop <= a:
            return
        s = self.smooth
        if s <= 1:
            self.view(ENV, a, stop)[...] = self.view(DIST, a, stop)
            self.env_end = stop
            return
        lo = a - self.smooth_back
        hi = min(stop + self.smooth_ahead, self.dist_end)
        d = self.view(DIST, max(lo, self.seg0), hi)
        if lo < 0 or (tail and self._night_end):
            # The recording's first or last sample: the window shrinks (offline edges).
            pre = max(self.seg0 - lo, 0) if self.seg0 > 0 else 0
            z = np.concatenate([np.zeros(pre, np.float32), d])
            start = max(lo, self.seg0) - pre
            env = moving_window(moving_window(z, s, "max"), s, "mean")
            self.view(ENV, a, stop)[...] = env[a - start: stop - start]
        else:
            # Outside the segment a gap counts as 0, as offline.
            pre = max(self.seg0 - lo, 0)
            post = stop + self.smooth_ahead - hi
            if pre or post:
                d = np.concatenate([np.zeros(pre, np.float32), d, np.zeros(post, np.float32)])
            self.view(ENV, a, stop)[...] = window_mean(window_max(d, s), s)
        self.env_end = stop

    # ------------------------------------------------------------------ thresholds
    def _thresholds(self, final: bool) -> None:
        b, bk, ev = self.block, self.blocks, self.ev
        k0, k1 = self.med_next, self.env_end // b
        if k1 > k0:
            bk.ensure(k1 - 1)
            env = self.view(ENV, k0 * b, k1 * b).reshape(k1 - k0, b)
            h = b // 2
            if b % 2:
                bk.env_med[k0:k1] = np.partition(env, h, axis=1)[:, h]
            else:
                part = np.partition(env, (h - 1, h), axis=1)
                bk.env_med[k0:k1] = 0.5 * (part[:, h - 1].astype(np.float64) + part[:, h])
            self.med_next = k1
        while self.thr_end < self.env_end:
            a = self.thr_end
            k = a // b
            if k != self._floor_k:
                win = self._floor_win
                win.slide(k, bk.env_med)
                if len(win):
                    fl = win.quantile(ev.noise_quantile)
                else:
                    e = min((k + 1) * b, self.seg_end if self.seg_end is not None else self.n)
                    if self.env_end < e and not final:
                        return
                    fl = block_median(self.view(ENV, max(k * b, self.seg0), min(e, self.env_end)))
                bk.floor[k] = fl
                on = max(ev.on_factor * fl, ev.min_on_g)
                off = min(max(ev.off_ratio * ev.on_factor * fl, ev.min_off_g), on)
                self._floor_k, self._thr = k, (on, off, ev.edge_factor * fl)
            stop = min((k + 1) * b, self.env_end)
            i, j = a - self.buf0, stop - self.buf0
            on, off, level = self._thr
            self.buf[ON, i:j] = on
            self.buf[OFF, i:j] = off
            self.buf[LEVEL, i:j] = level
            self.thr_end = stop
