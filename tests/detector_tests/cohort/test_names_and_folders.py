"""Names and folders: a hostile file name never writes outside ``--out``, every folder made is
0700 whatever the umask, a device's name cannot drive the terminal, and a local dask cluster
serves no dashboard."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector.cohort.batch import dask_executor, run_batch
from detector.cohort.nights import night_names, safe_name
from detector.fileio import make_private_dir
from detector.textsafe import printable
from firmware_bridge.recorder import DeviceSpec, NightRecorder, _Sensor
from synth import rest, rotate

FS = 50.0


def write_night(path: Path, seed: int) -> None:
    acc = rest(150, FS, seed=seed)
    rotate(acc, FS, 40, 2.0, 8)
    t = 1_700_000_000.0 + 86_400 * seed + np.arange(len(acc)) / FS
    pd.DataFrame({"timestamp": t, "x": acc[:, 0], "y": acc[:, 1], "z": acc[:, 2]}).to_csv(
        path, index=False)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_hostile_night_names_stay_inside_out(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    names = ["...csv", "..csv", ".csv.csv", "nights.csv.csv", "\x1b[2Jevil.csv", "ok.csv",
             "OK.csv"]
    for i, name in enumerate(names):
        write_night(inputs / name, i)
    out = tmp_path / "work" / "out"
    make_private_dir(out)
    # The user's own files beside --out (what `...csv` -> `..` overwrote before).
    (tmp_path / "work" / "summary.json").write_text("mine")
    (tmp_path / "work" / "events.csv").write_text("mine")
    before = tree(tmp_path / "work")
    res = run_batch([str(inputs / n) for n in names], out, max_workers=1, report=False)
    assert res.n_failed == 0, res.nights
    after = tree(tmp_path / "work")
    outside = {k: v for k, v in after.items() if not k.startswith("out/")}
    assert outside == before, "batch wrote outside --out"
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == len(names) == len({f.lower() for f in folders})
    for f in folders:
        assert f not in (".", "..") and not f.startswith(".") and "\x1b" not in f
        assert (out / f / "summary.json").is_file()
    assert (out / "nights.csv").is_file() and not (out / "nights.csv").is_dir()


def test_safe_names():
    assert safe_name("..") == safe_name(".") == safe_name("") == "night"
    assert safe_name("a/../../b") == "a_.._.._b"
    assert safe_name("a\\b") == "a_b" and safe_name(" .hidden. ") == "hidden"
    assert safe_name("nights.parquet") == "night-nights.parquet"
    n = night_names(["x/..csv", "y/...csv", "z/night.csv"])
    assert len(set(n)) == 3 and all(s.startswith("night") for s in n)


def test_nested_out_folders_are_0700_under_any_umask(tmp_path):
    old = os.umask(0)
    try:
        make_private_dir(tmp_path / "a" / "b" / "c")
    finally:
        os.umask(old)
    for d in ("a", "a/b", "a/b/c"):
        assert (tmp_path / d).stat().st_mode & 0o777 == 0o700, d


def test_a_device_name_cannot_drive_the_terminal(tmp_path):
    assert printable("Leg\x1b[2J\x1b]0;x\x07\u202e") == "Leg\\x1b[2J\\x1b]0;x\\x07\\u202e"
    lines: list[str] = []
    rec = NightRecorder(tmp_path, [DeviceSpec("sensor", "AA")], out=lines.append)
    sensor = _Sensor(spec=DeviceSpec("sensor", "AA"), store=None, live=None)
    rec._note_event(sensor, "connected", {"name": "LegAccel\x1b[2J\x1b[31m", "address":
                                          "AA\x07"}, 1.7e9)
    rec._note_event(sensor, "device_info", {"serial\x1b": "\x1b]0;pwned\x07"}, 1.7e9)
    assert lines and all("\x1b" not in x and "\x07" not in x for x in lines)
    assert "LegAccel\\x1b[2J" in lines[0]


def test_dask_local_serves_no_dashboard():
    pytest.importorskip("distributed")
    import distributed

    with dask_executor(None, 1) as ex:
        assert ex.submit(sum, [1, 2]).result() == 3
        cluster = distributed.get_client().cluster
        port = cluster.scheduler.http_server.port
        assert port != 8787
        for path in ("/status", "/info/main/workers.html", "/metrics", "/health"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10)
            assert err.value.code == 404
