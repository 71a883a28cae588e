"""Placing packets that number their samples (LegAccel): by session and sample index, with the
device clock as a check. A sample index tells exactly where each sample belongs and how many were
lost."""

from __future__ import annotations

from firmware_bridge.assembler.parts import (CAUSE_OVERFLOW, CAUSE_REBOOT,
                                             REBOOT_CLOCK_MARGIN_FRACTION, REBOOT_CLOCK_MARGIN_S,
                                             Chunk, max_forward_s, Pending, span_text)
from firmware_bridge.protocols.base import FLAG_OVERFLOW

__all__ = ["IndexedPlacement"]


class IndexedPlacement:
    """Placing packets that number their samples (LegAccel): by session and sample index, with the
    (a base of :class:`Assembler`, whose state the methods use)."""

    def _index_jump(self, p: Pending) -> str | None:
        """Why ``p``'s index is further ahead than the host clock allows (None if it is not),
        measured from the furthest packet placed or waiting in the reorder buffer."""
        last = self._last
        assert last is not None
        b = p.block
        fs = float(b.fs_hz)
        ref_next, ref_host = self._s_next, last.host_s
        newest = self._newest()
        if newest is not None:
            ref_next = int(newest.block.first_index) + newest.block.n  # type: ignore[arg-type]
            ref_host = newest.host_s
        jump = int(b.first_index) - ref_next  # type: ignore[arg-type]
        if jump <= 0:
            return None
        dh = p.host_s - ref_host
        if jump / fs <= max_forward_s(dh, self._gate_rate()):
            return None
        return (f"sample index jumps {jump:,} samples ({span_text(jump / fs)}) ahead "
                f"{max(dh, 0.0):.1f} s after the last packet")

    def _place_indexed(self, p: Pending) -> list[Chunk]:
        b = p.block
        sid = int(b.session_id)  # type: ignore[arg-type]
        out: list[Chunk] = []
        if sid in self._old_sids or sid != self._sid:
            self.counters.late += 1
            return out
        j0 = int(b.first_index)  # type: ignore[arg-type]
        if j0 + b.n <= self._s_next:
            if any(lo <= j0 and j0 + b.n <= hi for lo, hi in self._s_lost):
                self.counters.late += 1
            else:
                self.counters.duplicates += 1
            return out
        if j0 in self._buffer:
            self.counters.duplicates += 1
            return out
        if j0 > self._s_next and self._s_base is not None:
            if any(k > j0 for k in self._buffer):
                self.counters.reordered += 1
            self._buffer[j0] = p
            return out
        if self._buffer:
            self.counters.reordered += 1
        out += self._emit_indexed(p)
        out += self._drain()
        return out

    def _emit_indexed(self, p: Pending) -> list[Chunk]:
        b = p.block
        fs = float(b.fs_hz)
        j0 = int(b.first_index)  # type: ignore[arg-type]
        counts = b.counts
        dev_first = float(b.device_time_s)
        if self._index_disagrees_with_clock(j0, dev_first, int(b.n), fs):
            self._implausible(p, f"sample index {j0:,} disagrees with its device time, which "
                              "follows on from the last packet")
            return []
        if j0 < self._s_next:  # overlaps what is recorded: keep the new part
            trim = self._s_next - j0
            if trim >= b.n:
                self.counters.duplicates += 1
                return []
            counts = counts[trim:]
            j0 += trim
            dev_first += trim / fs
        gap = None
        if self._s_base is None:  # first samples of this session
            self.session += 1
            self.counters.sessions += 1
            self._s_scale = (float(b.scale_g), float(b.range_g))
            if self._last is None:
                self._dev_origin = dev_first
                self._s_base = -j0
            else:
                n_gap, exact, reboot = self._session_gap(dev_first, p, counts.shape[0], fs)
                if n_gap > 0:
                    extra = [CAUSE_REBOOT] if reboot else []
                    if b.flags & FLAG_OVERFLOW:
                        extra.append(CAUSE_OVERFLOW)
                    cause = self._cause(self._last.arrival, p.arrival, tuple(extra))
                    gap = self._gap(self.night_next, n_gap, cause, exact, p.host_s)
                self._s_base = self.night_next + n_gap - j0
        elif j0 > self._s_next:
            extra = (CAUSE_OVERFLOW,) if b.flags & FLAG_OVERFLOW else ()
            cause = self._cause(self._last.arrival, p.arrival, extra)  # type: ignore[union-attr]
            gap = self._gap(self._s_base + self._s_next, j0 - self._s_next, cause, True,
                            p.host_s)
            self._s_lost.append((self._s_next, j0))
        start = self._s_base + j0
        self._s_next = j0 + int(counts.shape[0])
        return [self._chunk(start, counts, b, gap, p, float(b.device_time_end_s))]

    def _index_disagrees_with_clock(self, j0: int, dev_first: float, n: int, fs: float) -> bool:
        """LegAccel: a packet whose device time follows on from the last recorded sample (within
        half a sample) while its index claims a few samples of overlap or gap (less than a
        packet): the index is damaged. Placing it would shift its samples (a retransmitted
        overlap or a real loss agrees with the clock)."""
        if self._s_base is None or self._last is None or j0 == self._s_next:
            return False
        by_clock = (dev_first - self._last.dev_end_s) * fs     # samples after the last one
        by_index = j0 - self._s_next + 1
        return abs(by_clock - 1.0) <= 0.5 and 1 <= abs(by_index - 1) <= n

    def _session_gap(self, dev_first: float, p: Pending, n: int, fs: float
                     ) -> tuple[int, bool, bool]:
        """Samples missed between the last recorded sample and a new session's first sample:
        exact from the device clock, or estimated from host times if the clock restarted (or
        claims more time than the host saw pass)."""
        last = self._last
        assert last is not None
        expected = last.dev_end_s + 1.0 / fs
        diff = dev_first - expected
        ratio = self._device_per_host(fs)
        host_gap_dev_s = max(p.host_s - last.host_s, 0.0) * ratio  # device s between arrivals
        dev_gap_s = dev_first + (n - 1) / fs - last.dev_end_s
        margin = max(REBOOT_CLOCK_MARGIN_S * ratio, REBOOT_CLOCK_MARGIN_FRACTION * host_gap_dev_s)
        # A clock that restarted either went backwards or (booted just before the last session)
        # shows much less time than the host saw pass.
        restarted = diff * fs < -0.5 or dev_gap_s < host_gap_dev_s - margin
        ahead = dev_gap_s > max_forward_s(p.host_s - last.host_s, ratio) + margin
        forced, self._force_estimate = self._force_estimate, False
        if not (restarted or ahead or forced):
            return int(round(diff * fs)), True, False
        est = host_gap_dev_s * fs - n
        return max(1, int(round(est))), False, restarted
