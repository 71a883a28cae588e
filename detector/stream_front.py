"""Live signal front-end: the offline steps 1-3 (band-pass, envelope, thresholds) made causal.

:class:`SignalFront` takes contiguous samples of one recording as they arrive and keeps, for
every sample it has finished, the band-passed acceleration, the resting posture it is compared
to, the movement envelope and the on / off / edge thresholds, in one rolling buffer. It follows
the offline pipeline (:mod:`detector.filters`, :mod:`detector.envelope`,
:mod:`detector.thresholds`) with the same :class:`~detector.config.Config` fields, and departs
from it only where the offline analysis looks far ahead:

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

from .config import Config
from .envelope import MIN_REST_S, POSTURE_STEP_G, REST_HALF_BLOCKS
from .filters import design_bandpass
from .stream_util import (Blocks, TrailingWindow, block_median, filter_lookahead, moving_window,
                          sosfilt_rows, window_max, window_mean)

__all__ = ["SignalFront", "FRAME_S", "POSTURE_LOOKBACK_S", "POSTURE_LOOKAHEAD_S",
           "RAW", "YF", "FILT", "POST", "DIST", "ENV", "ON", "OFF", "LEVEL"]

#: Frame of the backward filter pass, in seconds: filtered samples are released frame by frame.
FRAME_S = 0.1
#: The leg must be still from this long before to this long after a sample (seconds) for its
#: posture there to count as the posture a sustained movement ends in.
POSTURE_LOOKBACK_S = 0.5
POSTURE_LOOKAHEAD_S = 0.5
#: A block counts as still when its spread is at most ``STILL_FACTOR`` times the median spread,
#: and at least ``STILL_MIN_G`` (offline: ``envelope.posture_baselines`` defaults).
STILL_FACTOR = 4.0
STILL_MIN_G = 0.006
#: The running median spread starts from this many blocks of a quiet sensor (1.5 mg).
STILL_PRIOR_BLOCKS = 60
#: After a gap that ends while the leg moves, the first posture it rests in within this many
#: seconds is taken as the posture to come (it may have turned over during the gap).
SEEK_AFTER_GAP_S = 10.0
#: A bout of activity goes on across this many inactive blocks (getting up can pause standing).
GATE_GAP_BLOCKS = 2
#: The leg resting this far (degrees) from its resting posture has changed posture, however
#: short the movement was: leg movements turn the shin less (PLMs: ankle, knee, hip flexion of
#: a few to tens of degrees).
BIG_CHANGE_DEG = 45.0
#: The posture the leg last rested in replaces the still blocks' 30-s median when it lies
#: within this distance (g, about 4 degrees): the leg settled a little elsewhere (a step, an LM
#: that did not come back exactly). Farther changes are left to the turn-over logic below.
SETTLE_SHIFT_G = 0.07
#: ... once the leg has been still there this long (s) even if the movement before it went no
#: farther: longer than an LM holds still (LMs last 0.5-10 s, most 1-5 s). Offline, the look
#: ahead tells a hold that comes back from a new resting posture.
SETTLED_S = 6.0
#: After a gap, a resting posture this far (degrees) from the one before the gap is a new one
#: (postures after turning over differ by more; most leg movements turn the shin less).
GAP_CHANGE_DEG = 20.0

# Rows of the buffer (float32, one column per sample): raw x y z, forward-filtered,
# band-passed, the posture each sample is compared to, raw distance, envelope, thresholds.
RAW, YF, FILT, POST = slice(0, 3), slice(3, 6), slice(6, 9), slice(9, 12)
DIST, ENV, ON, OFF, LEVEL = 12, 13, 14, 15, 16
N_ROWS = 17


class SignalFront:
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

    def limit_before(self, k: int) -> float:
        """The still limit as it was once every block before block ``k`` was known (so that it
        does not depend on how far the analysis has gone when it is asked)."""
        j = bisect.bisect_left(self._limits, (k, -np.inf))
        return self._limits[j - 1][1] if j else STILL_MIN_G

    def still_limit(self) -> float:
        """Spread (g) at or below which a block or window is still."""
        s = self._spreads
        if not s:
            return STILL_MIN_G
        m = len(s)
        med = s[m // 2] if m % 2 else 0.5 * (s[m // 2 - 1] + s[m // 2])
        return max(STILL_FACTOR * med, STILL_MIN_G)

    def _posture(self, k: int) -> np.ndarray | None:
        """The "before" posture of block ``k`` (computed once), or None until it can be."""
        if k == self._post_k:
            return self._post_v
        bk = self.blocks
        bk.ensure(k)
        win = self._still_win
        win.slide(k, bk.mean, bk.still)
        if len(win):
            p = np.array([win.quantile(0.5, d) for d in range(3)], np.float32)
            # The leg may have settled a few degrees away since (a step, or an LM that left
            # it a little elsewhere): then the posture it last rested in is the one to compare
            # with, so that a still leg makes no movement (offline: the resting postures).
            q = self._last_rest(k, p)
            if q is not None:
                p = q
        elif self.alt_q is not None and k * self.block < self.alt_until:
            p = self.alt_q
        else:
            lo = max(k - self.base_w, 0)
            mean = bk.mean[lo:k]
            if np.isfinite(mean[:, 0]).any():
                p = np.nanmedian(mean, axis=0).astype(np.float32)
            else:
                # No history: the block's own mean, once its samples in the segment are known.
                a, e = max(k * self.block, self.seg0), (k + 1) * self.block
                e = min(e, self.seg_end if self.seg_end is not None else e)
                if self.filt_end < e:
                    return None
                p = self.view(FILT, a, e).mean(axis=1).astype(np.float32)
        bk.posture[k] = p
        self._post_k, self._post_v = k, bk.posture[k]
        return self._post_v

    def _last_rest(self, k: int, p: np.ndarray) -> np.ndarray | None:
        """The posture the leg last rested in before block ``k``, when it is the one to compare
        with instead of ``p`` (the still blocks' median), else None.

        The latest still stretch (consecutive still blocks whose means change by less than
        ``POSTURE_STEP_G``) of at least ``MIN_REST_S``, ended at most ``lm_max_s`` before block
        ``k`` and within ``SETTLE_SHIFT_G`` of ``p`` (but not within ``POSTURE_STEP_G``: then
        it is ``p``'s posture), is taken when the movement before it went
        at least 1.5 times as far from ``p`` (the leg came back, a little elsewhere) or when it
        has lasted ``SETTLED_S`` (longer than an LM holds still: the leg rests there). Its
        posture is the median of its last ``REST_HALF_BLOCKS`` blocks.
        """
        bk = self.blocks
        seg_k = self.seg0 // self.block
        j = k - 1
        lo = max(k - self.long_blocks, seg_k, 0)
        while j >= lo and not bk.still[j]:
            j -= 1
        if j < lo:
            return None
        first = j
        while (first - 1 >= max(j - self.long_blocks, seg_k, 0) and bk.still[first - 1]
               and math.dist(bk.mean[first - 1].tolist(), bk.mean[first].tolist())
               < POSTURE_STEP_G):
            first -= 1
        length = j - first + 1
        if length < max(int(round(MIN_REST_S)), 1):
            return None
        q = np.median(bk.mean[max(first, j - REST_HALF_BLOCKS + 1):j + 1], axis=0)
        shift = math.dist(q.tolist(), p.tolist())
        if shift > SETTLE_SHIFT_G or shift < POSTURE_STEP_G:
            return None                 # a change of posture; or the same posture as p
        if length < self.settled_blocks:
            reach = 0.0
            i = first - 1
            while i >= max(first - self.long_blocks, seg_k, 0) and not bk.still[i]:
                m = bk.mean[i].tolist()
                if math.isfinite(m[0]):
                    reach = max(reach, math.dist(m, p.tolist()))
                i -= 1
            if reach < 1.5 * shift:
                return None
        return q.astype(np.float32)

    def _count_activity(self, upto: int) -> None:
        """Count active blocks (moving, or further than ``min_on_g`` from the resting posture
        and from the posture a sustained movement settled in) before block ``upto``."""
        bk = self.blocks
        while self.run_next < upto:
            k = self.run_next
            p = bk.posture[k].tolist()
            m = bk.mean[k].tolist()
            if math.isfinite(m[0]) and math.isfinite(p[0]):
                tol = self.ev.min_on_g
                far = math.dist(m, p) > tol
                if far and self.alt_q is not None and k * self.block < self.alt_until:
                    far = math.dist(m, self.alt_q.tolist()) > tol    # settled in a new posture
                bk.active[k] = (not bk.still[k]) or far
            if bk.active[k]:
                bridge = self.quiet_blocks <= GATE_GAP_BLOCKS and self.run_blocks > 0
                self.run_blocks = self.run_blocks + self.quiet_blocks + 1 if bridge else 1
                self.quiet_blocks = 0
            else:
                self.quiet_blocks += 1
                if self.quiet_blocks > GATE_GAP_BLOCKS:
                    self.run_blocks = 0
            self.run_next += 1

    # ------------------------------------------------------------------ envelope
    def _distances(self, final: bool) -> None:
        b = self.block
        while self.dist_end < self.filt_end:
            a = self.dist_end
            k = a // b
            p = self._posture(k)
            if p is None:
                return
            if self.run_next < k:
                self._count_activity(k)
            if self.fresh and not self._fresh_posture(final, p):
                return
            # After a gap the leg may still be moving: the first posture it rests in is
            # looked for as at the end of a sustained movement.
            seeking = self.seeking_until > a
            gate = self.run_blocks >= self.long_blocks or seeking
            stop = min((k + 1) * b, self.filt_end)
            if gate and not final:
                stop = min(stop, self.filt_end - self.q_look)
            if stop <= a:
                return
            i, j = a - self.buf0, stop - self.buf0
            x = self.buf[FILT, i:j]
            dev = x - p[:, None]
            d = np.sqrt(np.einsum("ij,ij->j", dev, dev))
            big = False
            if not gate:
                # A sample this far from the resting posture (and from the posture a movement
                # settled in) may be the leg resting in a new one after a short turn-over: it
                # waits for the samples that tell.
                far = d > self.far_g
                if far.any() and self.alt_q is not None and a < self.alt_until:
                    dev = x - self.alt_q[:, None]
                    far &= np.sqrt(np.einsum("ij,ij->j", dev, dev)) > self.far_g
                if far.any():
                    big = True
                    if not final:
                        late = np.flatnonzero(far[: j - i]
                                              & (np.arange(a, stop) + self.q_look >= self.filt_end))
                        if late.size:
                            stop = a + int(late[0])
                            if stop <= a:
                                return
                            j = stop - self.buf0
                            x, d = x[:, : j - i], d[: j - i]
            self.buf[POST, i:j] = p[:, None]
            if gate or big or (self.alt_q is not None and a < self.alt_until):
                if seeking:
                    q = self._after_posture(a, stop, True, first_only=True, away_from=p,
                                            away_g=self.fresh_g)
                else:
                    q = self._after_posture(a, stop, gate, away_from=None if gate else p,
                                            away_g=self.far_g)
                if q is not None:
                    dev = x - q
                    dq = np.sqrt(np.einsum("ij,ij->j", dev, dev))
                    use = dq < d
                    d = np.where(use, dq, d)
                    self.buf[POST, i:j][:, use] = q[:, use]
            self.buf[DIST, i:j] = d
            self.dist_end = stop

    def _fresh_posture(self, final: bool, posture: np.ndarray) -> bool:
        """After a gap the leg may rest in a posture the history has not seen (it turned over
        during the gap; offline, the "after" posture shows it). When the first ``q_look``
        samples of the segment are still and at least ``GAP_CHANGE_DEG`` from the resting
        ``posture``, their mean is taken as the posture to come, as at the end of a sustained
        movement; when they are not still, the first still stretch that far from it within
        ``SEEK_AFTER_GAP_S`` is. Returns False until those samples are known."""
        end = self.seg0 + self.q_look
        if self.filt_end < end and not final:
            return False
        self.fresh = False
        x = self.view(FILT, self.seg0, min(end, self.filt_end)).astype(np.float64)
        limit = self.limit_before(self.seg0 // self.block)
        if x.shape[1] >= 2 and math.sqrt(float(x.var(axis=1).max())) <= limit:
            mean = x.mean(axis=1)
            if math.dist(mean.tolist(), posture.tolist()) > self.fresh_g:
                self.alt_q = mean.astype(np.float32)
                self.alt_until = self.seg0 + int(round(self.base_w * self.fs))
        else:
            self.seeking_until = self.seg0 + int(round(SEEK_AFTER_GAP_S * self.fs))
        return True

    def _after_posture(self, a: int, stop: int, gate: bool, first_only: bool = False,
                       away_from: np.ndarray | None = None, away_g: float = 0.0
                       ) -> np.ndarray | None:
        """Per-sample "after" posture (3, n) for samples ``[a, stop)`` (inf where there is none).

        During a sustained movement (``gate``) each sample around which the leg is still, from
        ``q_back`` samples before it to ``q_look`` samples after it, takes the mean of that
        stretch as the posture to come; other samples keep the last one found, which is kept
        for ``baseline_window_s`` seconds. With ``first_only`` (after a gap) only the first such
        posture is taken, and the search ends there. With ``away_from``, only a still stretch
        further than ``away_g`` (g) from that resting posture, and from the posture a movement
        last settled in, counts (outside a sustained movement: ``BIG_CHANGE_DEG``, further than
        leg movements turn the shin).
        """
        m = stop - a
        q = np.full((3, m), np.inf, np.float32)
        if self.alt_q is not None:
            q[:, : max(min(self.alt_until - a, m), 0)] = self.alt_q[:, None]
        if gate or away_from is not None:
            B, L = self.q_back, self.q_look
            w = B + L + 1                                 # window [i - B, i + L]
            x0 = max(a - B, self.seg0)
            end = min(stop + L, self.filt_end)
            x = self.view(FILT, x0, end).astype(np.float64)
            cs = np.zeros((3, x.shape[1] + 1))
            np.cumsum(x, axis=1, out=cs[:, 1:])
            cs2 = np.zeros((3, x.shape[1] + 1))
            np.cumsum(x * x, axis=1, out=cs2[:, 1:])
            first = a - B - x0                            # window start of sample a, in x
            t = np.arange(m) + first
            full = (t >= 0) & (t + w <= x.shape[1])
            if full.any():
                tt = t[full]
                mean = (cs[:, tt + w] - cs[:, tt]) / w
                var = np.maximum((cs2[:, tt + w] - cs2[:, tt]) / w - mean * mean, 0)
                ok = np.zeros(m, bool)
                ok[full] = np.sqrt(var.max(axis=0)) <= self.limit_before(a // self.block)
                if away_from is not None:
                    # Far from the resting posture, and from the one a movement settled in.
                    known = [away_from] + ([self.alt_q] if self.alt_q is not None
                                           and a < self.alt_until else [])
                    for pk in known:
                        gone = mean - pk[:, None].astype(np.float64)
                        ok[full] &= np.sqrt(np.einsum("ij,ij->j", gone, gone)) > away_g
                if first_only and ok.any():
                    ok[int(np.flatnonzero(ok)[0]) + 1:] = False
                    self.seeking_until = -1
                if ok.any():
                    means = np.full((3, m), np.nan)
                    means[:, full] = mean
                    # forward fill: each sample takes the latest still window at or before it
                    last = np.maximum.accumulate(np.where(ok, np.arange(m), -1))
                    fill = np.flatnonzero(last >= 0)
                    q[:, fill] = means[:, last[fill]]
                    j = int(np.flatnonzero(ok)[-1])
                    self.alt_q = means[:, j].astype(np.float32)
                    self.alt_until = a + j + int(round(self.base_w * self.fs))
        return q if np.isfinite(q[0]).any() else None

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
