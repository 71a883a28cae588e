"""Placing packets that carry only timestamps (Polar): by the device clock and the measured sample
rate. A gap is as exact as the timestamps allow (to within POLAR_EXACT_TOL_SAMPLES)."""

from __future__ import annotations

import math

from firmware_bridge.assembler.parts import (CAUSE_REBOOT, POLAR_BACK_S, POLAR_EXACT_TOL_SAMPLES,
                                             Chunk, max_forward_s, Pending, span_text)

__all__ = ["TimedPlacement"]


class TimedPlacement:
    """Placing packets that carry only timestamps (Polar): by the device clock and the measured
    sample (a base of :class:`Assembler`, whose state the methods use)."""

    def _timestamp_jump(self, p: Pending) -> str | None:
        """Why ``p``'s timestamp is implausibly far ahead of, or behind, the stream (None if
        it is not)."""
        last = self._last
        assert last is not None and self._p_last_t is not None
        t_end = float(p.block.device_time_end_s)
        if not math.isfinite(t_end):
            return "timestamp not a finite time"
        rate = self._gate_rate()
        ref_t, ref_host = self._p_last_t, last.host_s
        newest = self._newest()
        if newest is not None:
            ref_t, ref_host = float(newest.block.device_time_end_s), newest.host_s
        dt = t_end - ref_t
        dh = p.host_s - ref_host
        if dt > 0 and dt > max_forward_s(dh, rate):
            return (f"timestamp jumps {span_text(dt)} ahead {max(dh, 0.0):.1f} s after the last "
                    "frame")
        if t_end - self._p_last_t < -POLAR_BACK_S * max(rate, 1.0):
            return f"timestamp goes {span_text(t_end - self._p_last_t)} back"
        return None

    @property
    def fs_device_hz(self) -> float | None:
        """Samples per device second: nominal (LegAccel) or measured (Polar, once measured)."""
        if not self.proto.indexed and self._p_fs_dt > 0:
            return self._p_fs_n / self._p_fs_dt
        return self.fs_nominal_hz

    def _timed_steps(self, p: Pending) -> int:
        """Samples from the last placed sample to ``p``'s last sample, at the estimated rate."""
        assert self._p_last_t is not None
        fs_est = self.fs_device_hz or float(p.block.fs_hz)
        return int(round((float(p.block.device_time_end_s) - self._p_last_t) * fs_est))

    def _place_timed(self, p: Pending) -> list[Chunk]:
        """Place a plausible frame: at once when it follows the last one, else via the reorder
        buffer (keyed by its last sample's time), as LegAccel packets are by index."""
        if self._p_last_t is None:
            return self._emit_timed(p)
        if self._p_new_stream:  # nothing more of the old stream will come: release it first
            self._p_new_stream = False
            out = self._release_all()
            self._p_new_stream = True
            return out + self._emit_timed(p)
        t_end = float(p.block.device_time_end_s)
        steps = self._timed_steps(p)
        if steps < 1 or t_end in self._buffer:
            self.counters.duplicates += 1
            return []
        later = any(k > t_end for k in self._buffer)
        if steps != p.block.n:
            if later:
                self.counters.reordered += 1
            self._buffer[t_end] = p
            return []
        if later or self._buffer:
            self.counters.reordered += 1
        return self._emit_timed(p) + self._drain()

    def _emit_timed(self, p: Pending) -> list[Chunk]:
        b = p.block
        n = b.n
        t_end = float(b.device_time_end_s)
        if self._p_last_t is None:  # the night's first frame
            self.session += 1
            self.counters.sessions += 1
            self._dev_origin = float(b.device_time_s)
            self._p_last_t = t_end
            self._p_new_stream = False
            return [self._chunk(0, b.counts, b, None, p, t_end)]
        new_stream = self._p_new_stream
        dt = t_end - self._p_last_t
        fs_est = self.fs_device_hz or float(b.fs_hz)
        measured = self._p_fs_dt > 0
        m = dt * fs_est
        forced, self._force_estimate = self._force_estimate, False
        if not new_stream and round(m) < 1:
            self.counters.duplicates += 1
            return []
        if new_stream:
            self.session += 1
            self.counters.sessions += 1
            self._p_new_stream = False
        gap = None
        last = self._last
        assert last is not None
        if dt > 0 and round(m) >= 1 and not forced:
            r = int(round(m))
            n_gap = r - n
            if n_gap > 0:
                exact = measured and abs(m - r) <= POLAR_EXACT_TOL_SAMPLES
                cause = self._cause(last.arrival, p.arrival)
                gap = self._gap(self.night_next, n_gap, cause, exact, p.host_s)
            elif n_gap == 0:
                self._p_fs_n += n
                self._p_fs_dt += dt
            else:
                self.counters.overlaps += 1
            start = self.night_next + max(n_gap, 0)
        else:  # the stream restarted with its clock reset: estimate from host times
            est = (max(p.host_s - last.host_s, 0.0) * self._device_per_host(fs_est) * fs_est
                   - n)
            n_gap = max(1, int(round(est)))
            cause = self._cause(last.arrival, p.arrival, (CAUSE_REBOOT,))
            gap = self._gap(self.night_next, n_gap, cause, False, p.host_s)
            start = self.night_next + n_gap
        self._p_last_t = t_end
        return [self._chunk(start, b.counts, b, gap, p, t_end)]
