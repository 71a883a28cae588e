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

import base64
import json
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

import numpy as np

from .constants import MAX_ABS_G, PROTOCOLS
from .packets import FLAG_OVERFLOW, SampleBlock, make_decoder

__all__ = [
    "Assembler", "Chunk", "Gap", "ClockFit", "TimeBase", "Counters", "grid_times", "index_times",
    "CAUSE_PACKET_LOSS", "CAUSE_OVERFLOW", "CAUSE_DISCONNECT", "CAUSE_STALL", "CAUSE_REBOOT",
    "CAUSE_PRECEDENCE", "EVENT_CAUSES", "REORDER_MAX_PACKETS", "REORDER_MAX_AGE_S",
    "POLAR_EXACT_TOL_SAMPLES", "REPLAY_PPM", "MAX_BAD_PACKET_ERRORS", "REBOOT_CLOCK_MARGIN_S",
    "REBOOT_CLOCK_MARGIN_FRACTION", "CONFIRM_PACKETS", "PLAUSIBLE_SLACK_S",
    "PLAUSIBLE_RATE_TOL", "DEVICE_TIME_TOL_SAMPLES", "DEVICE_TIME_TOL_FRACTION", "POLAR_BACK_S",
    "PROBATION_MAX_AGE_S", "MAX_ABS_G", "SCALE_RANGE", "max_forward_s",
]

CAUSE_PACKET_LOSS = "packet loss"
CAUSE_OVERFLOW = "device buffer overflow"
CAUSE_DISCONNECT = "disconnect"
CAUSE_STALL = "stall (watchdog)"
CAUSE_REBOOT = "device reboot"
#: Gap causes, strongest first: the strongest one seen around a gap names it.
CAUSE_PRECEDENCE = (CAUSE_REBOOT, CAUSE_STALL, CAUSE_DISCONNECT, CAUSE_OVERFLOW,
                    CAUSE_PACKET_LOSS)
#: Link events (the ``"event"`` field of an EVENT record) and the gap cause each implies. A
#: ``connected`` between two data packets means the link (or the recorder) was restarted.
EVENT_CAUSES = {"disconnected": CAUSE_DISCONNECT, "connected": CAUSE_DISCONNECT,
                "watchdog": CAUSE_STALL, "reboot": CAUSE_REBOOT, "device_reboot": CAUSE_REBOOT}

REORDER_MAX_PACKETS = 8
"""The reorder buffer is released (lowest index first) when it holds more packets than this."""
REORDER_MAX_AGE_S = 1.0
"""... or when its oldest packet arrived more than this many host seconds before the newest
record."""
REBOOT_CLOCK_MARGIN_S = 2.0
"""A new LegAccel session whose device clock shows less time passed since the last sample than
the host saw (by more than this many seconds, at the measured device/host rate, ...)"""
REBOOT_CLOCK_MARGIN_FRACTION = 0.1
"""... and more than this fraction of the host's time) restarted its clock: a reboot."""
POLAR_EXACT_TOL_SAMPLES = 0.25
"""A Polar gap is exact when ``dt * fs_est`` is within this many samples of an integer."""
REPLAY_PPM = 1000.0
"""A device/host clock rate ratio further than this from 1 (in ppm) is a replay, not a drift
(crystal oscillators are specified to +-20-50 ppm)."""
REPLAY_MIN_DISAGREEMENT_S = 0.5
"""... and only if the two clocks disagree by more than this over the fit (s): shorter spans
cannot tell a replay from arrival jitter."""
MAX_BAD_PACKET_ERRORS = 10
"""How many of the latest bad packets are kept (number, length, message)."""
CONFIRM_PACKETS = 3
"""Consistent packets needed before a change of base (new session, jump, reset) is believed."""
PLAUSIBLE_SLACK_S = 2.0
"""Host seconds of latency jitter allowed on top of the elapsed host time (x the rate)."""
PLAUSIBLE_RATE_TOL = 0.01
"""The device clock may run this fraction faster than measured before a jump is implausible."""
DEVICE_TIME_TOL_SAMPLES = 2.0
"""LegAccel: device time and sample index may disagree by this many samples ..."""
DEVICE_TIME_TOL_FRACTION = 0.01
"""... plus this fraction of the distance between the two packets compared (timer drift)."""
POLAR_BACK_S = 10.0
"""A Polar frame at most this many device seconds older than the last placed one is a repeat
or a late frame (dropped, counted); older still, it claims a clock reset (probation)."""
PROBATION_MAX_AGE_S = 30.0
"""A probation chain that has not grown for this many host seconds is rejected."""
SCALE_RANGE = (2.0 ** 7, 2.0 ** 17)
"""LegAccel ``range_g / scale_g`` (full-scale counts) must lie in this range: 8-bit to
18-bit sensors (a 16-bit sensor has 32768)."""
_CLOSE_EVENTS = ("closed",)


@dataclass(frozen=True)
class Gap:
    """Samples missing from the night's grid.

    Attributes
    ----------
    start_index : int
        Night-grid index of the first missing sample.
    n_samples : int
        Number of missing samples (> 0).
    cause : str
        One of :data:`CAUSE_PRECEDENCE`.
    exact : bool
        True when the count is exact (sample numbers or the device clock), False when estimated
        from host arrival times (device reboot).
    host_s : float
        Host unix time (s) at which the data after the gap arrived.
    """

    start_index: int
    n_samples: int
    cause: str
    exact: bool
    host_s: float

    @property
    def end_index(self) -> int:
        """Index just after the gap (the first sample recorded again)."""
        return self.start_index + self.n_samples


@dataclass(frozen=True, eq=False)
class Chunk:
    """Decoded samples at consecutive night-grid indices.

    Attributes
    ----------
    start_index : int
        Night-grid index of the first sample (sample 0 = first sample of the night).
    counts : ndarray, shape (n, 3), int32
        Raw counts as sent.
    scale_g : float
        g per count.
    acc_g : ndarray, shape (n, 3), float32
        Acceleration in g (``counts * scale_g``).
    gap_before : Gap or None
        The samples missing just before this chunk.
    session : int
        Stream session number in the night (0 = first; a new one after every restart).
    host_s : float
        Host unix time (s) at which the notification arrived.
    """

    start_index: int
    counts: np.ndarray
    scale_g: float
    acc_g: np.ndarray
    gap_before: Gap | None
    session: int = 0
    host_s: float = float("nan")

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.counts.shape[0])

    @property
    def end_index(self) -> int:
        """Index just after the last sample."""
        return self.start_index + self.n


@dataclass
class Counters:
    """What the assembler saw and did (counts of notifications, packets and samples)."""

    records: int = 0          #: data notifications received
    packets: int = 0          #: decoded data packets
    samples: int = 0          #: samples placed on the grid
    lost_samples: int = 0     #: samples inside gaps
    gaps: int = 0             #: number of gaps
    estimated_gaps: int = 0   #: gaps whose length is an estimate (device reboot)
    duplicates: int = 0       #: packets already recorded, dropped
    reordered: int = 0        #: packets that arrived after a later one (recorded in order)
    late: int = 0             #: packets that arrived after their place was declared lost
    overlaps: int = 0         #: Polar frames whose timestamps overlap the previous frame
    bad_packets: int = 0      #: notifications that could not be decoded or were implausible
    implausible: int = 0      #: decoded packets rejected as implausible (also in bad_packets)
    sessions: int = 0         #: stream sessions with data
    connects: int = 0         #: ``connected`` events
    reconnects: int = 0       #: ``connected`` events after the first

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


class _Pending(NamedTuple):
    block: SampleBlock
    host_s: float
    arrival: int
    payload: bytes


class _Last(NamedTuple):
    arrival: int
    host_s: float
    dev_end_s: float


@dataclass
class _Chain:
    """Packets on probation that agree with each other (see "Plausibility")."""

    why: str                  #: what was implausible about the first packet
    packets: list[_Pending]
    backed: bool = False      #: a link event came before it (a new session was expected)
    outvoted: int = 0         #: packets of the ongoing stream accepted since its last packet


def max_forward_s(host_elapsed_s: float, device_per_host: float) -> float:
    """Most device seconds a stream can move forward in ``host_elapsed_s`` host seconds.

    Parameters
    ----------
    host_elapsed_s : float
        Host seconds since the last placed packet arrived (negative counts as 0).
    device_per_host : float
        Measured device seconds per host second (1 for a live sensor, 60 for a replay at 60x).

    Returns
    -------
    float
        ``elapsed x rate x (1 + PLAUSIBLE_RATE_TOL) + PLAUSIBLE_SLACK_S x max(rate, 1)``, s.
    """
    rate = float(device_per_host)
    return (max(float(host_elapsed_s), 0.0) * rate * (1.0 + PLAUSIBLE_RATE_TOL)
            + PLAUSIBLE_SLACK_S * max(rate, 1.0))


def _clock_offset(j_a: int, dev_a: float, j_b: int, dev_b: float, fs: float
                  ) -> float | None:
    """LegAccel: how far (device s) sample ``j_b``'s device time is from what sample ``j_a``'s
    and the rate imply (PROTOCOL.md 6.3); None when within :data:`DEVICE_TIME_TOL_SAMPLES`
    plus :data:`DEVICE_TIME_TOL_FRACTION` of the distance."""
    dj = j_b - j_a
    off = dev_b - dev_a - dj / fs
    tol = (DEVICE_TIME_TOL_SAMPLES + DEVICE_TIME_TOL_FRACTION * abs(dj)) / fs
    return None if abs(off) <= tol else off


def _pending_state(p: _Pending) -> list[Any]:
    return [base64.b64encode(p.payload).decode("ascii"), p.host_s, p.arrival]


def _same_packet(a: _Pending, b: _Pending) -> bool:
    return a.payload == b.payload


def _span(seconds: float) -> str:
    seconds = abs(float(seconds))
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds:,.1f} s"


# --- clock ----------------------------------------------------------------------------------------

def _window_s(span_s: float) -> float:
    """Width (device s) of the windows whose minima the clock fit goes through: 30 s (at least
    8 windows on short spans; at most 400 windows on long ones)."""
    return max(span_s / 400.0, min(30.0, span_s / 8.0))


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``y = c + s * x``; returns (c, s)."""
    xm, ym = float(x.mean()), float(y.mean())
    dx = x - xm
    den = float(dx @ dx)
    s = float(dx @ (y - ym)) / den if den > 0 else 0.0
    return ym - s * xm, s


@dataclass(frozen=True)
class ClockFit:
    """Device clock -> host unix time: ``host = device + offset_s + drift * (device -
    ref_device_s)``, the lower envelope of the arrivals (the minimum latency is in the offset).

    Attributes
    ----------
    offset_s : float
        ``host - device`` at ``ref_device_s``, s.
    drift_ppm : float
        Measured rate difference, ``(host seconds per device second - 1) * 1e6``; positive
        when the device clock runs slow. For a replay this is the replay's rate, not a drift.
    ref_device_s : float
        Device time of the first point (s).
    replay : bool
        The rates differ by more than :data:`REPLAY_PPM`: a replay (or a wrong rate), not drift.
    drift_corrected : bool
        Whether grid timestamps use the measured rate (False for a replay or when the span is
        too short to measure it).
    n_points : int
        Arrivals used.
    n_windows : int
        Windows whose minima the line goes through.
    """

    offset_s: float
    drift_ppm: float
    ref_device_s: float
    replay: bool
    drift_corrected: bool
    n_points: int
    n_windows: int

    @property
    def rate_ratio(self) -> float:
        """Device seconds per host second (60 for a replay at speed 60; ~1 otherwise)."""
        den = 1.0 + self.drift_ppm * 1e-6
        return 1.0 / den if den > 0 and math.isfinite(den) else 1.0

    def to_host(self, device_s: float | np.ndarray) -> float | np.ndarray:
        """Host unix time (s) of device time ``device_s`` (lower envelope)."""
        return device_s + self.offset_s + self.drift_ppm * 1e-6 * (device_s - self.ref_device_s)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe) of the fit."""
        return asdict(self)

    @classmethod
    def fit(cls, device_s: np.ndarray, host_s: np.ndarray,
            window_s: float | None = None) -> "ClockFit | None":
        """Fit the lower envelope of ``host_s - device_s``.

        Parameters
        ----------
        device_s : ndarray
            Device time of the last sample of each notification, s.
        host_s : ndarray
            Host unix time at which each notification arrived, s.
        window_s : float, optional
            Window width in device seconds (default: 30 s, at least 8 and at most 400 windows).

        Returns
        -------
        ClockFit or None
            None without points.
        """
        d = np.asarray(device_s, dtype=np.float64).ravel()
        h = np.asarray(host_s, dtype=np.float64).ravel()
        ok = np.isfinite(d) & np.isfinite(h)
        d, h = d[ok], h[ok]
        if d.size == 0:
            return None
        ref = float(d.min())
        x = d - ref
        y = h - d
        y0 = float(y.min())
        y = y - y0
        span = float(x.max())
        if d.size < 2 or span <= 0:
            return cls(y0, 0.0, ref, False, False, int(d.size), 1)
        width = window_s if window_s else _window_s(span)
        win = np.floor(x / width).astype(np.int64)
        order = np.lexsort((y, win))
        ws = win[order]
        first = np.concatenate(([True], ws[1:] != ws[:-1]))
        idx = order[first]
        xm, ym = x[idx], y[idx]
        if xm.size < 2:
            return cls(y0 + float(ym.min()), 0.0, ref, False, False, int(d.size), int(xm.size))
        c, s = _line(xm, ym)
        for _ in range(2):  # drop windows whose minimum sits far above the line (congestion)
            r = ym - (c + s * xm)
            med = float(np.median(r))
            mad = float(np.median(np.abs(r - med)))
            keep = r <= med + 3.0 * 1.4826 * mad + 1e-6
            if keep.all() or keep.sum() < 2:
                break
            xm, ym = xm[keep], ym[keep]
            c, s = _line(xm, ym)
        replay = False
        corrected = True
        if not (math.isfinite(s) and math.isfinite(c)) or 1.0 + s <= 1e-6:
            # host time standing still or running backwards against the device: not a clock
            mean = float(np.mean(ym))
            s, c, corrected = 0.0, (mean if math.isfinite(mean) else 0.0), False
        elif abs(s) > REPLAY_PPM * 1e-6:
            corrected = False
            if abs(s) * span > REPLAY_MIN_DISAGREEMENT_S:
                replay = True
            else:  # too short to tell: assume no drift
                s = 0.0
                c = float(np.mean(ym))
        return cls(y0 + c, s * 1e6, ref, replay, corrected, int(d.size), int(xm.size))


@dataclass(frozen=True)
class TimeBase:
    """The night's time grid: sample ``k`` is at ``t0_unix_s + k / fs_hz``.

    Attributes
    ----------
    t0_unix_s : float
        Host unix time of night sample 0, s.
    fs_hz : float
        Grid rate in samples per host second: the device rate corrected for the measured drift
        (not for a replay).
    fs_nominal_hz : float
        The rate the stream was started with, Hz.
    fs_device_hz : float
        Samples per device second: nominal for LegAccel, measured for Polar.
    clock : ClockFit
    """

    t0_unix_s: float
    fs_hz: float
    fs_nominal_hz: float
    fs_device_hz: float
    clock: ClockFit

    def times(self, sample_index: np.ndarray) -> np.ndarray:
        """Unix times (s) of night-grid indices."""
        return index_times(sample_index, self.t0_unix_s, self.fs_hz)


def grid_times(n: int, t0_unix_s: float, fs_hz: float) -> np.ndarray:
    """Unix times (s, float64) of grid samples ``0 .. n-1``: ``t0_unix_s + k / fs_hz``."""
    return index_times(np.arange(int(n), dtype=np.int64), t0_unix_s, fs_hz)


def index_times(sample_index: np.ndarray, t0_unix_s: float, fs_hz: float) -> np.ndarray:
    """Unix times (s, float64) of night-grid indices: ``t0_unix_s + index / fs_hz``."""
    k = np.asarray(sample_index, dtype=np.float64)
    return t0_unix_s + k / float(fs_hz)


# --- the assembler --------------------------------------------------------------------------------

def _percent(obj: Mapping[str, Any]) -> int | None:
    for key in ("percent", "battery_pct", "pct", "level"):
        value = obj.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            return int(value)
    return None


class Assembler:
    """Turn a night's notifications and link events into samples on one grid, with exact gaps.

    Parameters
    ----------
    protocol : {"legaccel", "polar"}
    label : str
        Sensor label, used in messages.
    decoder : callable, optional
        ``bytes -> SampleBlock``; default :func:`firmware_bridge.packets.make_decoder` (for
        Polar, built from each ``stream_started`` event's ``fs_hz``, ``range_g``, ``factor``).

    Notes
    -----
    Feed every record of the log, in log order: :meth:`data` for data notifications,
    :meth:`event` for events (a dict with an ``"event"`` key), :meth:`control` for control
    replies; then :meth:`finish`. Each returns the chunks that became final.
    """

    def __init__(self, protocol: str = "legaccel", label: str = "sensor", *,
                 decoder: Callable[[bytes], SampleBlock] | None = None) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown sensor protocol {protocol!r}; expected one of "
                             f"{', '.join(PROTOCOLS)}")
        self.protocol = protocol
        self.label = label
        self._fixed_decoder = decoder
        self._decoder = decoder or (make_decoder("legaccel") if protocol == "legaccel" else None)
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
        self._last: _Last | None = None          # the last emitted block
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
        self._buffer: dict[float, _Pending] = {}  # reorder buffer: first_index / last sample time
        self._s_scale: tuple[float, float] | None = None  # (scale_g, range_g) of the session
        self._chains: list[_Chain] = []          # packets on probation
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
            pct = _percent(obj)
            if pct is not None:
                self.battery_pct = pct
        elif name == "stream_started":
            self._stream_started(obj)
        if name in _CLOSE_EVENTS:
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
                out = self._place(_Pending(block, host_s, self._arrival, bytes(payload)))
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
        if self.protocol != "polar":
            return
        stream = {k: v for k, v in obj.items() if k not in ("event", "protocol")}
        self._stream = stream
        if self._fixed_decoder is None:
            try:
                self._decoder = make_decoder("polar", stream)
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
        if self.protocol == "legaccel" and (block.first_index is None or block.session_id is None):
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
        if self.protocol == "legaccel" and rng > 0:
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
               p: _Pending, dev_end_s: float) -> Chunk:
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
        self._last = _Last(p.arrival, p.host_s, dev_end_s)
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

    def _emitter(self) -> Callable[[_Pending], list[Chunk]]:
        return self._emit_legaccel if self.protocol == "legaccel" else self._emit_polar

    # -- the plausibility gate ---------------------------------------------------------------------
    def _place(self, p: _Pending) -> list[Chunk]:
        """Place a decoded packet if it is plausible; otherwise put it on probation."""
        why = self._judge(p)
        if why is None:
            out = self._legaccel(p) if self.protocol == "legaccel" else self._polar(p)
            self._backed = False
            self._outvote()
            return out
        return self._hold(p, why)

    def _judge(self, p: _Pending) -> str | None:
        """Why ``p`` cannot simply continue the stream (None when it can)."""
        b = p.block
        fs = float(b.fs_hz)
        last = self._last
        if self.protocol == "legaccel":
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
            off = _clock_offset(self._s_next - 1, last.dev_end_s, j0, float(b.device_time_s), fs)
            if off is not None:
                return (f"device time {_span(off)} {'ahead of' if off > 0 else 'behind'} what "
                        f"sample index {j0} implies")
            return self._legaccel_jump(p)
        if self._p_last_t is None or last is None:
            return "first frames of the night"
        return self._polar_jump(p)

    def _newest(self) -> _Pending | None:
        """The buffered packet furthest ahead (None when the buffer is empty)."""
        return self._buffer[max(self._buffer)] if self._buffer else None

    def _legaccel_jump(self, p: _Pending) -> str | None:
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
        return (f"sample index jumps {jump:,} samples ({_span(jump / fs)}) ahead "
                f"{max(dh, 0.0):.1f} s after the last packet")

    def _polar_jump(self, p: _Pending) -> str | None:
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
            return (f"timestamp jumps {_span(dt)} ahead {max(dh, 0.0):.1f} s after the last "
                    "frame")
        if t_end - self._p_last_t < -POLAR_BACK_S * max(rate, 1.0):
            return f"timestamp goes {_span(t_end - self._p_last_t)} back"
        return None

    def _consistent(self, a: _Pending, b: _Pending) -> bool:
        """Whether two packets on probation belong to the same stream."""
        x, y = a.block, b.block
        fs = float(x.fs_hz)
        dh = abs(b.host_s - a.host_s)
        rate = self._gate_rate()
        if self.protocol == "legaccel":
            if x.session_id != y.session_id or x.first_index == y.first_index:
                return False
            if (float(x.scale_g), float(x.range_g)) != (float(y.scale_g), float(y.range_g)):
                return False
            j_a, j_b = int(x.first_index), int(y.first_index)  # type: ignore[arg-type]
            return (_clock_offset(j_a, float(x.device_time_s), j_b, float(y.device_time_s), fs)
                    is None and abs(j_b - j_a) / fs <= max_forward_s(dh, rate))
        dt = float(y.device_time_end_s) - float(x.device_time_end_s)
        return (math.isfinite(dt) and abs(dt) * fs >= 0.5
                and abs(dt) <= max_forward_s(dh, rate))

    def _hold(self, p: _Pending, why: str) -> list[Chunk]:
        for chain in self._chains:
            if any(self._consistent(q, p) for q in chain.packets):
                chain.packets.append(p)
                chain.outvoted = 0
                if len(chain.packets) >= CONFIRM_PACKETS:
                    return self._adopt(chain)
                return []
            if any(_same_packet(q, p) for q in chain.packets):
                self.counters.duplicates += 1
                return []
        self._chains.append(_Chain(why, [p], backed=self._backed))
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

    def _reject(self, chain: _Chain, reason: str) -> None:
        for q in chain.packets:
            self._implausible(q, f"{chain.why}; not confirmed ({reason})")

    def _implausible(self, q: _Pending, why: str) -> None:
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

    def _adopt(self, chain: _Chain) -> list[Chunk]:
        """A confirmed chain becomes the stream: release the old stream's buffer, then place
        the chain's packets as a new base."""
        self._chains.remove(chain)
        out = self._release_all()
        last = self._last
        arrived = chain.packets                   # in arrival order
        if self.protocol == "legaccel":
            first = min(arrived, key=lambda q: int(q.block.first_index))  # type: ignore[arg-type]
            sid = int(first.block.session_id)  # type: ignore[arg-type]
            if self._sid is not None and sid != self._sid:
                self._old_sids.add(self._sid)
            elif self._sid is not None and last is not None and self._legaccel_jump(first):
                self._force_estimate = True  # the same session's numbers jumped: not believed
            self._sid, self._s_base, self._s_lost = sid, None, []
            self._s_next = int(first.block.first_index)  # type: ignore[arg-type]
            self._s_scale = (float(first.block.scale_g), float(first.block.range_g))
            out += self._emit_legaccel(first)
            place: Callable[[_Pending], list[Chunk]] = self._legaccel
        else:
            first = min(arrived, key=lambda q: float(q.block.device_time_end_s))
            if self._p_last_t is not None and last is not None:
                self._p_new_stream = True
                dt = float(first.block.device_time_end_s) - self._p_last_t
                if dt <= 0 or self._polar_jump(first):
                    self._force_estimate = True
            out += self._emit_polar(first)
            place = self._polar
        if first is not arrived[0]:
            self.counters.reordered += 1
        for q in arrived:
            if q is not first:
                out += place(q)
        self._backed = False
        return out

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
    def _legaccel(self, p: _Pending) -> list[Chunk]:
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
        out += self._emit_legaccel(p)
        out += self._drain()
        return out

    def _drain(self) -> list[Chunk]:
        out: list[Chunk] = []
        emit = self._emitter()
        while self._buffer:
            k = min(self._buffer)
            p = self._buffer[k]
            if self.protocol == "legaccel":
                if k > self._s_next:
                    break
                self._buffer.pop(k)
                if k + p.block.n <= self._s_next:
                    self.counters.duplicates += 1
                    continue
            else:
                m = self._polar_steps(p)
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

    def _emit_legaccel(self, p: _Pending) -> list[Chunk]:
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

    def _session_gap(self, dev_first: float, p: _Pending, n: int, fs: float
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

    # -- Polar -------------------------------------------------------------------------------------
    @property
    def fs_device_hz(self) -> float | None:
        """Samples per device second: nominal (LegAccel) or measured (Polar, once measured)."""
        if self.protocol == "polar" and self._p_fs_dt > 0:
            return self._p_fs_n / self._p_fs_dt
        return self.fs_nominal_hz

    def _polar_steps(self, p: _Pending) -> int:
        """Samples from the last placed sample to ``p``'s last sample, at the estimated rate."""
        assert self._p_last_t is not None
        fs_est = self.fs_device_hz or float(p.block.fs_hz)
        return int(round((float(p.block.device_time_end_s) - self._p_last_t) * fs_est))

    def _polar(self, p: _Pending) -> list[Chunk]:
        """Place a plausible frame: at once when it follows the last one, else via the reorder
        buffer (keyed by its last sample's time), as LegAccel packets are by index."""
        if self._p_last_t is None:
            return self._emit_polar(p)
        if self._p_new_stream:  # nothing more of the old stream will come: release it first
            self._p_new_stream = False
            out = self._release_all()
            self._p_new_stream = True
            return out + self._emit_polar(p)
        t_end = float(p.block.device_time_end_s)
        steps = self._polar_steps(p)
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
        return self._emit_polar(p) + self._drain()

    def _emit_polar(self, p: _Pending) -> list[Chunk]:
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

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this assembler is, JSON-safe, except
        :attr:`gaps` and :attr:`clock_points` (given back separately to :meth:`restore`)."""
        st: dict[str, Any] = {name: getattr(self, name) for name in self._SCALARS}
        st.update({
            "protocol": self.protocol,
            "counters": self.counters.as_dict(),
            "bad_packet_errors": list(self.bad_packet_errors),
            "causes": [list(c) for c in self._causes],
            "last": list(self._last) if self._last is not None else None,
            "s_lost": [list(r) for r in self._s_lost],
            "old_sids": sorted(self._old_sids),
            "buffer": [_pending_state(p) for _, p in sorted(self._buffer.items())],
            "s_scale": list(self._s_scale) if self._s_scale is not None else None,
            "chains": [{"why": c.why, "backed": c.backed, "outvoted": c.outvoted,
                        "packets": [_pending_state(p) for p in c.packets]}
                       for c in self._chains],
        })
        return st

    @classmethod
    def restore(cls, state: Mapping[str, Any], gaps: list[Gap], clock_k: list[int],
                clock_h: list[float], label: str = "sensor") -> "Assembler":
        """Rebuild an assembler from :meth:`state`, its gaps and clock points."""
        asm = cls(state["protocol"], label)
        for name in cls._SCALARS:  # a state written by an older version lacks the newer names
            setattr(asm, name, state.get(name, getattr(asm, name)))
        if asm._stream is not None and asm.protocol == "polar":
            try:
                asm._decoder = make_decoder("polar", asm._stream)
            except ValueError:
                asm._decoder = None
        names = {f.name for f in fields(Counters)}
        asm.counters = Counters(**{k: v for k, v in state["counters"].items() if k in names})
        asm.bad_packet_errors.extend(state["bad_packet_errors"])
        asm._causes = [(int(a), str(c)) for a, c in state["causes"]]
        asm._last = _Last(*state["last"]) if state["last"] is not None else None
        asm._s_lost = [(int(a), int(b)) for a, b in state["s_lost"]]
        asm._old_sids = set(state["old_sids"])
        for item in state["buffer"]:
            p = asm._pending_from_state(item)
            key = (int(p.block.first_index) if asm.protocol == "legaccel"  # type: ignore[arg-type]
                   else float(p.block.device_time_end_s))
            asm._buffer[key] = p
        scale = state.get("s_scale")
        asm._s_scale = (float(scale[0]), float(scale[1])) if scale else None
        asm._chains = [_Chain(str(c["why"]), [asm._pending_from_state(x) for x in c["packets"]],
                              bool(c["backed"]), int(c["outvoted"]))
                       for c in state.get("chains", [])]
        asm.gaps = list(gaps)
        asm._clock_k = [int(k) for k in clock_k]
        asm._clock_h = [float(h) for h in clock_h]
        return asm

    def _pending_from_state(self, item: list[Any]) -> _Pending:
        payload64, host_s, arrival = item
        payload = base64.b64decode(payload64)
        block = self._decoder(payload)  # type: ignore[misc]
        return _Pending(block, float(host_s), int(arrival), payload)

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
