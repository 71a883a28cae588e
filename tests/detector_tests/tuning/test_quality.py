"""Quality bars on seeded synthetic nights of every scenario (short nights; the 8-hour figures are
in the release notes): F1 >= 0.95 for leg movements and PLM membership, >= 0.90 for twitches, the
PLM index within 10 %, and no event on an hour of noise with bed-partner vibration."""

from __future__ import annotations

import pytest
from nights import pooled_f1, scored

from detector.tuning.evaluate import plm_index_error

SEEDS = (0, 1, 2)


@pytest.mark.parametrize("scenario", ["healthy", "plmd", "twitchy", "rls"])
def test_leg_movements_twitches_and_plm_are_found(scenario):
    f1_lm, n_lm = pooled_f1(scenario, "lm", SEEDS)
    f1_tw, n_tw = pooled_f1(scenario, "twitch", SEEDS)
    f1_plm, n_plm = pooled_f1(scenario, "plm", SEEDS)
    assert n_lm > 5 and n_tw > 5, "the scenario must exercise both kinds"
    assert f1_lm >= 0.95, f"LM F1 {f1_lm:.3f} over {n_lm} LMs"
    assert f1_tw >= 0.90, f"twitch F1 {f1_tw:.3f} over {n_tw} twitches"
    if n_plm:
        assert f1_plm >= 0.95, f"PLM F1 {f1_plm:.3f} over {n_plm} PLMs"


@pytest.mark.parametrize("scenario", ["plmd", "rls"])
@pytest.mark.parametrize("seed", SEEDS)
def test_plm_index_within_ten_percent(scenario, seed):
    night, result, _ = scored(scenario, seed)
    err = plm_index_error(result.events, night.truth, rest_h=result.metrics["rest_h"])
    assert err["n_plm_true"] > 0
    assert abs(err["relative_error"]) <= 0.10, err


@pytest.mark.parametrize("seed", SEEDS)
def test_an_hour_of_noise_with_partner_vibration_has_no_events(seed):
    night, result, _ = scored("noise", seed)
    assert len(night.vibrations) > 0, "the noise night must contain partner vibration"
    assert len(night.truth) == 0
    assert len(result.events) == 0, result.events[["start_s", "duration_s", "kind", "peak_g"]]


def test_the_quality_table_marks_each_figure_against_its_target():
    from detector.tuning.quality import format_quality

    row = {"scenario": "made_up", "fs_hz": 100.0, "lm_f1": 0.99, "plm_f1": 0.90,
           "twitch_f1": 0.95, "sustained_f1": None, "false_lm_per_h": 0.75,
           "plm_index_err": 0.04, "n_lm": 10, "n_plm": 8, "n_twitch": 5, "n_sustained": 0}
    text = format_quality([row])
    line = next(x for x in text.splitlines() if x.startswith("made_up"))
    assert line.count("NOT MET") == 2 and line.count(" ok") == 3
    assert "made_up: PLM F1 0.900 (target >= 0.980)" in text
    assert "made_up: false LM/h 0.75 (target <= 0.50)" in text
    # the twitch target applies at 50 Hz or more only
    low = format_quality([dict(row, fs_hz=25.0, twitch_f1=0.7)])
    assert "twitch F1" not in low.split("NOT MET:")[1]


def test_bench_quality_runs_from_the_command_line(tmp_path, capsys):
    import json
    import os

    from detector.cli import main

    out = tmp_path / "q.json"
    assert main(["bench", "--quality", "--hours", "0.25", "--scenario", "partner",
                 "--seeds", "5", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    line = next(x for x in printed.splitlines() if x.startswith("partner"))
    assert "ok" in line or "NOT MET" in line
    data = json.loads(out.read_text())
    assert [r["scenario"] for r in data] == ["partner"]
    assert {"lm_f1", "plm_f1", "twitch_f1", "sustained_f1", "false_lm_per_h",
            "plm_index_err"} <= set(data[0])
    assert (os.stat(out).st_mode & 0o777) == 0o600
