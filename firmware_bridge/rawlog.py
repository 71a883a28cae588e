"""The raw packet log: every notification and link event of a night, append-only, crash-safe.

Everything else in a recording (decoded samples, gaps, the clock fit, the Parquet files) is
derived from this log and can be rebuilt from it (:func:`firmware_bridge.store.recover`).

File layout (little-endian)::

    header   b"LTRAWLOG"  u16 format version (1)
    record   u32 body length   u32 crc32(body)   body
    body     u8 kind   f64 host_unix_s   payload

Kinds: :data:`DATA` (a data notification's bytes), :data:`CONTROL` (a control point reply) and
:data:`EVENT` (a UTF-8 JSON object such as ``{"event": "disconnected", ...}``).

Records are buffered in memory and written and fsynced together (:meth:`RawLogWriter.flush`,
every ~2 s), so a crash loses at most the last unflushed seconds. A record cut short by a crash
or a full disk (a *torn tail*) is detected by its length and CRC: readers stop there and report
it (:func:`scan`) instead of raising, and a writer reopening the log truncates it and appends
after the last complete record.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detector.io.recording import InputError

__all__ = ["MAGIC", "FORMAT_VERSION", "HEADER_SIZE", "DATA", "CONTROL", "EVENT", "KINDS",
           "MAX_BODY_BYTES", "Record", "LogDamage", "LogFormatError", "StorageError",
           "RawLogWriter", "read_records", "scan", "fsync_dir", "storage_error"]

MAGIC = b"LTRAWLOG"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<8sH")
HEADER_SIZE = _HEADER.size  # 10 bytes
_REC = struct.Struct("<II")  # body length, crc32(body)
_BODY = struct.Struct("<Bd")  # kind, host unix seconds

DATA, CONTROL, EVENT = 1, 2, 3
KINDS = {DATA: "data", CONTROL: "control", EVENT: "event"}

MAX_BODY_BYTES = 1 << 20
"""Largest record body accepted (1 MiB); a BLE notification is at most 512 bytes, so a larger
length field means a damaged record."""


@dataclass(frozen=True)
class Record:
    """One log record.

    Attributes
    ----------
    kind : int
        :data:`DATA`, :data:`CONTROL` or :data:`EVENT`.
    host_s : float
        Host unix time (s) at which the notification or event was received.
    payload : bytes
        The notification's bytes, or the event's UTF-8 JSON.
    offset : int
        Byte offset of the record in the file.
    end : int
        Byte offset just after the record.
    """

    kind: int
    host_s: float
    payload: bytes
    offset: int
    end: int

    def event(self) -> dict[str, Any]:
        """The JSON object of an :data:`EVENT` record (``{"event": "?"}`` if it is not one)."""
        try:
            obj = json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return {"event": "?", "raw": self.payload.decode("utf-8", "replace")}
        return obj if isinstance(obj, dict) else {"event": "?", "raw": obj}


@dataclass(frozen=True)
class LogDamage:
    """Where and why reading a log stopped before the end of the file.

    Attributes
    ----------
    offset : int
        Byte offset of the first record that could not be read; everything before it is intact.
    reason : str
        ``"truncated file header"``, ``"truncated record header"``, ``"truncated record (n of
        m bytes)"``, ``"bad length n"``, ``"CRC mismatch"``, ``"bad kind n"`` or
        ``"bad host time"``.
    file_size : int
        Size of the file in bytes.
    """

    offset: int
    reason: str
    file_size: int

    @property
    def torn(self) -> bool:
        """True when the damage is a record cut short by the end of the file (a crash during a
        write), False when a complete record is corrupt."""
        return self.reason.startswith("truncated")

    @property
    def bytes_after(self) -> int:
        """Bytes from the damaged record to the end of the file."""
        return self.file_size - self.offset


class LogFormatError(InputError):
    """A file is not a raw log of a format version this code reads."""


class StorageError(RuntimeError):
    """Writing the recording failed (full disk, read-only folder, file too large, ...).

    The message names the file, what failed and since when nothing is safe; recording stops.

    Attributes
    ----------
    path : Path
        The file being written.
    errno : int or None
        The operating system's error number (``errno.ENOSPC``, ``errno.EROFS``, ...).
    safe_until_s : float or None
        Host time of the last record safely on disk (None: none yet).
    """

    def __init__(self, message: str, path: str | Path, err: int | None = None,
                 safe_until_s: float | None = None) -> None:
        super().__init__(message)
        self.path = Path(path)
        self.errno = err
        self.safe_until_s = safe_until_s


def _hhmmss(unix_s: float) -> str:
    """HH:MM:SS in UTC, as the recorder's status lines print times."""
    return time.strftime("%H:%M:%S", time.gmtime(unix_s))


def storage_error(path: str | Path, what: str, exc: OSError,
                  safe_until_s: float | None) -> StorageError:
    """Build the :class:`StorageError` for a failed write of ``path``.

    Parameters
    ----------
    path : path
        The file being written.
    what : str
        What failed, e.g. ``"write"``, ``"fsync"``, ``"write a Parquet part"``.
    exc : OSError
        The operating system error.
    safe_until_s : float or None
        Host unix time (s) of the last record safely on disk.
    """
    reason = {errno.ENOSPC: "disk full", errno.EROFS: "read-only file system",
              errno.EDQUOT: "disk quota exceeded", errno.EFBIG: "file too large",
              errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
              errno.EIO: "input/output error"}.get(exc.errno or -1, exc.strerror or str(exc))
    safe = (f"everything flushed before {_hhmmss(safe_until_s)} is safe"
            if safe_until_s is not None else "nothing had been flushed yet")
    return StorageError(f"{path}: cannot {what} ({reason}); recording stopped; {safe}",
                        path, exc.errno, safe_until_s)


def fsync_dir(directory: str | Path) -> None:
    """fsync a directory so that a file created or renamed in it survives a crash."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


# --- reading ------------------------------------------------------------------------------------

def _parse(data: bytes | memoryview, path: str | Path
           ) -> Iterator[Record | LogDamage]:
    """Yield the records of a log's bytes, then a :class:`LogDamage` if it ends badly."""
    size = len(data)
    if size < HEADER_SIZE:
        if bytes(data[:size]) == _HEADER.pack(MAGIC, FORMAT_VERSION)[:size]:
            yield LogDamage(0, "truncated file header", size)
            return
        raise LogFormatError(f"{path}: not a legtwitch raw log (expected the {MAGIC!r} header)")
    magic, version = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise LogFormatError(f"{path}: not a legtwitch raw log (expected the {MAGIC!r} header, "
                             f"found {bytes(magic)!r})")
    if version != FORMAT_VERSION:
        raise LogFormatError(f"{path}: raw log format version {version}; this version of "
                             f"legtwitch reads version {FORMAT_VERSION}")
    pos = HEADER_SIZE
    rec_size, body_size = _REC.size, _BODY.size
    while pos < size:
        if pos + rec_size > size:
            yield LogDamage(pos, "truncated record header", size)
            return
        length, crc = _REC.unpack_from(data, pos)
        if length < body_size or length > MAX_BODY_BYTES:
            yield LogDamage(pos, f"bad length {length}", size)
            return
        start, end = pos + rec_size, pos + rec_size + length
        if end > size:
            yield LogDamage(pos, f"truncated record ({size - start} of {length} bytes)", size)
            return
        body = data[start:end]
        if zlib.crc32(body) != crc:
            yield LogDamage(pos, "CRC mismatch", size)
            return
        kind, host_s = _BODY.unpack_from(body, 0)
        if kind not in KINDS:
            yield LogDamage(pos, f"bad kind {kind}", size)
            return
        if host_s != host_s or host_s in (float("inf"), float("-inf")):
            yield LogDamage(pos, "bad host time", size)
            return
        yield Record(kind, host_s, bytes(body[body_size:]), pos, end)
        pos = end


def _read_bytes(path: str | Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise InputError(f"{path}: raw log not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a raw log file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None


def read_records(path: str | Path) -> Iterator[Record]:
    """Yield the intact records of a raw log in file order, stopping at a damaged tail.

    Parameters
    ----------
    path : path
        The ``raw.log`` file.

    Yields
    ------
    Record

    Raises
    ------
    InputError
        The file is missing or unreadable, or (:class:`LogFormatError`) it is not a raw log of
        a known format version. Damage after the header never raises: reading stops there
        (:func:`scan` says where and why).
    """
    for item in _parse(_read_bytes(path), path):
        if isinstance(item, LogDamage):
            return
        yield item


def scan(path: str | Path) -> tuple[list[Record], LogDamage | None]:
    """Read a raw log: its intact records, and where and why it ends early (None if clean).

    Parameters
    ----------
    path : path
        The ``raw.log`` file.

    Returns
    -------
    records : list of Record
        Every record before the first torn or corrupt one.
    damage : LogDamage or None
        The byte offset and reason of the first record that could not be read.

    Raises
    ------
    InputError
        As :func:`read_records`.
    """
    records: list[Record] = []
    damage = None
    for item in _parse(_read_bytes(path), path):
        if isinstance(item, LogDamage):
            damage = item
            break
        records.append(item)
    return records, damage


# --- writing ------------------------------------------------------------------------------------

class RawLogWriter:
    """Append records to a raw log, buffered, with explicit fsynced flushes.

    Opening an existing log continues it: a torn or corrupt tail is cut off (a corrupt complete
    record and everything after it is first copied to ``<name>.cut-<offset>``, so nothing is
    thrown away) and new records follow the last intact one. The file is locked (``flock``)
    while open, so two recorders cannot write to the same log.

    Parameters
    ----------
    path : path
        The ``raw.log`` file (created with permissions 0600).

    Raises
    ------
    StorageError
        The file cannot be created or written.
    LogFormatError
        An existing file is not a raw log.
    InputError
        Another process has the log open for writing.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._buf = bytearray()
        self._buf_last_host_s: float | None = None
        self._safe_host_s: float | None = None  # host time of the last record flushed
        self._last_flush_s: float | None = None
        self._failed: StorageError | None = None
        self._fd: int | None = None
        self.damage: LogDamage | None = None
        self.n_records = 0
        existing = self.path.exists()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise storage_error(self.path, "create the raw log", exc, None) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise InputError(f"{self.path}: another recorder is writing to this log; stop it "
                             "first (or record into another folder)") from None
        self._fd = fd
        try:
            os.fchmod(fd, 0o600)
            size = os.fstat(fd).st_size
            if not existing or size == 0:
                self._write_all(_HEADER.pack(MAGIC, FORMAT_VERSION))
                os.fsync(fd)
                fsync_dir(self.path.parent)
                self._offset = HEADER_SIZE
            else:
                self._offset = self._resume(size)
        except OSError as exc:
            os.close(fd)
            self._fd = None
            raise storage_error(self.path, "open the raw log", exc, None) from exc
        except BaseException:
            os.close(fd)
            self._fd = None
            raise

    def _resume(self, size: int) -> int:
        """Find the end of the last intact record; cut off a damaged tail. Returns the offset."""
        records, damage = scan(self.path)
        self.damage = damage
        self.n_records = len(records)
        if records:
            self._safe_host_s = records[-1].host_s
        if damage is None:
            return size
        if damage.offset < HEADER_SIZE:  # torn header of a log that never held a record
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
            self._write_all(_HEADER.pack(MAGIC, FORMAT_VERSION))
            os.fsync(self._fd)
            return HEADER_SIZE
        if not damage.torn:  # a complete record is corrupt: keep a copy of what is cut off
            with open(self.path, "rb") as fh:
                fh.seek(damage.offset)
                tail = fh.read()
            keep = self.path.with_name(f"{self.path.name}.cut-{damage.offset}")
            kfd = os.open(keep, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(kfd, 0o600)
                os.write(kfd, tail)
                os.fsync(kfd)
            finally:
                os.close(kfd)
        os.ftruncate(self._fd, damage.offset)
        os.fsync(self._fd)
        return damage.offset

    def _write_all(self, data: bytes) -> None:
        os.lseek(self._fd, 0, os.SEEK_END)
        done = 0
        while done < len(data):
            done += os.write(self._fd, data[done:] if done else data)

    @property
    def offset(self) -> int:
        """Byte offset just after the last appended record (flushed or still buffered)."""
        return self._offset + len(self._buf)

    @property
    def flushed_offset(self) -> int:
        """Byte offset just after the last record written to the file."""
        return self._offset

    @property
    def safe_until_s(self) -> float | None:
        """Host time (unix s) of the last record written and flushed to the file."""
        return self._safe_host_s

    @property
    def failed(self) -> StorageError | None:
        """The error that stopped this writer, if any."""
        return self._failed

    def append(self, kind: int, host_s: float, payload: bytes) -> int:
        """Buffer one record; return the byte offset just after it.

        Parameters
        ----------
        kind : int
            :data:`DATA`, :data:`CONTROL` or :data:`EVENT`.
        host_s : float
            Host unix time (s) of reception.
        payload : bytes
            The notification's bytes or the event's JSON.

        Raises
        ------
        StorageError
            The writer failed before (recording has stopped).
        ValueError
            Unknown kind, non-finite time or a payload larger than :data:`MAX_BODY_BYTES`.
        """
        if self._failed is not None:
            raise self._failed
        if self._fd is None:
            raise ValueError(f"{self.path}: the raw log is closed")
        if kind not in KINDS:
            raise ValueError(f"record kind {kind}: expected one of {sorted(KINDS)}")
        host_s = float(host_s)
        if host_s != host_s or abs(host_s) == float("inf"):
            raise ValueError(f"record host time {host_s!r}: expected a finite unix time")
        body = _BODY.pack(kind, host_s) + bytes(payload)
        if len(body) > MAX_BODY_BYTES:
            raise ValueError(f"record of {len(body)} bytes: at most {MAX_BODY_BYTES} allowed")
        self._buf += _REC.pack(len(body), zlib.crc32(body))
        self._buf += body
        self._buf_last_host_s = host_s
        self.n_records += 1
        return self.offset

    def flush(self, fsync: bool = True) -> None:
        """Write the buffered records to the file (and fsync it).

        A failed write is undone (the file is cut back to the last complete record, when the
        file system allows it) so the log stays readable up to the previous flush.

        Raises
        ------
        StorageError
            Writing or syncing failed; the writer stops (every later call raises it again).
        """
        if self._failed is not None:
            raise self._failed
        if self._fd is None:
            return
        if self._buf:
            try:
                self._write_all(bytes(self._buf))
            except OSError as exc:
                self._fail("write", exc)
            self._offset += len(self._buf)
            self._buf.clear()
            last = self._buf_last_host_s
        else:
            last = None
        if fsync:
            try:
                os.fsync(self._fd)
            except OSError as exc:
                self._fail("fsync", exc)
        if last is not None:
            self._safe_host_s = last

    def _fail(self, what: str, exc: OSError) -> None:
        """Undo a partial write, remember the error and raise it."""
        try:
            os.ftruncate(self._fd, self._offset)
        except OSError:
            pass
        self._buf = bytearray()
        err = storage_error(self.path, f"{what} the raw log", exc, self._safe_host_s)
        self._failed = err
        raise err from exc

    def maybe_flush(self, now_s: float, interval_s: float = 2.0) -> bool:
        """Flush and fsync if ``interval_s`` seconds have passed since the last flush.

        Parameters
        ----------
        now_s : float
            Current time, s (any clock, used consistently).
        interval_s : float
            Seconds between flushes.

        Returns
        -------
        bool
            Whether a flush happened.
        """
        # A clock that jumped backwards (NTP) must not hold the flushes back.
        if self._last_flush_s is not None and 0.0 <= now_s - self._last_flush_s < interval_s:
            return False
        self.flush(fsync=True)
        self._last_flush_s = now_s
        return True

    def close(self) -> None:
        """Flush, fsync and close. After a failure, just release the file (never raises for a
        writer that already failed)."""
        if self._fd is None:
            return
        try:
            if self._failed is None:
                self.flush(fsync=True)
        finally:
            fd, self._fd = self._fd, None
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "RawLogWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
