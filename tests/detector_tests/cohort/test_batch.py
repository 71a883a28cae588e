"""Cohort batches: equal to single analyses, on every executor, resumable, one bad night
isolated."""

from __future__ import annotations

import argparse
import io
import json
import shutil
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import detector.cli
from detector.cli.many_nights import add_batch
from detector.cohort.batch import ID_COLUMNS, flatten_summary, run_batch
from detector.cohort.progress import BatchProgress, ProgressBar
from detector.cohort.nights import expand_inputs, night_names
from detector.config import Config
from detector.io.recording import InputError
from detector.sim.night import simulate_night, write_simulation

#: (scenario, hours, seed) of the short synthetic nights (50 Hz).
NIGHTS = [("plmd", 0.15, 1), ("healthy", 0.1, 2), ("twitchy", 0.1, 3), ("plmd", 0.2, 4)]


@pytest.fixture(scope="module")
def nights_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("nights")
    for scenario, hours, seed in NIGHTS:
        write_simulation(simulate_night(scenario, hours, 50.0, seed), d / f"{scenario}-{seed}.csv")
    return d


def _copy_nights(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for p in src.glob("*.csv"):
        if not p.name.endswith(".truth.csv"):
            shutil.copy(p, dst / p.name)
    return dst


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    add_batch(sub, detector.cli.add_config_args)
    return p


def _batch_cli(*argv: str) -> int:
    args = _parser().parse_args(["batch", *argv])
    return args.func(args)


def _statuses(res) -> dict[str, str]:
    return {n["night"]: n["status"] for n in res.nights}


# --------------------------------------------------------------------------------------------

def test_batch_equals_single_analyze_runs(nights_dir, tmp_path):
    pattern = str(nights_dir / "*.csv")
    res = run_batch(pattern, tmp_path / "out", Config(), max_workers=1, report=False)
    files = sorted(p for p in nights_dir.glob("*.csv") if not p.name.endswith(".truth.csv"))
    assert [n["file"] for n in res.nights] == [str(p) for p in files]   # truth files left out
    assert res.n_analysed == len(NIGHTS) and res.exit_code == 0
    for p in files:
        single = tmp_path / "single" / p.stem
        assert detector.cli.main(["analyze", str(p), "--out", str(single), "--no-report",
                                  "-q"]) == 0
        night = tmp_path / "out" / p.stem
        for name in ("events.csv", "summary.json"):
            assert (night / name).read_bytes() == (single / name).read_bytes(), (p.name, name)
    # the collated table holds every summary field of every night, flattened
    table = pd.read_csv(tmp_path / "out" / "nights.csv")
    assert list(table.columns[:len(ID_COLUMNS)]) == ID_COLUMNS
    assert list(table["night"]) == [p.stem for p in files]
    assert (table["status"] == "analysed").all() and table["error"].isna().all()
    for _, row in table.iterrows():
        summary = json.loads((tmp_path / "single" / row["night"] / "summary.json").read_text())
        assert row["n_lm"] == summary["n_lm"] and row["n_plm"] == summary["n_plm"]
        assert row["config.envelope.on_factor"] == summary["config"]["envelope"]["on_factor"]
        assert json.loads(row["category_reasons"]) == summary["category_reasons"]
        assert row["file"] == summary["source"]
    parquet = pd.read_parquet(tmp_path / "out" / "nights.parquet")
    assert list(parquet.columns) == list(table.columns) and len(parquet) == len(NIGHTS)
    assert list(parquet["n_plm"]) == list(table["n_plm"])


@pytest.fixture(scope="module")
def reference_table(nights_dir, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("ref") / "out"
    run_batch(str(nights_dir / "*.csv"), out, Config(), max_workers=1, report=False)
    return (out / "nights.csv").read_text()


def test_thread_and_process_pools_give_the_same_table(nights_dir, tmp_path, reference_table):
    with ThreadPoolExecutor(max_workers=2) as ex:
        run_batch(str(nights_dir / "*.csv"), tmp_path / "threads", executor=ex, report=False)
    assert (tmp_path / "threads" / "nights.csv").read_text() == reference_table
    res = run_batch(str(nights_dir / "*.csv"), tmp_path / "procs", max_workers=2, report=False)
    assert res.n_analysed == len(NIGHTS)
    assert (tmp_path / "procs" / "nights.csv").read_text() == reference_table


def test_dask_local_cluster_and_scheduler_give_the_same_table(nights_dir, tmp_path,
                                                              reference_table):
    distributed = pytest.importorskip("distributed")
    pattern = str(nights_dir / "*.csv")
    # --dask-local: worker processes on 127.0.0.1
    assert _batch_cli(pattern, "--out", str(tmp_path / "local"), "--dask-local", "2",
                      "--no-report", "--quiet") == 0
    assert (tmp_path / "local" / "nights.csv").read_text() == reference_table
    # --scheduler: an existing cluster reached over TCP on loopback
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        assert _batch_cli(pattern, "--out", str(tmp_path / "sched"), "--scheduler", address,
                          "--no-report", "--quiet") == 0
    assert (tmp_path / "sched" / "nights.csv").read_text() == reference_table


def test_resume_redoes_only_unfinished_nights(nights_dir, tmp_path):
    src = _copy_nights(nights_dir, tmp_path / "nights")
    out = tmp_path / "out"
    first = run_batch(str(src / "*.csv"), out, max_workers=1, report=False)
    names = sorted(_statuses(first))
    assert first.n_analysed == len(NIGHTS)
    again = run_batch(str(src / "*.csv"), out, max_workers=1, report=False)
    assert again.n_analysed == 0 and again.n_skipped == len(NIGHTS)
    # a night done before keeps its analysed row, apart from the status: "done" (it was, by an
    # earlier run; "skipped" read as "not analysed") and skipped_this_run
    cols = [c for c in first.table.columns if c not in ("status", "skipped_this_run")]
    pd.testing.assert_frame_equal(first.table[cols], again.table[cols])
    assert (again.table["status"] == "done").all() and again.table["skipped_this_run"].all()
    assert not first.table["skipped_this_run"].any()
    saved = pd.read_csv(out / "nights.csv")
    assert set(saved["status"]) == {"done"} and saved["skipped_this_run"].all()

    shutil.rmtree(out / names[0])                              # outputs deleted
    (out / names[1] / "done.json").unlink()                    # killed before it finished
    (out / names[2] / "events.csv").unlink()                   # an output lost
    third = run_batch(str(src / "*.csv"), out, max_workers=1, report=False)
    assert _statuses(third) == {names[0]: "analysed", names[1]: "analysed",
                                names[2]: "analysed", names[3]: "done"}

    # an extended batch analyses only the new night
    write_simulation(simulate_night("rls", 0.1, 50.0, 9), src / "zz-new.csv")
    fourth = run_batch(str(src / "*.csv"), out, max_workers=1, report=False)
    assert _statuses(fourth) == {**{n: "done" for n in names}, "zz-new": "analysed"}

    # a changed file redoes that night only
    shutil.copy(src / "zz-new.csv", src / f"{names[0]}.csv")
    fifth = run_batch(str(src / "*.csv"), out, max_workers=1, report=False)
    assert [n for n, s in _statuses(fifth).items() if s == "analysed"] == [names[0]]


def test_changed_config_redoes_every_night(nights_dir, tmp_path):
    src = _copy_nights(nights_dir, tmp_path / "nights")
    out = tmp_path / "out"
    assert _batch_cli(str(src / "*.csv"), "--out", str(out), "--workers", "1", "--no-report",
                      "--quiet") == 0
    res = run_batch(str(src / "*.csv"), out, Config().with_values(on_factor=6.0),
                    max_workers=1, report=False)
    assert res.n_analysed == len(NIGHTS) and res.n_skipped == 0
    assert (res.table["config.envelope.on_factor"] == 6.0).all()
    summary = json.loads((out / Path(res.nights[0]["night"]) / "summary.json").read_text())
    assert summary["config"]["envelope"]["on_factor"] == 6.0


def test_corrupt_file_fails_alone_with_its_name(nights_dir, tmp_path, capsys):
    src = _copy_nights(nights_dir, tmp_path / "nights")
    (src / "broken.csv").write_text("timestamp,x,y,z\n1700000000.0,0.1,0.2\nnot,a,recording\n")
    out = tmp_path / "out"
    code = _batch_cli(str(src / "*.csv"), "--out", str(out), "--workers", "1", "--no-report")
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.csv" in captured.out and "failed" in captured.out
    assert "broken" in captured.err                               # the progress line too
    table = pd.read_csv(out / "nights.csv")
    bad = table[table["night"] == "broken"].iloc[0]
    assert bad["status"] == "failed" and "broken.csv" in bad["error"]
    assert pd.isna(bad["n_plm"])
    assert (table[table["night"] != "broken"]["status"] == "analysed").sum() == len(NIGHTS)
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures["night"]) == ["broken"] and "broken.csv" in failures["error"][0]
    assert not (out / "broken" / "done.json").exists()
    # the good nights are skipped next time, the bad one is tried again
    res = run_batch(str(src / "*.csv"), out, max_workers=1, report=False)
    assert res.n_skipped == len(NIGHTS) and res.n_failed == 1 and res.exit_code == 1
    # once the file is mended nothing fails: no failures.csv, none listed
    (src / "broken.csv").unlink()
    res = run_batch(str(src / "*.csv"), out, max_workers=1, report=False)
    assert res.n_failed == 0 and "failures" not in res.paths
    assert not (out / "failures.csv").exists()


def test_a_batch_without_failures_writes_no_failures_file(nights_dir, tmp_path, capsys):
    src = _copy_nights(nights_dir, tmp_path / "nights")
    out = tmp_path / "out"
    assert _batch_cli(str(src / "*.csv"), "--out", str(out), "--workers", "1", "--no-report",
                      "--quiet") == 0
    assert not (out / "failures.csv").exists() and "failures.csv" not in capsys.readouterr().out


def test_reports_and_private_files(nights_dir, tmp_path):
    src = tmp_path / "nights"
    src.mkdir()
    shutil.copy(nights_dir / "healthy-2.csv", src / "healthy-2.csv")
    out = tmp_path / "out"
    run_batch([src / "healthy-2.csv"], out, report=False)
    assert not (out / "healthy-2" / "report.html").exists()
    res = run_batch([src / "healthy-2.csv"], out, report=True)    # a report is wanted now
    assert res.n_analysed == 1
    names = {p.name for p in (out / "healthy-2").iterdir()}
    assert names == {"events.csv", "summary.json", "report.html", "done.json"}
    done = json.loads((out / "healthy-2" / "done.json").read_text())
    assert done["file"] == str(src / "healthy-2.csv") and len(done["key"]) == 64
    for p in out.rglob("*"):
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o700 if p.is_dir() else 0o600), p
    assert stat.S_IMODE(out.stat().st_mode) == 0o700


def test_inputs_patterns_lists_and_errors(nights_dir, tmp_path):
    files = expand_inputs([str(nights_dir / "plmd-*.csv"), nights_dir / "healthy-2.csv",
                           str(nights_dir / "plmd-1.csv")])             # named twice: once
    assert [p.name for p in files] == ["plmd-1.csv", "plmd-4.csv", "healthy-2.csv"]
    assert [p.name for p in expand_inputs([str(nights_dir)])] == sorted(
        f"{s}-{k}.csv" for s, _, k in NIGHTS)                            # a folder
    with pytest.raises(InputError, match=r"nothing-\*\.csv.*matched no recording"):
        expand_inputs([str(tmp_path / "nothing-*.csv")])
    with pytest.raises(InputError, match="missing.csv: file not found"):
        expand_inputs([str(tmp_path / "missing.csv")])
    with pytest.raises(InputError, match="matched no recording"):
        _batch_cli(str(tmp_path / "*.parquet"), "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit):
        _parser().parse_args(["batch", "x.csv", "--workers", "2", "--dask-local", "2"])


def test_night_names_are_unique_and_order_independent(tmp_path):
    a, b = tmp_path / "a" / "n1.csv", tmp_path / "b" / "n1.csv.gz"
    names = night_names([a, b, tmp_path / "n2.parquet", tmp_path / "x.y.csv"])
    assert names[2:] == ["n2", "x.y"]
    assert names[0] != names[1] and all(n.startswith("n1-") and len(n) == 11 for n in names[:2])
    assert night_names([b, a]) == [names[1], names[0]]
    assert night_names([a]) == ["n1"]


def test_flatten_summary():
    flat = flatten_summary({"n_lm": 3, "config": {"envelope": {"on_factor": 5.0}},
                            "reasons": ["a", "b"], "advice": {"row": "r", "examples": []},
                            "plm_index": None})
    assert flat == {"n_lm": 3, "config.envelope.on_factor": 5.0, "reasons": '["a", "b"]',
                    "advice.row": "r", "advice.examples": "[]", "plm_index": None}


def test_progress_bar_on_a_terminal_and_in_a_log():
    def status(done, analysed, skipped, failed, last):
        return BatchProgress(4, done, analysed, skipped, failed, 60.0, last)

    tty = io.StringIO()
    bar = ProgressBar(tty, tty=True)
    bar(status(1, 1, 0, 0, {"night": "n1", "status": "analysed"}))
    bar(status(2, 1, 1, 0, {"night": "n2", "status": "done"}))
    assert "\n" not in tty.getvalue() and tty.getvalue().count("\r") == 2
    assert "2/4 nights" in tty.getvalue() and "done before 1" in tty.getvalue()
    assert "1.0 nights/min" in tty.getvalue() and "ETA 2m00s" in tty.getvalue()
    bar(status(3, 1, 1, 1, {"night": "n3", "status": "failed", "error": "n3.csv: bad"}))
    assert "failed: n3: n3.csv: bad\n" in tty.getvalue()
    bar.close()
    assert tty.getvalue().endswith("\n")

    log = io.StringIO()
    bar = ProgressBar(log, tty=False)
    bar(status(1, 1, 0, 0, {"night": "n1", "status": "analysed"}))
    bar(status(2, 1, 0, 1, {"night": "n2", "status": "failed", "error": "n2.csv: bad"}))
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in log.getvalue()
    assert lines[1].startswith("batch: n2 failed: n2.csv: bad;") and "2/4 nights" in lines[1]


def test_collated_table_has_one_type_per_column(tmp_path):
    from detector.cohort.batch import collate

    table = collate([
        {"night": "a", "file": "a.csv", "status": "analysed", "summary": {"x": 1.5, "n": 2}},
        {"night": "b", "file": "b.csv", "status": "analysed", "summary": {"x": "n/a", "n": 3}},
        {"night": "c", "file": "c.csv", "status": "failed", "error": "c.csv: bad"}])
    assert list(table.columns) == [*ID_COLUMNS, "x", "n"]
    assert list(table["x"][:2]) == ["1.5", "n/a"] and pd.isna(table["x"][2])
    path = tmp_path / "t.parquet"
    table.to_parquet(path)                        # would raise on a column of text and numbers
    assert list(pd.read_parquet(path)["status"]) == ["analysed", "analysed", "failed"]


@pytest.fixture(scope="module")
def twenty_nights(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("twenty")
    for seed in range(20):
        scenario = ("plmd", "healthy", "twitchy", "rls")[seed % 4]
        write_simulation(simulate_night(scenario, 0.05, 50.0, 100 + seed), d / f"n{seed:02d}.csv")
    return d


def test_twenty_nights_equal_twenty_single_runs(twenty_nights, tmp_path):
    """The issue's bar: a batch of 20 short nights on the local process pool equals 20 single
    `legtwitch analyze` runs, file for file."""
    res = run_batch(str(twenty_nights / "*.csv"), tmp_path / "out", max_workers=2, report=False)
    assert res.n_analysed == 20 and res.exit_code == 0
    for p in sorted(twenty_nights.glob("n??.csv")):
        single = tmp_path / "single" / p.stem
        assert detector.cli.main(["analyze", str(p), "--out", str(single), "--no-report",
                                  "-q"]) == 0
        for name in ("events.csv", "summary.json"):
            assert (tmp_path / "out" / p.stem / name).read_bytes() == \
                (single / name).read_bytes(), (p.name, name)


def test_a_batch_killed_midway_resumes_without_redoing_finished_nights(twenty_nights, tmp_path):
    """kill -9 the batch process while it runs; the next run skips every night that had
    finished (done.json written) and analyses only the rest."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "detector.cli", "batch", str(twenty_nights / "*.csv"), "--out",
           str(out), "--workers", "1", "--no-report", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/done.json"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.parent.name for p in out.glob("*/done.json")}
    assert 4 <= len(finished) < 20, len(finished)
    res = run_batch(str(twenty_nights / "*.csv"), out, max_workers=1, report=False)
    statuses = _statuses(res)
    assert {n for n, s in statuses.items() if s == "done"} == finished
    assert {n for n, s in statuses.items() if s == "analysed"} == set(statuses) - finished
    assert res.exit_code == 0 and len(statuses) == 20


def test_a_cluster_without_the_extra_names_it(monkeypatch, tmp_path):
    # dask.distributed is the optional "cluster" extra: without it, one line that says so
    import builtins

    real = builtins.__import__

    def no_dask(name, *a, **k):
        if name == "distributed" or name.startswith("distributed.") or name == "dask":
            raise ImportError(f"No module named {name!r}")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    from detector.cohort.batch import dask_executor

    with pytest.raises(InputError, match=r'legtwitch\[cluster\]'):
        with dask_executor(None, 1):
            pass
