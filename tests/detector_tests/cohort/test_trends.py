"""Multi-night trends: synthetic weeks with a planted diary factor, the trend test, the page."""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import detector.cli
from detector.cli.many_nights import add_trends
from detector.io.diary import parse_diary
from detector.io.recording import InputError
from detector.cohort.trends import load_nights, night_date, night_trends, spearman_ci
from detector.cohort.trends_page import render_trends, write_trends

FIRST_DAY = pd.Timestamp("2024-03-01")


def make_week(root: Path, n_nights: int, *, seed: int = 0, plm_slope: float = 0.0,
              plm_base: float = 5.0) -> str:
    """Write ``n_nights`` summary.json folders and return a matching diary text.

    twitch_index = 8 + 3 * caffeine_mg / 100 + noise (sd 1); water_l is drawn independently of
    everything; plm_index = plm_base + plm_slope * night + noise (sd 0.5).
    """
    rng = np.random.default_rng(seed)
    lines = ["# synthetic diary", "date,caffeine_mg,water_l,notes"]
    for i in range(n_nights):
        day = FIRST_DAY + pd.Timedelta(days=i)
        caffeine = float(rng.uniform(0.0, 400.0))
        water = float(rng.uniform(0.5, 3.0))
        # Nights start between 22:00 and 01:30 the next morning: all dated by the evening.
        start = day + pd.Timedelta(hours=22) + pd.Timedelta(minutes=float(rng.uniform(0, 210)))
        folder = root / f"night{i:02d}"
        folder.mkdir(parents=True)
        summary = {"start_time": start.tz_localize("UTC").isoformat(),
                   "plm_index": plm_base + plm_slope * i + float(rng.normal(0.0, 0.5)),
                   "lm_index": 12.0 + float(rng.normal(0.0, 1.0)),
                   "twitch_index": 8.0 + 3.0 * caffeine / 100.0 + float(rng.normal(0.0, 1.0)),
                   "rest_h": 7.0 + float(rng.normal(0.0, 0.3)), "n_plm": 20,
                   "category": "occasional_harmless_twitches",
                   "config": {"envelope": {"on_factor": 4.0}}}
        (folder / "summary.json").write_text(json.dumps(summary))
        lines.append(f"{day:%Y-%m-%d},{caffeine:.0f},{water:.2f},")
    return "\n".join(lines) + "\n"


def _row(tr, factor: str, index: str) -> pd.Series:
    f = tr.factors
    return f[(f["factor"] == factor) & (f["index"] == index)].iloc[0]


def test_night_date_is_the_evening_the_night_started():
    assert night_date("2024-03-01T22:30:00+00:00") == pd.Timestamp("2024-03-01").date()
    assert night_date("2024-03-02T01:10:00+00:00") == pd.Timestamp("2024-03-01").date()
    # 11:30 UTC is 20:30 in Tokyo: the evening of 1 March there, the morning of 1 March in UTC.
    assert night_date("2024-03-01T11:30:00+00:00") == pd.Timestamp("2024-02-29").date()
    assert night_date("2024-03-01T11:30:00+00:00", "Asia/Tokyo") == \
        pd.Timestamp("2024-03-01").date()


def test_spearman_ci_fisher_z_by_hand():
    # z = atanh(0.5) = 0.5493; SE = 1.03 / sqrt(25) = 0.206; 1.95996 * 0.206 = 0.40375.
    lo, hi = spearman_ci(0.5, 28)
    assert lo == pytest.approx(math.tanh(0.549306 - 0.403752), abs=1e-5)
    assert hi == pytest.approx(math.tanh(0.549306 + 0.403752), abs=1e-5)
    # Bonett-Wright: SE = sqrt((1 + 0.125) / 25) = 0.212132.
    lo_bw, _ = spearman_ci(0.5, 28, method="bonett_wright")
    assert lo_bw == pytest.approx(math.tanh(0.549306 - 1.959964 * 0.212132), abs=1e-5)


def test_planted_caffeine_goes_with_twitches_and_unrelated_factor_does_not(tmp_path):
    diary = make_week(tmp_path / "results", 21)
    nights, notes = load_nights(tmp_path / "results")
    assert len(nights) == 21 and notes == []
    tr = night_trends(nights, parse_diary(diary, "diary.csv"), notes=notes)
    caf = _row(tr, "caffeine_mg", "twitch_index")
    assert caf["n"] == 21 and caf["rho"] > 0.5 and caf["ci_low"] > 0
    assert caf["claim"] == "goes_with_higher"
    water = _row(tr, "water_l", "twitch_index")
    assert water["n"] == 21 and water["ci_low"] < 0 < water["ci_high"]
    assert water["claim"] == "no_clear_link"
    # 2 factors x 3 indices compared; the Holm adjustment never lowers a p-value.
    assert tr.n_comparisons == 6
    assert (tr.factors["p_holm"] >= tr.factors["p_value"]).all()
    for sentence in tr.factors["sentence"]:
        assert "caus" not in sentence.lower()
    assert "went with a higher twitch index" in caf["sentence"]
    page = render_trends(tr)
    caf_row = re.search(r'<tr[^>]*data-factor="caffeine_mg" data-index="twitch_index"[^>]*>', page)
    assert caf_row and 'data-claim="goes_with_higher"' in caf_row.group(0)
    water_row = re.search(r'<tr[^>]*data-factor="water_l" data-index="twitch_index"[^>]*>', page)
    assert water_row and 'data-claim="no_clear_link"' in water_row.group(0)
    assert "Caffeine intake, known to stimulate muscle activity." in page
    assert "6 factor-index pairs were compared" in page


def test_a_link_that_does_not_survive_the_holm_correction_is_not_claimed(tmp_path):
    # A third diary column that goes with the twitch index about as well as chance allows among
    # 9 factor-index pairs: its own 95 % interval excludes 0, its Holm-adjusted p does not stay
    # below 0.05. The words must follow the adjusted result: "no clear link", not "went with".
    from scipy.stats import spearmanr

    diary = make_week(tmp_path / "results", 21)
    nights, notes = load_nights(tmp_path / "results")
    base = parse_diary(diary, "diary.csv")
    twitch = nights.set_index("date")["twitch_index"].reindex(
        pd.to_datetime(base["date"])).to_numpy()
    for seed in range(500):
        weak = twitch + np.random.default_rng(seed).normal(0.0, 3.2, len(twitch))
        rho, p = spearmanr(weak, twitch)
        if 0.02 < p < 0.03:
            break
    else:
        raise AssertionError("no weakly linked column found")
    dia = base.assign(stress_1_5=np.round(weak, 3))
    tr = night_trends(nights, dia, notes=notes)
    row = _row(tr, "stress_1_5", "twitch_index")
    assert row["ci_low"] > 0 and row["p_value"] < 0.05 < row["p_holm"]
    assert row["claim"] == "no_clear_link" and "No clear link" in row["sentence"]
    assert "adjusted p" in row["sentence"] and "went with a higher" in row["sentence"]
    # every claimed link survives the correction
    claimed = tr.factors[tr.factors["claim"].isin(["goes_with_higher", "goes_with_lower"])]
    assert len(claimed) and (claimed["p_holm"] <= 0.05).all()
    assert "stress_1_5" not in tr.advice["factors"]


def test_the_page_links_each_night_to_its_report_and_the_mean_waits_for_7_nights(tmp_path):
    from detector.cohort.trends_page import _plot_indices

    make_week(tmp_path / "results", 10)
    for k in (0, 3):
        (tmp_path / "results" / f"night{k:02d}" / "report.html").write_text("<html></html>")
    nights, notes = load_nights(tmp_path / "results")
    tr = night_trends(nights, None, notes=notes, settings={"source": str(tmp_path / "results")})
    # a mean of the last 7 nights exists from the 7th night on, not from the 3rd
    assert tr.nights["plm_index_rolling"].isna().tolist() == [True] * 6 + [False] * 4
    out = write_trends(tr, tmp_path / "results" / "trends.html")
    page = out.read_text()
    assert '<a href="night00/report.html">night00</a>' in page
    assert '<a href="night03/report.html">night03</a>' in page
    assert 'href="night01/report.html"' not in page          # no report there: no link
    fig = _plot_indices(tr)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[1].get_xticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"\d\d [A-Z][a-z]{2}", t) for t in labels), labels
    assert all(ax.get_legend() is not None for ax in fig.axes[:2])


def test_too_few_nights_makes_no_claim(tmp_path):
    diary = make_week(tmp_path / "results", 5)
    nights, _ = load_nights(tmp_path / "results")
    tr = night_trends(nights, parse_diary(diary))
    assert (tr.factors["claim"] == "too_few_nights").all()
    assert tr.factors["rho"].isna().all() and tr.factors["ci_low"].isna().all()
    assert (tr.trend["claim"] == "too_few_nights").all()
    page = render_trends(tr)
    assert "too few nights" in page.lower()
    assert "went with a" not in page
    assert not tr.advice["consult_doctor"]


def test_rising_plm_trend_is_detected_and_sends_to_a_doctor(tmp_path):
    make_week(tmp_path / "results", 14, plm_slope=1.0, plm_base=2.0)
    nights, _ = load_nights(tmp_path / "results")
    tr = night_trends(nights)
    plm = tr.trend.set_index("index").loc["plm_index"]
    assert plm["claim"] == "rising" and plm["rho"] > 0.9 and plm["p_value"] < 0.05
    assert tr.advice["consult_doctor"] and tr.advice["key"] == "when_to_see_a_doctor"
    assert any("rose" in r for r in tr.advice["reasons"])
    assert tr.factors.empty
    page = render_trends(tr)
    assert 'data-advice="when_to_see_a_doctor"><span class="label">When to Consult a Doctor' \
        '</span><span class="fitnote">' in page
    # the fitting row first, the others after it as general advice, the article quoted
    assert re.findall(r'data-advice="([a-z_]+)"', page)[0] == "when_to_see_a_doctor"
    assert page.count("general advice") == 2 and '<blockquote class="article">' in page


def test_plm_above_threshold_on_three_of_last_seven_nights(tmp_path):
    make_week(tmp_path / "results", 10, plm_base=5.0)
    nights, _ = load_nights(tmp_path / "results")
    flat = night_trends(nights)
    assert flat.trend.set_index("index").loc["plm_index", "claim"] == "no_clear_trend"
    assert not flat.advice["consult_doctor"] and flat.advice["n_high_recent"] == 0
    high = nights.copy()
    high.loc[[4, 6, 8], "plm_index"] = [16.0, 30.0, 20.0]  # nights 5, 7, 9 of 10: in the last 7
    tr = night_trends(high)
    assert tr.advice["n_high_recent"] == 3 and tr.advice["consult_doctor"]
    two = nights.copy()
    two.loc[[1, 6, 8], "plm_index"] = [40.0, 30.0, 20.0]  # night 2 is not in the last 7
    assert not night_trends(two).advice["consult_doctor"]
    # a night too short for a verdict (2 h of rest) does not count against the threshold: its
    # own report gives no category ("worth showing to a doctor" came from such nights once)
    short = high.copy()
    short.loc[[4], "category"] = "insufficient_data"
    tr = night_trends(short)
    assert tr.advice["n_high_recent"] == 2 and not tr.advice["consult_doctor"]


def test_diary_matches_the_evening_and_notes_unmatched_days(tmp_path):
    root = tmp_path / "results"
    for name, start in (("a", "2024-03-01T22:00:00+00:00"), ("b", "2024-03-03T01:30:00+00:00")):
        (root / name).mkdir(parents=True)
        (root / name / "summary.json").write_text(json.dumps(
            {"start_time": start, "plm_index": 1, "lm_index": 2, "twitch_index": 3,
             "rest_h": 7}))
    diary = parse_diary("date,caffeine_mg\n2024-03-01,100\n2024-03-02,200\n2024-03-05,300\n")
    nights, _ = load_nights(root)
    tr = night_trends(nights, diary)
    assert list(tr.nights["caffeine_mg"]) == [100.0, 200.0]
    assert any("2 of 3 diary days matched a night" in n and "2024-03-01 to 2024-03-02" in n
               for n in tr.notes)


def test_nights_csv_from_a_batch_is_used_and_failed_rows_left_out(tmp_path):
    root = tmp_path / "results"
    root.mkdir()
    pd.DataFrame({
        "night": ["n1", "n2", "n3"],
        "status": ["analysed", "failed", "skipped"],
        "start_time": ["2024-03-01T22:00:00+00:00", None, "2024-03-02T23:00:00+00:00"],
        "plm_index": [3.0, None, 4.0], "lm_index": [5.0, None, 6.0],
        "twitch_index": [7.0, None, 8.0], "rest_h": [7.0, None, 6.5],
        "config.envelope.on_factor": [4.0, 4.0, 4.0],
    }).to_csv(root / "nights.csv", index=False)
    nights, notes = load_nights(root)
    assert list(nights["night"]) == ["n1", "n3"]
    assert list(nights["plm_index"]) == [3.0, 4.0]
    assert any("1 night(s) marked failed" in n for n in notes)


def test_two_nights_on_one_date_keep_the_longest_rest(tmp_path):
    root = tmp_path / "results"
    for name, rest in (("short", 2.0), ("long", 7.0)):
        (root / name).mkdir(parents=True)
        (root / name / "summary.json").write_text(json.dumps(
            {"start_time": "2024-03-01T22:00:00+00:00", "plm_index": rest, "lm_index": 1,
             "twitch_index": 1, "rest_h": rest}))
    nights, notes = load_nights(root)
    assert list(nights["night"]) == ["long"]
    assert "kept long" in notes[0]


def test_bad_results_folder_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="no \\*/summary.json"):
        load_nights(tmp_path)
    (tmp_path / "n1").mkdir()
    (tmp_path / "n1" / "summary.json").write_text("{not json")
    with pytest.raises(InputError, match=r"n1/summary.json: cannot read"):
        load_nights(tmp_path)
    (tmp_path / "n1" / "summary.json").write_text(json.dumps({"plm_index": 1}))
    with pytest.raises(InputError, match=r"n1/summary.json: no start_time"):
        load_nights(tmp_path)


def test_a_night_that_cannot_be_read_or_dated_costs_only_itself(tmp_path, capsys):
    # `legtwitch trends .` in a folder with one stray summary without start_time and one
    # damaged one: the good nights are read, the others named in a note (it aborted once).
    make_week(tmp_path / "results", 8)
    (tmp_path / "results" / "stray").mkdir()
    (tmp_path / "results" / "stray" / "summary.json").write_text(json.dumps({"plm_index": 1}))
    (tmp_path / "results" / "broken").mkdir()
    (tmp_path / "results" / "broken" / "summary.json").write_text("{not json")
    nights, notes = load_nights(tmp_path / "results")
    assert len(nights) == 8
    assert any("stray/summary.json: no start_time" in n for n in notes)
    assert any("broken/summary.json: cannot read" in n for n in notes)
    assert detector.cli.main(["trends", str(tmp_path / "results"), "--out",
                              str(tmp_path / "t.html")]) == 0
    out = capsys.readouterr().out
    assert "note: " in out and "stray/summary.json" in out


def test_a_diary_that_matches_no_night_says_so(tmp_path):
    make_week(tmp_path / "results", 8)
    nights, notes = load_nights(tmp_path / "results")
    diary = parse_diary("date,caffeine_mg\n2023-01-01,100\n2023-01-02,200\n", "diary.csv")
    tr = night_trends(nights, diary, notes=notes)
    assert any("0 of 2 diary days matched a night" in n and "2024-03-01 to 2024-03-08" in n
               for n in tr.notes)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    add_trends(sub, detector.cli.add_config_args)
    return p


def test_command_writes_a_private_self_contained_page(tmp_path, capsys):
    diary = make_week(tmp_path / "results", 21)
    (tmp_path / "diary.csv").write_text(diary)
    out = tmp_path / "weeks.html"
    args = _parser().parse_args(["trends", str(tmp_path / "results"), "--diary",
                                 str(tmp_path / "diary.csv"), "--out", str(out)])
    assert args.func(args) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    page = out.read_text(encoding="utf-8")
    assert "not a diagnosis" in page.lower()
    assert "What an accelerometer cannot see" in page
    assert page.count("data:image/png;base64,") == 2
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "15/h" in page
    printed = capsys.readouterr().out
    assert "21 nights" in printed and "caffeine" in printed and str(out) in printed


def test_command_bad_diary_line_is_an_input_error(tmp_path):
    make_week(tmp_path / "results", 7)
    (tmp_path / "diary.csv").write_text("date,stress_1_5\n2024-03-01,9\n")
    args = _parser().parse_args(["trends", str(tmp_path / "results"), "--diary",
                                 str(tmp_path / "diary.csv")])
    with pytest.raises(InputError, match=r"diary.csv, line 2, column stress_1_5"):
        args.func(args)


def test_command_writes_the_template_and_never_overwrites(tmp_path):
    path = tmp_path / "diary.csv"
    args = _parser().parse_args(["trends", "--template", str(path)])
    assert args.func(args) == 0 and path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(InputError, match="already exists"):
        args.func(args)


def test_page_from_three_analysed_simulated_nights(tmp_path):
    from detector.config import Config
    from detector.io.load import load_recording
    from detector.analysis import write_outputs
    from detector.analysis import analyze
    from detector.sim.night import simulate_night, write_simulation

    root = tmp_path / "results"
    for i, scenario in enumerate(("healthy", "plmd", "twitchy")):
        night = simulate_night(scenario, hours=0.1, fs_hz=50.0, seed=i,
                               start_unix_s=1_709_330_400.0 + i * 86_400.0)  # 2024-03-01 22:00
        path = tmp_path / f"{scenario}.csv"
        write_simulation(night, path)
        write_outputs(analyze(load_recording(path), Config()), root / scenario, report=False)
    nights, _ = load_nights(root)
    assert [f"{d:%Y-%m-%d}" for d in nights["date"]] == ["2024-03-01", "2024-03-02",
                                                          "2024-03-03"]
    tr = night_trends(nights)
    assert (tr.trend["claim"] == "too_few_nights").all()
    path = write_trends(tr, tmp_path / "t.html")
    assert path.stat().st_mode & 0o777 == 0o600
    assert "Not a diagnosis" in path.read_text(encoding="utf-8")


def test_caffeine_planted_in_the_signal_is_found_through_batch_and_trends(tmp_path, monkeypatch):
    """End to end from the accelerometer: 14 simulated nights whose twitch rate rises with the
    day's caffeine (20 + 0.3 x mg per hour), analysed by `legtwitch batch`; trends finds caffeine
    going with the twitch index (interval above 0) and not the independently drawn water."""
    import dataclasses

    from detector.sim import night as simulate
    from detector.cohort.batch import run_batch

    rng = np.random.default_rng(5)
    nights = tmp_path / "nights"
    nights.mkdir()
    lines = ["date,caffeine_mg,water_l"]
    start = 1_709_240_400.0                      # 2024-02-29 21:00 UTC
    for k in range(14):
        caffeine = float(rng.uniform(0.0, 400.0))
        rate = 20.0 + 0.3 * caffeine
        scenario = dataclasses.replace(simulate.SCENARIOS["healthy"], name="planted",
                                       twitch_rate_per_h=(rate, rate))
        monkeypatch.setitem(simulate.SCENARIOS, "planted", scenario)
        night = simulate.simulate_night("planted", 0.25, 50.0, seed=k,
                                        start_unix_s=start + 86400.0 * k)
        simulate.write_simulation(night, nights / f"n{k:02d}.csv")
        day = pd.Timestamp(start + 86400.0 * k, unit="s")
        lines.append(f"{day:%Y-%m-%d},{caffeine:.0f},{rng.uniform(0.5, 3.0):.2f}")
    (tmp_path / "diary.csv").write_text("\n".join(lines) + "\n")
    res = run_batch(str(nights / "*.csv"), tmp_path / "results", max_workers=1, report=False)
    assert res.n_analysed == 14
    table, notes = load_nights(tmp_path / "results")
    tr = night_trends(table, parse_diary((tmp_path / "diary.csv").read_text(), "diary.csv"),
                      notes=notes)
    caf = _row(tr, "caffeine_mg", "twitch_index")
    assert caf["n"] == 14 and caf["rho"] > 0 and caf["ci_low"] > 0, caf
    water = _row(tr, "water_l", "twitch_index")
    assert water["ci_low"] < 0 < water["ci_high"], water


def test_a_night_with_relative_time_is_left_out_with_a_note(tmp_path):
    make_week(tmp_path, 5)
    folder = tmp_path / "phone_export"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({
        "start_time": "1970-01-01T00:00:00+00:00", "plm_index": 3.0, "lm_index": 9.0,
        "twitch_index": 4.0, "rest_h": 6.0, "category": "occasional_harmless_twitches"}))
    nights, notes = load_nights(tmp_path)
    assert len(nights) == 5 and "phone_export" not in set(nights["night"])
    assert (nights["date"].dt.year >= 2024).all()
    assert any(n.startswith("phone_export: the recording has relative timestamps") for n in notes)


def test_the_command_lines_min_nights_default_is_the_libraries():
    from detector.cli.many_nights import TRENDS_MIN_NIGHTS
    from detector.cohort.trends import MIN_NIGHTS

    assert TRENDS_MIN_NIGHTS == MIN_NIGHTS
