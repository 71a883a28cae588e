"""The recording folder: parts, finalize, recover after kill -9, full disk, read-only folder."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import pyarrow.parquet
from firmware_bridge.assembler import CAUSE_DISCONNECT, CAUSE_PACKET_LOSS
from firmware_bridge.rawlog import DATA, StorageError, scan
from firmware_bridge.store import (GAP_COLUMNS, RECORDING_COLUMNS, NightStore, finalize, read_gaps,
                                   read_session, recover)
from packets import (FS, H0, POLAR_N, POLAR_START, SCALE, SPP, arrival, la, polar_frame,
                            values)
from repo import REPO, TESTS


DROPPED = {5, 6, 40} | set(range(100, 130))
RESTART_AT = 300
DEV_A, DEV_B = 50.0, 50.0 + (RESTART_AT * SPP + 5000) / FS


def night_items(n_packets: int = 400) -> list[tuple]:
    """A night in miniature: drops, a swapped pair, a duplicate, then a disconnect and a new
    session 5000 samples after the old one would have gone on."""
    items: list[tuple] = [("event", H0 - 1, "connected",
                           {"attempt": 1, "address": "AA:BB", "name": "LegAccel L"}),
                          ("event", H0 - 0.5, "device_info", {"model": "LA1", "firmware": "1.2"})]
    order = [s for s in range(RESTART_AT) if s not in DROPPED]
    i = order.index(60)
    order[i], order[i + 1] = order[i + 1], order[i]
    for s in order:
        items.append(("data", arrival(s), la(s, 1, DEV_A)))
        if s == 70:
            items.append(("data", arrival(s) + 0.01, la(s, 1, DEV_A)))
    # The host clock agrees with the device's (same latency as before).
    host_b = arrival(RESTART_AT - 1) + 5000 / FS - 0.02
    items += [("event", arrival(RESTART_AT) + 1, "disconnected", {"cause": "disconnect"}),
              ("event", host_b - 2, "connected", {"attempt": 2}),
              ("event", host_b - 1, "stream_started", {"protocol": "legaccel"})]
    items += [("data", arrival(s, host0=host_b), la(s, 2, DEV_B))
              for s in range(n_packets - RESTART_AT)]
    return items


def expected_samples():
    """(night index, counts) the night's notifications should produce."""
    kept_a = [s for s in range(RESTART_AT) if s not in DROPPED]
    idx_a = np.concatenate([np.arange(s * SPP, (s + 1) * SPP) for s in kept_a])
    start_b = RESTART_AT * SPP + 5000
    idx_b = np.arange(start_b, start_b + 100 * SPP)
    return (np.concatenate([idx_a, idx_b]),
            np.concatenate([values(idx_a), values(idx_b - start_b)]))


def feed(st: NightStore, items, roll_every: int | None = None) -> None:
    for n, item in enumerate(items):
        if item[0] == "data":
            st.data(item[1], item[2])
        else:
            st.event(item[1], item[2], **item[3])
        if roll_every and n % roll_every == roll_every - 1:
            st.roll_part()


def read(path) -> dict[str, np.ndarray]:
    table = pq.read_table(path)
    return {c: table.column(c).to_numpy() for c in table.column_names}


def assert_same_recording(a, b) -> None:
    ta, tb = read(a), read(b)
    assert list(ta) == list(tb) == list(RECORDING_COLUMNS)
    for c in RECORDING_COLUMNS:
        assert np.array_equal(ta[c], tb[c]), c


def test_finished_night_layout_samples_and_gaps(tmp_path):
    folder = tmp_path / "out" / "left"
    st = NightStore(folder, label="left", leg="left", device={"address": "AA:BB"},
                    part_interval_s=1e9)
    feed(st, night_items(), roll_every=97)
    path = st.close(csv=True)
    assert path == folder / "recording.parquet"
    data = read(path)
    idx, counts = expected_samples()
    assert np.array_equal(data["sample_index"], idx)
    assert data["x"].dtype == np.float32 and data["timestamp"].dtype == np.float64
    assert data["session"].dtype == np.int32 and data["sample_index"].dtype == np.int64
    assert np.array_equal(np.stack([data["x"], data["y"], data["z"]], axis=1),
                          (counts * SCALE).astype(np.float32))
    assert set(data["session"][idx >= RESTART_AT * SPP].tolist()) == {1}
    meta = pq.read_schema(path).metadata
    fs, t0 = float(meta[b"fs_hz"]), float(meta[b"t0_unix_s"])
    assert np.array_equal(data["timestamp"], t0 + idx / fs)
    assert meta[b"label"] == b"left" and meta[b"protocol"] == b"legaccel"
    info = json.loads(meta[b"legtwitch"])
    assert info["duplicates"] == 1 and info["reordered"] == 1 and info["sessions"] == 2

    gaps = read_gaps(folder)
    assert list(gaps.columns) == list(GAP_COLUMNS)
    assert gaps[["start_index", "n_samples"]].values.tolist() == [
        [5 * SPP, 2 * SPP], [40 * SPP, SPP], [100 * SPP, 30 * SPP], [RESTART_AT * SPP, 5000]]
    assert gaps["cause"].tolist() == [CAUSE_PACKET_LOSS] * 3 + [CAUSE_DISCONNECT]
    assert gaps["exact"].tolist() == [True] * 4
    assert np.allclose(gaps["start_time"], t0 + gaps["start_index"] / fs, atol=1e-6)
    assert np.allclose(gaps["duration_s"], gaps["n_samples"] / fs)

    session = read_session(folder)
    assert session["status"] == "finalized" and session["address"] == "AA:BB"
    assert session["name"] == "LegAccel L" and session["device_info"]["model"] == "LA1"
    assert session["label"] == "left" and session["leg"] == "left"
    assert (folder / "recording.csv").read_text().splitlines()[0] == ",".join(RECORDING_COLUMNS)
    stats = st.stats
    lost = len(DROPPED) * SPP + 5000
    assert stats.samples == idx.size and stats.lost_samples == lost
    assert stats.loss_pct == pytest.approx(100 * lost / (idx.size + lost))
    assert not stats.clock_replay and stats.clock_drift_ppm == pytest.approx(0, abs=1)
    assert stats.gaps == 4 and stats.reconnects == 1


def test_analyze_reads_back_the_samples_and_the_gaps(tmp_path):
    from detector.io.load import load_recording

    folder = tmp_path / "sensor"
    st = NightStore(folder)
    feed(st, night_items())
    path = st.close()
    data = read(path)
    fs = float(pq.read_schema(path).metadata[b"fs_hz"])
    rec = load_recording(path, fs_hz=fs)
    idx = data["sample_index"]
    # The loader sizes its grid from float64 unix times (2.4e-7 s resolution) with a 1e-6
    # sample tolerance, so it may leave out the very last sample; everything else must match.
    assert rec.n_samples in (idx[-1], idx[-1] + 1)
    n = rec.n_samples
    valid = np.zeros(n, bool)
    valid[idx[idx < n]] = True
    assert np.array_equal(rec.valid, valid)  # every gap comes out as a gap, nothing else
    xyz = np.stack([data["x"], data["y"], data["z"]], axis=1)[idx < n]
    assert np.allclose(rec.acc_g[idx[idx < n]], xyz, atol=1e-5, rtol=0)
    assert rec.t0_unix_s == data["timestamp"][0]


def test_every_file_is_private(tmp_path):
    folder = tmp_path / "out" / "sensor"
    st = NightStore(folder, part_interval_s=1e9)
    feed(st, night_items(), roll_every=150)
    st.close(csv=True)
    recover(folder, csv=True)
    for root, dirs, files in os.walk(tmp_path / "out"):
        if Path(root) != tmp_path / "out":
            assert stat.S_IMODE(os.stat(root).st_mode) == 0o700, root
        for name in files:
            mode = stat.S_IMODE(os.stat(os.path.join(root, name)).st_mode)
            assert mode == 0o600, (root, name, oct(mode))
    assert len(list((folder / "parts").glob("part-*.parquet"))) >= 3


def test_recover_equals_finalize_and_ignores_temp_files_and_a_torn_tail(tmp_path):
    folder = tmp_path / "sensor"
    st = NightStore(folder, part_interval_s=1e9)
    feed(st, night_items(), roll_every=61)
    first = st.close()
    keep = tmp_path / "first.parquet"
    keep.write_bytes(first.read_bytes())
    (folder / ".recording.parquet.tmp4242").write_bytes(b"PAR1 half a file")
    (folder / "parts" / ".part-00099.parquet.tmp77").write_bytes(b"junk")
    with open(folder / "raw.log", "ab") as fh:
        fh.write(b"\x40\x00\x00\x00\x12\x34")  # a record cut short by a crash
    assert recover(folder) == first
    assert_same_recording(keep, first)
    session = read_session(folder)
    assert session["status"] == "recovered" and session["log_damage"]["torn"]
    assert read_gaps(folder)["n_samples"].sum() == len(DROPPED) * SPP + 5000
    assert finalize(folder) == first  # parts + tail give the same again
    assert_same_recording(keep, first)


def test_a_resumed_night_continues_the_same_grid(tmp_path):
    items = night_items()
    ref = NightStore(tmp_path / "ref")
    feed(ref, items)
    ref_path = ref.close()

    folder = tmp_path / "sensor"
    st = NightStore(folder, part_interval_s=1e9)
    feed(st, items[:150], roll_every=40)
    assert st.close(finalize=False) is None
    assert read_session(folder)["status"] == "stopped"
    st2 = NightStore(folder, part_interval_s=1e9)  # the recorder restarted
    assert read_session(folder)["status"] == "recording"
    feed(st2, items[150:], roll_every=70)
    path = st2.close()
    a, b = read(path), read(ref_path)
    for c in ("sample_index", "x", "y", "z", "session"):
        assert np.array_equal(a[c], b[c]), c
    assert read_gaps(folder).drop(columns="start_time").equals(
        read_gaps(tmp_path / "ref").drop(columns="start_time"))
    keep = tmp_path / "resumed.parquet"
    keep.write_bytes(path.read_bytes())
    recover(folder)
    assert_same_recording(keep, path)


def test_samples_lost_while_the_recorder_was_down_are_called_so(tmp_path):
    # The recorder was killed after item 150 and restarted 20 data packets later: those samples
    # were lost because nobody recorded, not because of the link ("disconnect" once).
    items = night_items()
    folder = tmp_path / "sensor"
    st = NightStore(folder, part_interval_s=1e9)
    feed(st, items[:150])
    st.close(finalize=False)
    st2 = NightStore(folder, part_interval_s=1e9)
    assert st.restarts == 0 and st2.restarts == 1     # the summary line says so
    skipped = [it for it in items[150:170] if it[0] == "data"]
    assert len(skipped) == 20 and all(it[0] == "data" for it in items[150:171])
    feed(st2, items[170:])
    st2.close()
    gaps = read_gaps(folder)
    down = gaps[gaps["cause"] == "recorder down"]
    assert len(down) == 1 and down["n_samples"].iloc[0] == 20 * SPP
    assert "disconnect" in set(gaps["cause"])           # the real link drop later still is one


def test_parts_of_another_log_are_not_used(tmp_path):
    folder = tmp_path / "sensor"
    st = NightStore(folder, part_interval_s=1e9)
    feed(st, night_items()[:200], roll_every=50)
    st.close(finalize=False)
    (folder / "raw.log").unlink()  # a new night in the same folder, old parts left behind
    st = NightStore(folder, part_interval_s=1e9)
    feed(st, [("data", arrival(s, host0=H0 + 1e5), la(s, 9, 10.0)) for s in range(300)],
         roll_every=120)
    path = st.close()
    assert np.array_equal(read(path)["sample_index"], np.arange(300 * SPP))
    assert read_gaps(folder).empty


def test_polar_night_through_the_store(tmp_path):
    folder = tmp_path / "sensor"
    st = NightStore(folder, protocol="polar", part_interval_s=1e9)
    st.event(H0, "stream_started", **{k: v for k, v in POLAR_START.items() if k != "event"})
    for k in range(30):
        if k != 12:
            st.data(*polar_frame(k))
        if k == 20:
            st.roll_part()
    path = st.close()
    data = read(path)
    assert data["sample_index"].size == 29 * POLAR_N
    assert read_gaps(folder)[["start_index", "n_samples"]].values.tolist() == [
        [12 * POLAR_N, POLAR_N]]
    keep = tmp_path / "polar.parquet"
    keep.write_bytes(path.read_bytes())
    recover(folder)
    assert_same_recording(keep, path)


def test_a_folder_of_another_protocol_is_refused(tmp_path):
    NightStore(tmp_path / "s").close(finalize=False)
    with pytest.raises(ValueError, match="legaccel recording"):
        NightStore(tmp_path / "s", protocol="polar")


# --- crashes and write errors (real processes) ---------------------------------------------------

def _child(code: str) -> subprocess.Popen:
    here = Path(__file__).resolve().parent
    path = [REPO, TESTS, here, here.parent / "assembler"]      # the child imports these tests
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in path)}
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


KILL_CHILD = """
import sys
from firmware_bridge.store import NightStore
from test_store import night_items, feed
items = night_items()
st = NightStore({folder!r}, flush_interval_s=1e9, part_interval_s=1e9)
feed(st, items[:{n_flushed}], roll_every=53)
st.flush()
print("FLUSHED", flush=True)
feed(st, items[{n_flushed}:])      # decoded, but never flushed
print("READY", flush=True)
sys.stdin.read()                   # wait for SIGKILL
"""


def test_recover_after_kill_gives_exactly_what_was_flushed(tmp_path):
    folder = tmp_path / "sensor"
    items = night_items()
    n_flushed = 250  # ends with a part behind it and the tail in the log only
    proc = _child(KILL_CHILD.format(folder=str(folder), n_flushed=n_flushed))
    lines = [proc.stdout.readline().strip(), proc.stdout.readline().strip()]
    assert lines == ["FLUSHED", "READY"], proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert read_session(folder)["status"] == "recording"
    records, damage = scan(folder / "raw.log")
    assert damage is None
    assert len(records) == n_flushed

    ref = NightStore(tmp_path / "ref")  # a clean close of the same records
    feed(ref, items[:n_flushed])
    ref_path = ref.close()
    path = recover(folder)
    assert_same_recording(path, ref_path)
    n_data = sum(1 for it in items[:n_flushed] if it[0] == "data") - 1  # minus the duplicate
    assert read(path)["sample_index"].size == n_data * SPP
    keep = tmp_path / "recovered.parquet"
    keep.write_bytes(path.read_bytes())
    finalize(folder)  # from the parts plus the log after them: the same night
    assert_same_recording(keep, path)
    assert read_gaps(folder).equals(read_gaps(tmp_path / "ref"))


FULL_DISK_CHILD = """
import json, os, resource, signal, sys
from firmware_bridge.rawlog import StorageError
from firmware_bridge.store import NightStore
from packets import arrival, la
st = NightStore({folder!r}, flush_interval_s=1e9, part_interval_s=1e9)
for s in range(50):
    st.data(arrival(s), la(s))
st.flush()
log = os.path.join({folder!r}, "raw.log")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(log) + 5000, resource.RLIM_INFINITY))
flushed, out = 50, {{}}
try:
    for s in range(50, 2000):
        st.data(arrival(s), la(s))
        if s % 5 == 4:
            st.flush()
            flushed = s + 1
except StorageError as exc:
    out = {{"error": str(exc), "errno": exc.errno, "flushed": flushed}}
try:
    st.data(arrival(3000), la(3000))
except StorageError:
    out["still_failed"] = True
out["close"] = repr(st.close())
print(json.dumps(out), flush=True)
"""


def test_full_disk_stops_with_a_clear_error_and_keeps_the_log(tmp_path):
    folder = tmp_path / "sensor"
    proc = _child(FULL_DISK_CHILD.format(folder=str(folder)))
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    out = json.loads(stdout.strip().splitlines()[-1])
    assert out["errno"] == errno.EFBIG and out["still_failed"] and out["close"] == "None"
    msg = out["error"]
    assert str(folder / "raw.log") in msg and "file too large" in msg
    assert "recording stopped" in msg and "everything flushed before" in msg
    records, damage = scan(folder / "raw.log")
    assert damage is None  # the partial write was cut off again
    assert [r.kind for r in records] == [DATA] * out["flushed"]
    assert out["flushed"] > 50
    assert read_session(folder)["status"] == "failed"
    path = recover(folder)  # once there is space again
    assert np.array_equal(read(path)["sample_index"], np.arange(out["flushed"] * SPP))


def _read_only(monkeypatch, fail_write: bool) -> None:
    real_open, real_write = os.open, os.write

    def ro_open(path, flags, *args, **kwargs):
        if flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    def ro_write(fd, data):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "open", ro_open)
    if fail_write:
        monkeypatch.setattr(os, "write", ro_write)
    else:
        monkeypatch.setattr(os, "write", real_write)


def _private_tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("where", ["data", "tick"])
def test_read_only_folder_stops_with_a_clear_error_and_loses_nothing(tmp_path, monkeypatch,
                                                                     where):
    folder = tmp_path / "sensor"
    st = NightStore(folder, flush_interval_s=0.0, part_interval_s=100.0)
    st.tick(arrival(0))
    for s in range(20):
        st.data(arrival(s), la(s))  # each one flushed (interval 0)
    st.roll_part()
    st.data(arrival(20), la(20))  # flushed, not yet in a part
    before = _private_tree(folder)
    _read_only(monkeypatch, fail_write=(where == "data"))
    with pytest.raises(StorageError) as info:
        if where == "data":
            st.data(arrival(21), la(21))
        else:
            st.tick(arrival(0) + 200.0)  # a part is due: creating it fails
    assert "read-only file system" in str(info.value)
    assert "recording stopped" in str(info.value)
    with pytest.raises(StorageError):
        st.data(arrival(22), la(22))
    assert st.close() is None  # does not raise, deletes nothing
    monkeypatch.undo()
    after = _private_tree(folder)
    for name, content in before.items():
        if name != "session.json":
            assert after[name] == content, name
    assert not [p for p in folder.rglob(".*tmp*")]
    records, damage = scan(folder / "raw.log")
    assert damage is None and len(records) == 21
    assert np.array_equal(read(recover(folder))["sample_index"], np.arange(21 * SPP))


def test_a_failed_final_write_leaves_no_half_recording(tmp_path, monkeypatch):
    folder = tmp_path / "sensor"
    st = NightStore(folder)
    feed(st, night_items())
    path = st.close()
    good = path.read_bytes()

    def failing_write_table(table, where, **kwargs):
        where.write(b"PAR1 partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pyarrow.parquet, "write_table", failing_write_table)
    with pytest.raises(StorageError, match="disk full"):
        recover(folder)
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert not list(folder.glob(".*tmp*"))
