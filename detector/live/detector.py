"""Live detection during a recording: each movement reported within ~2 s of its end.

The recorder pushes each decoded packet of samples into a :class:`StreamingDetector`, which
reports every twitch, leg movement (LM) and sustained movement at most about 2 s (signal time)
after it ends, and every PLM series as it forms (at its ``rules.min_series``-th LM) and grows.
After the night, :meth:`StreamingDetector.events` is the event table the offline
:func:`detector.detect.recipe.find_movements` gives for the same recording, up to rare borderline
events: on 80 simulated 1-h nights (16 of each scenario of :mod:`detector.sim.night`, 6 of them
with 5 extra gaps) 99.9 % of the offline events were matched one-to-one (same kind, onsets
within 0.5 s), 99.75 % of the live ones, and every PLM series had the same LMs;
``tests/detector_tests/live/test_stream.py`` enforces a bound on ten of them.
The misses: getting up with a pause standing close to ``envelope.bout_merge_gap_s`` (one
sustained movement offline, two live, or the reverse), and an edge moving by just over 0.5 s
where the envelope hovers at the off threshold.

How it stays close to the offline analysis: the signal front-end (:mod:`detector.live.front`)
computes the band-passed signal, envelope and thresholds causally with a bounded look-ahead, and
the settled window runs the recipe's steps 3b-5 (:mod:`detector.detect.recipe`) with the same
functions, in the same order: :func:`~detector.detect.thresholds.hysteresis`,
:func:`~detector.detect.thresholds.refine_edges`, :func:`~detector.detect.events.merge_bursts`,
:func:`~detector.detect.events.merge_bouts`, :func:`~detector.detect.events.event_features` and
:func:`~detector.detect.classify.kinds_from_features`. Between the steps it decides which
movements nothing later can change (the rest waits in the window).

When a movement is reported: once ``envelope.merge_gap_s`` of samples follow it with no burst
in them. Later data can still change it in two ways, and it is then reported again with
``revised=True`` (the movements it absorbed leave :meth:`~StreamingDetector.events`):

* the offline bout merge: bursts up to ``envelope.bout_merge_gap_s`` after a sustained movement,
  or a twitch or LM up to that long before one, join it;
* a burst whose onset reaches back into the merge gap through a stretch of restless samples
  above the noise (the offline edge refinement walks back up to ``envelope.max_edge_shift_s``).

A small movement (peak below ``classify.vibration_max_g``) must stand out from the 3 s around
it; when the samples after it known so far cannot decide that, it waits up to
``CONTEXT_WAIT_S`` and is then decided on them; the event table follows the full surroundings.

Gaps: samples pushed beyond the next expected index leave a gap; each gap-free segment is analysed
on its own and segments shorter than 2 s are ignored, as offline. Movements that end at a gap are
reported when the gap becomes known (the next packet) and those in the first 2 s of a segment when
the segment reaches 2 s.

Speed: while nothing is pending and no sample strays far enough from the resting posture to
reach the on threshold, packets are gathered and processed in batches (``IDLE_BATCH_S``); this
changes when work is done, never the results.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from detector.config import Config, RulesConfig
from detector.detect.classify import kinds_from_features
from detector.detect.envelope import PostureTrack
from detector.detect.events import (MIN_SEGMENT_S, POSTURE_PROBE_S, ROTATION_SMOOTH_S,
                                    event_features, merge_bouts, merge_bursts)
from detector.detect.thresholds import hysteresis, refine_edges
from detector.io.recording import InputError, mask_runs
from detector.live.events import EVENT_TABLE_COLUMNS, LiveEvent
from detector.live.front import SignalFront
from detector.live.plm import LivePlm
from detector.live.posture import ENV, FILT, LEVEL, OFF, ON, POST
from detector.score.plm import PlmScoring, score_plm

__all__ = ["LiveEvent", "StreamingDetector", "EVENT_TABLE_COLUMNS"]

#: A small movement whose "stands out from its surroundings" test (classify_events) cannot be
#: decided before all of its surroundings are known is decided on those known this long (s)
#: after its end, to keep the report timely; the event table follows the full surroundings.
CONTEXT_WAIT_S = 1.0
#: Quiet packets wait until this much signal (s) has gathered before it is processed.
IDLE_BATCH_S = 10.0
#: ... judged on the largest deviation from the posture over this many seconds before them,
IDLE_MEMORY_S = 0.5
#: ... which, times the filter's gain, must stay below this share of ``envelope.min_on_g``.
IDLE_MARGIN = 0.7


class StreamingDetector:
    """Detect movements and PLM series in a stream of accelerometer samples.

    Parameters
    ----------
    fs_hz : float
        Sampling rate of the night grid, Hz.
    config : Config, optional
        The same configuration as the offline analysis (default ``Config()``).
    leg : str
        Leg written in the event table (``left``, ``right`` or ``unknown``).
    t0_unix_s : float
        Unix time (s) of sample 0, for ``start_time`` and terminal lines.

    Examples
    --------
    >>> det = StreamingDetector(100.0)
    >>> for packet, index in packets:                      # doctest: +SKIP
    ...     for event in det.push(packet, index):
    ...         print(event.line(t0))
    >>> det.finish(); det.events(); det.scoring()          # doctest: +SKIP
    """

    def __init__(self, fs_hz: float, config: Config | None = None, *, leg: str = "unknown",
                 t0_unix_s: float = 0.0) -> None:
        if isinstance(fs_hz, bool) or not (isinstance(fs_hz, (int, float))
                                           and math.isfinite(fs_hz) and fs_hz > 0):
            raise InputError(f"fs_hz={fs_hz!r}: expected a positive sampling rate in Hz")
        self.fs = float(fs_hz)
        self.config = config or Config()
        self.leg = leg
        self.t0_unix_s = float(t0_unix_s)
        ev, cl = self.config.envelope, self.config.classify
        fs = self.fs
        self._front = SignalFront(fs, self.config)
        self._min_segment = int(math.ceil(MIN_SEGMENT_S * fs - 1e-9))
        self._shift = int(round(ev.max_edge_shift_s * fs))
        self._merge = int(round(ev.merge_gap_s * fs))
        self._bout = int(round(ev.bout_merge_gap_s * fs))
        self._probe = max(int(round(POSTURE_PROBE_S * fs)), 1)
        self._long = int(round(cl.lm_max_s * fs))
        self._min_dur = max(ev.min_duration_s * fs, 1)
        self._ctx = max(int(round(cl.context_s * fs)), 1)
        self._half = int(round(ROTATION_SMOOTH_S * fs)) // 2
        self._hist = self._ctx + self._half + 2
        self._ctx_wait = int(round(CONTEXT_WAIT_S * fs))
        self._next = 0               # next expected sample index
        self._seen = 0               # samples pushed (gaps excluded)
        self._w0 = 0                 # start of the detection window
        self._final: list[dict[str, Any]] = []     # settled movements
        self._pending: list[dict[str, Any]] = []   # reported, may still be revised
        self._keys = 0
        self._plm = LivePlm(self.config.rules)
        self._now_s = 0.0
        self._finished = False
        # Batching of quiet packets (see _can_wait).
        self._idle = False
        self._undecided = False
        self._loud_until = 0
        self._idle_memory = int(round(IDLE_MEMORY_S * fs))
        self._idle_batch = int(round(IDLE_BATCH_S * fs))
        self._idle_dev2 = (IDLE_MARGIN * ev.min_on_g / self._front.gain) ** 2

    # ------------------------------------------------------------------ public API
    @property
    def samples_seen(self) -> int:
        """Samples pushed so far (rows inside gaps and NaN rows not counted)."""
        return self._seen

    @property
    def next_index(self) -> int:
        """Index on the night grid that the next pushed sample is expected to have."""
        return self._next

    def push(self, acc_g: np.ndarray, start_index: int | None = None) -> list[LiveEvent]:
        """Add a packet of contiguous samples and return what it completed.

        Parameters
        ----------
        acc_g : ndarray, shape (n, 3)
            Acceleration in g (gravity included). Rows with a NaN are treated as lost samples.
        start_index : int, optional
            Index of ``acc_g[0]`` on the night grid; default: right after the previous packet.
            A larger index leaves a gap (nothing is detected across it).

        Returns
        -------
        list of LiveEvent
            Movements and PLM series reported by this packet, in order.

        Raises
        ------
        InputError
            On a wrong shape, a start index before the next expected one (samples overlap or go
            back in time), or a push after :meth:`finish`.
        """
        if self._finished:
            raise InputError("push after finish(): the stream has ended")
        x = np.asarray(acc_g, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != 3:
            raise InputError(f"acc_g: expected an (n, 3) array of x, y, z in g, got shape "
                             f"{x.shape}")
        idx0 = self._next if start_index is None else int(start_index)
        if idx0 < self._next:
            raise InputError(f"start_index {idx0}: expected >= {self._next}, the next sample "
                             "index; samples must be pushed in order without overlap")
        n = len(x)
        if n == 0:
            return []
        self._now_s = (idx0 + n - 1) / self.fs
        out: list[LiveEvent] = []
        if idx0 == self._next and self._front.open and self._can_wait(x, idx0):
            self._front.append(x)
            self._next = idx0 + n
            self._seen += n
            return out
        if np.isfinite(x).all():
            runs = [(0, n)]
        else:
            s, e = mask_runs(np.isfinite(x).all(axis=1))
            runs = list(zip(s.tolist(), e.tolist()))
        for a, b in runs:
            if idx0 + a > self._next or not self._front.open:
                out += self._close_segment(night_end=False)
                self._front.start_segment(idx0 + a)
                self._w0 = idx0 + a
            self._front.append(x[a:b])
            self._next = idx0 + b
            self._seen += b - a
        if not runs or runs[-1][1] < n:           # trailing lost rows: the segment ended
            out += self._close_segment(night_end=False)
            self._next = idx0 + n
        elif self._front.open:
            self._front.advance(self._min_segment)
            out += self._detect(final=False)
        return out

    def _can_wait(self, x: np.ndarray, idx0: int) -> bool:
        """Whether a packet can be left for later processing without delaying any report.

        Only while nothing is pending, and only when no sample in the packet or in the
        ``IDLE_MEMORY_S`` before it is far enough from the resting posture for the band-passed
        envelope to reach the on threshold (the filter cannot raise a deviation by more than
        the sum of its absolute impulse response). Quiet stretches, most of a night, are then
        processed in batches of up to ``IDLE_BATCH_S``.
        """
        fr = self._front
        n = len(x)
        if not (self._idle and fr.qualified):      # processed now: counts as not quiet
            self._loud_until = idx0 + n + self._idle_memory
            return False
        d = x - fr.posture_now
        dev2 = float(np.einsum("ij,ij->i", d, d).max())
        if not dev2 <= self._idle_dev2:          # (also a NaN row: lost samples)
            self._loud_until = idx0 + n + self._idle_memory
            return False
        return idx0 >= self._loud_until and fr.n - fr.env_end + n <= self._idle_batch

    def finish(self) -> list[LiveEvent]:
        """End of the stream: report everything still pending."""
        if self._finished:
            return []
        self._now_s = max(self._next - 1, 0) / self.fs
        out = self._close_segment(night_end=True)
        self._finished = True
        return out

    def events(self) -> pd.DataFrame:
        """All movements so far, with the columns of ``find_movements().events``.

        During the stream the last few rows may still be revised (see the module notes); after
        :meth:`finish` the table is final.
        """
        rows = self._final + self._pending
        if not rows:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
                ("start_s", float), ("end_s", float), ("start_time", object),
                ("duration_s", float), ("kind", object), ("peak_g", float),
                ("rotation_deg", float), ("leg", object), ("at_gap", bool),
                ("context_g", float), ("low_freq_share", float))})
        df = pd.DataFrame(rows)
        t0 = datetime.fromtimestamp(self.t0_unix_s, tz=timezone.utc)
        df["start_time"] = [(t0 + timedelta(seconds=float(s))).isoformat(timespec="milliseconds")
                            for s in df["start_s"]]
        df["at_gap"] = df["at_gap"].astype(bool)
        return df[EVENT_TABLE_COLUMNS].sort_values("start_s", kind="stable").reset_index(drop=True)

    def counts(self) -> dict[str, int]:
        """Movements by kind and PLM series so far, without building a table (cheap enough for
        a status line refreshed every second): ``twitch``, ``lm``, ``sustained``, ``series``."""
        out = {"twitch": 0, "lm": 0, "sustained": 0}
        for row in itertools.chain(self._final, self._pending):
            out[row["kind"]] += 1
        out["series"] = len(self._plm.announced)
        return out

    def scoring(self, rules: RulesConfig | None = None) -> PlmScoring:
        """PLM scoring (:func:`detector.score.plm.score_plm`) of :meth:`events`."""
        return score_plm(self.events(), rules or self.config.rules)

    # ------------------------------------------------------------------ segments
    def _close_segment(self, night_end: bool) -> list[LiveEvent]:
        """Finish the open segment (a gap follows, or the recording ends)."""
        fr = self._front
        if not fr.open:
            return []
        fr.advance(self._min_segment, final=True, night_end=night_end)
        return self._detect(final=True) if fr.qualified else []

    # ------------------------------------------------------------------ detection window
    def _detect(self, final: bool) -> list[LiveEvent]:
        """Run the offline detection steps on the window of unsettled samples."""
        fr = self._front
        if not fr.qualified:
            return []
        end = min(fr.env_end, fr.thr_end)
        w0 = self._w0
        if end <= w0:
            return []
        env, off = fr.view(ENV, w0, end), fr.view(OFF, w0, end)
        if not final and not self._pending and not (env > off).any():
            self._advance_window(max(w0, end - self._shift))
            self._idle = True
            return []
        self._idle = False
        on, level = fr.view(ON, w0, end), fr.view(LEVEL, w0, end)
        if final:  # the gap after the segment: ends every run, counts as quiet
            env = np.append(env, np.float32(np.nan))
            on, off, level = (np.append(a, np.float32(0)) for a in (on, off, level))
        n = len(env)
        starts, ends = hysteresis(env, on, off)
        open_at = n
        if not final and env[-1] > off[-1]:
            below = np.flatnonzero(env <= off)
            open_at = int(below[-1]) + 1 if below.size else 0
        done = ends < n
        open_burst = int(starts[-1]) if starts.size and not done[-1] else -1
        starts, ends = starts[done], ends[done]
        if starts.size == 0:
            if not self._pending:
                self._advance_window(max(w0, w0 + min(open_at, n) - self._shift))
            return []
        # Edges as refine_edges finds them if the run still open at the end of the window is
        # not a burst (or is one already): it bounds the last burst's end only if it is.
        bound = open_at if open_burst >= 0 else n
        r_s, r_e = refine_edges(env[:bound], starts, ends, level[:bound], self._shift)
        # Groups of bursts closer than merge_gap_s (no gap inside the window).
        g_s, g_e = merge_bursts(r_s, r_e, self._merge)
        if final:
            n_closed = len(g_s)
        else:
            # The earliest refined start any burst not yet known can have (refine_edges: at
            # most max_edge_shift_s back, never before the previous burst's end nor at or
            # before a quiet sample).
            lo = max(open_at - self._shift, int(ends[-1]))
            quiet = np.flatnonzero((env[lo:open_at] <= level[lo:open_at]))
            earliest = lo + int(quiet[-1]) + 1 if quiet.size else lo
            # The last burst's end is final once a quiet sample ended it or max_edge_shift_s
            # of known samples lies after it.
            end_known = r_e[-1] < open_at or ends[-1] + self._shift <= open_at
            gap = self._merge
            if end_known and earliest - g_e[-1] >= gap:
                n_closed = len(g_s)                    # nothing can merge into it any more
            elif ((r_e[-1] < n or ends[-1] + self._shift <= n) and n - g_e[-1] >= gap
                  and (open_burst < 0 or earliest - g_e[-1] >= gap)):
                # merge_gap_s of samples after it and no burst there yet: report it now; a
                # burst that still reaches back into that gap revises it (rare: only through
                # a stretch of restless samples above the noise).
                n_closed = len(g_s)
            else:
                n_closed = len(g_s) - 1
        if n_closed == 0:
            return []
        # the bout merge bridges a pause only where the leg did not rest where the shorter
        # burst started or ended (the offline rule, on the window's filtered reading)
        ev_s, ev_e = merge_bouts(g_s[:n_closed], g_e[:n_closed], self._long, self._bout,
                                 acc_g=fr.view(FILT, w0, end).T, probe=self._probe)
        # Which events are settled: nothing later can join them (bout merge) and their
        # surroundings are known.
        if final:
            n_settled = len(ev_s)
        else:
            nxt = np.append(ev_s[1:], g_s[n_closed] if n_closed < len(g_s) else earliest)
            ok = (nxt - ev_e >= self._bout) & (ev_e + self._ctx <= end - w0)
            n_settled = int(np.flatnonzero(ok)[-1]) + 1 if ok.any() else 0
        out = self._report(ev_s + w0, ev_e + w0, n_settled, final)
        # Quiet packets may wait (see _can_wait) while what is left is reported movements
        # waiting to settle: every group closed and decided, nothing above the off threshold
        # after them.
        self._idle = (not final and n_closed == len(g_s) and not self._undecided
                      and open_at == n and not (env[int(g_e[-1]):] > off[int(g_e[-1]):]).any())
        if n_settled:
            k = int(np.searchsorted(r_s, ev_e[n_settled - 1], side="left")) - 1
            self._advance_window(w0 + int(ends[k]))
        return out

    def _advance_window(self, w0: int) -> None:
        if w0 > self._w0:
            self._w0 = w0
            self._front.trim(w0 - self._hist)

    # ------------------------------------------------------------------ features and reports
    def _features(self, s: np.ndarray, e: np.ndarray, final: bool
                  ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Features and classification of events ``[s, e)`` (global indices).

        Returns the columns (``kind`` is None for mattress vibration) and whether each event
        can be decided now.
        """
        fr, cl = self._front, self.config.classify
        seg_end = fr.seg_end if final else None
        h0 = max(fr.seg0, int(s.min()) - self._hist)
        h1 = fr.n if final else fr.env_end
        filt = np.ascontiguousarray(fr.view(FILT, h0, h1).T)
        env = fr.view(ENV, h0, h1)
        post = np.ascontiguousarray(fr.view(POST, h0, h1).T)
        posture = PostureTrack(post, post, np.zeros(len(post), bool), 1)
        ls, le = s - h0, e - h0
        k = len(s)
        lo = np.full(k, fr.seg0 - h0)
        hi = np.full(k, h1 - h0)
        cols = event_features(filt, posture, env, ls, le, self.fs, cl.context_s, lo, hi)
        peak = cols["peak_g"].astype(float)
        # The surroundings after an event may not all be known yet: decide the "stands out"
        # test (classify_events) on the range the final median can still take.
        after_known = np.minimum(h1 - e, self._ctx)
        unknown = np.zeros(k, int) if final else self._ctx - after_known
        ctx = cols["context_g"].astype(float)
        decided = np.ones(k, bool)
        small = peak < cl.vibration_max_g
        for i in np.flatnonzero(small & (unknown > 0)):
            b0 = max(ls[i] - self._ctx, lo[i])
            vals = np.sort(np.concatenate([env[b0: ls[i]], env[le[i]: le[i] + after_known[i]]]))
            c_lo, c_hi = _median_bounds(vals, int(unknown[i]))
            stand_lo = peak[i] >= cl.context_factor * c_lo
            stand_hi = peak[i] >= cl.context_factor * c_hi
            decided[i] = stand_lo == stand_hi
            ctx[i] = c_hi           # when decided, any value in [c_lo, c_hi] classifies alike
            if not decided[i] and after_known[i] >= self._ctx_wait:
                # Undecided for too long: decide on the surroundings known so far; the final
                # table follows the full surroundings once they are known.
                decided[i] = True
                ctx[i] = cols["context_g"][i]
        decided &= (e + self._half <= h1) | final    # the orientation needs 0.25 s after it
        rot = cols["rotation_deg"].astype(float)
        low = cols["low_freq_share"].astype(float)
        kind, _ = kinds_from_features((e - s) / self.fs, peak, rot, ctx, low,
                                      cols["peak_offset_s"], cols["tail_ratio"], cl)
        table = {"kind": kind,
                 "peak_g": peak, "rotation_deg": rot, "low_freq_share": low,
                 "context_g": cols["context_g"].astype(float),
                 "at_gap": (s == fr.seg0) | ((e == seg_end) if seg_end is not None else False)}
        return table, decided

    def _report(self, ev_s: np.ndarray, ev_e: np.ndarray, n_settled: int, final: bool
                ) -> list[LiveEvent]:
        """Compare the window's closed events with what was reported; report the changes."""
        keep = (ev_e - ev_s) >= self._min_dur
        self._undecided = False
        known = {(p["_s"], p["_e"]): p for p in self._pending}
        todo = [i for i in range(len(ev_s))
                if keep[i] and ((int(ev_s[i]), int(ev_e[i])) not in known or i < n_settled)]
        settled_rows: list[dict[str, Any]] = []
        changed: list[tuple[dict[str, Any], bool]] = []
        removed = False
        if todo:
            sel = np.asarray(todo)
            table, decided = self._features(ev_s[sel], ev_e[sel], final)
            for j, i in enumerate(todo):
                s, e = int(ev_s[i]), int(ev_e[i])
                settled = i < n_settled
                if not (decided[j] or settled):
                    self._undecided = True
                    continue
                row = {c: v[j] for c, v in table.items()}
                old = known.get((s, e))
                if old is not None:              # settled now: final surroundings
                    old["context_g"] = float(row["context_g"])
                    if row["kind"] is None:      # mattress vibration after all
                        self._pending.remove(old)
                        removed = True
                    continue
                absorbed = [p for p in self._pending if p["_s"] < e and p["_e"] > s]
                for p in absorbed:
                    self._pending.remove(p)
                    removed = True
                if row["kind"] is None:         # mattress vibration
                    continue
                self._keys += 1
                new = {"start_s": s / self.fs, "end_s": e / self.fs,
                       "duration_s": (e - s) / self.fs, "kind": row["kind"],
                       "peak_g": float(row["peak_g"]), "rotation_deg": float(row["rotation_deg"]),
                       "leg": self.leg, "at_gap": bool(row["at_gap"]),
                       "context_g": float(row["context_g"]),
                       "low_freq_share": float(row["low_freq_share"]),
                       "key": self._keys, "_s": s, "_e": e}
                self._pending.append(new)
                changed.append((new, bool(absorbed)))
        if n_settled:
            limit = int(ev_e[n_settled - 1])
            still = []
            for p in self._pending:
                (settled_rows if p["_e"] <= limit else still).append(p)
            self._pending = still
            self._final.extend(sorted(settled_rows, key=lambda r: r["start_s"]))
        self._pending.sort(key=lambda r: r["start_s"])
        return self._live(changed, removed)

    def _live(self, changed: list[tuple[dict[str, Any], bool]], removed: bool
              ) -> list[LiveEvent]:
        """Live events for changed movements, then the PLM series they formed or changed."""
        if not changed and not removed:
            return []
        updates = []
        if removed or any(r["kind"] != "twitch" for r, _ in changed):
            rows = self._final + self._pending
            first_pending = self._pending[0]["start_s"] if self._pending else np.inf
            updates = self._plm.update(rows, first_pending)
        now = self._now_s
        out = [LiveEvent(r["kind"], r["start_s"], r["end_s"], r["duration_s"], r["peak_g"],
                         self._plm.membership.get(r["key"]), None, now, revised)
               for r, revised in sorted(changed, key=lambda c: c[0]["start_s"])]
        out += [LiveEvent("plm_series", u.start_s, u.end_s, u.end_s - u.start_s, float("nan"),
                          u.series, u.n_lm, now, u.revised) for u in updates]
        return out


def _median_bounds(vals: np.ndarray, unknown: int) -> tuple[float, float]:
    """Smallest and largest median of the sorted ``vals`` plus up to ``unknown`` more values."""
    m = len(vals)
    t = m + unknown

    def med(get: Any) -> float:
        if t == 0:
            return 0.0
        return 0.5 * (get((t - 1) // 2) + get(t // 2))

    lo = med(lambda i: vals[i - unknown] if i >= unknown else -np.inf)
    hi = med(lambda i: vals[i] if i < m else np.inf)
    return float(lo), float(hi)


