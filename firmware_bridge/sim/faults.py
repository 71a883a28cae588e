"""Fault injection for the virtual sensor, and the exact account of what each fault cost.

A :class:`FaultPlan` says which faults of a real night to imitate: lost, duplicated and reordered
packets, link drops, stalls (link up, no data) and reboots. The virtual sensor asks
:class:`PacketFaults` what to do with each data packet and tells a :class:`SampleLedger` which
source samples it sent and which it lost and why. The ledger writes the fault log (JSON lines,
mode 0600): one line per fault or outage with the source sample range it affected, and a final
``summary`` line per sensor with the ranges of source samples actually sent. End-to-end tests
compare a recording with its source sample for sample using this log, so it is exact.

Fault log lines (all times are unix seconds of the host's wall clock):

``drop`` / ``duplicate``
    ``first_sample``, ``n_samples``: the source samples of the packet never sent / sent twice.
``corrupt``
    ``first_sample``, ``n_samples``: the source samples of a packet sent with one wrong field
    (``what``: one of :data:`CORRUPT_KINDS`); a recorder must drop it, so they count as lost.
``reorder``
    ``first_sample``, ``n_samples``: the samples of the two packets whose order was swapped;
    ``held_first_sample``, ``held_n_samples``: the packet that was sent after its successor.
``disconnect`` / ``stall`` / ``reboot`` / ``not_streaming``
    ``first_sample``, ``n_samples``: the samples lost from the moment the fault began (or the
    stream stopped for another reason, named in ``cause``) until the next sample was sent;
    ``end_wall_time_s`` is when the last of them was produced. A ``reboot`` line also has
    ``boot_sample``: the source index at which the restarted device clock reads 0.
``source_started``
    The first start command: the source (like a real sensor's stream) starts there, so nothing
    is lost before a recorder subscribes; ``wall_time_s`` is when source sample 0 was produced.
``summary``
    ``source_samples``, ``sent_ranges`` (half-open ``[first, end)`` source index ranges, sorted and
    merged), ``n_sent``, ``n_lost``, ``n_duplicated``, ``n_reordered``, and from the virtual
    sensor ``n_produced``, ``protocol``, ``fs_hz``, ``speed``, ``boots`` (the ``boot_sample`` of
    every boot, 0 first) and ``faults`` (the plan).

Every line has ``wall_time_s``, ``sensor`` (its advertised name), ``kind`` and ``session_id``
(the LegAccel session the fault happened in; None for Polar or outside a session).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from detector.fileio import open_private

__all__ = ["FaultPlan", "PacketFaults", "SampleLedger", "FaultLog", "SEND", "DROP", "DUPLICATE",
           "HOLD", "CORRUPT", "LOSS_KINDS", "CORRUPT_KINDS", "corrupt_packet"]

#: What to do with one data packet (see :meth:`PacketFaults.decide`).
SEND, DROP, DUPLICATE, HOLD, CORRUPT = "send", "drop", "duplicate", "hold", "corrupt"

#: Corrupt-but-decodable packets, per protocol, in the order ``--corrupt-every`` cycles through
#: them: one field made wrong the way real sensors get it wrong (a bit flip the link layer
#: missed, a firmware bug, a Polar clock that was reset).
CORRUPT_KINDS = {
    "legaccel": ("session",       # session_id + 1
                 "index",         # first_index + 2**20 (2.9 h at 100 Hz ahead)
                 "index-small",   # first_index + 1000
                 "clock",         # device_time_us + 2**62
                 "scale",         # scale_g 3e38 (finite, overflows float32 samples)
                 "range"),        # range_g changed inside the session
    "polar": ("timestamp",        # + 1 day
              "timestamp-year",   # + 1 year
              "timestamp-back"),  # - 1 day
}


def corrupt_packet(protocol: str, payload: bytes, what: str) -> bytes:
    """``payload`` with one field made wrong (see :data:`CORRUPT_KINDS`); it still decodes."""
    return CORRUPTERS[protocol](payload, what)


def _corrupt_legaccel(payload: bytes, what: str) -> bytes:
    import dataclasses

    from firmware_bridge.protocols import legaccel

    p = legaccel.decode_packet(payload)
    change = {"session": {"session_id": (p.session_id + 1) & 0xFFFF_FFFF},
              "index": {"first_index": (p.first_index + 2 ** 20) & 0xFFFF_FFFF},
              "index-small": {"first_index": (p.first_index + 1000) & 0xFFFF_FFFF},
              "clock": {"device_time_us": (p.device_time_us + 2 ** 62) % 2 ** 64},
              "scale": {"scale_g": 3e38},
              "range": {"range_g": 16 if p.range_g != 16 else 2}}[what]
    return legaccel.encode_packet(dataclasses.replace(p, **change))


def _corrupt_polar(payload: bytes, what: str) -> bytes:
    import struct

    day_ns = 86_400 * 10 ** 9
    shift = {"timestamp": day_ns, "timestamp-year": 365 * day_ns, "timestamp-back": -day_ns}[what]
    (ts,) = struct.unpack_from("<Q", payload, 1)
    return payload[:1] + struct.pack("<Q", (ts + shift) % 2 ** 64) + payload[9:]


#: How each protocol's packets are corrupted.
CORRUPTERS = {"legaccel": _corrupt_legaccel, "polar": _corrupt_polar}

#: Kinds of outage lines: the injected faults that cut the stream, and ``not_streaming`` for
#: samples lost because the central was not listening (never started, stopped, disconnected,
#: crashed) - not a fault, but the log accounts for every sample that was not sent.
LOSS_KINDS = ("drop", "corrupt", "disconnect", "stall", "reboot", "not_streaming")


@dataclass(frozen=True)
class FaultPlan:
    """Which faults the virtual sensor injects. All zero means none.

    Packet faults count every data packet the sensor forms (1, 2, 3, ...) over the whole run;
    when several apply to the same packet, drop wins over reorder, and reorder over duplicate.
    Periodic link faults count wall time while the sensor is streaming to a connected central
    (not while it waits for a reconnection), so each fires after that much streaming.

    Attributes
    ----------
    drop_every : int
        Never send every Nth data packet (0 = off).
    duplicate_every : int
        Send every Nth data packet twice (0 = off).
    reorder_every : int
        Send every Nth data packet after the next one (0 = off).
    disconnect_every_s : float
        Wall seconds of streaming between link drops by the peripheral (0 = off).
    stall_every_s : float
        Wall seconds of streaming between stalls: the link stays up, no data is sent (0 = off).
    stall_s : float
        How long a stall lasts, wall seconds, unless the central disconnects first; 0 = until the
        central disconnects.
    reboot_every_s : float
        Wall seconds of streaming between reboots: the link drops, the sensor is gone for
        ``reboot_s``, then comes back with a new session id and its clock restarted at 0 (0 = off).
    reboot_s : float
        How long a reboot takes, wall seconds (source time goes on; those samples are lost).
    corrupt_every : int
        Send every Nth data packet with one wrong field instead (0 = off); the kinds of
        :data:`CORRUPT_KINDS` for the protocol take turns.
    battery_start_pct : int
        Battery level at the start, percent.
    battery_drain_pct_per_h : float
        Battery fall per hour of SOURCE time, percent; each change of the integer level is
        notified.
    """

    drop_every: int = 0
    duplicate_every: int = 0
    reorder_every: int = 0
    disconnect_every_s: float = 0
    stall_every_s: float = 0
    stall_s: float = 0
    reboot_every_s: float = 0
    reboot_s: float = 1.0
    corrupt_every: int = 0
    battery_start_pct: int = 100
    battery_drain_pct_per_h: float = 5.0

    def __post_init__(self) -> None:
        for name in ("drop_every", "duplicate_every", "reorder_every", "corrupt_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"FaultPlan.{name} must be an integer >= 0 (0 = off), "
                                 f"got {value!r}")
        for name in ("disconnect_every_s", "stall_every_s", "stall_s", "reboot_every_s",
                     "reboot_s", "battery_drain_pct_per_h"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"FaultPlan.{name} must be a finite number >= 0, got {value!r}")
        if (isinstance(self.battery_start_pct, bool)
                or not isinstance(self.battery_start_pct, int)
                or not 0 <= self.battery_start_pct <= 100):
            raise ValueError(f"FaultPlan.battery_start_pct must be 0-100 %, "
                             f"got {self.battery_start_pct!r}")

    @property
    def any_packet_faults(self) -> bool:
        """True if drop, duplicate, reorder or corrupt is on."""
        return bool(self.drop_every or self.duplicate_every or self.reorder_every
                    or self.corrupt_every)

    def battery_pct(self, source_time_s: float) -> int:
        """Battery level (integer percent, 0-100) after ``source_time_s`` seconds of source time.

        The level is rounded up, so a full battery reads 100 % until the first percent is used.
        """
        level = self.battery_start_pct - self.battery_drain_pct_per_h * source_time_s / 3600.0
        return int(min(100, max(0, math.ceil(level - 1e-9))))

    def to_dict(self) -> dict[str, Any]:
        """The plan as a plain dict (for the fault log)."""
        return asdict(self)


class PacketFaults:
    """Decide, packet by packet, what :class:`FaultPlan`'s packet faults do.

    Packets are numbered from 1 in the order they are formed; packet ``p`` is dropped if
    ``p % drop_every == 0``, else sent corrupted if ``p % corrupt_every == 0``, else held back and
    sent after the next packet if ``p % reorder_every == 0``, else sent twice if
    ``p % duplicate_every == 0``.
    """

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.count = 0

    def decide(self) -> str:
        """Number the next packet and return :data:`SEND`, :data:`DROP`, :data:`DUPLICATE` or
        :data:`HOLD`."""
        self.count += 1
        p, plan = self.count, self.plan
        if plan.drop_every and p % plan.drop_every == 0:
            return DROP
        if plan.corrupt_every and p % plan.corrupt_every == 0:
            return CORRUPT
        if plan.reorder_every and p % plan.reorder_every == 0:
            return HOLD
        if plan.duplicate_every and p % plan.duplicate_every == 0:
            return DUPLICATE
        return SEND


class FaultLog:
    """Append JSON lines to a private (0600) file; shared by all sensors of one run.

    Parameters
    ----------
    path : Path or None
        The file (created or truncated). None keeps the lines in memory only (:attr:`lines`).
    keep : bool
        Also keep every line in :attr:`lines` (tests read them from there).
    """

    def __init__(self, path: Path | None, keep: bool = True) -> None:
        self.path = Path(path) if path is not None else None
        self.keep = keep
        self.lines: list[dict[str, Any]] = []
        self._fh: IO[str] | None = (open_private(self.path, "w", encoding="utf-8")
                                    if self.path is not None else None)

    def write(self, record: dict[str, Any]) -> None:
        """Write one line (flushed at once, so a killed run keeps what it logged)."""
        if self.keep:
            self.lines.append(record)
        if self._fh is not None:
            self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._fh.flush()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class SampleLedger:
    """Which source samples one sensor sent, lost (and why), duplicated and reordered.

    Losses are grouped into episodes: consecutive lost samples with the same cause make one line,
    written when the episode ends (a sample is sent, or samples are lost for another cause) or at
    :meth:`finish`.

    Parameters
    ----------
    sensor : str
        Name of the sensor in the log lines.
    n_source : int
        Number of samples in the source.
    log : FaultLog or None
        Where lines go; None keeps only the counts.
    """

    def __init__(self, sensor: str, n_source: int, log: FaultLog | None) -> None:
        self.sensor = sensor
        self.n_source = int(n_source)
        self.log = log
        self.n_sent = 0
        self.n_lost = 0
        self.n_duplicated = 0
        self.n_reordered = 0
        self._sent: list[list[int]] = []      # half-open ranges, merged when contiguous
        self._episode: dict[str, Any] | None = None
        self.finished = False

    # -- recording what happened -------------------------------------------------------------
    def sent(self, first: int, n: int) -> None:
        """Source samples ``[first, first + n)`` were sent (once more, for a duplicate)."""
        if n <= 0:
            return
        self.close_episode()
        self.n_sent += n
        if self._sent and self._sent[-1][1] == first:
            self._sent[-1][1] = first + n
        else:
            self._sent.append([first, first + n])

    def lost(self, first: int, n: int, kind: str, session_id: int | None,
             wall_time_s: float | None = None, **info: Any) -> None:
        """Source samples ``[first, first + n)`` were never sent, because of ``kind``.

        Extends the open episode if it has the same kind and ``info`` and ends at ``first``;
        otherwise closes it and opens a new one. ``drop`` and ``corrupt`` always make their own
        line.
        """
        if n <= 0:
            return
        if kind not in LOSS_KINDS:
            raise ValueError(f"unknown loss kind {kind!r}; expected one of {LOSS_KINDS}")
        now = time.time() if wall_time_s is None else wall_time_s
        self.n_lost += n
        ep = self._episode
        if (ep is not None and kind not in ("drop", "corrupt") and ep["kind"] == kind and ep["info"] == info
                and ep["end"] == first):
            ep["end"] = first + n
            ep["end_wall_time_s"] = now
            return
        self.close_episode()
        self._episode = {"kind": kind, "first": first, "end": first + n, "wall_time_s": now,
                         "end_wall_time_s": now, "session_id": session_id, "info": info}
        if kind in ("drop", "corrupt"):
            self.close_episode()

    def duplicated(self, first: int, n: int, session_id: int | None, **info: Any) -> None:
        """Source samples ``[first, first + n)`` were sent a second time."""
        self.n_duplicated += n
        self._line("duplicate", first, n, session_id, **info)

    def reordered(self, held_first: int, held_n: int, next_first: int, next_n: int,
                  session_id: int | None, **info: Any) -> None:
        """The packet ``[held_first, +held_n)`` was sent after ``[next_first, +next_n)``."""
        first = min(held_first, next_first)
        end = max(held_first + held_n, next_first + next_n)
        self.n_reordered += held_n + next_n
        self._line("reorder", first, end - first, session_id, held_first_sample=held_first,
                   held_n_samples=held_n, **info)

    def annotate(self, **info: Any) -> None:
        """Add fields to the open loss episode's line (e.g. where a reboot's new clock starts)."""
        if self._episode is not None:
            self._episode["info"].update(info)

    def close_episode(self) -> None:
        """Write the open loss episode's line, if any."""
        ep, self._episode = self._episode, None
        if ep is None:
            return
        self._line(ep["kind"], ep["first"], ep["end"] - ep["first"], ep["session_id"],
                   wall_time_s=ep["wall_time_s"], end_wall_time_s=ep["end_wall_time_s"],
                   **ep["info"])

    def finish(self, **info: Any) -> dict[str, Any]:
        """Close the open episode and write the summary line; returns it. Idempotent."""
        if self.finished:
            return self.summary(**info)
        self.close_episode()
        self.finished = True
        record = self.summary(**info)
        if self.log is not None:
            self.log.write(record)
        return record

    # -- reading it back ---------------------------------------------------------------------
    @property
    def sent_ranges(self) -> list[tuple[int, int]]:
        """Half-open ``(first, end)`` ranges of source samples sent at least once, merged."""
        merged: list[list[int]] = []
        for a, b in sorted(self._sent):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return [(a, b) for a, b in merged]

    def source_started(self, wall_time_s: float, session_id: int | None) -> None:
        """Write the ``source_started`` line: source sample 0 was produced at ``wall_time_s``
        and sample k at ``wall_time_s + k / (fs * speed)``."""
        self._line("source_started", 0, 0, session_id, wall_time_s=wall_time_s)

    def summary(self, **info: Any) -> dict[str, Any]:
        """The ``summary`` record (not written)."""
        ranges = self.sent_ranges
        n_unique = sum(b - a for a, b in ranges)
        return {"wall_time_s": time.time(), "sensor": self.sensor, "kind": "summary",
                "session_id": None, "source_samples": self.n_source,
                "sent_ranges": [[a, b] for a, b in ranges], "n_sent": n_unique,
                "n_lost": self.n_lost, "n_duplicated": self.n_duplicated,
                "n_reordered": self.n_reordered, **info}

    def _line(self, kind: str, first: int, n: int, session_id: int | None,
              wall_time_s: float | None = None, **info: Any) -> None:
        if self.log is None:
            return
        self.log.write({"wall_time_s": time.time() if wall_time_s is None else wall_time_s,
                        "sensor": self.sensor, "kind": kind, "first_sample": int(first),
                        "n_samples": int(n), "session_id": session_id, **info})
