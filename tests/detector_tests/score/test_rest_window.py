"""The rest window: given as lights off/on clock times, or estimated from when the sensor was put
on and taken off; indices per hour of rest inside it; movements outside it listed, not scored."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from detector.io.clean import clean
from detector.cli import main
from detector.analysis import analyze
from detector.io.recording import InputError
from detector.score.restwindow import given_window, parse_clock
import nights as shared
from detector.sim.night import write_simulation

# 2023-11-14 22:00:00 UTC: a recording started at 22:00 (UTC and Europe/London in November).
T22 = datetime(2023, 11, 14, 22, 0, tzinfo=timezone.utc).timestamp()


def rec_of(sim):
    s = sim.samples
    return clean(s["timestamp"].to_numpy(), s[["x", "y", "z"]].to_numpy())


def test_worn_from_23_40_with_the_recording_started_at_22_00():
    sim = shared.night("plmd", hours=7.5, fs_hz=25.0, seed=21, start_unix_s=T22,
                         off_leg=[(0, 100 * 60)])
    res = analyze(rec_of(sim))
    win = res.metrics["rest_window"]
    assert win["source"] == "estimated"
    assert abs(win["start_s"] - 100 * 60) <= 10 * 60
    started = datetime.fromisoformat(win["start_time"]).timestamp()   # in the computer's zone
    assert abs(started - (T22 + 100 * 60)) <= 10 * 60
    assert res.summary()["rest_window"]["how"].startswith("estimated")


def test_given_window_scores_only_inside_and_lists_the_rest(tmp_path, capsys):
    sim = shared.night("plmd", hours=6, fs_hz=25.0, seed=22, start_unix_s=T22)
    write_simulation(sim, tmp_path / "n.csv")
    code = main(["analyze", str(tmp_path / "n.csv"), "--out", str(tmp_path / "o"),
                 "--start", "23:00", "--end", "03:30", "--tz", "UTC", "--no-report"])
    capsys.readouterr()
    assert code == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    win = summary["rest_window"]
    assert win["source"] == "given" and win["start_s"] == pytest.approx(3600, abs=1)
    assert win["end_s"] == pytest.approx(5.5 * 3600, abs=1)
    assert win["start_time"] == "2023-11-14T23:00:00+00:00"
    import pandas as pd
    ev = pd.read_csv(tmp_path / "o" / "events.csv")
    out = ev[~ev["in_rest_window"]]
    assert len(out) == summary["n_events_outside_window"] > 0
    assert ((out["start_s"] < 3600) | (out["start_s"] >= 5.5 * 3600)).all()
    assert not out["plm"].any()
    assert summary["rest_h"] <= 4.5
    inside = ev[ev["in_rest_window"]]
    assert summary["n_lm"] == int((inside["kind"] == "lm").sum())


def test_window_across_a_daylight_saving_change():
    # Europe/Berlin left summer time at 03:00 on 29 Oct 2023 (clocks back to 02:00): a night
    # from 22:00 to 07:00 local time lasts 10 h of real time.
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2023, 10, 28, 21, 30, tzinfo=berlin).timestamp()
    sim = shared.night("noise", hours=11, fs_hz=12.5, seed=23, start_unix_s=start,
                         packet_loss=False)
    w = given_window(rec_of(sim), "22:00", "07:00", berlin)
    assert w.end_s - w.start_s == pytest.approx(10 * 3600, abs=1)
    assert w.as_dict(rec_of(sim))["end_time"] == "2023-10-29T07:00:00+01:00"


@pytest.mark.parametrize("args, says", [
    (["--start", "25:00", "--end", "07:00"], "expected a clock time HH:MM"),
    (["--start", "23:00"], "give both --start"),
    (["--start", "23:00", "--end", "07:00", "--tz", "Mars/Olympus"], "not a known time zone"),
    (["--start", "09:00", "--end", "10:00", "--tz", "UTC"], "does not overlap the recording"),
])
def test_bad_windows_are_one_line(tmp_path, capsys, args, says):
    sim = shared.night("plmd", hours=1, fs_hz=25.0, seed=24, start_unix_s=T22)
    write_simulation(sim, tmp_path / "n.csv")
    code = main(["analyze", str(tmp_path / "n.csv"), "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err
    assert code == 2 and says in err and "Traceback" not in err


def test_relative_time_cannot_place_a_window():
    sim = shared.night("plmd", hours=0.5, fs_hz=25.0, seed=25, start_unix_s=0.0)
    with pytest.raises(InputError, match="relative"):
        given_window(rec_of(sim), "23:00", "07:00")
    assert parse_clock("7:05") == (7, 5)


def test_batch_takes_a_window_per_night_from_a_csv(tmp_path, capsys):
    nights = tmp_path / "nights"
    nights.mkdir()
    for i in range(2):
        sim = shared.night("plmd", hours=5, fs_hz=25.0, seed=30 + i,
                             start_unix_s=T22 + 86400 * i)
        write_simulation(sim, nights / f"night{i + 1}.csv")
    (tmp_path / "windows.csv").write_text("night,start,end\nnight1,23:00,02:30\n")
    code = main(["batch", str(nights / "night*.csv"), "--out", str(tmp_path / "out"),
                 "--windows", str(tmp_path / "windows.csv"), "--tz", "UTC", "--no-report",
                 "--workers", "1", "--quiet"])
    capsys.readouterr()
    assert code == 0
    s1 = json.loads((tmp_path / "out" / "night1" / "summary.json").read_text())
    s2 = json.loads((tmp_path / "out" / "night2" / "summary.json").read_text())
    assert s1["rest_window"]["source"] == "given"
    assert s1["rest_window"]["start_time"] == "2023-11-14T23:00:00+00:00"
    assert s2["rest_window"]["source"] == "whole recording"
    # A bad line is one line naming the file and the line, before any night is analysed.
    (tmp_path / "bad.csv").write_text("night,start,end\nnight1,23:00,7h\n")
    code = main(["batch", str(nights / "night*.csv"), "--out", str(tmp_path / "out2"),
                 "--windows", str(tmp_path / "bad.csv"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "bad.csv, line 2" in err and "HH:MM" in err
