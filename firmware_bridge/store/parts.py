"""Decoded Parquet parts: what each covers of the raw log, and how a store resumes from them (the
assembler restored from the last part, the rest of the log fed again)."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from detector.io.recording import InputError
from firmware_bridge.assembler import Assembler, Chunk, Gap
from firmware_bridge.protocols.sensors import BY_NAME, LEGACCEL, POLAR
from firmware_bridge.rawlog import DATA, EVENT, HEADER_SIZE, Record
from firmware_bridge.store.files import (LOG_ID_BYTES, LOG_NAME, META_KEY, PART_RE, PARTS_DIR,
                                         feed_record, read_session, unb64)

__all__ = ["part_numbers", "log_crc", "restore_assembler", "guess_protocol"]


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


def part_numbers(parts_dir: Path) -> list[tuple[int, Path]]:
    if not parts_dir.is_dir():
        return []
    found = []
    for p in parts_dir.iterdir():
        m = PART_RE.match(p.name)
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
                     unb64(meta["clock_k"], np.int64), unb64(meta["clock_h"], np.float64),
                     int(n_rows))
    except (OSError, KeyError, ValueError, TypeError, pa.ArrowException):
        return None


def log_crc(log: Path, offset: int) -> int:
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
    for expected, (number, path) in enumerate(part_numbers(directory / PARTS_DIR)):
        if number != expected:
            break
        part = _read_part_meta(number, path)
        if part is None or part.log_offset > log_end or (
                part.log_crc != log_crc(directory / LOG_NAME, part.log_offset)):
            break
        parts.append(part)
    return parts


def restore_assembler(directory: Path, protocol: str, label: str, records: list[Record]
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
            chunks += feed_record(asm, rec)
    return asm, parts, chunks


def guess_protocol(directory: Path, records: list[Record]) -> str:
    """Protocol of a log: session.json, else a stream_started event, else the first packet."""
    proto = read_session(directory).get("protocol")
    if proto in BY_NAME:
        return str(proto)
    for rec in records:
        if rec.kind == EVENT:
            ev = rec.event()
            if ev.get("event") == "stream_started" and ev.get("protocol") in BY_NAME:
                return str(ev["protocol"])
    for rec in records:
        if rec.kind == DATA:
            # a LegAccel packet describes itself; anything else is taken for a Polar frame
            try:
                LEGACCEL.decoder()(rec.payload)
                return LEGACCEL.name
            except ValueError:
                return POLAR.name
    raise InputError(f"{directory}: cannot tell the sensor protocol (no session.json, no "
                     "stream_started event, no data)")
