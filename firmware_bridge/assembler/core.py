"""From BLE notifications to samples on one grid per night, with every lost sample accounted for.

An :class:`Assembler` is fed the raw log's records in log order (data notifications, link events)
and emits :class:`Chunk` objects: decoded samples placed on the night's sample grid (sample 0 =
the first sample recorded), each with the :class:`Gap` before it, if any. Every decision depends
only on what is in the log (payloads and the host times recorded with them), so replaying a log
reproduces exactly what the live recorder emitted.

Placement rules
---------------
LegAccel (numbered samples):

- Within a session, a packet's position is its ``first_index``: loss counts are exact.
  A packet already recorded is a duplicate (dropped, counted). A packet that arrives before an
  earlier one waits in a small reorder buffer, released in index order once the missing packet
  arrives, or once the buffer holds more than :data:`REORDER_MAX_PACKETS` packets or its oldest
  packet is more than :data:`REORDER_MAX_AGE_S` older (host time) than the newest record; a
  swapped pair is then recorded with no gap.
- A new session after a START in the same device boot: the device clock keeps counting, so the
  samples missed are ``round((device time of the new first sample - device time of the sample
  that would have followed the last one) * fs)``, exact.
- A new session whose device clock went backwards, or shows much less time passed than the
  host saw (:data:`REBOOT_CLOCK_MARGIN_S`), restarted its clock (the device rebooted): the gap
  is estimated from the host arrival times, scaled by the measured ratio of device seconds per
  host second (a replay at speed 60 runs 60 device seconds per host second), snapped to a whole
  number of samples (at least 1); ``exact=False``, cause ``"device reboot"``.

Polar PMD (timestamped frames, no sample numbers):

- The samples between the last sample of the previous frame and the last sample of this frame
  are ``round(dt * fs_est)``, with ``fs_est`` the device's measured rate (Polar sensors run
  off-nominal, e.g. 52.3 Hz for "52 Hz"), estimated from contiguous frames, nominal until then.
  The gap is exact when that count is integral within :data:`POLAR_EXACT_TOL_SAMPLES` and the
  rate has been measured. A frame with the same or an older last-sample time is a duplicate,
  except as the first frame of a restarted stream (the clock was reset: estimated as above).

Plausibility (one corrupt packet costs at most its own samples)
-----------------------------------------------------------------
A packet that decodes can still carry one wrong field (a bit flip the link layer missed, a
firmware bug, a Polar clock that was reset). Before a packet may move the stream's base it must
be plausible against the stream so far:

- LegAccel, same session: its ``device_time_us`` must agree with its ``first_index`` (PROTOCOL.md
  section 6.3: sample k is at the first packet's time + k / fs) within
  :data:`DEVICE_TIME_TOL_SAMPLES` samples plus :data:`DEVICE_TIME_TOL_FRACTION` of the distance,
  and a forward jump of its index must fit in the host time since the last packet
  (:func:`max_forward_s`: elapsed host time x measured device/host rate, plus
  :data:`PLAUSIBLE_SLACK_S` of latency);
- LegAccel, another session id; the night's first packets: always a change of base;
- Polar: the timestamp may move forward at most :func:`max_forward_s`, and back at most
  :data:`POLAR_BACK_S` (reordered or repeated frames; further back is a clock reset).

A packet that fails is held on probation in a chain of mutually consistent packets. A chain that
reaches :data:`CONFIRM_PACKETS` packets is real (a new session, a reboot, a clock reset, the
night's start) and is placed; if its jump is larger than the host clock allows, its gap is
estimated from host times (``exact=False``) instead of trusting the device's count. A chain that
the ongoing stream outvotes (:data:`CONFIRM_PACKETS` accepted packets after its last one) or that
ages past :data:`PROBATION_MAX_AGE_S` is rejected: its packets are bad packets (counted, their
reason kept in :attr:`Assembler.bad_packet_errors`; they stay in the raw log). At the end of the
night a chain of two packets, or one that follows a link event, is placed. Samples further than
:data:`MAX_ABS_G` from zero, a LegAccel ``scale_g`` outside :data:`SCALE_RANGE` of its range, or a
scale or range that changes inside a session, make a bad packet too.

The cause of a gap comes from the link events logged between the arrival of the last sample
before it and the arrival of the data after it, in this order of precedence: device reboot >
stall (watchdog) > disconnect > device buffer overflow (``FLAG_OVERFLOW`` on the packet after the
gap) > packet loss.

Clock
-----
:class:`ClockFit` maps device seconds to host unix seconds. A notification arrives after its last
sample was taken (latency >= 0), so the fit follows the lower envelope of ``host - device``: the
minimum per window, then a straight line through those minima. Final timestamps are the uniform
grid ``t0_unix_s + index / fs_hz`` (:func:`grid_times`) with ``fs_hz`` the device rate corrected
for the measured drift, unless the device/host rate ratio is off by more than
:data:`REPLAY_PPM` (a replay, not a drift: flagged and not corrected).
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from firmware_bridge.assembler.clock import ClockFit, TimeBase
from firmware_bridge.assembler.indexed import IndexedPlacement
from firmware_bridge.assembler.parts import (CAUSE_PACKET_LOSS, CAUSE_PRECEDENCE, CLOSE_EVENTS,
                                             EVENT_CAUSES, MAX_BAD_PACKET_ERRORS, REORDER_MAX_AGE_S,
                                             REORDER_MAX_PACKETS, SCALE_RANGE, battery_percent,
                                             Chain, Chunk, Counters, Gap, Last, Pending)
from firmware_bridge.assembler.persist import Persistence
from firmware_bridge.assembler.probation import Probation
from firmware_bridge.assembler.timed import TimedPlacement
from firmware_bridge.protocols.base import SampleBlock
from firmware_bridge.protocols.constants import MAX_ABS_G
from firmware_bridge.protocols.sensors import protocol_named

__all__ = ["Assembler"]


"""The reorder buffer is released (lowest index first) when it holds more packets than this."""
"""... or when its oldest packet arrived more than this many host seconds before the newest
record."""
"""A new LegAccel session whose device clock shows less time passed since the last sample than
the host saw (by more than this many seconds, at the measured device/host rate, ...)"""
"""... and more than this fraction of the host's time) restarted its clock: a reboot."""
"""A Polar gap is exact when ``dt * fs_est`` is within this many samples of an integer."""
"""A device/host clock rate ratio further than this from 1 (in ppm) is a replay, not a drift
(crystal oscillators are specified to +-20-50 ppm)."""
"""... and only if the two clocks disagree by more than this over the fit (s): shorter spans
cannot tell a replay from arrival jitter."""
"""How many of the latest bad packets are kept (number, length, message)."""
"""Consistent packets needed before a change of base (new session, jump, reset) is believed."""
"""Host seconds of latency jitter allowed on top of the elapsed host time (x the rate)."""
"""The device clock may run this fraction faster than measured before a jump is implausible."""
"""LegAccel: device time and sample index may disagree by this many samples ..."""
"""... plus this fraction of the distance between the two packets compared (timer drift)."""
"""A Polar frame at most this many device seconds older than the last placed one is a repeat
or a late frame (dropped, counted); older still, it claims a clock reset (probation)."""
"""A probation chain that has not grown for this many host seconds is rejected."""
"""LegAccel ``range_g / scale_g`` (full-scale counts) must lie in this range: 8-bit to
18-bit sensors (a 16-bit sensor has 32768)."""


# --- clock ----------------------------------------------------------------------------------------


# --- the assembler --------------------------------------------------------------------------------


class Assembler(Persistence, Probation, TimedPlacement, IndexedPlacement):
    """Turn a night's notifications and link events into samples on one grid, with exact gaps.

    Parameters
    ----------
    protocol : {"legaccel", "polar"}
    label : str
        Sensor label, used in messages.
    decoder : callable, optional
        ``bytes -> SampleBlock``; default the protocol's decoder
        (:meth:`firmware_bridge.protocols.sensors.Protocol.decoder`; for a protocol whose
        packets do not describe themselves, as Polar's, built from each ``stream_started`` event's
        ``fs_hz``, ``range_g``, ``factor``).

    Notes
    -----
    Feed every record of the log, in log order: :meth:`data` for data notifications,
    :meth:`event` for events (a dict with an ``"event"`` key), :meth:`control` for control
    replies; then :meth:`finish`. Each returns the chunks that became final.
    """

    def __init__(self, protocol: str = "legaccel", label: str = "sensor", *,
                 decoder: Callable[[bytes], SampleBlock] | None = None) -> None:
        self.proto = protocol_named(protocol)
        self.protocol = self.proto.name
        self.label = label
        self._fixed_decoder = decoder
        self._decoder = decoder or (self.proto.decoder() if self.proto.self_describing else None)
        self._stream: dict[str, Any] | None = None
        self.counters = Counters()
        self.gaps: list[Gap] = []
        self.bad_packet_errors: deque[dict[str, Any]] = deque(maxlen=MAX_BAD_PACKET_ERRORS)
        self.battery_pct: int | None = None
        self.fs_nominal_hz: float | None = None
        self.first_host_s: float | None = None   # first record of any kind
        self.last_host_s: float | None = None    # latest record of any kind (log order)
        self.first_data_host_s: float | None = None
        self.last_data_host_s: float | None = None
        self.session = -1                        # session number of the latest emitted chunk
        self.night_next = 0                      # one past the last emitted night index
        self._arrival = 0                        # data records seen
        self._causes: list[tuple[int, str]] = []  # (after data record #, cause)
        self._last: Last | None = None          # the last emitted block
        self._dev_origin: float | None = None    # device time of night sample 0
        self._clock_k: list[int] = []            # night index of the last sample of each block
        self._clock_h: list[float] = []          # its arrival host time
        self._fit_cache: tuple[tuple[int, float], TimeBase | None] | None = None
        # LegAccel session state
        self._sid: int | None = None
        self._s_base: int | None = None          # night index of session index 0
        self._s_next = 0                         # next session index expected
        self._s_lost: list[tuple[int, int]] = []  # session index ranges declared lost
        self._old_sids: set[int] = set()
        self._buffer: dict[float, Pending] = {}  # reorder buffer: first_index / last sample time
        self._s_scale: tuple[float, float] | None = None  # (scale_g, range_g) of the session
        self._chains: list[Chain] = []          # packets on probation
        self._backed = True                      # a link event since the last placed packet
        self._force_estimate = False             # the next base change: gap from host times
        self._gate_cache: tuple[int, float] | None = None
        # Polar state
        self._p_last_t: float | None = None      # device time of the last sample placed
        self._p_new_stream = False
        self._p_fs_n = 0                         # samples in contiguous frame pairs
        self._p_fs_dt = 0.0                      # their device time span, s

    # -- feeding ---------------------------------------------------------------------------------
    def _see(self, host_s: float) -> None:
        if self.first_host_s is None:
            self.first_host_s = host_s
        self.last_host_s = host_s

    def event(self, host_s: float, obj: Mapping[str, Any]) -> list[Chunk]:
        """Take a link event (``{"event": name, ...}``); return chunks released by it."""
        self._see(host_s)
        name = str(obj.get("event", ""))
        cause = EVENT_CAUSES.get(name)
        if cause is not None:
            self._causes.append((self._arrival, cause))
        if name in ("connected", "stream_started", "reboot", "device_reboot"):
            self._backed = True
        if name == "connected":
            self.counters.connects += 1
            if self.counters.connects > 1:
                self.counters.reconnects += 1
        elif name == "battery":
            pct = battery_percent(obj)
            if pct is not None:
                self.battery_pct = pct
        elif name == "stream_started":
            self._stream_started(obj)
        if name in CLOSE_EVENTS:
            return self._end_of_stream()
        return self._release_due()

    def control(self, host_s: float, payload: bytes) -> list[Chunk]:
        """Take a control point reply (only its time matters here)."""
        self._see(host_s)
        return self._release_due()

    def data(self, host_s: float, payload: bytes) -> list[Chunk]:
        """Take one data notification; return the chunks that became final."""
        self._see(host_s)
        self._arrival += 1
        self.counters.records += 1
        if self.first_data_host_s is None:
            self.first_data_host_s = host_s
        self.last_data_host_s = host_s
        block = self._decode(host_s, payload)
        out: list[Chunk] = []
        if block is not None:
            try:
                out = self._place(Pending(block, host_s, self._arrival, bytes(payload)))
            except (ArithmeticError, ValueError, IndexError, TypeError, KeyError) as exc:
                # Never expected; if it happens, it costs this packet only, and the live
                # recorder and `recover` (which replays the same log) agree on it.
                self.counters.packets -= 1
                self._bad(len(payload), f"could not be placed ({type(exc).__name__}: {exc})")
        out += self._release_due()
        return out

    def finish(self) -> list[Chunk]:
        """Release everything still buffered (end of the night)."""
        return self._end_of_stream()

    # -- decoding ----------------------------------------------------------------------------------
    def _stream_started(self, obj: Mapping[str, Any]) -> None:
        if self.proto.self_describing:
            return
        stream = {k: v for k, v in obj.items() if k not in ("event", "protocol")}
        self._stream = stream
        if self._fixed_decoder is None:
            try:
                self._decoder = self.proto.decoder(stream)
            except ValueError as exc:
                self._decoder = None
                self._bad(0, f"stream_started: {exc}")
        if self._p_last_t is not None:
            self._p_new_stream = True

    def _bad(self, nbytes: int, message: str, arrival: int | None = None) -> None:
        self.counters.bad_packets += 1
        self.bad_packet_errors.append({"packet": self._arrival if arrival is None else arrival,
                                       "bytes": nbytes, "error": message})

    def _decode(self, host_s: float, payload: bytes) -> SampleBlock | None:
        if self._decoder is None:
            self._bad(len(payload), "no stream_started event before this frame: sample rate "
                      "unknown")
            return None
        try:
            block = self._decoder(payload)
        except (ValueError, IndexError, TypeError) as exc:  # PacketError is a ValueError
            self._bad(len(payload), str(exc))
            return None
        if block.n == 0:
            self._bad(len(payload), "no samples")
            return None
        if self.fs_nominal_hz is None:
            self.fs_nominal_hz = float(block.fs_hz)
        elif abs(block.fs_hz - self.fs_nominal_hz) > 1e-9:
            self._bad(len(payload), f"sample rate changed from {self.fs_nominal_hz:g} to "
                      f"{block.fs_hz:g} Hz; a recording holds one rate (record into another "
                      "folder)")
            return None
        if self.proto.indexed and (block.first_index is None or block.session_id is None):
            self._bad(len(payload), "LegAccel packet without session_id or first_index")
            return None
        why = self._implausible_values(block)
        if why:
            self.counters.implausible += 1
            self._bad(len(payload), why)
            return None
        self.counters.packets += 1
        return block

    def _implausible_values(self, block: SampleBlock) -> str | None:
        """Why the block's scale or samples cannot be real (None when they can)."""
        scale, rng = float(block.scale_g), float(block.range_g)
        if self.proto.indexed and rng > 0:
            full = rng / scale if scale > 0 else math.inf
            if not SCALE_RANGE[0] <= full <= SCALE_RANGE[1]:
                return (f"scale_g {scale:.6g} g per count with range +-{rng:g} g: implies "
                        f"{full:.3g} full-scale counts, expected {SCALE_RANGE[0]:.0f} to "
                        f"{SCALE_RANGE[1]:.0f} (8- to 18-bit sensors)")
        peak = float(np.abs(block.counts).max()) * scale if block.n else 0.0
        if not peak <= MAX_ABS_G:
            return (f"a sample of {peak:.3g} g: beyond what a +-16 g accelerometer can measure "
                    f"(limit {MAX_ABS_G:g} g)")
        return None

    # -- causes ------------------------------------------------------------------------------------
    def _cause(self, a: int, b: int, extra: tuple[str, ...] = ()) -> str:
        lo, hi = min(a, b), max(a, b)
        seen = set(extra)
        seen.update(c for after, c in self._causes if lo <= after < hi)
        return next((c for c in CAUSE_PRECEDENCE if c in seen), CAUSE_PACKET_LOSS)

    def _prune_causes(self) -> None:
        if len(self._causes) < 32 or self._last is None:
            return
        keep = min([self._last.arrival] + [p.arrival for p in self._buffer.values()]
                   + [c.packets[0].arrival for c in self._chains])
        self._causes = [(a, c) for a, c in self._causes if a >= keep]

    # -- emission ----------------------------------------------------------------------------------
    def _gap(self, start: int, n: int, cause: str, exact: bool, host_s: float) -> Gap:
        gap = Gap(int(start), int(n), cause, bool(exact), float(host_s))
        self.gaps.append(gap)
        self.counters.gaps += 1
        self.counters.lost_samples += gap.n_samples
        if not exact:
            self.counters.estimated_gaps += 1
        return gap

    def _chunk(self, start: int, counts: np.ndarray, block: SampleBlock, gap: Gap | None,
               p: Pending, dev_end_s: float) -> Chunk:
        n = counts.shape[0]
        scale = float(block.scale_g)
        acc = (counts * scale).astype(np.float32)  # as SampleBlock.acc_g: float64, then float32
        start = int(start)
        end = start + n
        chunk = Chunk(start, counts, scale, acc, gap, self.session, p.host_s)
        self.night_next = end
        self.counters.samples += n
        self._clock_k.append(end - 1)
        self._clock_h.append(p.host_s)
        self._last = Last(p.arrival, p.host_s, dev_end_s)
        if len(self._causes) >= 32:
            self._prune_causes()
        return chunk

    def _device_per_host(self, fs_device_hz: float) -> float:
        """Measured device seconds per host second so far (1.0 when it cannot be measured)."""
        tb = self._timebase(fs_device_hz)
        if tb is None or not (tb.clock.replay or tb.clock.drift_corrected):
            return 1.0
        return tb.clock.rate_ratio

    def _gate_rate(self) -> float:
        """Device seconds per host second for the plausibility gate: a fit of the latest (at most
        4096) placed packets, refreshed at 8, 16, ..., 512 packets and then every 256, so that
        it costs little and depends only on the log (1.0 until measured)."""
        n = len(self._clock_k)
        if n < 8:
            return 1.0
        key = (1 << (n.bit_length() - 1)) if n < 512 else n - n % 256
        if self._gate_cache is not None and self._gate_cache[0] == key:
            return self._gate_cache[1]
        rate = 1.0
        fs_dev = self.fs_device_hz
        if fs_dev and self._dev_origin is not None:
            lo = max(0, key - 4096)
            k = np.asarray(self._clock_k[lo:key], dtype=np.float64)
            clock = ClockFit.fit(self._dev_origin + k / fs_dev,
                                 np.asarray(self._clock_h[lo:key], dtype=np.float64))
            if clock is not None and (clock.replay or clock.drift_corrected):
                r = clock.rate_ratio
                rate = min(max(r, 1e-3), 1e4) if math.isfinite(r) else 1.0
        self._gate_cache = (key, rate)
        return rate

    def _emitter(self) -> Callable[[Pending], list[Chunk]]:
        return self._emit_indexed if self.proto.indexed else self._emit_timed

    # -- the plausibility gate ---------------------------------------------------------------------
    def _place(self, p: Pending) -> list[Chunk]:
        """Place a decoded packet if it is plausible; otherwise put it on probation."""
        why = self._judge(p)
        if why is None:
            out = self._place_indexed(p) if self.proto.indexed else self._place_timed(p)
            self._backed = False
            self._outvote()
            return out
        return self._hold(p, why)


    def _end_of_stream(self) -> list[Chunk]:
        """End of the night (or of the recorder's run): release the buffer, then place the
        chain on probation that has the most support (two packets, or one after a link event);
        reject the others."""
        out = self._release_all()
        self._expire_chains()
        ok = [c for c in self._chains if len(c.packets) >= 2 or c.backed]
        best = max(ok, key=lambda c: len(c.packets), default=None)
        if best is not None:
            out += self._adopt(best)
        for chain in self._chains:
            self._reject(chain, "the recording ended")
        self._chains = []
        return out

    # -- LegAccel ----------------------------------------------------------------------------------

    def _drain(self) -> list[Chunk]:
        out: list[Chunk] = []
        emit = self._emitter()
        while self._buffer:
            k = min(self._buffer)
            p = self._buffer[k]
            if self.proto.indexed:
                if k > self._s_next:
                    break
                self._buffer.pop(k)
                if k + p.block.n <= self._s_next:
                    self.counters.duplicates += 1
                    continue
            else:
                m = self._timed_steps(p)
                if m >= 1 and m != p.block.n:
                    break
                self._buffer.pop(k)
                if m < 1:
                    self.counters.duplicates += 1
                    continue
            out += emit(p)
        return out

    def _release_due(self) -> list[Chunk]:
        out: list[Chunk] = []
        emit = self._emitter()
        while self._buffer and (
                len(self._buffer) > REORDER_MAX_PACKETS
                or self.last_host_s - min(p.host_s for p in self._buffer.values())
                > REORDER_MAX_AGE_S):
            out += emit(self._buffer.pop(min(self._buffer)))
            out += self._drain()
        self._expire_chains()
        return out

    def _release_all(self) -> list[Chunk]:
        out: list[Chunk] = []
        emit = self._emitter()
        while self._buffer:
            out += emit(self._buffer.pop(min(self._buffer)))
            out += self._drain()
        return out


    # -- Polar -------------------------------------------------------------------------------------


    # -- clock -------------------------------------------------------------------------------------
    def _timebase(self, fs_device_hz: float | None) -> TimeBase | None:
        if not self._clock_k or fs_device_hz is None or self._dev_origin is None:
            return None
        key = (len(self._clock_k), float(fs_device_hz))
        if self._fit_cache is not None and self._fit_cache[0] == key:
            return self._fit_cache[1]
        k = np.asarray(self._clock_k, dtype=np.float64)
        dev = self._dev_origin + k / fs_device_hz
        clock = ClockFit.fit(dev, np.asarray(self._clock_h, dtype=np.float64))
        tb = None
        if clock is not None:
            t0 = float(clock.to_host(self._dev_origin))
            fs = fs_device_hz * clock.rate_ratio if clock.drift_corrected else fs_device_hz
            tb = TimeBase(t0, float(fs), float(self.fs_nominal_hz or fs_device_hz),
                          float(fs_device_hz), clock)
        self._fit_cache = (key, tb)
        return tb

    def timebase(self) -> TimeBase | None:
        """The night's time grid from everything so far (None before the first sample)."""
        return self._timebase(self.fs_device_hz)

    @property
    def clock_points(self) -> tuple[list[int], list[float]]:
        """(night index of each recorded block's last sample, its arrival host time)."""
        return self._clock_k, self._clock_h

    # -- state -------------------------------------------------------------------------------------
    _SCALARS = ("_stream", "battery_pct", "fs_nominal_hz", "first_host_s", "last_host_s",
                "first_data_host_s", "last_data_host_s", "session", "night_next", "_arrival",
                "_dev_origin", "_sid", "_s_base", "_s_next", "_p_last_t", "_p_new_stream",
                "_p_fs_n", "_p_fs_dt", "_backed", "_force_estimate")


    def summary(self) -> dict[str, Any]:
        """Counters, rate and clock as a JSON-safe dict (for metadata and status lines)."""
        tb = self.timebase()
        out: dict[str, Any] = {"protocol": self.protocol, **self.counters.as_dict(),
                               "fs_nominal_hz": self.fs_nominal_hz,
                               "fs_device_hz": self.fs_device_hz,
                               "battery_pct": self.battery_pct,
                               "bad_packet_errors": list(self.bad_packet_errors)}
        if tb is not None:
            out.update({"fs_hz": tb.fs_hz, "t0_unix_s": tb.t0_unix_s,
                        "clock": tb.clock.as_dict()})
        return json.loads(json.dumps(out, default=float))
