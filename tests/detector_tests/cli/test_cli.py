"""The command line as a user runs it: demo, analyze, rescore, simulate, evaluate, presets."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pandas as pd
import pytest

from detector.cli import main
from detector.io.outputs import events_csv_text
from repo import REPO

CONTRACT_EVENTS = ["start_s", "end_s", "start_time", "duration_s", "kind", "plm", "series",
                   "peak_g", "leg"]
CONTRACT_SUMMARY = ["rules", "fs_hz", "recording_h", "rest_h", "gap_s", "n_twitch", "n_lm",
                    "n_plm", "n_sustained", "plm_index", "lm_index", "twitch_index",
                    "periodicity_index", "category", "advice", "config"]


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("night") / "night.csv"
    assert main(["simulate", "--scenario", "plmd", "--hours", "0.5", "--seed", "7", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def analysed(night, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    assert main(["analyze", str(night), "--out", str(out), "-q"]) == 0
    return out


def test_analyze_writes_the_contract_files_owner_only(analysed):
    for name in ("events.csv", "summary.json", "report.html"):
        mode = stat.S_IMODE((analysed / name).stat().st_mode)
        assert mode == 0o600, (name, oct(mode))
    ev = pd.read_csv(analysed / "events.csv")
    assert list(ev.columns[:len(CONTRACT_EVENTS)]) == CONTRACT_EVENTS
    assert set(ev["kind"]) <= {"twitch", "lm", "sustained"}
    assert set(ev["plm"].astype(str).str.lower()) <= {"true", "false"}
    summary = json.loads((analysed / "summary.json").read_text())
    for key in CONTRACT_SUMMARY:
        assert key in summary, key
    assert summary["rules"] == "wasm2016"
    assert summary["n_plm"] == int(ev["plm"].astype(str).str.lower().eq("true").sum())
    assert summary["n_lm"] == int((ev["kind"] == "lm").sum())
    assert summary["config"]["envelope"]["on_factor"] == 5.0


def test_evaluate_against_the_truth_uses_rest_time_from_the_summary(analysed, night, capsys):
    truth = night.with_name("night.truth.csv")
    assert main(["evaluate", str(analysed / "events.csv"), str(truth)]) == 0
    out = capsys.readouterr().out
    assert "rest time" in out and "lm" in out and "f1" in out.lower()


def test_set_and_rules_change_the_scoring(night, tmp_path, capsys):
    assert main(["analyze", str(night), "--out", str(tmp_path), "--rules", "aasm2012",
                 "--set", "envelope.on_factor=6", "--no-report", "-q"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rules"] == "aasm2012"
    assert summary["config"]["envelope"]["on_factor"] == 6.0
    assert summary["config"]["rules"]["imi_min_s"] == 5.0
    assert not (tmp_path / "report.html").exists()


def test_rescore_applies_the_rules_to_a_scorers_list(tmp_path, capsys):
    # Five 2-s LMs 7 s apart: a PLM series under AASM 2012 (5-90 s) but not WASM 2016 (10-90 s).
    lm = tmp_path / "lm.csv"
    lm.write_text("onset,offset\n" + "".join(f"{7 * i},{7 * i + 2}\n" for i in range(5)))
    assert main(["rescore", str(lm), "--rest-h", "1"]) == 0
    assert "PLMs 0" in capsys.readouterr().out
    assert main(["rescore", str(lm), "--rules", "aasm2012", "--rest-h", "1", "--out",
                 str(tmp_path / "r")]) == 0
    assert "PLMs 5" in capsys.readouterr().out
    scored = pd.read_csv(tmp_path / "r" / "events.csv")
    assert scored["plm"].astype(str).str.lower().eq("true").sum() == 5


@pytest.mark.parametrize("argv, message", [
    (["analyze", "missing.csv"], "missing.csv"),
    (["analyze", "{empty}"], "empty"),
    (["analyze", "{night}", "--set", "envelope.on_factr=6"], "envelope.on_factr"),
    (["analyze", "{night}", "--config", "nope"], "nope"),
    (["rescore", "{empty}"], "empty"),
    (["simulate", "--scenario", "sleepy", "x.csv"], "sleepy"),
    # checked before the night is simulated, not after (a ValueError once it was)
    (["simulate", "--hours", "0.1", "x.txt"], "must end in .csv, .csv.gz or .parquet"),
    (["simulate", "--hours", "0.1", "--start", "yesterday", "x.csv"], "expected a date and time"),
    # a binary file given as the configuration (a UnicodeDecodeError once)
    (["analyze", "{night}", "--config", "{binary}"], "not a text file"),
])
def test_bad_input_is_one_clear_line_and_exit_code_2(argv, message, night, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    binary = tmp_path / "settings.toml"
    binary.write_bytes(b"\xff\xfe\x00\x81 binary \x9c")
    argv = [a.format(empty=empty, night=night, binary=binary) for a in argv]
    argv = [a if not a.startswith("missing") else str(tmp_path / a) for a in argv]
    assert main(argv + (["--out", str(tmp_path / "o")] if argv[0] == "analyze" else [])) == 2
    err = capsys.readouterr().err
    assert "error" in err and message.split("/")[-1] in err and "Traceback" not in err
    assert "simulating" not in err            # refused before any work
    assert len([line for line in err.splitlines() if "error" in line]) == 1


def test_rescore_uses_the_rest_time_given(tmp_path, capsys):
    # An LM list with a 30-s sustained movement: --rest-h 1.98 is the rest time, not 1.98 h
    # minus the movement (it read "rest 1.96 h" once).
    lms = tmp_path / "lms.csv"
    lms.write_text("start_s,end_s\n10,12\n40,41\n100,130\n")
    assert main(["rescore", str(lms), "--rest-h", "1.98", "--out", str(tmp_path / "r")]) == 0
    assert "rest 1.98 h" in capsys.readouterr().out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["rest_h"] == 1.98 and summary["lm_index"] == pytest.approx(2 / 1.98)


def test_version(capsys):
    from detector.version import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"legtwitch {__version__}"


def test_simulate_starts_at_the_clock_time_given(tmp_path):
    from datetime import datetime

    out = tmp_path / "n.csv"
    assert main(["simulate", "--hours", "0.02", "--fs", "25", "--start",
                 "2024-03-05 22:30+01:00", str(out)]) == 0
    first = pd.read_csv(out, nrows=1)["timestamp"].iloc[0]
    assert abs(first - datetime.fromisoformat("2024-03-05T21:30:00+00:00").timestamp()) < 0.05


def test_presets_lists_the_bundled_presets(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "default" in out and "aasm2012" in out and "sensitive" in out
    assert main(["presets", "--show", "aasm2012"]) == 0
    assert "imi_min_s = 5.0" in capsys.readouterr().out


def test_every_command_has_help(capsys):
    for cmd in ("analyze", "demo", "rescore", "simulate", "evaluate", "presets", "bench",
                "methods"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        assert "usage: legtwitch " + cmd in capsys.readouterr().out


def test_demo_analyses_the_bundled_night(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "-q"]) == 0
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    # The sample night is a PLMD scenario (see datasets/README.md): its truth has 94 PLMs.
    truth = pd.read_csv(REPO / "datasets"
                        / "sample_night.truth.csv")
    n_true = int(truth["plm"].astype(str).str.lower().eq("true").sum())
    assert abs(summary["n_plm"] - n_true) <= 0.1 * n_true
    assert summary["category"] == "periodic_limb_movement_pattern"


def test_events_csv_writes_booleans_as_true_false():
    text = events_csv_text(pd.DataFrame({"plm": [True, False], "start_s": [1.0, 2.0]}))
    assert text.splitlines()[1:] == ["true,1.000", "false,2.000"]


def test_set_rules_keys_survive_rules_switch(night, tmp_path):
    assert main(["analyze", str(night), "--out", str(tmp_path), "--rules", "aasm2012",
                 "--set", "rules.min_series=5", "--no-report", "-q"]) == 0
    rules = json.loads((tmp_path / "summary.json").read_text())["config"]["rules"]
    assert rules["standard"] == "aasm2012" and rules["imi_min_s"] == 5.0
    assert rules["min_series"] == 5


def test_evaluate_reads_edf_annotations_aligned_by_clock_time(analysed, tmp_path, capsys):
    """A PSG that started 60 s before the sensor, whose scorer marked exactly the detected leg
    movements: aligned by the summary's start time they match one to one."""
    from datetime import datetime, timedelta

    import edfio

    ev = pd.read_csv(analysed / "events.csv")
    lm = ev[ev["kind"] == "lm"]
    t0 = datetime.fromisoformat(json.loads((analysed / "summary.json").read_text())["start_time"])
    start = (t0 - timedelta(seconds=60)).replace(microsecond=0)    # EDF+ starts on a whole second
    lead_s = (t0 - start).total_seconds()
    notes = [edfio.EdfAnnotation(round(s + lead_s, 4), round(d, 3), "Limb Movement (Left)")
             for s, d in zip(lm["start_s"], lm["duration_s"])]
    edf = edfio.Edf([], annotations=notes, starttime=start.time(),
                    recording=edfio.Recording(startdate=start.date()))
    path = tmp_path / "scoring.edf"
    edf.write(path)
    capsys.readouterr()
    assert main(["evaluate", str(analysed / "events.csv"), str(path), "--tolerance-s", "0.1"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("lm "))
    n = str(len(lm))
    assert row.split()[1:6] == [n, n, n, "0", "0"], out
    assert "PLM series scored by wasm2016" in out
    # A scoring of leg movements cannot judge twitches: no twitch row, and they are not false
    # alarms in "all" (precision 1.000 there, not dragged down by every twitch detected).
    n_tw = int((ev["kind"] == "twitch").sum())
    assert n_tw > 0 and f"twitches (< 0.5 s, {n_tw} detected) are not scored" in out
    assert not any(line.startswith("twitch ") for line in out.splitlines())
    all_row = next(line for line in out.splitlines() if line.startswith("all "))
    n_scored = str(int(ev["kind"].isin(["lm", "sustained"]).sum()))
    assert all_row.split()[2] == n_scored and all_row.split()[4] == "0", out


def test_methods_prints_the_settings_with_citations(capsys):
    assert main(["methods", "--set", "envelope.on_factor=7.5", "--fs", "50"]) == 0
    out = capsys.readouterr().out
    assert "7.5 × noise floor" in out and "Ferri R" in out and "50 Hz" in out
    assert main(["methods", "--rules", "aasm2012", "--no-references"]) == 0
    out = capsys.readouterr().out
    assert "5-90 s" in out and "References" not in out


def test_help_loads_no_heavy_library():
    # `legtwitch --help` and every `legtwitch CMD --help` answer without numpy, pandas, scipy
    # or matplotlib: each command imports its work when it runs.
    import subprocess
    import sys

    from detector.cli import build_parser

    commands = sorted(build_parser()._subparsers._group_actions[0].choices)
    code = (
        "import sys, contextlib, io\n"
        "from detector.cli import main\n"
        "for argv in [['--help']] + [[c, '--help'] for c in sys.argv[1:]]:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "heavy = sorted(m for m in ('numpy', 'pandas', 'scipy', 'matplotlib', 'pyarrow', 'bleak',"
        " 'bumble') if m in sys.modules)\n"
        "print(','.join(heavy))\n")
    out = subprocess.run([sys.executable, "-c", code, *commands], capture_output=True, text=True,
                         check=True)
    assert len(commands) >= 15
    assert out.stdout.strip() == "", f"--help imported {out.stdout.strip()}"
