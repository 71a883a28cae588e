"""What the assembler works with and gives out: its limits (each with its reason), gaps and their
causes, chunks of placed samples, counters, and the packets it holds while it decides."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np

from firmware_bridge.protocols.base import SampleBlock

__all__ = ["CAUSE_PACKET_LOSS", "CAUSE_OVERFLOW", "CAUSE_DISCONNECT", "CAUSE_STALL", "CAUSE_REBOOT",
           "CAUSE_RECORDER_DOWN",
           "CAUSE_PRECEDENCE", "EVENT_CAUSES", "REORDER_MAX_PACKETS", "REORDER_MAX_AGE_S",
           "REBOOT_CLOCK_MARGIN_S", "REBOOT_CLOCK_MARGIN_FRACTION", "POLAR_EXACT_TOL_SAMPLES",
           "REPLAY_PPM", "REPLAY_MIN_DISAGREEMENT_S", "MAX_BAD_PACKET_ERRORS", "CONFIRM_PACKETS",
           "PLAUSIBLE_SLACK_S", "PLAUSIBLE_RATE_TOL", "DEVICE_TIME_TOL_SAMPLES",
           "DEVICE_TIME_TOL_FRACTION", "POLAR_BACK_S", "PROBATION_MAX_AGE_S", "SCALE_RANGE",
           "CLOSE_EVENTS", "Gap", "Chunk", "Counters", "Pending", "Last", "Chain", "max_forward_s",
           "clock_offset", "pending_state", "same_packet", "span_text", "battery_percent"]

CAUSE_PACKET_LOSS = "packet loss"

CAUSE_OVERFLOW = "device buffer overflow"

CAUSE_DISCONNECT = "disconnect"

CAUSE_STALL = "stall (watchdog)"

CAUSE_REBOOT = "device reboot"

#: The recorder itself was not running (killed, crashed, the computer slept) and was restarted.
CAUSE_RECORDER_DOWN = "recorder down"

#: Gap causes, strongest first: the strongest one seen around a gap names it.
CAUSE_PRECEDENCE = (CAUSE_RECORDER_DOWN, CAUSE_REBOOT, CAUSE_STALL, CAUSE_DISCONNECT,
                    CAUSE_OVERFLOW, CAUSE_PACKET_LOSS)

#: Link events (the ``"event"`` field of an EVENT record) and the gap cause each implies. A
#: ``connected`` between two data packets means the link (or the recorder) was restarted.
EVENT_CAUSES = {"recorder_restarted": CAUSE_RECORDER_DOWN,
                "disconnected": CAUSE_DISCONNECT, "connected": CAUSE_DISCONNECT,
                "watchdog": CAUSE_STALL, "reboot": CAUSE_REBOOT, "device_reboot": CAUSE_REBOOT}

REORDER_MAX_PACKETS = 8

REORDER_MAX_AGE_S = 1.0

REBOOT_CLOCK_MARGIN_S = 2.0

REBOOT_CLOCK_MARGIN_FRACTION = 0.1

POLAR_EXACT_TOL_SAMPLES = 0.25

REPLAY_PPM = 1000.0

REPLAY_MIN_DISAGREEMENT_S = 0.5

MAX_BAD_PACKET_ERRORS = 10

CONFIRM_PACKETS = 3

PLAUSIBLE_SLACK_S = 2.0

PLAUSIBLE_RATE_TOL = 0.01

DEVICE_TIME_TOL_SAMPLES = 2.0

DEVICE_TIME_TOL_FRACTION = 0.01

POLAR_BACK_S = 10.0

PROBATION_MAX_AGE_S = 30.0

SCALE_RANGE = (2.0 ** 7, 2.0 ** 17)

CLOSE_EVENTS = ("closed",)


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


class Pending(NamedTuple):
    block: SampleBlock
    host_s: float
    arrival: int
    payload: bytes


class Last(NamedTuple):
    arrival: int
    host_s: float
    dev_end_s: float


@dataclass
class Chain:
    """Packets on probation that agree with each other (see "Plausibility")."""

    why: str                  #: what was implausible about the first packet
    packets: list[Pending]
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


def clock_offset(j_a: int, dev_a: float, j_b: int, dev_b: float, fs: float
                  ) -> float | None:
    """LegAccel: how far (device s) sample ``j_b``'s device time is from what sample ``j_a``'s
    and the rate imply (PROTOCOL.md 6.3); None when within :data:`DEVICE_TIME_TOL_SAMPLES`
    plus :data:`DEVICE_TIME_TOL_FRACTION` of the distance."""
    dj = j_b - j_a
    off = dev_b - dev_a - dj / fs
    tol = (DEVICE_TIME_TOL_SAMPLES + DEVICE_TIME_TOL_FRACTION * abs(dj)) / fs
    return None if abs(off) <= tol else off


def pending_state(p: Pending) -> list[Any]:
    return [base64.b64encode(p.payload).decode("ascii"), p.host_s, p.arrival]


def same_packet(a: Pending, b: Pending) -> bool:
    return a.payload == b.payload


def span_text(seconds: float) -> str:
    seconds = abs(float(seconds))
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:,.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds:,.1f} s"


def battery_percent(obj: Mapping[str, Any]) -> int | None:
    for key in ("percent", "battery_pct", "pct", "level"):
        value = obj.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            return int(value)
    return None
