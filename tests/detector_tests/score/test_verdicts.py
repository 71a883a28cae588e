"""A verdict only when the data can carry it: enough rest time, a rate that sees twitches.

10-minute and 3-hour recordings of a night full of periodic limb movements get no category
(``insufficient_data``, with the reason), while their numbers are still reported; a 12.5 Hz night
says its twitch index is unreliable and does not use it; every limit is a plain sentence in
``summary.json`` ``warnings``, in the terminal and at the top of the report.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from detector.score.category import categorize
from detector.io.clean import clean
from detector.cli import main
from detector.config import CategoryConfig, Config
from detector.analysis import analyze
import nights
from detector.sim.night import write_simulation


def night(hours: float, fs: float = 50.0, seed: int = 3):
    sim = nights.night("plmd", hours=hours, fs_hz=fs, seed=seed)
    s = sim.samples
    return clean(s["timestamp"].to_numpy(), s[["x", "y", "z"]].to_numpy())


@pytest.mark.parametrize("hours", [10 / 60, 3.0])
def test_short_recordings_get_no_verdict(hours):
    res = analyze(night(hours))
    s = res.summary()
    assert s["category"] == "insufficient_data" and s["advice"] is None
    assert s["plm_index"] is not None and s["n_lm"] > 0           # the numbers are still there
    (reason,) = s["category_reasons"]
    h, m = (int(x) for x in re.match(r"(\d+) h (\d\d) min of rest; ", reason).groups())
    assert abs(h + m / 60 - s["rest_h"]) < 1 / 60 + 1e-9 and s["rest_h"] <= hours
    assert "at least 4 h 00 min are needed" in reason
    assert any("no category is given" in w for w in s["warnings"])


def test_a_full_night_gets_its_verdict_and_no_warning():
    res = analyze(night(5.0))
    s = res.summary()
    assert s["category"] == "periodic_limb_movement_pattern" and s["warnings"] == []
    assert s["advice"]["key"] == "when_to_see_a_doctor"


def test_min_rest_is_a_setting_with_its_source():
    field = CategoryConfig.__dataclass_fields__["min_rest_h"]
    assert field.default == 4.0 and "Kapur" in field.metadata["source"]
    metrics = {"rest_h": 2.5, "plm_index": 40.0, "lm_index": 45.0, "twitch_index": 5.0}
    assert categorize(metrics, {}, CategoryConfig())["id"] == "insufficient_data"
    assert categorize(metrics, {}, CategoryConfig(min_rest_h=2.0))["id"] == (
        "periodic_limb_movement_pattern")


def test_a_low_rate_does_not_use_twitches():
    # Twitches and LMs at 40/h would be "frequent twitching"; at 12.5 Hz the twitches are not
    # believed, and 10 LMs/h are not frequent.
    metrics = {"rest_h": 7.0, "plm_index": 2.0, "lm_index": 10.0, "twitch_index": 30.0}
    assert categorize(metrics, {}, fs_hz=50.0)["id"] == "frequent_twitching"
    low = categorize(metrics, {}, fs_hz=12.5)
    assert low["id"] == "occasional_harmless_twitches"
    assert any("12.5 Hz" in r for r in low["reasons"])


def test_a_12_5_hz_night_warns_everywhere(tmp_path, capsys):
    sim = nights.night("plmd", hours=4.5, fs_hz=12.5, seed=5)
    write_simulation(sim, tmp_path / "n.csv")
    code = main(["analyze", str(tmp_path / "n.csv"), "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0
    assert "warning: Sampled at 12.5 Hz, below 25 Hz" in out
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["twitch_index_reliable"] is False
    assert any(w.startswith("Sampled at 12.5 Hz") for w in summary["warnings"])
    html = (tmp_path / "o" / "report.html").read_text()
    top = html.index('id="warnings"')
    assert top < html.index('id="category"') and "twitch index is unreliable" in html


def test_the_report_of_a_short_night_names_no_fitting_advice(tmp_path, capsys):
    sim = nights.night("plmd", hours=0.5, fs_hz=50.0, seed=6)
    write_simulation(sim, tmp_path / "n.csv")
    assert main(["analyze", str(tmp_path / "n.csv"), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "pattern: Not enough data for a verdict" in out
    html = (tmp_path / "o" / "report.html").read_text()
    assert "No verdict" in html and "fits this night" not in html
    assert "Read this first" in html
    assert np.isfinite(json.loads((tmp_path / "o" / "summary.json").read_text())["lm_index"])


def test_the_demo_says_it_lowers_the_minimum(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "lowers the rest needed for a verdict to 1.5 h" in out
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["category"] == "periodic_limb_movement_pattern"
    assert any("was lowered" in w for w in summary["warnings"])
    assert Config().category.min_rest_h == 4.0


# --- sane inputs: an override that contradicts the data ----------------------------------------

def _csv(tmp_path, scale: float = 1.0, fs: float = 100.0):
    sim = nights.night("plmd", hours=0.3, fs_hz=fs, seed=8)
    s = sim.samples.copy()
    s[["x", "y", "z"]] *= scale
    s.to_csv(tmp_path / "n.csv", index=False)
    return tmp_path / "n.csv"


@pytest.mark.parametrize("scale, args, says", [
    (1.0, ["--units", "mg"], "--units mg but the median magnitude of x, y, z is 0.9"),
    (9.80665, ["--units", "g"], "--units g but the median magnitude of x, y, z is 9."),
    (1.0, ["--fs", "25"], "--fs 25 but the timestamps give 100 Hz"),
])
def test_an_override_the_data_contradicts_is_one_line_and_force_insists(tmp_path, capsys,
                                                                       scale, args, says):
    path = _csv(tmp_path, scale)
    code = main(["analyze", str(path), "--out", str(tmp_path / "o"), "--no-report", *args])
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("legtwitch")]
    assert code == 2 and len(lines) == 1 and says in lines[0] and "--force" in lines[0], err
    assert not (tmp_path / "o" / "summary.json").exists()
    code = main(["analyze", str(path), "--out", str(tmp_path / "o"), "--no-report", *args,
                 "--force"])
    capsys.readouterr()
    assert code == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    if "--units" in args:
        assert summary["cleaning"]["units"] == args[1].replace("/", "")
    else:
        assert summary["fs_hz"] == 25.0


def test_overrides_that_agree_with_the_data_are_fine(tmp_path, capsys):
    path = _csv(tmp_path, scale=1000.0)
    assert main(["analyze", str(path), "--out", str(tmp_path / "o"), "--no-report",
                 "--units", "mg", "--fs", "100"]) == 0


def test_a_truncated_edf_is_a_warning_with_both_numbers(tmp_path, capsys):
    sim = nights.night("plmd", hours=0.5, fs_hz=50.0, seed=9)
    write_simulation(sim, tmp_path / "n.csv")
    assert main(["export", str(tmp_path / "n.csv"), "--edf", str(tmp_path / "n.edf")]) == 0
    data = (tmp_path / "n.edf").read_bytes()
    header_records = int(data[236:244])
    (tmp_path / "cut.edf").write_bytes(data[:len(data) // 2])
    capsys.readouterr()
    assert main(["analyze", str(tmp_path / "cut.edf"), "--out", str(tmp_path / "o"),
                 "--no-report"]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    (w,) = [x for x in summary["warnings"] if "cut short" in x]
    assert f"the header says {header_records:,} data records" in w and f"warning: {w}" in out
    held = summary["cleaning"]["edf_records_read"]
    assert 0 < held < header_records and f"holds {held:,}" in w
