"""Malformed files give one clear line naming the file, or a correct result with the bad rows
counted; never a traceback, never memory sized by a stray number.

Each case is one a fuzzing run of 10,000 malformed files found to escape: a corrupt ``.csv.gz``,
one timestamp of 1e308, a damaged EDF (header, record duration), a recording Parquet of ours with
damaged ``fs_hz`` metadata or a sample_index jump of 10^9, a CSV with one value of 1.2e29 g.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from detector.cli import main
from detector.io.load import load_recording
from detector.io.recording import InputError
from firmware_bridge.protocols import legaccel
from firmware_bridge.store import NightStore
from synth import rest, rotate

FS = 100.0


def night_csv(path: Path, minutes: float = 5.0) -> pd.DataFrame:
    acc = rest(minutes * 60, FS, seed=4)
    for i in range(6):
        rotate(acc, FS, 30 + 30 * i, 2.0, 8)
    t = 1_700_000_000.0 + np.arange(len(acc)) / FS
    df = pd.DataFrame({"timestamp": t, "x": acc[:, 0], "y": acc[:, 1], "z": acc[:, 2]})
    df.to_csv(path, index=False, float_format="%.6f")
    return df


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, name: str) -> str:
    assert code != 0
    lines = [x for x in err.splitlines() if x.strip() and not x.startswith("[")]
    assert len(lines) == 1, err
    assert "Traceback" not in err and name in lines[0], err
    return lines[0]


def test_a_corrupt_gzip_csv_is_one_line(tmp_path, capsys):
    night_csv(tmp_path / "n.csv")
    gz = gzip.compress((tmp_path / "n.csv").read_bytes())
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gz[:2000] + bytes(range(256)) * 20 + gz[7000:])
    code, _, err = run(capsys, "analyze", str(bad), "--out", str(tmp_path / "o"), "--no-report")
    assert "damaged" in one_line_error(code, err, "bad.csv.gz")


def test_one_stray_timestamp_is_a_counted_bad_row(tmp_path, capsys):
    df = night_csv(tmp_path / "n.csv")
    good = load_recording(tmp_path / "n.csv")
    df.loc[1000, "timestamp"] = 1e308
    df.to_csv(tmp_path / "stray.csv", index=False, float_format="%.6f")
    rec = load_recording(tmp_path / "stray.csv")
    assert rec.info["n_stray_times"] == 1 and rec.n_samples == good.n_samples
    code, _, err = run(capsys, "analyze", str(tmp_path / "stray.csv"), "--out",
                       str(tmp_path / "o"), "--no-report")
    assert code == 0, err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["cleaning"]["n_stray_times"] == 1


def test_a_value_far_beyond_any_sensor_is_a_counted_bad_row(tmp_path, capsys):
    df = night_csv(tmp_path / "n.csv")
    code, _, _ = run(capsys, "analyze", str(tmp_path / "n.csv"), "--out", str(tmp_path / "a"),
                     "--no-report")
    assert code == 0
    df.loc[5000, "x"] = 1.2e29
    df.to_csv(tmp_path / "huge.csv", index=False)
    code, _, err = run(capsys, "analyze", str(tmp_path / "huge.csv"), "--out",
                       str(tmp_path / "b"), "--no-report")
    assert code == 0, err
    a = pd.read_csv(tmp_path / "a" / "events.csv")
    b = pd.read_csv(tmp_path / "b" / "events.csv")
    assert len(b) == len(a) and b["peak_g"].max() < 2.0
    assert json.loads((tmp_path / "b" / "summary.json").read_text())[
        "cleaning"]["n_out_of_range_rows"] == 1


def _edf(tmp_path: Path, capsys) -> Path:
    night_csv(tmp_path / "n.csv")
    code, _, err = run(capsys, "export", str(tmp_path / "n.csv"), "--edf", str(tmp_path / "n.edf"))
    assert code == 0, err
    return tmp_path / "n.edf"


def test_a_damaged_edf_is_one_line(tmp_path, capsys):
    data = _edf(tmp_path, capsys).read_bytes()
    header = int(data[184:192])
    tal = data.rfind(b"+", header, data.find(b"\x14\x14", header))  # the first record's onset
    cases = {
        "cut.edf": data[:300] + b"x" * 500,
        # a record duration of 99,999,999 s: 5e-7 Hz
        "duration.edf": data[:244] + b"99999999" + data[252:],
        # a damaged time-keeping annotation in the first data record ("+0.5" -> "+z.5")
        "tal.edf": data[:tal + 1] + b"z" + data[tal + 2:],
    }
    for name, blob in cases.items():
        (tmp_path / name).write_bytes(blob)
        code, _, err = run(capsys, "analyze", str(tmp_path / name), "--out",
                           str(tmp_path / "o"), "--no-report")
        line = one_line_error(code, err, name)
        if name == "duration.edf":
            assert "5-2000 Hz" in line


def _ours(tmp_path: Path, n_packets: int = 2000) -> Path:
    spp, fs = 35, 100.0
    folder = tmp_path / "rec"
    with NightStore(folder) as st:
        acc = rest(n_packets * spp / fs + 1, fs, seed=2)
        for s in range(n_packets):
            counts = np.rint(acc[s * spp:(s + 1) * spp] * 4096).astype(np.int16)
            p = legaccel.LegAccelPacket(seq=s, session_id=1, first_index=s * spp,
                                        device_time_us=int(5e6 + s * spp * 1e4),
                                        fs_centihz=10000, range_g=8, scale_g=1 / 4096,
                                        counts=counts)
            st.data(1.7e9 + (s + 1) * spp / fs + 0.02, legaccel.encode_packet(p))
        path = st.close()
    return Path(path)


@pytest.mark.parametrize("fs_meta", [b"0", b"nan", b"1e300", b"abc", b"-100"])
def test_our_recording_with_damaged_rate_metadata(tmp_path, fs_meta):
    path = _ours(tmp_path)
    good = load_recording(path)
    table = pq.read_table(path)
    md = dict(table.schema.metadata)
    md[b"fs_hz"] = fs_meta
    pq.write_table(table.replace_schema_metadata(md), tmp_path / "bad.parquet")
    rec = load_recording(tmp_path / "bad.parquet")
    # The rate comes from sample_index and the timestamps instead (exactly 100 Hz here).
    assert rec.info["fs_from"] == "timestamps" and abs(rec.fs_hz - 100.0) < 1e-6
    assert rec.n_samples == good.n_samples


def test_our_recording_with_a_huge_sample_index_jump_is_one_line(tmp_path, capsys):
    path = _ours(tmp_path)
    table = pq.read_table(path)
    idx = table.column("sample_index").to_numpy().copy()
    idx[len(idx) // 2:] += 10 ** 9
    table = table.set_column(table.schema.get_field_index("sample_index"), "sample_index",
                             pa.array(idx))
    pq.write_table(table, tmp_path / "jump.parquet")
    with pytest.raises(InputError, match="skips 1,000,000,000 samples"):
        load_recording(tmp_path / "jump.parquet")
    code, _, err = run(capsys, "analyze", str(tmp_path / "jump.parquet"), "--out",
                       str(tmp_path / "o"))
    one_line_error(code, err, "jump.parquet")


def test_a_rate_outside_5_to_2000_hz_is_refused_for_every_format(tmp_path, capsys):
    night_csv(tmp_path / "n.csv")
    for fs in ("1", "5000"):
        code, _, err = run(capsys, "analyze", str(tmp_path / "n.csv"), "--fs", fs, "--out",
                           str(tmp_path / "o"))
        assert "5-2000 Hz" in one_line_error(code, err, "n.csv")


def test_no_runtime_warning_reaches_the_terminal(tmp_path):
    # A numpy RuntimeWarning raised inside the analysis (here: the mean of an empty slice, as a
    # flat stretch can give) must not be printed: run the command as a user does, in a fresh
    # interpreter whose warnings go to stderr.
    night_csv(tmp_path / "n.csv", minutes=4)
    code = (
        "import sys, numpy as np\n"
        "import detector.tuning.results as p\n"
        "orig = p.score_detection\n"
        "def noisy(*a, **k):\n"
        "    np.mean(np.zeros(0))\n"
        "    return orig(*a, **k)\n"
        "p.score_detection = noisy\n"
        "from detector.cli import main\n"
        f"sys.exit(main(['analyze', {str(tmp_path / 'n.csv')!r}, '--out', "
        f"{str(tmp_path / 'o')!r}, '--no-report']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Warning" not in done.stdout, done.stderr
