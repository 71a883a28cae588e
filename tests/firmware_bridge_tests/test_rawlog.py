"""The raw packet log: round trip, torn tails, corruption, reopening, write errors."""

from __future__ import annotations

import errno
import json
import os
import stat
import struct
import time
import zlib

import pytest

from detector.io.recording import InputError
from firmware_bridge import rawlog
from firmware_bridge.rawlog import (CONTROL, DATA, EVENT, HEADER_SIZE, LogFormatError, RawLogWriter,
                                    StorageError, read_records, scan)

RECORDS = [
    (EVENT, 1000.0, json.dumps({"event": "connected", "address": "AA:BB"}).encode()),
    (CONTROL, 1000.25, bytes([0xF0, 0x01, 0x00]) + bytes(15)),
    (DATA, 1000.5, bytes(range(250))),
    (DATA, 1000.75, b""),
    (EVENT, 1001.0, json.dumps({"event": "battery", "percent": 87}).encode()),
    (DATA, 1001.125, b"\xff" * 244),
]


def write_log(path, records=RECORDS):
    with RawLogWriter(path) as w:
        for kind, host_s, payload in records:
            w.append(kind, host_s, payload)
    return path


def triples(records):
    return [(r.kind, r.host_s, r.payload) for r in records]


def test_round_trip_keeps_every_record_and_is_private(tmp_path):
    path = write_log(tmp_path / "raw.log")
    assert path.read_bytes()[:HEADER_SIZE] == b"LTRAWLOG" + struct.pack("<H", 1)
    assert triples(read_records(path)) == RECORDS
    records, damage = scan(path)
    assert damage is None
    assert triples(records) == RECORDS
    assert records[0].offset == HEADER_SIZE and records[-1].end == path.stat().st_size
    assert records[0].event() == {"event": "connected", "address": "AA:BB"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_record_layout_is_length_crc_kind_time_payload(tmp_path):
    path = write_log(tmp_path / "raw.log", [(DATA, 1234.5, b"abc")])
    raw = path.read_bytes()[HEADER_SIZE:]
    length, crc = struct.unpack_from("<II", raw)
    body = raw[8:]
    assert length == len(body) == 1 + 8 + 3
    assert crc == zlib.crc32(body)
    assert body[0] == DATA and struct.unpack_from("<d", body, 1)[0] == 1234.5
    assert body[9:] == b"abc"


def test_reopening_appends_after_the_last_record(tmp_path):
    path = write_log(tmp_path / "raw.log", RECORDS[:3])
    with RawLogWriter(path) as w:
        assert w.n_records == 3
        for rec in RECORDS[3:]:
            w.append(*rec)
    assert triples(read_records(path)) == RECORDS


def test_torn_tail_at_every_byte_of_the_last_record(tmp_path):
    full = write_log(tmp_path / "full.log").read_bytes()
    records, _ = scan(tmp_path / "full.log")
    last = records[-1]
    for cut in range(last.offset, last.end):
        path = tmp_path / f"cut{cut}.log"
        path.write_bytes(full[:cut])
        got, damage = scan(path)
        assert triples(got) == RECORDS[:-1]
        assert triples(read_records(path)) == RECORDS[:-1]
        if cut == last.offset:
            assert damage is None  # a clean cut between records
            continue
        assert damage is not None and damage.offset == last.offset and damage.torn
        # A writer reopening it cuts the torn record off and continues after the last intact one.
        with RawLogWriter(path) as w:
            w.append(DATA, 2000.0, b"next")
        assert triples(read_records(path)) == RECORDS[:-1] + [(DATA, 2000.0, b"next")]


def test_torn_header_is_rewritten(tmp_path):
    for cut in range(HEADER_SIZE):
        path = tmp_path / f"h{cut}.log"
        path.write_bytes((b"LTRAWLOG" + struct.pack("<H", 1))[:cut])
        got, damage = scan(path)
        assert got == [] and damage is not None and damage.offset == 0
        with RawLogWriter(path) as w:
            w.append(DATA, 1.0, b"x")
        assert triples(read_records(path)) == [(DATA, 1.0, b"x")]


def test_crc_damage_stops_reading_and_the_cut_part_is_kept(tmp_path):
    path = write_log(tmp_path / "raw.log")
    records, _ = scan(path)
    bad = records[2]
    raw = bytearray(path.read_bytes())
    raw[bad.end - 5] ^= 0x40  # flip one payload bit of record 2
    path.write_bytes(bytes(raw))
    got, damage = scan(path)
    assert triples(got) == RECORDS[:2]
    assert damage.offset == bad.offset and damage.reason == "CRC mismatch" and not damage.torn
    with RawLogWriter(path) as w:
        w.append(DATA, 3000.0, b"after")
    assert triples(read_records(path)) == RECORDS[:2] + [(DATA, 3000.0, b"after")]
    kept = tmp_path / f"raw.log.cut-{bad.offset}"
    assert kept.read_bytes() == bytes(raw[bad.offset:])
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_bad_kind_and_bad_length_are_damage_not_exceptions(tmp_path):
    body = struct.pack("<Bd", 9, 1.0) + b"zz"
    path = write_log(tmp_path / "kind.log", RECORDS[:1])
    with open(path, "ab") as fh:
        fh.write(struct.pack("<II", len(body), zlib.crc32(body)) + body)
    got, damage = scan(path)
    assert len(got) == 1 and damage.reason == "bad kind 9"
    path = write_log(tmp_path / "len.log", RECORDS[:1])
    with open(path, "ab") as fh:
        fh.write(struct.pack("<II", 0, 0) + b"\x00" * 32)  # zero-filled block after a crash
    got, damage = scan(path)
    assert len(got) == 1 and damage.reason == "bad length 0"


def test_not_a_log_is_an_input_error(tmp_path):
    path = tmp_path / "x.log"
    path.write_bytes(b"timestamp,x,y,z\n1,2,3,4\n")
    with pytest.raises(LogFormatError, match="not a legtwitch raw log"):
        scan(path)
    path.write_bytes(b"LTRAWLOG" + struct.pack("<H", 2))
    with pytest.raises(InputError, match="format version 2"):
        list(read_records(path))
    with pytest.raises(InputError, match="not found"):
        scan(tmp_path / "missing.log")


def test_a_second_writer_is_refused(tmp_path):
    path = tmp_path / "raw.log"
    with RawLogWriter(path):
        with pytest.raises(InputError, match="another recorder"):
            RawLogWriter(path)
    RawLogWriter(path).close()  # free again once the first is closed


def test_maybe_flush_writes_only_when_due(tmp_path):
    path = tmp_path / "raw.log"
    w = RawLogWriter(path)
    w.append(DATA, 10.0, b"a")
    assert w.maybe_flush(10.0, interval_s=2.0)  # the first call flushes
    w.append(DATA, 11.0, b"b")
    assert not w.maybe_flush(11.9, interval_s=2.0)
    assert triples(read_records(path)) == [(DATA, 10.0, b"a")]
    assert w.maybe_flush(12.0, interval_s=2.0)
    assert triples(read_records(path)) == [(DATA, 10.0, b"a"), (DATA, 11.0, b"b")]
    w.close()


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk full"),
                                         (errno.EROFS, "read-only file system"),
                                         (errno.EDQUOT, "disk quota exceeded"),
                                         (errno.EFBIG, "file too large"),
                                         (errno.EACCES, "permission denied")])
def test_write_errors_become_storage_errors_and_keep_the_flushed_log(tmp_path, monkeypatch,
                                                                     code, words):
    path = tmp_path / "raw.log"
    w = RawLogWriter(path)
    for rec in RECORDS[:3]:
        w.append(*rec)
    w.flush()
    real_write = os.write

    def half_then_fail(fd, data):
        if fd != w._fd:
            return real_write(fd, data)
        if not getattr(half_then_fail, "done", False):
            half_then_fail.done = True
            return real_write(fd, bytes(data)[:len(data) // 2])  # a partial write first
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(rawlog.os, "write", half_then_fail)
    for rec in RECORDS[3:]:
        w.append(*rec)
    with pytest.raises(StorageError) as info:
        w.flush()
    monkeypatch.undo()
    msg = str(info.value)
    safe = time.strftime("%H:%M:%S", time.gmtime(RECORDS[2][1]))  # UTC, as the status lines
    assert str(path) in msg and words in msg and "recording stopped" in msg
    assert f"everything flushed before {safe} is safe" in msg
    assert info.value.errno == code
    # The partial record was cut off again: the log reads cleanly up to the last flush.
    got, damage = scan(path)
    assert damage is None and triples(got) == RECORDS[:3]
    with pytest.raises(StorageError):  # a failed writer stays failed
        w.append(DATA, 5000.0, b"x")
    w.close()  # and closing it does not raise
    assert triples(read_records(path)) == RECORDS[:3]
