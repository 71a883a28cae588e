"""Recordings of several days: read in batches, analysed night by night, each night exactly as
its samples cut out of the file; rest windows found from the shin's posture."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from detector.analysis import analyze, write_outputs
from detector.cohort.multiday import MARGIN_S, analyze_nights, recording_span_h
from detector.config import Config
from detector.detect.minutes import MinuteSummary
from detector.detect.recipe import find_movements
from detector.io.load import load_recording
from detector.io.recording import InputError
from detector.io.stream import SampleStream
from detector.io.clean import clean
from detector.score.restwindow import given_window, nights_from_clock, nights_from_minutes
from detector.sim.days import simulate_days
from repo import REPO

UTC = ZoneInfo("UTC")
FS = 25.0
#: 3 nights of 2 h, 22-h days between them, 1 h before the first and after the last: 52 h.
DAYS = dict(n_nights=3, night_hours=2.0, day_hours=22.0, edge_hours=1.0, fs_hz=FS, seed=5)
#: Lights off and on around the simulated nights (they start at 23:13:20 UTC).
WINDOW = ("23:20", "01:00")


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    d = tmp_path_factory.mktemp("days")
    sim = simulate_days(d / "week.parquet", **DAYS)
    simulate_days(d / "week.csv", **DAYS)
    return d, sim


def _cut(src: Path, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a recording file from ``lo`` to ``hi`` (unix s), read whole into memory."""
    from detector.io.load import read_table

    table = read_table(src)
    t = table["timestamp"].to_numpy(float)
    keep = (t >= lo) & (t < hi)
    return t[keep], table[["x", "y", "z"]].to_numpy(np.float32)[keep]


@pytest.mark.parametrize("name", ["week.parquet", "week.csv"])
def test_each_night_equals_its_samples_cut_out_of_the_file(days, tmp_path, name):
    # Streamed batch by batch, each night holds the samples of its window and margins, and is
    # analysed as those samples cut out of the whole file in memory, resampled onto the file's
    # grid (the simulated nights have jittered timestamps, so the grid's phase matters).
    folder, sim = days
    out = tmp_path / "out"
    cfg = Config()
    done = analyze_nights(folder / name, out, cfg, window=WINDOW, tz=UTC, report=False)
    assert [r["status"] for r in done.rows] == ["analysed"] * 3
    windows = nights_from_clock(sim.start_unix_s, sim.end_unix_s, *WINDOW, UTC)
    assert len(windows) == 3
    for row, w in zip(done.rows, windows):
        night = out / row["night"]
        t, xyz = _cut(folder / name, w.start_unix_s - MARGIN_S, w.end_unix_s + MARGIN_S)
        rec = clean(t, xyz, source=str(folder / name), grid_origin_unix_s=sim.start_unix_s)
        alone = analyze(rec, cfg, window=given_window(rec, *WINDOW, UTC), tz=UTC)
        paths = write_outputs(alone, tmp_path / f"alone-{row['night']}", report=False)
        assert (night / "events.csv").read_bytes() == paths["events"].read_bytes()
        mine = json.loads((night / "summary.json").read_text())
        theirs = alone.summary()
        for key in ("n_lm", "n_plm", "n_twitch", "plm_index", "rest_h", "start_time"):
            assert mine[key] == theirs[key], key
        assert mine["n_plm"] > 10           # a PLM night, not an empty comparison


def test_each_night_equals_the_whole_recording_analysed_at_once(days, tmp_path):
    # The 52 h loaded and analysed as one recording (what memory allows for 2 days, not a
    # week): within each night's window, the same events, to the sample, as night by night.
    # The nights are resampled onto the whole file's grid, and which blocks are still is
    # decided within half an hour of each, so neither the days around a night nor where its
    # samples start changes it.
    folder, sim = days
    done = analyze_nights(folder / "week.parquet", tmp_path / "out", window=WINDOW, tz=UTC,
                          report=False)
    rec = load_recording(folder / "week.parquet")
    _assert_nights_as_whole(done, tmp_path / "out", rec, nights_from_clock(
        sim.start_unix_s, sim.end_unix_s, *WINDOW, UTC))


def _assert_nights_as_whole(done, out: Path, rec, windows) -> None:
    """Within each window, the night's events.csv holds the whole recording's events."""
    whole = find_movements(rec).events
    whole_unix = rec.t0_unix_s + whole["start_s"].to_numpy()
    assert len(done.rows) == len(windows)
    for row, w in zip(done.rows, windows):
        night = pd.read_csv(out / row["night"] / "events.csv")
        night_unix = pd.to_datetime(night["start_time"]).map(pd.Timestamp.timestamp).to_numpy()
        inside = (night_unix >= w.start_unix_s) & (night_unix < w.end_unix_s)
        same = (whole_unix >= w.start_unix_s) & (whole_unix < w.end_unix_s)
        assert inside.sum() > 50
        assert list(night["kind"][inside]) == list(whole["kind"][same])
        np.testing.assert_allclose(night_unix[inside], whole_unix[same], atol=1e-3)
        np.testing.assert_allclose(night["duration_s"][inside], whole["duration_s"][same],
                                   atol=1e-6)
        # events.csv holds 3 decimals of g
        np.testing.assert_allclose(night["peak_g"][inside], whole["peak_g"][same], atol=6e-4)


@pytest.mark.parametrize("suffix, fmt", [(".cwa", "Axivity .cwa"), (".bin", "GENEActiv .bin")])
def test_a_device_file_of_several_days_is_read_night_by_night(days, tmp_path, suffix, fmt):
    # The 52 h as an Axivity .cwa (packed AX3 blocks) and as a GENEActiv .bin (hex pages), the
    # device clock in UTC: the span is read from the file's ends, the nights block by block
    # (page by page), holding one night, and each night equals the whole file read (by
    # scikit-digital-health for a .bin) and analysed at once.
    from cwa_file import write_cwa
    from geneactiv_file import write_geneactiv

    from detector.io.load import read_table

    folder, sim = days
    table = read_table(folder / "week.parquet")
    write = write_cwa if suffix == ".cwa" else write_geneactiv
    path = write(tmp_path / f"week{suffix}", float(table["timestamp"].iloc[0]), FS,
                 table[["x", "y", "z"]].to_numpy())
    del table
    assert recording_span_h(path, UTC) == pytest.approx(52.0, abs=0.1)
    done = analyze_nights(path, tmp_path / "out", window=WINDOW, tz=UTC, report=False)
    assert [r["status"] for r in done.rows] == ["analysed"] * 3
    windows = nights_from_clock(sim.start_unix_s, sim.end_unix_s, *WINDOW, UTC)
    longest = max(w.end_unix_s - w.start_unix_s for w in windows) + 2 * MARGIN_S
    assert 0 < done.max_samples_held <= longest * FS + 1
    summary = json.loads((tmp_path / "out" / done.rows[0]["night"] / "summary.json").read_text())
    assert summary["cleaning"]["format"] == fmt
    _assert_nights_as_whole(done, tmp_path / "out", load_recording(path, tz=UTC), windows)


def test_nights_are_named_by_their_evening_and_listed_for_trends(days, tmp_path):
    folder, sim = days
    done = analyze_nights(folder / "week.parquet", tmp_path, window=WINDOW, tz=UTC, report=False)
    assert [r["night"] for r in done.rows] == ["NIGHT-2023-11-14", "NIGHT-2023-11-15",
                                               "NIGHT-2023-11-16"]
    table = pd.read_csv(tmp_path / "nights.csv")
    assert table["night"].tolist() == [r["night"] for r in done.rows]
    assert set(table["status"]) == {"analysed"}
    # memory: never more than one night's samples (window and margins) held at once
    longest = max((w.end_unix_s - w.start_unix_s) for w in nights_from_clock(
        sim.start_unix_s, sim.end_unix_s, *WINDOW, UTC)) + 2 * MARGIN_S
    assert 0 < done.max_samples_held <= longest * FS + 1


def test_rest_windows_are_found_from_the_shins_posture(days):
    folder, sim = days
    minutes = MinuteSummary()
    for batch in SampleStream(folder / "week.parquet"):
        minutes.add(batch.t_s, batch.xyz_g)
    nights, notes = nights_from_minutes(minutes, UTC, min_rest_h=1.0)
    assert notes == [] and len(nights) == len(sim.nights) == 3
    for w, (_, truth) in zip(nights, sim.nights.iterrows()):
        # minute resolution: within 2 min of the simulated lights off and on
        assert abs(w.start_unix_s - truth.start_unix_s) <= 120.0
        assert abs(w.end_unix_s - truth.end_unix_s) <= 120.0
        assert w.source == "estimated"


def _minutes(hours: float, t0: float = 1_699_999_980.0):
    """A minute summary of ``hours`` hours, upright and still (filled in by the test)."""
    class Minutes:
        t0_unix_s = first_unix_s = t0
        last_unix_s = t0 + hours * 3600
        n_samples = np.full(int(hours * 60), 1500)
        gravity_g = np.tile([1.0, 0.0, 0.0], (int(hours * 60), 1))
        moving_share = np.zeros(int(hours * 60))
    return Minutes()


def test_still_minutes_stand_in_for_lying_when_nobody_walked():
    # 30 h: upright with some fidgeting (movement in 30 % of the seconds: not walking, not still)
    # except 6 h lying still from 20 h on. No walking minute gives the shin's axis, so still
    # minutes are the rest, and the note says so.
    m = _minutes(30)
    m.moving_share[:] = 0.3
    m.moving_share[20 * 60:26 * 60] = 0.0
    m.gravity_g[20 * 60:26 * 60] = [0.0, 0.0, 1.0]
    nights, notes = nights_from_minutes(m, UTC, min_rest_h=3.0)
    assert notes and "still time counts as rest" in notes[0]
    assert [(w.start_unix_s - m.t0_unix_s, w.end_unix_s - m.t0_unix_s) for w in nights] == [
        (20 * 3600.0, 26 * 3600.0)]


def test_a_still_stretch_longer_than_a_night_is_no_night():
    # 30 h without moving at all (a sensor left on a table): not a 30-h night.
    m = _minutes(30)
    nights, notes = nights_from_minutes(m, UTC, min_rest_h=3.0)
    assert nights == [] and any("30 h without getting up" in n for n in notes)


def test_the_command_line_reads_a_long_recording_night_by_night(days, tmp_path):
    folder, _ = days
    assert recording_span_h(folder / "week.parquet") == pytest.approx(52.0, abs=0.1)
    assert recording_span_h(folder / "week.csv") == pytest.approx(52.0, abs=0.1)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "detector.cli", "analyze",
                           str(folder / "week.csv"), "--out", str(out), "--tz", "UTC",
                           "--start", WINDOW[0], "--end", WINDOW[1], "--no-report", "-q"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "3 of 3 nights analysed" in done.stdout
    assert sorted(p.name for p in out.glob("NIGHT-*")) == [
        "NIGHT-2023-11-14", "NIGHT-2023-11-15", "NIGHT-2023-11-16"]
    assert (out / "nights.csv").stat().st_mode & 0o777 == 0o600
    trends = subprocess.run([sys.executable, "-m", "detector.cli", "trends", str(out), "--out",
                             str(tmp_path / "trends")], capture_output=True, text=True,
                            timeout=300)
    assert trends.returncode == 0, trends.stderr
    assert "3 nights, 2023-11-14 to 2023-11-16" in trends.stdout


def test_by_night_refuses_what_belongs_to_one_night(days, tmp_path):
    folder, _ = days
    done = subprocess.run([sys.executable, "-m", "detector.cli", "analyze",
                           str(folder / "week.parquet"), "--out", str(tmp_path / "o"),
                           "--respiratory", str(folder / "week.csv"), "-q"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--respiratory is for one night" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_relative_timestamps_cannot_be_split_into_nights(tmp_path):
    path = tmp_path / "rel.csv"
    t = np.arange(0, 40 * 3600, 1.0)
    pd.DataFrame({"time_s": t, "x": 0.0, "y": 0.0, "z": 1.0}).to_csv(path, index=False)
    with pytest.raises(InputError, match="relative"):
        analyze_nights(path, tmp_path / "o", window=WINDOW)


def test_a_stream_reads_the_same_samples_as_the_whole_file_loader(days):
    from detector.io.load import read_table

    folder, _ = days
    for name in ("week.parquet", "week.csv"):
        t = np.concatenate([b.t_s for b in SampleStream(folder / name)])
        whole = read_table(folder / name)
        assert np.array_equal(t, whole["timestamp"].to_numpy(float))


def test_clock_windows_cover_each_night_of_the_recording():
    start = datetime(2024, 3, 29, 20, 0, tzinfo=timezone.utc).timestamp()
    # Europe/Berlin changes to summer time in the night of 30-31 March 2024
    wins = nights_from_clock(start, start + 3 * 86400, "23:00", "07:00", ZoneInfo("Europe/Berlin"))
    assert [round((w.end_unix_s - w.start_unix_s) / 3600, 2) for w in wins] == [8.0, 7.0, 8.0]


def test_a_gzip_night_is_not_decompressed_to_its_end_to_learn_it_is_one_night(days, tmp_path,
                                                                             monkeypatch):
    import gzip
    import shutil

    import detector.io.stream as stream

    tails: list[bool] = []
    piece = stream._csv_piece
    monkeypatch.setattr(stream, "_csv_piece", lambda s, tail: tails.append(tail) or piece(s, tail))
    # the bundled 2-h night: its size says about 2 h, so its end is not read
    night = recording_span_h(REPO / "datasets" / "sample_night.csv.gz")
    assert night == pytest.approx(2.0, rel=0.05) and tails == [False]
    # 52 h gzipped: the estimate is over 20 h, so the span is read exactly from its last rows
    folder, _ = days
    gz = tmp_path / "week.csv.gz"
    with open(folder / "week.csv", "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    tails.clear()
    assert recording_span_h(gz) == pytest.approx(52.0, abs=0.1) and tails == [False, True]


def test_a_batch_leaves_a_recording_of_several_days_out_and_says_how_to_analyse_it(days,
                                                                                   tmp_path):
    # Read whole, a week would need gigabytes: in a batch it fails alone, with the command that
    # analyses it night by night, and the one-night file beside it is analysed.
    from detector.cohort.batch import run_batch
    from detector.sim.night import simulate_night, write_simulation

    folder, _ = days
    night = tmp_path / "night.csv"
    write_simulation(simulate_night("plmd", 0.5, FS, seed=1), night)
    res = run_batch([folder / "week.parquet", night], tmp_path / "out", Config(), report=False,
                    max_workers=1)
    status = dict(zip(res.table["night"], res.table["status"]))
    assert status == {"week": "failed", "night": "analysed"}
    error = res.table.set_index("night").loc["week", "error"]
    assert "spans 2.2 days" in error and "legtwitch analyze FILE --out DIR" in error
    assert not (tmp_path / "out" / "week" / "events.csv").exists()
