"""End to end over the virtual radio: `legtwitch sensor-sim` in one process, `legtwitch record
--virtual` in another, exactly as a person would run them, with every fault of a real night.

The recording is checked sample for sample against the source the virtual sensor streamed: every
run of consecutive recorded samples is found in the source by its content and must equal it
exactly, and the gaps between runs must be exactly the samples the recorder reported lost (and
those the virtual sensor's fault log says it did not deliver).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.config import RulesConfig
from detector.io.load import load_recording
from detector.score.plm import score_plm
from detector.cli.ble import _sim_source
from firmware_bridge.sim.source import SensorSource
from source_alignment import align_runs, read_recording

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "detector.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def source_counts(protocol: str, scenario: str, hours: float, seed: int, i: int = 0,
                  model: str = "sense") -> tuple[np.ndarray, float]:
    """The samples `sensor-sim` streams for these arguments, and g per count."""
    ns = argparse.Namespace(source=None, fs=None, protocol=protocol, model=model,
                            scenario=scenario, hours=hours, seed=seed)
    src = SensorSource.from_recording(_sim_source(ns, i), protocol)
    return src.counts, src.scale_g


class Sim:
    """A `legtwitch sensor-sim` process on a free loopback port."""

    def __init__(self, tmp: Path, *args: str, protocol: str = "legaccel", scenario: str = "plmd",
                 hours: float = 0.25, seed: int = 3, speed: float = 100.0) -> None:
        self.port = free_port()
        self.log = tmp / "faults.jsonl"
        self.out = open(tmp / "sim.out", "w")
        self.proc = subprocess.Popen(
            CLI + ["sensor-sim", "--protocol", protocol, "--scenario", scenario, "--hours",
                   str(hours), "--seed", str(seed), "--speed", str(speed), "--port",
                   str(self.port), "--fault-log", str(self.log), *args],
            stdout=self.out, stderr=subprocess.STDOUT)
        self.tmp = tmp
        self.wait_for("HCI port", 60)

    def text(self) -> str:
        return (self.tmp / "sim.out").read_text()

    def wait_for(self, needle: str, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while needle not in self.text():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise AssertionError(f"sensor-sim never said {needle!r}:\n{self.text()}")
            time.sleep(0.1)

    def summaries(self) -> list[dict]:
        if not self.log.exists():
            return []
        lines = [json.loads(x) for x in self.log.read_text().splitlines() if x.strip()]
        return [x for x in lines if x["kind"] == "summary"]

    def faults(self) -> list[dict]:
        return [json.loads(x) for x in self.log.read_text().splitlines() if x.strip()]

    def wait_done(self, n_sensors: int = 1, timeout_s: float = 120) -> list[dict]:
        end = time.monotonic() + timeout_s
        while len(self.summaries()) < n_sensors:
            if time.monotonic() > end:
                raise AssertionError(f"the source never finished:\n{self.text()}")
            time.sleep(0.2)
        return self.summaries()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.out.close()


class Recorder:
    """A `legtwitch record --virtual` process."""

    def __init__(self, tmp: Path, port: int, out: Path, *args: str, name: str = "rec") -> None:
        self.log = tmp / f"{name}.out"
        self.fh = open(self.log, "w")
        self.proc = subprocess.Popen(
            CLI + ["record", "--virtual", f"127.0.0.1:{port}", "--out", str(out),
                   "--watchdog-s", "0.5", "--max-backoff-s", "0.2", "--status-every-s", "1",
                   *args], stdout=self.fh, stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, needle: str, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while needle not in self.text():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise AssertionError(f"record never said {needle!r}:\n{self.text()}")
            time.sleep(0.1)

    def stop(self, timeout_s: float = 120) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout_s)
        self.fh.close()
        return code

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.fh.close()


def check_against_source(folder: Path, source: np.ndarray, scale_g: float, sent: list,
                         exact_tol: int = 0, estimate_tol: int = 10_000) -> pd.DataFrame:
    """The recording equals the source; its gaps are what the sensor did not deliver."""
    rec = read_recording(folder)
    gaps = pd.read_csv(folder / "gaps.csv")
    runs = align_runs(rec, source, scale_g)
    assert runs, "nothing recorded"
    # Between consecutive runs, the recorder's grid step must be the true source step for exact
    # gaps (and close for estimated ones, after a reboot the host clock is all there is).
    by_start = gaps.set_index("start_index") if len(gaps) else None
    for (i0, p0, n0), (i1, p1, _n1) in zip(runs, runs[1:]):
        true_lost = p1 - (p0 + n0)
        said_lost = i1 - (i0 + n0)
        assert true_lost > 0, "a run repeats or goes back in the source"
        row = by_start.loc[i0 + n0] if by_start is not None and (i0 + n0) in by_start.index else None
        assert row is not None, f"no gap reported at sample_index {i0 + n0}"
        if str(row["exact"]).lower() == "true":
            assert said_lost == true_lost == int(row["n_samples"]), (row.to_dict(), true_lost)
        else:
            assert abs(said_lost - true_lost) <= estimate_tol, (row.to_dict(), true_lost)
    # Every sample the sensor sent is in the recording exactly once (duplicates removed,
    # reordered packets put back in order).
    n_sent = sum(b - a for a, b in sent)
    assert len(rec) == n_sent
    assert rec["sample_index"].is_monotonic_increasing and rec["sample_index"].is_unique
    return gaps


def final_live_events(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The movements and PLM series the live view ended with, from the live events.csv: a
    revised sustained movement replaces the reports it absorbed; a series' last report counts."""
    live = pd.read_csv(path)
    moves: list[dict] = []
    for row in live[live["kind"] != "plm_series"].to_dict("records"):
        if str(row["revised"]).lower() == "true":
            moves = [m for m in moves if m["end_s"] <= row["start_s"] or m["start_s"] >= row["end_s"]]
        moves.append(row)
    series = live[live["kind"] == "plm_series"].groupby("series").last().reset_index()
    series = series[series["n_lm"] >= 4]
    return pd.DataFrame(moves).sort_values("start_s").reset_index(drop=True), series


def live_vs_offline(live_csv: Path, report_csv: Path, tol_s: float = 0.5) -> dict:
    """Match live movements to the offline report's, one to one, onsets within tol_s."""
    moves, series = final_live_events(live_csv)
    # The report's table has been through the rules engine, which joins same-leg movements less
    # than 0.5 s apart (WASM 2016): do the same to the live movements.
    moves = score_plm(moves[["start_s", "end_s", "kind", "leg"]].assign(
        leg=moves["leg"].fillna("unknown")), RulesConfig()).events
    off = pd.read_csv(report_csv)
    used = np.zeros(len(off), bool)
    same = 0
    for m in moves.to_dict("records"):
        d = np.abs(off["start_s"].to_numpy() - m["start_s"])
        d[used] = np.inf
        j = int(np.argmin(d)) if len(d) else -1
        if j >= 0 and d[j] <= tol_s:
            used[j] = True
            same += off["kind"].iloc[j] == m["kind"]
    off_series = off.dropna(subset=["series"]).groupby("series").agg(
        start_s=("start_s", "min"), n_lm=("start_s", "size"),
        cut_by_gap=("at_gap", lambda g: g.astype(str).str.lower().eq("true").any())
    ).reset_index()
    return {"n_live": len(moves), "n_offline": len(off), "matched": int(used.sum()),
            "same_kind": int(same), "live_series": series[["start_s", "n_lm"]].to_numpy(),
            "offline_series": off_series[["start_s", "n_lm"]].to_numpy(),
            "offline_series_cut": off_series["cut_by_gap"].to_numpy(bool)}


def test_night_with_every_fault_records_the_source_exactly(tmp_path):
    """Drops, duplicates, reorders, disconnects, stalls and a reboot: the recording equals what
    the sensor sent, and each gap is the samples it did not send, sample for sample."""
    hours, seed = 1.0, 3
    sim = Sim(tmp_path, "--drop-every", "97", "--duplicate-every", "89", "--reorder-every", "83",
              "--disconnect-every", "5", "--stall-every", "7", "--stall-s", "0",
              "--reboot-every", "11", hours=hours, seed=seed, speed=100)
    out = tmp_path / "night"
    rec = Recorder(tmp_path, sim.port, out)
    try:
        summary = sim.wait_done()[0]
        time.sleep(1.0)
        code = rec.stop()
    finally:
        sim.stop()
    text = rec.text()
    assert code == 0, text
    kinds = [f["kind"] for f in sim.faults()]
    for k in ("drop", "duplicate", "reorder", "disconnect", "stall", "reboot"):
        assert k in kinds, f"the fault {k} was never injected: {kinds}"
    source, scale = source_counts("legaccel", "plmd", hours, seed)
    gaps = check_against_source(out / "sensor", source, scale, summary["sent_ranges"],
                                estimate_tol=int(0.2 * 100 * summary["speed"]))
    causes = set(gaps["cause"])
    assert {"packet loss", "disconnect", "stall (watchdog)", "device reboot"} <= causes, causes
    # Exact where the device clock allows it: only reboot gaps are estimates.
    assert set(gaps.loc[gaps["exact"].astype(str).str.lower() != "true", "cause"]) <= {"device reboot"}
    # The live view: status lines, reconnects, and the report at the end.
    assert "reconn" in text and "link lost" in text
    assert (out / "report" / "report.html").is_file()
    assert (out / "sensor" / "events.csv").is_file()
    for p in (out / "sensor").rglob("*"):
        if p.is_file():
            assert (p.stat().st_mode & 0o777) == 0o600, p
    # The live detector found what the offline analysis of the same recording finds.
    agree = live_vs_offline(out / "sensor" / "events.csv", out / "report" / "events.csv")
    assert agree["n_offline"] > 20
    assert agree["matched"] >= 0.95 * max(agree["n_live"], agree["n_offline"]), agree
    assert agree["same_kind"] >= 0.95 * agree["matched"], agree
    # Every PLM series is the same live and offline, LM for LM, except one holding an LM cut by
    # a gap: the live detector can miss a borderline movement in the first samples after a gap
    # (seen: 0.024 g, 1.1 degrees, right after a reconnect), which changes that series. One more
    # series may differ by a borderline movement: the live noise floor (trailing window) and the
    # offline one (centred) differ by a fraction of a mg, so an envelope dip that touches the
    # edge level can end a movement on one side and not the other (seen: 2.4 vs 2.45 mg). Where
    # the faults fall changes from run to run, so such a movement may or may not be in a series.
    live_s, off_s = agree["live_series"], agree["offline_series"]
    missing = [(start, n_lm) for i, (start, n_lm) in enumerate(off_s)
               if not agree["offline_series_cut"][i]
               and not any(abs(s0 - start) <= 0.5 and n0 == n_lm for s0, n0 in live_s)]
    extra = [s0 for s0, _n0 in live_s if not np.any(np.abs(off_s[:, 0] - s0) <= 0.5)]
    assert len(missing) <= 1 and len(extra) <= 1, (missing, extra, agree)
    assert (~agree["offline_series_cut"]).sum() - 1 <= len(live_s) <= len(off_s) + 1, agree
    # legtwitch analyze reads the recording back with the same samples and the gaps as gaps.
    loaded = load_recording(out / "sensor" / "recording.parquet")
    raw = read_recording(out / "sensor")
    assert loaded.valid.sum() == len(raw)
    assert np.array_equal(loaded.acc_g[loaded.valid], raw[["x", "y", "z"]].to_numpy())
