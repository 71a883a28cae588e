"""One sensor's recording folder: raw log first, decoded Parquet parts, the finished night.

Layout (directories 0700, files 0600)::

    OUT/<label>/
      session.json          label, leg, address, name, protocol, started_unix_s, status, ...
      raw.log               every notification and link event (firmware_bridge.rawlog)
      parts/part-NNNNN.parquet   decoded samples, rolled every few minutes
      gaps.csv              start_index, n_samples, start_time, duration_s, cause, exact
      recording.parquet     timestamp (unix s), x, y, z (g), session, sample_index
      recording.csv         on request

:class:`NightStore` is what the recorder writes through: every notification is appended to the
raw log *before* it is decoded, the log is fsynced every ``flush_interval_s``, and the decoded
samples go to a new Parquet part every ``part_interval_s``. Each part also holds the decoder's
complete state at the log offset it was cut at, so :func:`finalize` needs only the parts plus the
log records after the last part, and a restarted recorder continues the same night.
:func:`recover` ignores the parts and rebuilds everything from the raw log (after ``kill -9``, a
full disk, a lost part); because every decision depends only on the log, it produces the same
samples, gaps and timestamps as a clean close of the same records.

``status`` in session.json goes ``recording`` -> ``finalized`` | ``recovered`` (``stopped``
when closed without finalizing, ``failed`` after a storage error).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from detector.fileio import make_private_dir
from detector.io.recording import InputError
from firmware_bridge.assembler import Assembler, Chunk, TimeBase
from firmware_bridge.protocols.sensors import protocol_named
from firmware_bridge.rawlog import (CONTROL, DATA, EVENT, RawLogWriter, scan, storage_error,
                                    StorageError)
from firmware_bridge.store.files import (GAPS_NAME, LOG_NAME, META_KEY, PARTS_DIR, SESSION_NAME,
                                         b64, chunks_table, gap_dict, read_session, storage_guard,
                                         write_gaps, write_parquet_atomic, write_session)
from firmware_bridge.store.final import finalize
from firmware_bridge.store.parts import log_crc, part_numbers, restore_assembler

__all__ = ["NightStore", "StoreStats"]


# --- small utilities ----------------------------------------------------------------------------


# --- parts --------------------------------------------------------------------------------------


# --- stats --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoreStats:
    """A recording's counters so far.

    Attributes
    ----------
    samples, lost_samples : int
        Samples recorded and samples inside gaps.
    loss_pct : float
        ``100 * lost / (samples + lost)``.
    effective_rate_hz : float or None
        Samples recorded per second of the night's grid (``fs_hz * (1 - loss)``).
    fs_hz : float or None
        Grid rate (drift-corrected), Hz.
    gaps, duplicates, reordered, late, bad_packets, sessions, reconnects : int
        See :class:`firmware_bridge.assembler.Counters`.
    battery_pct : int or None
        Latest battery level reported.
    clock_offset_s, clock_drift_ppm : float or None
        Host minus device clock at the first sample (s), and the measured drift (ppm).
    clock_replay : bool
        The device clock ran much faster or slower than the host's (a replay).
    first_host_s, last_host_s : float or None
        Host times of the first and latest data notification.
    bytes_on_disk : int
        Size of the folder's files.
    failed : str or None
        The storage error that stopped the recording.
    """

    samples: int
    lost_samples: int
    loss_pct: float
    effective_rate_hz: float | None
    fs_hz: float | None
    gaps: int
    duplicates: int
    reordered: int
    late: int
    bad_packets: int
    sessions: int
    reconnects: int
    battery_pct: int | None
    clock_offset_s: float | None
    clock_drift_ppm: float | None
    clock_replay: bool
    first_host_s: float | None
    last_host_s: float | None
    bytes_on_disk: int
    failed: str | None = None


def _dir_bytes(directory: Path) -> int:
    total = 0
    for root in (directory, directory / PARTS_DIR):
        with contextlib.suppress(OSError):
            with os.scandir(root) as it:
                for e in it:
                    with contextlib.suppress(OSError):
                        if e.is_file(follow_symlinks=False):
                            total += e.stat(follow_symlinks=False).st_size
    return total


def _stats(asm: Assembler, directory: Path, failed: str | None = None) -> StoreStats:
    c = asm.counters
    tb = asm.timebase()
    fs = tb.fs_hz if tb is not None else asm.fs_device_hz
    total = c.samples + c.lost_samples
    loss = 100.0 * c.lost_samples / total if total else 0.0
    rate = fs * c.samples / asm.night_next if (fs and asm.night_next) else None
    return StoreStats(
        samples=c.samples, lost_samples=c.lost_samples, loss_pct=loss, effective_rate_hz=rate,
        fs_hz=fs, gaps=c.gaps, duplicates=c.duplicates, reordered=c.reordered, late=c.late,
        bad_packets=c.bad_packets, sessions=c.sessions, reconnects=c.reconnects,
        battery_pct=asm.battery_pct,
        clock_offset_s=tb.clock.offset_s if tb is not None else None,
        clock_drift_ppm=tb.clock.drift_ppm if tb is not None else None,
        clock_replay=bool(tb is not None and tb.clock.replay),
        first_host_s=asm.first_data_host_s, last_host_s=asm.last_data_host_s,
        bytes_on_disk=_dir_bytes(directory), failed=failed)


# --- the store ----------------------------------------------------------------------------------

class NightStore:
    """Write one sensor's night into ``directory`` (see the module docstring for the layout).

    Parameters
    ----------
    directory : path
        The sensor's folder, ``OUT/<label>`` (created 0700). If it already holds a raw log the
        night continues: the log is appended to and decoding resumes where it stopped.
    label : str
        ``left``, ``right`` or ``sensor``.
    leg : str
        ``left``, ``right`` or ``unknown``.
    protocol : {"legaccel", "polar"}
    device : dict, optional
        What is known about the sensor (``address``, ``name``, ...), kept in session.json.
    flush_interval_s : float
        Seconds between fsyncs of the raw log (at most this much is lost on a crash).
    part_interval_s : float
        Seconds between Parquet parts.
    on_chunk : callable, optional
        Called with every :class:`~firmware_bridge.assembler.Chunk` as it becomes final (the
        live detector). Not called for records replayed when a night is resumed.

    Raises
    ------
    StorageError
        The folder or its files cannot be written.
    InputError
        Another recorder writes to the folder, or it holds a night of another protocol.
    """

    def __init__(self, directory: str | Path, *, label: str = "sensor", leg: str = "unknown",
                 protocol: str = "legaccel", device: dict[str, Any] | None = None,
                 flush_interval_s: float = 2.0, part_interval_s: float = 300.0,
                 on_chunk: Callable[[Chunk], None] | None = None) -> None:
        self.directory = Path(directory)
        self.label, self.leg = label, leg
        self.protocol = protocol_named(protocol).name
        self.flush_interval_s = float(flush_interval_s)
        self.part_interval_s = float(part_interval_s)
        self.on_chunk = on_chunk
        self._failed: StorageError | None = None
        self._closed = False
        self._result: Path | None = None
        self._pending: list[Chunk] = []
        self._last_part_s: float | None = None
        with storage_guard(self.directory, "create the recording folder", None):
            make_private_dir(self.directory)
            make_private_dir(self.directory / PARTS_DIR)
        info = read_session(self.directory)
        if info.get("protocol") not in (None, protocol):
            raise InputError(f"{self.directory}: holds a {info['protocol']} recording; record "
                             f"the {protocol} sensor into another folder")
        self.log_path = self.directory / LOG_NAME
        self._writer = RawLogWriter(self.log_path)
        try:
            records, _ = scan(self.log_path)
            self._asm, parts, chunks = restore_assembler(self.directory, protocol, label, records)
            self._pending = chunks
            numbers = part_numbers(self.directory / PARTS_DIR)
            self._part_no = numbers[-1][0] + 1 if numbers else 0
            self._saved_gaps = sum(len(p.gaps) for p in parts)
            self._saved_clock = sum(p.clock_k.size for p in parts)
            now = time.time()
            resumed = bool(records)
            info = {**info, **(device or {}), "label": label, "leg": leg, "protocol": protocol,
                    "started_unix_s": info.get("started_unix_s", now), "status": "recording",
                    "restarts": int(info.get("restarts", -1)) + 1 if info else 0,
                    "resumed": resumed}
            self._info = info
            with storage_guard(self.directory / SESSION_NAME, "write", None):
                write_session(self.directory, info)
        except BaseException:
            self._writer.close()
            raise
        if resumed:
            # samples missing across the restart were lost because nobody recorded: the gap's
            # cause is "recorder down", not a disconnect (logged at the last record's time)
            last = self._asm.last_data_host_s
            self.event(float(last) if last is not None else now, "recorder_restarted")

    # -- recording -------------------------------------------------------------------------------
    def _check(self) -> None:
        if self._failed is not None:
            raise self._failed
        if self._closed:
            raise ValueError(f"{self.directory}: the recording is closed")

    def _fail(self, exc: StorageError) -> StorageError:
        self._failed = exc
        return exc

    def _take(self, chunks: list[Chunk]) -> None:
        if chunks:
            self._pending.extend(chunks)
            if self.on_chunk is not None:
                for c in chunks:
                    self.on_chunk(c)

    def _append(self, kind: int, host_s: float, payload: bytes) -> None:
        try:
            self._writer.append(kind, host_s, payload)
            self._writer.maybe_flush(host_s, self.flush_interval_s)
        except StorageError as exc:
            raise self._fail(exc) from None

    def data(self, host_s: float, payload: bytes) -> list[Chunk]:
        """Log a data notification, then decode it; return the chunks that became final.

        Raises
        ------
        StorageError
            The log cannot be written (recording has stopped; what was flushed is intact).
        """
        self._check()
        payload = bytes(payload)
        self._append(DATA, host_s, payload)
        chunks = self._asm.data(host_s, payload)
        self._take(chunks)
        return chunks

    def event(self, host_s: float, name: str, /, **fields: Any) -> None:
        """Log a link event ``{"event": name, **fields}``, then take it into account.

        ``name`` is positional only, so the fields may hold a ``name`` (the device's). Events
        the decoder uses: ``connected``, ``disconnected``, ``watchdog``, ``stream_started``
        (Polar: ``fs_hz``, ``range_g``, ``factor``), ``battery`` (``percent``); ``connected``
        (``address``, ``name``) and ``device_info`` are also kept in session.json.
        """
        self._check()
        payload = json.dumps({"event": name, **fields}, default=str).encode("utf-8")
        self._append(EVENT, host_s, payload)
        obj = json.loads(payload)
        self._take(self._asm.event(host_s, obj))
        if name in ("connected", "device_info"):
            self._note_device(name, obj)

    def _note_device(self, name: str, obj: dict[str, Any]) -> None:
        """Keep what the link learnt about the sensor in session.json."""
        info = dict(self._info)
        if name == "connected":
            info.update({k: obj[k] for k in ("address", "name") if obj.get(k)})
        else:
            info["device_info"] = {k: v for k, v in obj.items() if k != "event"}
        if info != self._info:
            self._info = info
            try:
                write_session(self.directory, info)
            except OSError as exc:
                raise self._fail(storage_error(self.directory / SESSION_NAME, "write", exc,
                                              self._writer.safe_until_s)) from None

    def control(self, host_s: float, payload: bytes) -> None:
        """Log a control point reply."""
        self._check()
        payload = bytes(payload)
        self._append(CONTROL, host_s, payload)
        self._take(self._asm.control(host_s, payload))

    def flush(self) -> None:
        """Write and fsync the raw log now."""
        self._check()
        try:
            self._writer.flush(fsync=True)
        except StorageError as exc:
            raise self._fail(exc) from None

    def tick(self, now_s: float) -> None:
        """Flush the log when ``flush_interval_s`` has passed, and write a Parquet part of the
        samples decoded since the last one when ``part_interval_s`` has passed.

        Raises
        ------
        StorageError
            A write failed (recording has stopped; what was flushed before is intact).
        """
        self._check()
        try:
            self._writer.maybe_flush(now_s, self.flush_interval_s)
        except StorageError as exc:
            raise self._fail(exc) from None
        if self._last_part_s is None:
            self._last_part_s = now_s
        elif not 0.0 <= now_s - self._last_part_s < self.part_interval_s:
            self._last_part_s = now_s
            if self._pending:
                self.roll_part()

    def roll_part(self) -> Path | None:
        """Write the samples decoded since the last part as the next part (log flushed first);
        also rewrite gaps.csv. Returns the part's path (None if there was nothing new)."""
        self._check()
        if not self._pending:
            return None
        try:
            self._writer.flush(fsync=True)  # the log is always ahead of the parts
            path = self.directory / PARTS_DIR / f"part-{self._part_no:05d}.parquet"
            asm = self._asm
            ck, ch = asm.clock_points
            offset = self._writer.offset
            meta = {"part": self._part_no, "log_offset": offset,
                    "log_crc": log_crc(self.log_path, offset),
                    "state": asm.state(),
                    "gaps": [gap_dict(g) for g in asm.gaps[self._saved_gaps:]],
                    "clock_k": b64(np.asarray(ck[self._saved_clock:], dtype=np.int64)),
                    "clock_h": b64(np.asarray(ch[self._saved_clock:], dtype=np.float64))}
            table = chunks_table(self._pending)
            table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode("utf-8")})
            safe = self._writer.safe_until_s
            with storage_guard(path, "write a Parquet part", safe):
                write_parquet_atomic(path, table)
            with storage_guard(self.directory / GAPS_NAME, "write", safe):
                write_gaps(self.directory, asm.gaps, asm.timebase())
        except StorageError as exc:
            raise self._fail(exc) from None
        self._pending = []
        self._part_no += 1
        self._saved_gaps = len(asm.gaps)
        self._saved_clock = len(ck)
        return path

    # -- reading ---------------------------------------------------------------------------------
    @property
    def stats(self) -> StoreStats:
        """Counters, loss, rate, clock and size so far."""
        return _stats(self._asm, self.directory,
                      str(self._failed) if self._failed is not None else None)

    @property
    def restarts(self) -> int:
        """Times a recorder was restarted on this night (0 for a night recorded in one go)."""
        return int(self._info.get("restarts", 0) or 0)

    @property
    def timebase(self) -> TimeBase | None:
        """The night's time grid so far (None before the first sample)."""
        return self._asm.timebase()

    @property
    def assembler(self) -> Assembler:
        """The decoder and loss accountant (read it, do not feed it)."""
        return self._asm

    # -- the end ---------------------------------------------------------------------------------
    def close(self, *, finalize: bool = True, csv: bool = False) -> Path | None:
        """Stop: release buffered packets, write the last part, close the log and (by default)
        write recording.parquet.

        After a :class:`StorageError` nothing more is written and nothing is deleted: the log
        and parts stay as they are for :func:`recover`; returns None.

        Returns
        -------
        Path or None
            recording.parquet, or None when not finalizing, after a storage error, or when no
            sample was recorded.

        Raises
        ------
        StorageError
            Writing failed during the close (what was written before is intact).
        """
        if self._closed:
            return self._result
        if self._failed is not None:
            self._closed = True
            self._writer.close()
            with contextlib.suppress(Exception):
                write_session(self.directory, {**self._info, "status": "failed",
                                                "error": str(self._failed)})
            return None
        asm = self._asm
        try:
            if asm.last_host_s is not None:
                host_s = asm.last_host_s
                payload = json.dumps({"event": "closed"}).encode("utf-8")
                self._append(EVENT, host_s, payload)
                self._take(asm.event(host_s, json.loads(payload)))
            self._take(asm.finish())
            if self._pending:
                self.roll_part()
            try:
                self._writer.close()
            except StorageError as exc:
                raise self._fail(exc) from None
        except StorageError:
            self._closed = True
            self._writer.close()
            with contextlib.suppress(Exception):
                write_session(self.directory, {**self._info, "status": "failed",
                                                "error": str(self._failed)})
            raise
        self._closed = True
        if finalize and asm.counters.samples > 0:
            self._result = _finalize(self.directory, csv=csv)
        else:
            with storage_guard(self.directory / SESSION_NAME, "write", None):
                write_session(self.directory, {**self._info, "status": "stopped"})
        return self._result

    def __enter__(self) -> "NightStore":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._closed:
            self.close(finalize=False)


# --- finishing ----------------------------------------------------------------------------------


_finalize = finalize


