"""The files of one sensor's recording folder: their names, the session description, and writes
that a crash cannot leave half done (atomic Parquet, guarded writes that say what failed)."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from detector.fileio import open_private, write_private
from detector.io.recording import InputError
from firmware_bridge.assembler import Assembler, Chunk, Gap, TimeBase
from firmware_bridge.rawlog import (DATA, EVENT, fsync_dir, LogDamage, Record, storage_error,
                                    StorageError)

__all__ = ["LOG_NAME", "SESSION_NAME", "GAPS_NAME", "RECORDING_NAME", "RECORDING_CSV_NAME",
           "PARTS_DIR", "GAP_COLUMNS", "RECORDING_COLUMNS", "META_KEY", "LOG_ID_BYTES", "PART_RE",
           "write_parquet_atomic", "storage_guard", "b64", "unb64", "gap_dict", "damage_dict",
           "feed_record", "chunks_table", "gaps_frame", "write_gaps", "read_session",
           "write_session", "lock_shared"]

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

PART_RE = re.compile(r"^part-(\d{5,})\.parquet$")

_COMPRESSION = "zstd"


def write_parquet_atomic(path: Path, table: pa.Table) -> Path:
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
def storage_guard(path: Path, what: str, safe_until_s: float | None) -> Iterator[None]:
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


def b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def unb64(text: str, dtype: Any) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def gap_dict(g: Gap) -> dict[str, Any]:
    return asdict(g)


def damage_dict(damage: LogDamage | None) -> dict[str, Any] | None:
    if damage is None:
        return None
    return {**asdict(damage), "torn": damage.torn}


def feed_record(asm: Assembler, rec: Record) -> list[Chunk]:
    if rec.kind == DATA:
        return asm.data(rec.host_s, rec.payload)
    if rec.kind == EVENT:
        return asm.event(rec.host_s, rec.event())
    return asm.control(rec.host_s, rec.payload)


def chunks_table(chunks: list[Chunk]) -> pa.Table:
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


def gaps_frame(gaps: Iterable[Gap], tb: TimeBase | None) -> pd.DataFrame:
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


def write_gaps(directory: Path, gaps: Iterable[Gap], tb: TimeBase | None) -> Path:
    frame = gaps_frame(gaps, tb)
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


def write_session(directory: Path, info: dict[str, Any]) -> None:
    write_private(directory / SESSION_NAME, json.dumps(info, indent=2, default=str) + "\n")


def lock_shared(log: Path) -> int:
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
