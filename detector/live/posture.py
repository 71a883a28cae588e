"""The live front-end's postures: where the leg rests, when it is still, and how far each sample
is from its resting posture (the offline ``envelope.posture_baselines`` made causal).

:class:`LivePosture` holds these steps of :class:`detector.live.front.SignalFront`; the buffer rows
and limits below are shared by both.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from detector.detect.envelope import MIN_REST_S, POSTURE_STEP_G, REST_HALF_BLOCKS

__all__ = ["LivePosture", "FRAME_S", "POSTURE_LOOKBACK_S", "POSTURE_LOOKAHEAD_S", "STILL_FACTOR",
           "STILL_MIN_G", "STILL_PRIOR_BLOCKS", "SEEK_AFTER_GAP_S", "GATE_GAP_BLOCKS",
           "BIG_CHANGE_DEG", "SETTLE_SHIFT_G", "SETTLED_S", "GAP_CHANGE_DEG", "RAW", "YF", "FILT",
           "POST", "DIST", "ENV", "ON", "OFF", "LEVEL", "N_ROWS"]

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


class LivePosture:
    """Posture steps of the live front-end (a base of :class:`~detector.live.front.SignalFront`,
    which holds the buffers they read and write)."""

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
