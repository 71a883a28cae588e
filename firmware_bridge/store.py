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

import base64
import contextlib
import fcntl
import json
import os
import re
import time
import zlib
from datetime import datetime, timezone
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from detector.fileio import make_private_dir, open_private, write_private
from detector.recording import InputError

from .assembler import Assembler, Chunk, Gap, TimeBase
from .constants import PROTOCOLS
from .packets import make_decoder
from .rawlog import (CONTROL, DATA, EVENT, HEADER_SIZE, LogDamage, RawLogWriter, Record,
                     StorageError, fsync_dir, scan, storage_error)

__all__ = ["NightStore", "StoreStats", "finalize", "recover", "read_gaps", "read_session",
           "LOG_NAME", "SESSION_NAME", "GAPS_NAME", "RECORDING_NAME", "RECORDING_CSV_NAME",
           "PARTS_DIR", "GAP_COLUMNS", "RECORDING_COLUMNS", "META_KEY"]

LOG_NAME = "raw.log"
SESSION_NAME = "session.json"
GAPS_NAME = "gaps.csv"
RECORDING_NAME = "recording.parquet"
RECORDING_CSV_NAME = "recording.csv"
PARTS_DIR = "parts"
#: Columns of gaps.csv: ``start_time`` is the unix time (s) of the first missing sample,
#: ``duration_s`` = ``n_samples / fs_hz``, ``exact`` is False for an estimate (device reboot).
GAP_COLUMNS = ("start_index", "n_samples", "start_time", "duration_s", "cause", "exact")
#: Columns of recording.parquet (and recording.csv).
RECORDING_COLUMNS = ("timestamp", "x", "y", "z", "session", "sample_index")
#: Parquet key-value metadata key holding the JSON description (parts and recording).
META_KEY = b"legtwitch"
LOG_ID_BYTES = 1 << 16
_PART_RE = re.compile(r"^part-(\d{5,})\.parquet$")
_COMPRESSION = "zstd"


# --- small utilities ----------------------------------------------------------------------------

def _write_parquet_atomic(path: Path, table: pa.Table) -> Path:
    """Write ``table`` to a temporary file, fsync, rename to ``path`` (0600)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open_private(tmp, "wb") as fh:
            pq.write_table(table, fh, compression=_COMPRESSION)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


@contextlib.contextmanager
def _guard(path: Path, what: str, safe_until_s: float | None) -> Iterator[None]:
    """Turn OS and Arrow write errors inside the block into :class:`StorageError`."""
    try:
        yield
    except StorageError:
        raise
    except OSError as exc:
        raise storage_error(path, what, exc, safe_until_s) from exc
    except (MemoryError, pa.ArrowMemoryError) as exc:
        # Not the disk: say so (a "cannot write (malloc failed)" would send the user to free
        # disk space). The raw log is untouched.
        raise StorageError(f"{path}: out of memory while trying to {what}; nothing is lost: "
                           "the raw log is intact and `legtwitch recover` rebuilds the "
                           "recording from it", path, None, safe_until_s) from exc
    except pa.ArrowException as exc:
        err = OSError(getattr(exc, "errno", None), str(exc))
        raise storage_error(path, what, err, safe_until_s) from exc


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _unb64(text: str, dtype: Any) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def _gap_dict(g: Gap) -> dict[str, Any]:
    return asdict(g)


def _damage_dict(damage: LogDamage | None) -> dict[str, Any] | None:
    if damage is None:
        return None
    return {**asdict(damage), "torn": damage.torn}


def _feed(asm: Assembler, rec: Record) -> list[Chunk]:
    if rec.kind == DATA:
        return asm.data(rec.host_s, rec.payload)
    if rec.kind == EVENT:
        return asm.event(rec.host_s, rec.event())
    return asm.control(rec.host_s, rec.payload)


def _chunks_table(chunks: list[Chunk]) -> pa.Table:
    """Samples of consecutive chunks as a table: sample_index, session, x, y, z."""
    if chunks:
        idx = np.concatenate([np.arange(c.start_index, c.end_index, dtype=np.int64)
                              for c in chunks])
        sess = np.concatenate([np.full(c.n, c.session, dtype=np.int32) for c in chunks])
        acc = np.concatenate([c.acc_g for c in chunks]).astype(np.float32, copy=False)
    else:
        idx, sess = np.zeros(0, np.int64), np.zeros(0, np.int32)
        acc = np.zeros((0, 3), np.float32)
    return pa.table({"sample_index": idx, "session": sess, "x": acc[:, 0], "y": acc[:, 1],
                     "z": acc[:, 2]})


def _gaps_frame(gaps: Iterable[Gap], tb: TimeBase | None) -> pd.DataFrame:
    gaps = list(gaps)
    start = np.array([g.start_index for g in gaps], dtype=np.int64)
    n = np.array([g.n_samples for g in gaps], dtype=np.int64)
    if tb is not None:
        t = tb.times(start)
        dur = n / tb.fs_hz
    else:
        t = np.full(len(gaps), np.nan)
        dur = np.full(len(gaps), np.nan)
    return pd.DataFrame({"start_index": start, "n_samples": n, "start_time": t,
                         "duration_s": dur, "cause": [g.cause for g in gaps],
                         "exact": np.array([g.exact for g in gaps], dtype=bool)},
                        columns=list(GAP_COLUMNS))


def _write_gaps(directory: Path, gaps: Iterable[Gap], tb: TimeBase | None) -> Path:
    frame = _gaps_frame(gaps, tb)
    # After the contract's columns: the start as a local clock time with its UTC offset (this
    # computer's zone), for a person reading the file.
    frame["start_local"] = [
        "" if not np.isfinite(t) else
        datetime.fromtimestamp(float(t), tz=timezone.utc).astimezone().isoformat(
            timespec="milliseconds") for t in frame["start_time"].to_numpy(float)]
    text = frame.to_csv(index=False, float_format="%.6f", lineterminator="\n")
    return write_private(directory / GAPS_NAME, text)


def read_session(directory: str | Path) -> dict[str, Any]:
    """The folder's session.json as a dict (empty if missing or unreadable)."""
    path = Path(directory) / SESSION_NAME
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return obj if isinstance(obj, dict) else {}


def _write_session(directory: Path, info: dict[str, Any]) -> None:
    write_private(directory / SESSION_NAME, json.dumps(info, indent=2, default=str) + "\n")


def _lock_shared(log: Path) -> int:
    """Open the log and take a shared lock: fails while a recorder writes to it."""
    try:
        fd = os.open(log, os.O_RDONLY)
    except FileNotFoundError:
        raise InputError(f"{log}: raw log not found (expected a folder written by "
                         "`legtwitch record`)") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise InputError(f"{log}: a recorder is still writing to this folder; stop it first"
                         ) from None
    return fd


# --- parts --------------------------------------------------------------------------------------

@dataclass
class _Part:
    number: int
    path: Path
    log_offset: int
    log_crc: int
    state: dict[str, Any]
    gaps: list[Gap]
    clock_k: np.ndarray
    clock_h: np.ndarray
    n_rows: int


def _part_numbers(parts_dir: Path) -> list[tuple[int, Path]]:
    if not parts_dir.is_dir():
        return []
    found = []
    for p in parts_dir.iterdir():
        m = _PART_RE.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def _read_part_meta(number: int, path: Path) -> _Part | None:
    try:
        md = pq.read_schema(path).metadata or {}
        meta = json.loads(md[META_KEY])
        n_rows = pq.ParquetFile(path).metadata.num_rows
        return _Part(number, path, int(meta["log_offset"]), int(meta["log_crc"]), meta["state"],
                     [Gap(**g) for g in meta["gaps"]],
                     _unb64(meta["clock_k"], np.int64), _unb64(meta["clock_h"], np.float64),
                     int(n_rows))
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException):
        return None


def _log_crc(log: Path, offset: int) -> int:
    """CRC-32 of the first ``min(offset, LOG_ID_BYTES)`` bytes of a log: ties a part to the
    log it was cut from (a folder whose raw.log was replaced must not use old parts)."""
    try:
        with open(log, "rb") as fh:
            return zlib.crc32(fh.read(min(offset, LOG_ID_BYTES)))
    except OSError:
        return -1


def _load_parts(directory: Path, log_end: int) -> list[_Part]:
    """The longest run of readable parts numbered 0, 1, 2, ... cut from this log."""
    parts: list[_Part] = []
    for expected, (number, path) in enumerate(_part_numbers(directory / PARTS_DIR)):
        if number != expected:
            break
        part = _read_part_meta(number, path)
        if part is None or part.log_offset > log_end or (
                part.log_crc != _log_crc(directory / LOG_NAME, part.log_offset)):
            break
        parts.append(part)
    return parts


def _restore(directory: Path, protocol: str, label: str, records: list[Record]
             ) -> tuple[Assembler, list[_Part], list[Chunk]]:
    """Assembler state at the end of the log: from the last part's snapshot plus the records
    after it (or from the start of the log without parts). Returns the assembler, the parts
    used and the chunks emitted from the records after the last part."""
    log_end = records[-1].end if records else HEADER_SIZE
    parts = _load_parts(directory, log_end)
    if parts:
        gaps = [g for p in parts for g in p.gaps]
        ck = np.concatenate([p.clock_k for p in parts]).tolist()
        ch = np.concatenate([p.clock_h for p in parts]).tolist()
        last = parts[-1]
        if last.state.get("protocol") != protocol:
            raise InputError(f"{last.path}: written for protocol {last.state.get('protocol')!r}, "
                             f"not {protocol!r}")
        asm = Assembler.restore(last.state, gaps, ck, ch, label=label)
        offset = last.log_offset
    else:
        asm = Assembler(protocol, label)
        offset = 0
    chunks: list[Chunk] = []
    for rec in records:
        if rec.offset >= offset:
            chunks += _feed(asm, rec)
    return asm, parts, chunks


def _guess_protocol(directory: Path, records: list[Record]) -> str:
    """Protocol of a log: session.json, else a stream_started event, else the first packet."""
    proto = read_session(directory).get("protocol")
    if proto in PROTOCOLS:
        return str(proto)
    for rec in records:
        if rec.kind == EVENT:
            ev = rec.event()
            if ev.get("event") == "stream_started" and ev.get("protocol") in PROTOCOLS:
                return str(ev["protocol"])
    for rec in records:
        if rec.kind == DATA:
            try:
                make_decoder("legaccel")(rec.payload)
                return "legaccel"
            except ValueError:
                return "polar"
    raise InputError(f"{directory}: cannot tell the sensor protocol (no session.json, no "
                     "stream_started event, no data)")


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
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown sensor protocol {protocol!r}; expected one of "
                             f"{', '.join(PROTOCOLS)}")
        self.directory = Path(directory)
        self.label, self.leg, self.protocol = label, leg, protocol
        self.flush_interval_s = float(flush_interval_s)
        self.part_interval_s = float(part_interval_s)
        self.on_chunk = on_chunk
        self._failed: StorageError | None = None
        self._closed = False
        self._result: Path | None = None
        self._pending: list[Chunk] = []
        self._last_part_s: float | None = None
        with _guard(self.directory, "create the recording folder", None):
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
            self._asm, parts, chunks = _restore(self.directory, protocol, label, records)
            self._pending = chunks
            numbers = _part_numbers(self.directory / PARTS_DIR)
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
            with _guard(self.directory / SESSION_NAME, "write", None):
                _write_session(self.directory, info)
        except BaseException:
            self._writer.close()
            raise

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
                _write_session(self.directory, info)
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
                    "log_crc": _log_crc(self.log_path, offset),
                    "state": asm.state(),
                    "gaps": [_gap_dict(g) for g in asm.gaps[self._saved_gaps:]],
                    "clock_k": _b64(np.asarray(ck[self._saved_clock:], dtype=np.int64)),
                    "clock_h": _b64(np.asarray(ch[self._saved_clock:], dtype=np.float64))}
            table = _chunks_table(self._pending)
            table = table.replace_schema_metadata({META_KEY: json.dumps(meta).encode("utf-8")})
            safe = self._writer.safe_until_s
            with _guard(path, "write a Parquet part", safe):
                _write_parquet_atomic(path, table)
            with _guard(self.directory / GAPS_NAME, "write", safe):
                _write_gaps(self.directory, asm.gaps, asm.timebase())
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
                _write_session(self.directory, {**self._info, "status": "failed",
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
                _write_session(self.directory, {**self._info, "status": "failed",
                                                "error": str(self._failed)})
            raise
        self._closed = True
        if finalize and asm.counters.samples > 0:
            self._result = _finalize(self.directory, csv=csv)
        else:
            with _guard(self.directory / SESSION_NAME, "write", None):
                _write_session(self.directory, {**self._info, "status": "stopped"})
        return self._result

    def __enter__(self) -> "NightStore":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._closed:
            self.close(finalize=False)


# --- finishing ----------------------------------------------------------------------------------

def _final_table(tables: list[pa.Table], tb: TimeBase, meta: dict[str, Any]) -> pa.Table:
    """recording.parquet's table from part-like tables (sample_index, session, x, y, z)."""
    parts = [t.select(["sample_index", "session", "x", "y", "z"]) for t in tables if t.num_rows]
    table = pa.concat_tables(parts) if parts else _chunks_table([])
    idx = table.column("sample_index").to_numpy()
    if idx.size > 1 and not bool(np.all(np.diff(idx) > 0)):  # never expected: be safe
        order = np.argsort(idx, kind="stable")
        keep = np.concatenate(([True], np.diff(idx[order]) > 0))
        table = table.take(pa.array(order[keep]))
        idx = table.column("sample_index").to_numpy()
    out = pa.table({
        "timestamp": pa.array(tb.times(idx), pa.float64()),
        "x": table.column("x"), "y": table.column("y"), "z": table.column("z"),
        "session": table.column("session"), "sample_index": table.column("sample_index"),
    })
    clock = tb.clock
    kv = {"fs_hz": tb.fs_hz, "t0_unix_s": tb.t0_unix_s, "fs_nominal_hz": tb.fs_nominal_hz,
          "fs_device_hz": tb.fs_device_hz, "label": meta.get("label"), "leg": meta.get("leg"),
          "protocol": meta.get("protocol"), "clock_offset_s": clock.offset_s,
          "clock_drift_ppm": clock.drift_ppm, "clock_replay": clock.replay}
    md = {k.encode(): (repr(v) if isinstance(v, float) else str(v)).encode()
          for k, v in kv.items()}
    md[META_KEY] = json.dumps(meta, default=str).encode("utf-8")
    return out.replace_schema_metadata(md)


def _write_final(directory: Path, asm: Assembler, tables: list[pa.Table], status: str,
                 csv: bool, info: dict[str, Any], damage: LogDamage | None) -> Path:
    tb = asm.timebase()
    if tb is None or asm.counters.samples == 0:
        raise InputError(f"{directory / LOG_NAME}: no samples were recorded "
                         f"({asm.counters.records} data notifications, "
                         f"{asm.counters.bad_packets} undecodable)")
    summary = asm.summary()
    meta = {"label": info.get("label", directory.name), "leg": info.get("leg", "unknown"),
            "protocol": asm.protocol, "status": status, **summary,
            "gaps_exact": all(g.exact for g in asm.gaps),
            "log_damage": _damage_dict(damage)}
    table = _final_table(tables, tb, meta)
    path = directory / RECORDING_NAME
    with _guard(path, "write", None):
        _write_parquet_atomic(path, table)
        _write_gaps(directory, asm.gaps, tb)
        if csv:
            csv_path = directory / RECORDING_CSV_NAME
            tmp = csv_path.with_name(f".{csv_path.name}.tmp{os.getpid()}")
            try:
                with open_private(tmp, "wb") as fh:
                    fh.write((",".join(RECORDING_COLUMNS) + "\n").encode("ascii"))
                    pacsv.write_csv(table.replace_schema_metadata(None), fh,
                                    pacsv.WriteOptions(include_header=False))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, csv_path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        session = {**info, "status": status, f"{status}_unix_s": time.time(),
                   "samples": asm.counters.samples, "lost_samples": asm.counters.lost_samples,
                   "gaps": asm.counters.gaps, "fs_hz": tb.fs_hz, "t0_unix_s": tb.t0_unix_s,
                   "clock": tb.clock.as_dict()}
        if damage is not None:
            session["log_damage"] = _damage_dict(damage)
        _write_session(directory, session)
    return path


def _open_night(directory: str | Path) -> tuple[Path, dict[str, Any], list[Record],
                                                LogDamage | None, str, int]:
    d = Path(directory)
    if not d.is_dir():
        raise InputError(f"{d}: no such folder (expected a sensor folder written by "
                         "`legtwitch record`)")
    fd = _lock_shared(d / LOG_NAME)
    try:
        records, damage = scan(d / LOG_NAME)
        info = read_session(d)
        protocol = _guess_protocol(d, records)
    except BaseException:
        os.close(fd)
        raise
    info.setdefault("label", d.name)
    info.setdefault("protocol", protocol)
    return d, info, records, damage, protocol, fd


def finalize(directory: str | Path, csv: bool = False) -> Path:
    """Write recording.parquet (and gaps.csv, session.json) from the parts and the log records
    after the last part.

    Parameters
    ----------
    directory : path
        A sensor folder (``OUT/<label>``) that no recorder is writing to.
    csv : bool
        Also write recording.csv.

    Returns
    -------
    Path
        recording.parquet.

    Raises
    ------
    InputError
        No such folder or raw log, a recorder still writing, or no samples.
    StorageError
        The files cannot be written (nothing is deleted; recording.parquet is never left half
        written).
    """
    d, info, records, damage, protocol, fd = _open_night(directory)
    try:
        asm, parts, chunks = _restore(d, protocol, str(info["label"]), records)
        chunks += asm.finish()
        tables = []
        for p in parts:
            try:
                tables.append(pq.read_table(p.path))
            except (OSError, pa.ArrowException) as exc:
                raise InputError(f"{p.path}: cannot read the part ({exc}); run `legtwitch "
                                 "recover` to rebuild the recording from the raw log") from None
        tables.append(_chunks_table(chunks))
        return _write_final(d, asm, tables, "finalized", csv, info, damage)
    finally:
        os.close(fd)


_finalize = finalize


def recover(directory: str | Path, csv: bool = False) -> Path:
    """Rebuild recording.parquet, gaps.csv and session.json from the raw log alone.

    For a folder whose recorder was killed (``kill -9``, power loss, full disk): tolerates a
    torn log tail (everything before it is used) and ignores the parts and leftover temporary
    files. The result is the same as a clean close of the same records would have written.

    Parameters
    ----------
    directory : path
        A sensor folder (``OUT/<label>``).
    csv : bool
        Also write recording.csv.

    Returns
    -------
    Path
        recording.parquet.

    Raises
    ------
    InputError
        No such folder or raw log, not a raw log, a recorder still writing, or no samples.
    StorageError
        The files cannot be written.
    """
    d, info, records, damage, protocol, fd = _open_night(directory)
    try:
        asm = Assembler(protocol, str(info["label"]))
        chunks: list[Chunk] = []
        for rec in records:
            chunks += _feed(asm, rec)
        chunks += asm.finish()
        return _write_final(d, asm, [_chunks_table(chunks)], "recovered", csv, info, damage)
    finally:
        os.close(fd)


def read_gaps(directory: str | Path) -> pd.DataFrame:
    """A folder's gaps.csv (empty with the right columns if there is none).

    Returns
    -------
    DataFrame
        Columns :data:`GAP_COLUMNS`: ``start_index``, ``n_samples`` (int64), ``start_time``
        (unix s), ``duration_s`` (s), ``cause`` (str), ``exact`` (bool).
    """
    path = Path(directory) / GAPS_NAME
    if not path.exists():
        return _gaps_frame([], None)
    try:
        df = pd.read_csv(path, dtype={"start_index": np.int64, "n_samples": np.int64,
                                      "start_time": np.float64, "duration_s": np.float64,
                                      "cause": str, "exact": bool})
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: cannot read ({exc}); expected columns "
                         f"{', '.join(GAP_COLUMNS)}") from None
    missing = [c for c in GAP_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing columns {', '.join(missing)}")
    return df[list(GAP_COLUMNS)]
