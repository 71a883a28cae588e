"""Finishing a night: the final recording (one Parquet file, optionally CSV) from the parts,
``finalize`` after a clean stop, ``recover`` after a crash, and the gap table."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from detector.fileio import open_private
from detector.io.recording import InputError
from firmware_bridge.assembler import Assembler, Chunk, TimeBase
from firmware_bridge.rawlog import LogDamage, Record, scan
from firmware_bridge.store.files import (GAP_COLUMNS, GAPS_NAME, LOG_NAME, META_KEY,
                                         RECORDING_COLUMNS, RECORDING_CSV_NAME, RECORDING_NAME,
                                         chunks_table, damage_dict, feed_record, gaps_frame,
                                         lock_shared, read_session, storage_guard, write_gaps,
                                         write_parquet_atomic, write_session)
from firmware_bridge.store.parts import guess_protocol, restore_assembler

__all__ = ["finalize", "recover", "read_gaps"]


def _final_table(tables: list[pa.Table], tb: TimeBase, meta: dict[str, Any]) -> pa.Table:
    """recording.parquet's table from part-like tables (sample_index, session, x, y, z)."""
    parts = [t.select(["sample_index", "session", "x", "y", "z"]) for t in tables if t.num_rows]
    table = pa.concat_tables(parts) if parts else chunks_table([])
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
            "log_damage": damage_dict(damage)}
    table = _final_table(tables, tb, meta)
    path = directory / RECORDING_NAME
    with storage_guard(path, "write", None):
        write_parquet_atomic(path, table)
        write_gaps(directory, asm.gaps, tb)
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
            session["log_damage"] = damage_dict(damage)
        write_session(directory, session)
    return path


def _open_night(directory: str | Path) -> tuple[Path, dict[str, Any], list[Record],
                                                LogDamage | None, str, int]:
    d = Path(directory)
    if not d.is_dir():
        raise InputError(f"{d}: no such folder (expected a sensor folder written by "
                         "`legtwitch record`)")
    fd = lock_shared(d / LOG_NAME)
    try:
        records, damage = scan(d / LOG_NAME)
        info = read_session(d)
        protocol = guess_protocol(d, records)
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
        asm, parts, chunks = restore_assembler(d, protocol, str(info["label"]), records)
        chunks += asm.finish()
        tables = []
        for p in parts:
            try:
                tables.append(pq.read_table(p.path))
            except (OSError, pa.ArrowException) as exc:
                raise InputError(f"{p.path}: cannot read the part ({exc}); run `legtwitch "
                                 "recover` to rebuild the recording from the raw log") from None
        tables.append(chunks_table(chunks))
        return _write_final(d, asm, tables, "finalized", csv, info, damage)
    finally:
        os.close(fd)


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
            chunks += feed_record(asm, rec)
        chunks += asm.finish()
        return _write_final(d, asm, [chunks_table(chunks)], "recovered", csv, info, damage)
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
        return gaps_frame([], None)
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
