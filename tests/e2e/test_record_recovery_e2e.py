"""End to end over the virtual radio, when things go wrong around the recorder itself.

`legtwitch sensor-sim` and `legtwitch record --virtual` run as separate processes, exactly as a
person would run them, and the recording is compared sample for sample with the source the
virtual sensor streamed:

- the recorder is killed (``kill -9``) and the night is rebuilt with `legtwitch recover`;
- the recorder is killed and started again on the same folder: one night, one recording;
- Polar Verity Sense (compressed frames) and H10 (raw frames), with lost packets and link drops;
- two sensors, one per leg, merged in the report by the bilateral rules;
- the disk fills up (a file size limit) while recording;
- nothing is listening on the virtual port.

Where the virtual sensor is in its source at a given wall time is known from its fault log: the
source clock starts at one instant and advances ``fs_hz * speed`` samples per wall second.
"""

from __future__ import annotations

import inspect
import json
import re
import resource
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from firmware_bridge.protocols.sensors import make_decoder
from firmware_bridge.rawlog import DATA, scan
from firmware_bridge.store import NightStore
from source_alignment import exact_source_index
from test_record_e2e import CLI, Recorder, Sim, free_port, source_counts

pytestmark = pytest.mark.e2e

#: Seconds between fsyncs of the raw log: at most this much is lost when the recorder is killed.
FLUSH_INTERVAL_S = float(inspect.signature(NightStore).parameters["flush_interval_s"].default)
#: Allowance on top of it, wall seconds: notification latency over the virtual link and the
#: recorder's consumer tick (0.25 s) on a loaded machine.
SLACK_S = 1.0


# --- helpers ------------------------------------------------------------------------------------

def wait_until(what: str, ok: Callable[[], bool], timeout_s: float,
               text: Callable[[], str] = lambda: "") -> None:
    """Poll ``ok()`` every 0.1 s until it is true; fail after ``timeout_s``."""
    end = time.monotonic() + timeout_s
    while not ok():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}:\n{text()}")
        time.sleep(0.1)


def recorded_samples(rec: Recorder) -> int:
    """Samples recorded so far, from the latest status line (0 before the first)."""
    found = re.findall(r" ([\d,]+) smp ", rec.text())
    return int(found[-1].replace(",", "")) if found else 0


def wait_samples(rec: Recorder, n: int, timeout_s: float = 60) -> None:
    """Wait until the recorder's status line shows at least ``n`` samples recorded."""
    def ok() -> bool:
        if rec.proc.poll() is not None:
            raise AssertionError(f"record exited early:\n{rec.text()}")
        return recorded_samples(rec) >= n
    wait_until(f"{n} samples recorded", ok, timeout_s, rec.text)


def wait_drained(rec: Recorder, labels: tuple[str, ...] = ("sensor",),
                 timeout_s: float = 60) -> None:
    """After the source has ended: wait until each sensor's link was lost for good.

    The watchdog and disconnect events go through the same queue as the notifications, after
    them, so once the recorder prints one, every sample sent before it has been taken in. A
    sensor whose night has been sent stops advertising, so the last link message about it is
    the watchdog on the silent link or, when the link dropped as the night ended, "link lost":
    drained when the label's latest "stream started" / watchdog / "link lost" line is not a
    "stream started" (it may have come before this was called, while another sensor was still
    streaming).
    """
    def drained(label: str) -> bool:
        found = re.findall(rf"\b{label} (stream started|no data for [^\n]*treating the link as "
                           rf"lost|link lost)", rec.text())
        return bool(found) and not found[-1].startswith("stream started")
    wait_until("the watchdog after the end of the source",
               lambda: all(drained(lb) for lb in labels), timeout_s, rec.text)


def source_clock(sim: Sim, fs_hz: float, speed: float, sensor: str | None = None
                 ) -> Callable[[float], int]:
    """Wall time (unix s) -> source sample index the virtual sensor had reached.

    The source starts with the first start command; the ``source_started`` line gives the wall
    time of source sample 0, which fixes the source clock's origin.
    """
    for f in sim.faults():
        if f["kind"] == "source_started" and (sensor is None or f["sensor"] == sensor):
            t0 = f["wall_time_s"]
            return lambda wall_s: int(np.floor((wall_s - t0) * fs_hz * speed))
    raise AssertionError(f"no 'source_started' line in the fault log:\n{sim.faults()}")


def sent_mask(summary: dict, n_source: int) -> np.ndarray:
    """True for each source sample the virtual sensor sent at least once."""
    mask = np.zeros(n_source, dtype=bool)
    for a, b in summary["sent_ranges"]:
        mask[a:b] = True
    return mask


def check_prefix(src: np.ndarray, sent: np.ndarray) -> None:
    """The recorded samples are exactly the samples sent up to the last one recorded."""
    assert sent[src].all(), "a sample the sensor never sent was recorded"
    expected = np.flatnonzero(sent[:src[-1] + 1])
    assert np.array_equal(src, expected), (
        f"{len(expected) - len(src)} samples sent before the last one recorded are missing")


def unix_of_hhmmss(hhmmss: str, near_unix_s: float) -> float:
    """The unix time (s) of a UTC HH:MM:SS nearest to ``near_unix_s``."""
    h, m, s = (int(x) for x in hhmmss.split(":"))
    day = datetime.fromtimestamp(near_unix_s, tz=timezone.utc).replace(hour=h, minute=m,
                                                                      second=s, microsecond=0)
    cands = [day.timestamp() + d * 86400 for d in (-1, 0, 1)]
    return min(cands, key=lambda t: abs(t - near_unix_s))


def run_cli(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess:
    """Run ``legtwitch ARGS`` to the end; its exit code and output."""
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=timeout_s)


def private_files(folder: Path) -> None:
    """Every file under ``folder`` is readable by its owner only (health data)."""
    for p in folder.rglob("*"):
        if p.is_file():
            assert (p.stat().st_mode & 0o777) == 0o600, p


# --- 1. kill -9, then recover --------------------------------------------------------------------

def test_kill_9_then_recover_rebuilds_everything_flushed(tmp_path, procs):
    """SIGKILL mid-night, link drops before it: `legtwitch recover` rebuilds a recording equal
    to the source, with exact gaps, covering everything sent up to (kill - flush interval)."""
    hours, seed, speed, fs = 0.2, 5, 20.0, 100.0
    sim = procs.add(Sim(tmp_path, "--disconnect-every", "2", hours=hours, seed=seed,
                        speed=speed))
    out = tmp_path / "night"
    rec = procs.add(Recorder(tmp_path, sim.port, out))
    rec.wait_for("link lost", 60)                  # a disconnect fault has hit the night
    wait_samples(rec, recorded_samples(rec) + int(7 * fs * speed))
    kill_s = time.time()
    rec.kill()
    sim.stop()
    summary = sim.summaries()[0]
    at = source_clock(sim, fs, speed)

    done = run_cli("recover", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"rebuilt {out / 'sensor' / 'recording.parquet'}" in done.stdout

    source, scale = source_counts("legaccel", "plmd", hours, seed)
    _rec, src, gaps = exact_source_index(out / "sensor", source, scale)
    sent = sent_mask(summary, len(source))
    check_prefix(src, sent)
    assert "disconnect" in set(gaps["cause"]), gaps
    # Everything the sensor sent until one flush interval (and the slack) before the kill is
    # in the recording; nothing after the kill can be.
    bound = at(kill_s - FLUSH_INTERVAL_S - SLACK_S)
    must = np.flatnonzero(sent[:bound])
    assert len(must) >= 2 * fs * speed, "the bound is empty: the test would prove nothing"
    missing = np.setdiff1d(must, src)
    assert missing.size == 0, (f"{missing.size} samples sent before {bound} (kill at "
                               f"{at(kill_s)}) are not in the recovered recording")
    assert src[-1] < at(kill_s + SLACK_S)
    assert json.loads((out / "sensor" / "session.json").read_text())["status"] == "recovered"
    assert (out / "report" / "report.html").is_file()
    assert (out / "report" / "summary.json").is_file()
    private_files(out)


# --- 2. kill -9, then record again into the same folder -------------------------------------------

def test_kill_9_then_record_again_continues_the_same_night(tmp_path, procs):
    """A second `legtwitch record` on the same --out after a SIGKILL continues the night: one
    recording holds both parts, equal to the source; the crash is an exact gap; nothing else is
    lost but what the sensor did not send and the unflushed seconds before the kill."""
    hours, seed, speed, fs = 0.25, 4, 20.0, 100.0
    sim = procs.add(Sim(tmp_path, "--disconnect-every", "3", hours=hours, seed=seed,
                        speed=speed))
    out = tmp_path / "night"
    rec1 = procs.add(Recorder(tmp_path, sim.port, out, name="rec1"))
    # 7 s of streaming: more than the flush interval plus slack (3 s) before the kill, and
    # the 2 s of samples the test requires on each side, even when the machine is loaded.
    wait_samples(rec1, int(7 * fs * speed))
    kill_s = time.time()
    rec1.kill()
    rec2 = procs.add(Recorder(tmp_path, sim.port, out, name="rec2"))
    rec2.wait_for("stream started", 60)
    sim.wait_done(timeout_s=120)
    wait_drained(rec2)
    code = rec2.stop()
    text = rec2.text()
    assert code == 0, text
    summary = sim.summaries()[0]
    at = source_clock(sim, fs, speed)

    source, scale = source_counts("legaccel", "plmd", hours, seed)
    rec_df, src, gaps = exact_source_index(out / "sensor", source, scale)
    sent = sent_mask(summary, len(source))
    assert sent[src].all()
    # Both recorders' samples are in the one recording.
    assert src[0] < at(kill_s) < src[-1]
    assert (src < at(kill_s - FLUSH_INTERVAL_S - SLACK_S)).sum() >= 2 * fs * speed
    assert (src > at(kill_s + SLACK_S)).sum() >= 2 * fs * speed
    # Lost although sent: only samples sent in the unflushed seconds before the kill.
    lost_sent = np.setdiff1d(np.flatnonzero(sent), src)
    lo, hi = at(kill_s - FLUSH_INTERVAL_S - SLACK_S), at(kill_s + SLACK_S)
    assert lost_sent.size == 0 or (lost_sent.min() >= lo and lost_sent.max() < hi), (
        f"sent samples missing outside the crash window [{lo}, {hi}): "
        f"{lost_sent[(lost_sent < lo) | (lost_sent >= hi)][:10]}")
    # The crash is one exact gap across the kill, attributed to the recorder being down.
    before = np.flatnonzero(src < at(kill_s))[-1]
    crash = gaps[gaps["start_index"] == int(rec_df["sample_index"].iloc[before]) + 1]
    assert len(crash) == 1, gaps
    assert src[before + 1] > at(kill_s)
    assert crash["cause"].iloc[0] == "recorder down"     # not a link fault: nobody recorded
    session = json.loads((out / "sensor" / "session.json").read_text())
    assert session["status"] == "finalized" and session["restarts"] == 1 and session["resumed"]
    assert sorted(p.name for p in out.iterdir()) == ["report", "sensor"]
    assert (out / "report" / "report.html").is_file()
    private_files(out)


# --- 3. Polar Verity Sense and H10 ----------------------------------------------------------------

@pytest.mark.parametrize("model, fs", [("sense", 52.0), ("h10", 50.0)])
def test_polar_with_drops_and_disconnects_records_the_source_exactly(tmp_path, procs, model, fs):
    """Polar PMD (Sense: compressed 0x81 frames; H10: raw int16 frames): the samples equal the
    source (0.001 g per count) and every gap, counted from the PMD timestamps, is exact."""
    hours, seed, speed = 0.5, 7, 60.0
    sim = procs.add(Sim(tmp_path, "--model", model, "--drop-every", "37",
                        "--disconnect-every", "2", protocol="polar", hours=hours, seed=seed,
                        speed=speed))
    out = tmp_path / "night"
    rec = procs.add(Recorder(tmp_path, sim.port, out))
    rec.wait_for("stream started: polar", 60)
    summary = sim.wait_done()[0]
    wait_drained(rec)
    code = rec.stop()
    assert code == 0, rec.text()
    kinds = {f["kind"] for f in sim.faults()}
    assert {"drop", "disconnect"} <= kinds, kinds
    assert summary["fs_hz"] == fs
    source, scale = source_counts("polar", "plmd", hours, seed, model=model)
    assert scale == 0.001
    _rec, src, gaps = exact_source_index(out / "sensor", source, scale)
    assert np.array_equal(src, np.flatnonzero(sent_mask(summary, len(source)))), \
        "the recording is not exactly the samples the sensor sent"
    assert {"packet loss", "disconnect"} <= set(gaps["cause"]), gaps
    md = pq.read_schema(out / "sensor" / "recording.parquet").metadata
    assert float(md[b"fs_nominal_hz"]) == fs
    assert md[b"protocol"] == b"polar"


# --- 4. two sensors, one per leg ------------------------------------------------------------------

def test_two_sensors_record_both_legs_and_the_report_merges_them(tmp_path, procs):
    """`sensor-sim --sensors 2` and `record --virtual`: left and right each equal their own
    source (the second with seed + 1); the report is the bilateral analysis of both legs."""
    hours, seed, speed = 0.5, 3, 100.0
    sim = procs.add(Sim(tmp_path, "--sensors", "2", "--drop-every", "61", hours=hours,
                        seed=seed, speed=speed))
    out = tmp_path / "night"
    rec = procs.add(Recorder(tmp_path, sim.port, out))
    rec.wait_for("right stream started", 60)
    rec.wait_for("left stream started", 60)
    summaries = {s["sensor"]: s for s in sim.wait_done(n_sensors=2)}
    wait_drained(rec, ("left", "right"))
    code = rec.stop()
    assert code == 0, rec.text()
    assert sorted(summaries) == ["LegAccel-sim-1", "LegAccel-sim-2"]
    for i, label in enumerate(("left", "right")):
        source, scale = source_counts("legaccel", "plmd", hours, seed, i=i)
        _rec, src, gaps = exact_source_index(out / label, source, scale)
        sent = sent_mask(summaries[f"LegAccel-sim-{i + 1}"], len(source))
        assert np.array_equal(src, np.flatnonzero(sent)), label
        assert "packet loss" in set(gaps["cause"]), label
        assert json.loads((out / label / "session.json").read_text())["leg"] == label
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert summary["leg"] == "left+right"         # pipeline.analyze got other_leg
    legs = set(pd.read_csv(out / "report" / "events.csv")["leg"])
    assert {"left", "right"} <= legs, legs
    private_files(out)


# --- 5. full disk ---------------------------------------------------------------------------------

class LimitedRecorder(Recorder):
    """`legtwitch record --virtual` whose files may not grow beyond ``limit_bytes`` (EFBIG)."""

    def __init__(self, tmp: Path, port: int, out: Path, limit_bytes: int) -> None:
        def limit() -> None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # EFBIG instead of being killed
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

        self.log = tmp / "rec.out"
        self.fh = open(self.log, "w")
        self.proc = subprocess.Popen(
            CLI + ["record", "--virtual", f"127.0.0.1:{port}", "--out", str(out),
                   "--watchdog-s", "0.5", "--max-backoff-s", "0.2", "--status-every-s", "1"],
            stdout=self.fh, stderr=subprocess.STDOUT, preexec_fn=limit)


def test_full_disk_stops_cleanly_and_recover_rebuilds_what_was_flushed(tmp_path, procs):
    """The raw log hits the file size limit: the recorder stops by itself (exit 1) with a line
    naming the file and what is safe, no traceback; the log is intact up to the last flush and
    `legtwitch recover` (limit lifted) rebuilds exactly those samples."""
    hours, seed, speed = 0.2, 8, 20.0
    limit = 96 * 1024                     # a few seconds of notifications at this speed
    sim = procs.add(Sim(tmp_path, "--drop-every", "53", hours=hours, seed=seed, speed=speed))
    out = tmp_path / "night"
    rec = procs.add(LimitedRecorder(tmp_path, sim.port, out, limit))
    code = rec.proc.wait(90)
    fail_s = time.time()
    rec.fh.close()
    text = rec.text()
    log = out / "sensor" / "raw.log"
    assert code == 1, text
    assert "Traceback" not in text
    stop_line = [ln for ln in text.splitlines() if str(log) in ln]
    assert len(stop_line) == 1, text
    m = re.search(r"everything flushed before (\d\d:\d\d:\d\d) is safe", stop_line[0])
    assert "file too large" in stop_line[0] and "stopped" in stop_line[0] and m, stop_line
    assert f"legtwitch recover {out}" in text
    assert not (out / "sensor" / "recording.parquet").exists()
    assert json.loads((out / "sensor" / "session.json").read_text())["status"] == "failed"
    # The log is whole up to the last flush: no torn record, the last one is the safe time.
    records, damage = scan(log)
    assert damage is None and log.stat().st_size <= limit
    assert int(records[-1].host_s) == int(unix_of_hhmmss(m.group(1), fail_s))
    data = [r for r in records if r.kind == DATA]
    assert len(data) > 50
    sim.stop()
    summary = sim.summaries()[0]

    done = run_cli("recover", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    source, scale = source_counts("legaccel", "plmd", hours, seed)
    rec_df, src, gaps = exact_source_index(out / "sensor", source, scale)
    check_prefix(src, sent_mask(summary, len(source)))
    assert "packet loss" in set(gaps["cause"])
    # ... and it ends with the last packet in the log: everything flushed is recovered.
    last = make_decoder("legaccel")(data[-1].payload)
    tail = np.rint(rec_df[["x", "y", "z"]].to_numpy()[-last.n:] / scale).astype(np.int64)
    assert np.array_equal(tail, last.counts.astype(np.int64))
    assert (out / "report" / "report.html").is_file()


# --- 6. nothing listening
# --------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["record", "scan"])
def test_no_sensor_sim_running_gives_one_clear_line(tmp_path, command):
    """`record --virtual` / `scan --virtual` on a port nobody serves: one line, no traceback."""
    port = free_port()
    args = ([command, "--virtual", f"127.0.0.1:{port}"]
            + (["--out", str(tmp_path / "night")] if command == "record" else []))
    done = run_cli(*args, timeout_s=60)
    assert done.returncode in (1, 2), done
    assert "Traceback" not in done.stderr + done.stdout
    lines = (done.stderr + done.stdout).strip().splitlines()
    assert len(lines) == 1, lines
    assert f"127.0.0.1:{port}" in lines[0] and "sensor-sim" in lines[0], lines
