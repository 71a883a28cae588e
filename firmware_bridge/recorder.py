"""A night's recording from one or two sensors, with live detection and the report at the end.

``record_night`` runs one :class:`~firmware_bridge.client.SensorLink` per sensor and one consumer.
The links' callbacks only enqueue; the consumer, for each item in arrival order:

1. appends it to that sensor's raw log (:class:`~firmware_bridge.store.NightStore`; fsynced every
   few seconds) *before* anything else happens to it;
2. decodes it, accounts for lost samples and writes decoded samples to rolling Parquet parts;
3. pushes the samples into a :class:`~detector.live.detector.StreamingDetector`, printing each
twitch, leg
   movement and PLM series as it is found and appending it to the live ``events.csv``;
4. prints a status line every few seconds.

On SIGINT/SIGTERM (or ``stop``) the links stop the streams, the queue is drained, each store is
finalised into ``recording.parquet`` (and CSV on request), and the offline analysis writes the night
report into ``OUT/report``. A full disk or a read-only folder stops the recording with a clear
message; what was written stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import math
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TextIO

from detector.config import Config
from detector.fileio import make_private_dir, open_private
from detector.io.localtime import zone_named
from detector.textsafe import printable

from firmware_bridge.client import CONTROL, DATA, LinkConfig, SensorLink

__all__ = ["DeviceSpec", "LiveEventLog", "NightRecorder", "record_night", "LIVE_EVENT_COLUMNS",
           "format_status"]

#: Columns of the live ``events.csv`` (a contract other tools read: add, never rename).
LIVE_EVENT_COLUMNS = ("detected_time", "kind", "start_time", "end_time", "start_s", "end_s",
                      "duration_s", "peak_g", "series", "n_lm", "leg", "revised")


@dataclass(frozen=True)
class DeviceSpec:
    """One sensor to record.

    Attributes
    ----------
    label : str
        Folder name and display name: ``left``, ``right`` or ``sensor``.
    address : str
        BLE address (macOS: the UUID bleak reports).
    protocol : {"legaccel", "polar"}
    leg : {"left", "right", "unknown"}
    """

    label: str
    address: str
    protocol: str = "legaccel"
    leg: str = "unknown"


def _clock(unix_s: float, zone: Any = None) -> str:
    """Clock time for the terminal in ``zone`` (None: the computer's; files use UTC ISO
    8601)."""
    t = datetime.fromtimestamp(unix_s, tz=timezone.utc)
    return (t.astimezone(zone) if zone is not None else t.astimezone()).strftime("%H:%M:%S")


def _iso(unix_s: float) -> str:
    return datetime.fromtimestamp(unix_s, tz=timezone.utc).isoformat(timespec="milliseconds")


class LiveEventLog:
    """The live ``events.csv`` of one sensor: one line per event as it is detected, flushed at once.

    Opening an existing file (a restarted recorder) appends to it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        new = not path.exists() or path.stat().st_size == 0
        #: what an earlier run of the recorder found (a restarted one carries the counts on)
        self.previous = {"twitch": 0, "lm": 0, "sustained": 0, "series": 0}
        if not new:
            self.previous = _previous_counts(path)
        self._fh: TextIO = open_private(path, "a", newline="")
        self._csv = csv.writer(self._fh)
        if new:
            self._csv.writerow(LIVE_EVENT_COLUMNS)
            self._fh.flush()

    def write(self, ev: Any, t0_unix_s: float, leg: str) -> None:
        """Append one :class:`detector.live.detector.LiveEvent`."""
        def num(x: Any) -> str:
            return "" if x is None or (isinstance(x, float) and not math.isfinite(x)) else (
                f"{x:.3f}" if isinstance(x, float) else str(x))

        self._csv.writerow([
            _iso(t0_unix_s + ev.detected_at_s), ev.kind, _iso(t0_unix_s + ev.start_s),
            _iso(t0_unix_s + ev.end_s), num(float(ev.start_s)), num(float(ev.end_s)),
            num(float(ev.duration_s)), num(float(ev.peak_g)), num(ev.series), num(ev.n_lm), leg,
            "true" if ev.revised else "false"])
        self._fh.flush()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._fh.close()


#: A streaming sensor silent for longer than this (s; a packet comes every 0.1-0.4 s) says so.
SILENT_S = 2.0


def _previous_counts(path: Path) -> dict[str, int]:
    """Movements by kind (a revised one once) and PLM series in a live ``events.csv``."""
    seen: dict[str, set[str]] = {"twitch": set(), "lm": set(), "sustained": set()}
    series = set()
    with contextlib.suppress(OSError, csv.Error, UnicodeDecodeError):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                kind = row.get("kind") or ""
                if kind in seen:
                    seen[kind].add(row.get("start_time") or "")
                elif kind == "plm_series" and (row.get("series") or "").isdigit():
                    series.add(row["series"])
    return {**{k: len(v) for k, v in seen.items()}, "series": len(series)}


def format_status(elapsed_s: float, per_sensor: list[dict[str, Any]], *,
                  clock: str | None = None) -> str:
    """The live status: the clock time of the night (``clock``, on the sample clock as the
    detections are; the elapsed time before the first sample), then per sensor its samples,
    effective rate, loss %, reconnects, battery and events so far; one line per sensor (under
    100 columns each).

    For example (one line)::

        01:02:05 left 372,500 smp 99.9 Hz loss 0.25% reconn 2 batt 87% | 4 twitch 31 LM 2 series

    A streaming sensor shows no state word; one connecting or reconnecting says so, and one that
    sent nothing for a while says for how long (``no data for 42 s``: the count does not freeze
    silently). Reconnects and battery are shown once there are any; bad packets (undecodable or
    implausible) and packets whose handling failed too: ``... batt 87% bad 3 errors 1 | ...``.
    """
    if clock is None:           # before the first sample: time since the recorder started
        h, rem = divmod(int(elapsed_s), 3600)
        m, s = divmod(rem, 60)
        clock = f"{h:02d}:{m:02d}:{s:02d}"
    width = max((len(str(st["label"])) for st in per_sensor), default=0)
    lines = []
    for k, st in enumerate(per_sensor):
        rate = st.get("rate_hz")
        state = (f"no data for {st['silent_s']:.0f} s " if st.get("silent_s") is not None
                 else "" if st.get("state", "") == "streaming" else f"{st.get('state', '')} ")
        label = str(st["label"]).ljust(width) if len(per_sensor) > 1 else str(st["label"])
        lines.append(f"{clock if k == 0 else ' ' * len(clock)} {label} {state}"
                     f"{st.get('samples', 0):,} smp {'?' if rate is None else f'{rate:.1f}'} Hz "
                     f"loss {st.get('loss_pct', 0.0):.2f}%"
                     + (f" reconn {st['reconnects']}" if st.get("reconnects") else "")
                     + (f" batt {st['battery_pct']}%" if st.get("battery_pct") is not None
                        else "")
                     + (f" bad {st['bad']:,}" if st.get("bad") else "")
                     + (f" errors {st['errors']:,}" if st.get("errors") else "")
                     + f" | {st.get('twitch', 0)} twitch {st.get('lm', 0)} LM "
                     f"{st.get('series', 0)} series")
    return "\n".join(lines) if lines else clock


@dataclass
class _Sensor:
    spec: DeviceSpec
    store: Any
    live: LiveEventLog
    link: SensorLink | None = None
    detector: Any = None
    fs_hz: float | None = None
    t0_unix_s: float | None = None
    state: str = "connecting"
    live_error: Exception | None = None
    battery_pct: int | None = None
    reconnects: int = 0
    errors: int = 0               # items whose handling raised (counted; the night goes on)
    last_data_s: float | None = None   # monotonic time of the last data packet
    sample_clock_s: float | None = None  # unix time of the last sample placed (sample clock)
    error_said_at: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: {"twitch": 0, "lm": 0,
                                                            "sustained": 0, "series": 0})


class NightRecorder:
    """Record one night from one or two sensors into ``out_dir`` (see module docstring).

    Parameters
    ----------
    out_dir : path
        The night's folder; one sub-folder per sensor (its label), plus ``report/``.
    devices : list of DeviceSpec
    config : detector.config.Config, optional
        Thresholds and rules of the live detector and the final report.
    link : LinkConfig, optional
    backend : tuple of classes, optional
        bleak backend classes (the virtual sensor's); None for real hardware.
    csv : bool
        Also write ``recording.csv`` when finalising.
    report : bool
        Run the offline analysis and write the report when recording stops.
    status_every_s : float
        Seconds between status lines.
    out : callable
        Where lines go (default: print to stdout, flushed).
    window : (str, str), optional
        Lights off and lights on (``HH:MM``) for the report's rest window (estimated if None).
    tz : str, optional
        Zone of ``window`` and of the report's clock times (default: the computer's).
    """

    def __init__(self, out_dir: str | Path, devices: list[DeviceSpec], *,
                 config: Config | None = None, link: LinkConfig | None = None,
                 backend: Any = None, csv: bool = False, report: bool = True,
                 status_every_s: float = 5.0, out: Callable[[str], None] | None = None,
                 window: tuple[str, str] | None = None, tz: str | None = None) -> None:
        labels = [d.label for d in devices]
        if not devices:
            raise ValueError("no sensor given: use --device ADDRESS or --virtual")
        if len(set(labels)) != len(labels):
            raise ValueError(f"two sensors share the label {labels}: use left=ADDR and right=ADDR")
        self.out_dir = Path(out_dir)
        self.devices = devices
        self.config = config or Config()
        self.link_config = link or LinkConfig()
        self.backend = backend
        self.csv = csv
        self.report = report
        self.status_every_s = status_every_s
        self.say = out or (lambda line: print(line, flush=True))
        self.window = window
        self.tz = tz
        self.zone = zone_named(tz)  # terminal clock times; None: the computer's zone
        self.queue: asyncio.Queue = asyncio.Queue()
        self.sensors: dict[str, _Sensor] = {}
        self.storage_error: Exception | None = None
        self.started_s = time.time()
        self.paths: dict[str, Path] = {}
        self.consumer_error: BaseException | None = None

    # -- setup ---------------------------------------------------------------------------------
    def _open(self) -> None:
        from firmware_bridge.store import NightStore

        make_private_dir(self.out_dir)
        for spec in self.devices:
            folder = self.out_dir / spec.label
            sensor = _Sensor(spec=spec, store=None,
                             live=LiveEventLog(make_private_dir(folder) / "events.csv"))
            sensor.counts = dict(sensor.live.previous)    # a resumed night counts on
            sensor.store = NightStore(folder, label=spec.label, leg=spec.leg,
                                      protocol=spec.protocol,
                                      device={"address": spec.address},
                                      on_chunk=lambda chunk, s=sensor: self._on_chunk(s, chunk))
            self.sensors[spec.label] = sensor

    # -- live detection ------------------------------------------------------------------------
    def _on_chunk(self, sensor: _Sensor, chunk: Any) -> None:
        tb = sensor.store.timebase
        if tb is not None:      # the sample clock: where the night is, whatever --speed says
            sensor.sample_clock_s = float(tb.t0_unix_s + (chunk.start_index + len(chunk.acc_g))
                                          / tb.fs_hz)
        if sensor.live_error is not None:
            return
        try:
            if sensor.detector is None:
                from detector.live.detector import StreamingDetector

                tb = sensor.store.timebase
                fs = tb.fs_hz if tb is not None else (sensor.fs_hz or self.link_config.fs_hz)
                t0 = tb.t0_unix_s if tb is not None else time.time() - chunk.start_index / fs
                sensor.t0_unix_s = float(t0)
                sensor.detector = StreamingDetector(fs, self.config, leg=sensor.spec.leg,
                                                    t0_unix_s=sensor.t0_unix_s)
            for ev in sensor.detector.push(chunk.acc_g, chunk.start_index):
                self._emit(sensor, ev)
        except Exception as exc:  # noqa: BLE001 - live view only: never stop the recording
            sensor.live_error = exc
            self.say(f"{sensor.spec.label}: live detection stopped ({type(exc).__name__}: "
                     f"{exc}); recording goes on and the report is made at the end")

    def _emit(self, sensor: _Sensor, ev: Any) -> None:
        t0 = sensor.t0_unix_s or 0.0
        sensor.live.write(ev, t0, sensor.spec.leg)
        self.say(f"{_clock(t0 + ev.detected_at_s, self.zone)} {sensor.spec.label:>6} {ev.line(t0)}")

    # -- the consumer --------------------------------------------------------------------------
    def _handle(self, item: tuple[str, int, float, Any]) -> None:
        label, kind, host_s, payload = item
        sensor = self.sensors[label]
        if kind == DATA:
            sensor.store.data(host_s, payload)
            sensor.state = "streaming"
            sensor.last_data_s = time.monotonic()
        elif kind == CONTROL:
            sensor.store.control(host_s, payload)
        else:
            fields = dict(payload)
            name = fields.pop("event")
            sensor.store.event(host_s, name, **fields)
            self._note_event(sensor, name, fields, host_s)

    def _note_event(self, sensor: _Sensor, name: str, fields: dict[str, Any], host_s: float) -> None:
        label = sensor.spec.label
        if name == "stream_started":
            sensor.fs_hz = float(fields.get("fs_hz") or sensor.fs_hz or self.link_config.fs_hz)
            sensor.state = "streaming"
            self.say(f"{self._stamp(sensor, host_s)} {label:>6} stream started: "
                     f"{printable(fields.get('protocol'))} {sensor.fs_hz:g} Hz "
                     f"+-{printable(fields.get('range_g'))} g")
        elif name == "connected":
            if fields.get("attempt", 1) > 1:
                sensor.reconnects += 1
            sensor.state = "connected"
            self.say(f"{self._stamp(sensor, host_s)} {label:>6} connected to "
                     f"{printable(fields.get('name') or '')} "
                     f"{printable(fields.get('address', ''))}".rstrip())
        elif name == "disconnected":
            sensor.state = "reconnecting"
            self.say(f"{self._stamp(sensor, host_s)} {label:>6} link lost ({printable(fields.get('cause'))}); "
                     "reconnecting")
        elif name == "watchdog":
            self.say(f"{self._stamp(sensor, host_s)} {label:>6} no data for "
                     f"{printable(fields.get('silent_s'))} s: treating the link as lost")
        elif name == "battery":
            pct = fields.get("percent")
            if isinstance(pct, (int, float)) and math.isfinite(pct):
                sensor.battery_pct = int(pct)
        elif name == "device_info":
            info = ", ".join(f"{printable(k)} {printable(v)}" for k, v in fields.items())
            self.say(f"{self._stamp(sensor, host_s)} {label:>6} {info}")

    def _when(self, sensor: _Sensor, host_s: float) -> float:
        """The time a link message is printed with: the sample clock (as detections are), the
        host clock before the first sample."""
        return sensor.sample_clock_s if sensor.sample_clock_s is not None else host_s

    def _stamp(self, sensor: _Sensor, host_s: float) -> str:
        """The clock time a link message is printed with (see :meth:`_when`)."""
        return _clock(self._when(sensor, host_s), self.zone)

    def status_line(self) -> str:
        """The current status line (see :func:`format_status`)."""
        rows = []
        for label, s in self.sensors.items():
            if s.detector is not None and s.live_error is None:
                with contextlib.suppress(Exception):
                    now_counts = s.detector.counts()
                    s.counts.update({k: s.live.previous.get(k, 0) + v
                                     for k, v in now_counts.items()})
            st = s.store.stats
            silent = (None if s.last_data_s is None or s.state != "streaming"
                      else time.monotonic() - s.last_data_s)
            rows.append({"label": label, "state": s.state, "samples": st.samples,
                         "silent_s": silent if silent is not None and silent > SILENT_S else None,
                         "bad": st.bad_packets, "errors": s.errors,
                         "rate_hz": st.effective_rate_hz, "loss_pct": st.loss_pct,
                         "reconnects": s.reconnects, "battery_pct": s.battery_pct,
                         "twitch": s.counts["twitch"], "lm": s.counts["lm"],
                         "series": s.counts["series"]})
        clocks = [s.sample_clock_s for s in self.sensors.values() if s.sample_clock_s is not None]
        clock = _clock(max(clocks), self.zone) if clocks else None
        return format_status(time.time() - self.started_s, rows, clock=clock)

    async def _consume(self, stop: asyncio.Event, links_done: asyncio.Event) -> None:
        next_status = time.monotonic() + self.status_every_s
        while True:
            try:
                item = await asyncio.wait_for(self.queue.get(), timeout=0.25)
            except asyncio.TimeoutError:
                item = None
            try:
                if item is not None:
                    self._handle_safely(item)
                    # Drain what is already queued before ticking: keeps up with bursts.
                    while not self.queue.empty():
                        self._handle_safely(self.queue.get_nowait())
                now = time.time()
                for s in self.sensors.values():
                    s.store.tick(now)
            except Exception as exc:
                from firmware_bridge.rawlog import StorageError

                if isinstance(exc, (StorageError, OSError)):
                    self.storage_error = exc
                    self.say(str(exc) if isinstance(exc, StorageError)
                             else f"recording stopped: {exc}")
                    stop.set()
                    return
                raise
            if time.monotonic() >= next_status:
                self.say(self.status_line())
                next_status = time.monotonic() + self.status_every_s
            if links_done.is_set() and self.queue.empty():
                return

    def _handle_safely(self, item: tuple[str, int, float, Any]) -> None:
        """Handle one queued item; a failure costs that item only.

        The raw log is written before anything else looks at a notification, so an item whose
        decoding or accounting raises is still in the log (``legtwitch recover`` sees it). The
        failure is counted for the status line and said at most once every 10 s. Storage errors
        go up: they stop the recording cleanly.
        """
        from firmware_bridge.rawlog import StorageError

        try:
            self._handle(item)
        except (StorageError, OSError):
            raise
        except Exception as exc:  # noqa: BLE001 - one bad item must not end the night
            sensor = self.sensors.get(item[0])
            if sensor is None:
                return
            sensor.errors += 1
            now = time.monotonic()
            if now - sensor.error_said_at >= 10.0 or sensor.errors == 1:
                sensor.error_said_at = now
                self.say(f"{sensor.spec.label}: could not process a notification "
                         f"({type(exc).__name__}: {printable(exc, 160)}); it is kept in the raw "
                         f"log and the recording goes on ({sensor.errors} so far)")

    def _consumer_done(self, task: "asyncio.Task[None]", stop: asyncio.Event) -> None:
        """If the consumer ever ends by an error, say so at once and stop: what was recorded
        is finalised."""
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        self.consumer_error = exc
        self.say(f"recording stopped by an internal error ({type(exc).__name__}: "
                 f"{printable(exc, 160)}); writing what was recorded")
        stop.set()

    # -- the night -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> int:
        """Record until ``stop`` is set; finalise; write the report. Returns an exit code."""
        self._open()
        self.say(f"recording into {self.out_dir} (Ctrl-C to stop and write the report)")
        links_done = asyncio.Event()
        tasks = []
        for spec in self.devices:
            link = SensorLink(spec.address, spec.protocol, self.queue, label=spec.label,
                              config=self.link_config, backend=self.backend)
            self.sensors[spec.label].link = link
            tasks.append(asyncio.ensure_future(link.run(stop)))
        consumer = asyncio.ensure_future(self._consume(stop, links_done))
        consumer.add_done_callback(lambda t: self._consumer_done(t, stop))
        try:
            await stop.wait()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15.0)
            for t in tasks:
                t.cancel()
            links_done.set()
            if self.storage_error is None and not consumer.done():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer, 60.0)
            consumer.cancel()
            if self.consumer_error is not None:
                self._drain_into_logs()
        return self._finish()

    def _drain_into_logs(self) -> None:
        """After the consumer died: write what is still queued to the raw logs (one item at a
        time, each failure costing only that item), so nothing that reached the computer is
        lost."""
        while not self.queue.empty():
            item = self.queue.get_nowait()
            with contextlib.suppress(Exception):
                self._handle_safely(item)

    def _finish(self) -> int:
        code = 0
        for label, s in self.sensors.items():
            if s.detector is not None and self.storage_error is None and s.live_error is None:
                with contextlib.suppress(Exception):
                    for ev in s.detector.finish():
                        self._emit(s, ev)
            s.live.close()
            try:
                path = s.store.close(finalize=self.storage_error is None, csv=self.csv)
            except Exception as exc:  # the log and parts are still on disk
                self.say(f"{label}: could not finalise ({exc}); nothing is lost: run "
                         f"`legtwitch recover {self.out_dir}` when the problem is fixed")
                code = 1
                continue
            if path is not None:
                self.paths[label] = Path(path)
                st = s.store.stats
                bad = f", {st.bad_packets:,} bad packets dropped" if st.bad_packets else ""
                restarts = (f", recorder restarted {s.store.restarts} time"
                            f"{'s' if s.store.restarts != 1 else ''}" if s.store.restarts else "")
                self.say(f"{label}: {st.samples:,} samples, {st.lost_samples:,} lost "
                         f"({st.loss_pct:.2f}%), {max(s.reconnects, st.reconnects)} "
                         f"reconnects{restarts}{bad} -> {path}")
        if self.storage_error is not None:
            self.say(f"nothing written before the error is lost; run `legtwitch recover "
                     f"{self.out_dir}` once there is space (or the folder is writable)")
            return 1
        if self.report and self.paths:
            try:
                code = max(code, write_night_report(self.out_dir, self.paths, self.devices,
                                                    self.config, self.say, window=self.window,
                                                    tz=self.tz))
            except Exception as exc:  # noqa: BLE001 - the recording itself is safe
                self.say(f"report failed ({type(exc).__name__}: {printable(exc, 160)}); the "
                         f"recording is complete: run `legtwitch analyze` on "
                         f"{', '.join(str(p) for p in self.paths.values())}")
                code = 1
        return max(code, 1 if self.consumer_error is not None else 0)


def write_night_report(out_dir: Path, paths: dict[str, Path], devices: list[DeviceSpec],
                       config: Config, say: Callable[[str], None], *,
                       window: tuple[str, str] | None = None, tz: str | None = None) -> int:
    """Offline analysis of the finished recording(s) into ``out_dir/report`` (both legs merged
    by the bilateral rules when there are two sensors). Returns an exit code."""
    from detector.analysis import RecordingTooShort, analyze_file
    from detector.io.recording import InputError

    legs = {d.label: d.leg for d in devices}
    labels = list(paths)
    try:
        done = analyze_file(paths[labels[0]], Path(out_dir) / "report", config,
                            other_leg=paths[labels[1]] if len(labels) > 1 else None,
                            leg=legs.get(labels[0], "unknown"),
                            other=legs.get(labels[1], "unknown") if len(labels) > 1 else None,
                            window=window, tz=zone_named(tz), strict_window=False,
                            min_recording_s=60.0, progress=_window_note(say))
    except RecordingTooShort:
        say("report skipped: less than a minute was recorded")
        return 0
    except InputError as exc:
        say(f"report skipped: {exc}")
        return 1
    result, written = done.result, done.paths
    summary = result.summary()
    say(f"night report: {written.get('report', written['summary'])}")
    plmi = summary["plm_index"]
    say(f"  twitches {summary['n_twitch']}, LMs {summary['n_lm']}, PLMs {summary['n_plm']}, "
        f"PLM index {'n/a' if plmi is None else f'{plmi:.1f}'}"
        f"/h; pattern: {summary.get('category_title', 'n/a')} (not a diagnosis)")
    return 0


def _window_note(say: Callable[[str], None]) -> Callable[[str], None]:
    """Pass on only the analysis' note that the given rest window was not used."""
    def note(line: str) -> None:
        if line.startswith("rest window not used"):
            say(line)
    return note


def record_night(out_dir: str | Path, devices: list[DeviceSpec], *,
                 stop_after_s: float | None = None, install_signals: bool = True,
                 **kwargs: Any) -> int:
    """Run :class:`NightRecorder` until SIGINT/SIGTERM (or ``stop_after_s`` seconds); finalise
    and report. ``kwargs`` go to :class:`NightRecorder`. Returns an exit code."""
    rec = NightRecorder(out_dir, devices, **kwargs)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, stop.set)
        if stop_after_s is not None:
            loop.call_later(stop_after_s, stop.set)
        return await rec.run(stop)

    return asyncio.run(main())
