"""Plausibility: a packet that does not follow on from the stream (a jump of its index or clock, a
new session nobody announced) waits on probation until more packets confirm it or the ongoing
stream outvotes it; see the module docstring of :mod:`firmware_bridge.assembler.core`."""

from __future__ import annotations

import math
from collections.abc import Callable

from firmware_bridge.assembler.parts import (CONFIRM_PACKETS, PROBATION_MAX_AGE_S, Chain, Chunk,
                                             clock_offset, max_forward_s, Pending, same_packet,
                                             span_text)

__all__ = ["Probation"]


class Probation:
    """Plausibility: a packet that does not follow on from the stream (a jump of its index or clock,
    a (a base of :class:`Assembler`, whose state the methods use)."""

    def _judge(self, p: Pending) -> str | None:
        """Why ``p`` cannot simply continue the stream (None when it can)."""
        b = p.block
        fs = float(b.fs_hz)
        last = self._last
        if self.proto.indexed:
            sid = int(b.session_id)  # type: ignore[arg-type]
            if self._sid is None or last is None:
                return "first packets of the night"
            if sid in self._old_sids:
                return None  # a packet of an ended session: counted as late
            if sid != self._sid:
                return f"session id {sid} while session {self._sid} is streaming"
            if self._s_base is None:
                return None
            j0 = int(b.first_index)  # type: ignore[arg-type]
            if self._s_scale is not None and (float(b.scale_g), float(b.range_g)) != self._s_scale:
                return (f"scale {b.scale_g:.6g} g/count, +-{b.range_g:g} g inside a session "
                        f"started at {self._s_scale[0]:.6g} g/count, +-{self._s_scale[1]:g} g")
            off = clock_offset(self._s_next - 1, last.dev_end_s, j0, float(b.device_time_s), fs)
            if off is not None:
                return (f"device time {span_text(off)} {'ahead of' if off > 0 else 'behind'} what "
                        f"sample index {j0} implies")
            return self._index_jump(p)
        if self._p_last_t is None or last is None:
            return "first frames of the night"
        return self._timestamp_jump(p)

    def _newest(self) -> Pending | None:
        """The buffered packet furthest ahead (None when the buffer is empty)."""
        return self._buffer[max(self._buffer)] if self._buffer else None

    def _consistent(self, a: Pending, b: Pending) -> bool:
        """Whether two packets on probation belong to the same stream."""
        x, y = a.block, b.block
        fs = float(x.fs_hz)
        dh = abs(b.host_s - a.host_s)
        rate = self._gate_rate()
        if self.proto.indexed:
            if x.session_id != y.session_id or x.first_index == y.first_index:
                return False
            if (float(x.scale_g), float(x.range_g)) != (float(y.scale_g), float(y.range_g)):
                return False
            j_a, j_b = int(x.first_index), int(y.first_index)  # type: ignore[arg-type]
            return (clock_offset(j_a, float(x.device_time_s), j_b, float(y.device_time_s), fs)
                    is None and abs(j_b - j_a) / fs <= max_forward_s(dh, rate))
        dt = float(y.device_time_end_s) - float(x.device_time_end_s)
        return (math.isfinite(dt) and abs(dt) * fs >= 0.5
                and abs(dt) <= max_forward_s(dh, rate))

    def _hold(self, p: Pending, why: str) -> list[Chunk]:
        for chain in self._chains:
            if any(self._consistent(q, p) for q in chain.packets):
                chain.packets.append(p)
                chain.outvoted = 0
                if len(chain.packets) >= CONFIRM_PACKETS:
                    return self._adopt(chain)
                return []
            if any(same_packet(q, p) for q in chain.packets):
                self.counters.duplicates += 1
                return []
        self._chains.append(Chain(why, [p], backed=self._backed))
        return []

    def _outvote(self) -> None:
        """The ongoing stream placed another packet: chains it outvotes are rejected."""
        if not self._chains:
            return
        keep = []
        for chain in self._chains:
            chain.outvoted += 1
            if chain.outvoted >= CONFIRM_PACKETS:
                self._reject(chain, "the stream went on as before")
            else:
                keep.append(chain)
        self._chains = keep

    def _reject(self, chain: Chain, reason: str) -> None:
        for q in chain.packets:
            self._implausible(q, f"{chain.why}; not confirmed ({reason})")

    def _implausible(self, q: Pending, why: str) -> None:
        """Count a decoded packet as implausible: a bad packet, no longer a good one."""
        self.counters.implausible += 1
        self.counters.packets -= 1
        self._bad(len(q.payload), why, q.arrival)

    def _expire_chains(self) -> None:
        if not self._chains or self.last_host_s is None:
            return
        keep = []
        for chain in self._chains:
            if self.last_host_s - chain.packets[-1].host_s > PROBATION_MAX_AGE_S:
                self._reject(chain, f"no packet agreed with it within {PROBATION_MAX_AGE_S:g} s")
            else:
                keep.append(chain)
        self._chains = keep

    def _adopt(self, chain: Chain) -> list[Chunk]:
        """A confirmed chain becomes the stream: release the old stream's buffer, then place
        the chain's packets as a new base."""
        self._chains.remove(chain)
        out = self._release_all()
        last = self._last
        arrived = chain.packets                   # in arrival order
        if self.proto.indexed:
            first = min(arrived, key=lambda q: int(q.block.first_index))  # type: ignore[arg-type]
            sid = int(first.block.session_id)  # type: ignore[arg-type]
            if self._sid is not None and sid != self._sid:
                self._old_sids.add(self._sid)
            elif self._sid is not None and last is not None and self._index_jump(first):
                self._force_estimate = True  # the same session's numbers jumped: not believed
            self._sid, self._s_base, self._s_lost = sid, None, []
            self._s_next = int(first.block.first_index)  # type: ignore[arg-type]
            self._s_scale = (float(first.block.scale_g), float(first.block.range_g))
            out += self._emit_indexed(first)
            place: Callable[[Pending], list[Chunk]] = self._place_indexed
        else:
            first = min(arrived, key=lambda q: float(q.block.device_time_end_s))
            if self._p_last_t is not None and last is not None:
                self._p_new_stream = True
                dt = float(first.block.device_time_end_s) - self._p_last_t
                if dt <= 0 or self._timestamp_jump(first):
                    self._force_estimate = True
            out += self._emit_timed(first)
            place = self._place_timed
        if first is not arrived[0]:
            self.counters.reordered += 1
        for q in arrived:
            if q is not first:
                out += place(q)
        self._backed = False
        return out
