"""Tests of detector.io.load: formats, column aliases, timestamps, units and bad files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.io.load import load_recording, read_table
from detector.io.columns import STANDARD_GRAVITY_MS2
from detector.io.columns import find_columns, normalize_units
from detector.io.recording import InputError, Recording

T0 = 1_700_000_000.0
FS = 100.0
N = 3000  # 30 s at 100 Hz


def _signal(n: int = N, seed: int = 0) -> np.ndarray:
    """A resting sensor (1 g on z) with small, exactly representable wiggles, in g."""
    rng = np.random.default_rng(seed)
    xyz = np.round(rng.normal(0.0, 0.01, (n, 3)), 4)
    xyz[:, 2] += 1.0
    return xyz


def _write_csv(path: Path, header: str, times: list[str] | np.ndarray, xyz: np.ndarray,
               sep: str = ",", fmt: str = "{:.6f}", preamble: str = "") -> Path:
    lines = [preamble + header]
    for t, row in zip(times, xyz):
        lines.append(sep.join([str(t)] + [fmt.format(v) for v in row]))
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def _times_s(n: int = N) -> list[str]:
    return [f"{T0 + i / FS:.3f}" for i in range(n)]


def _check_signal(rec: Recording, xyz_g: np.ndarray, t0: float = T0) -> None:
    assert isinstance(rec, Recording)
    assert rec.fs_hz == FS
    assert rec.n_samples == xyz_g.shape[0]
    assert rec.t0_unix_s == pytest.approx(t0, abs=1e-6)
    np.testing.assert_allclose(rec.acc_g, xyz_g, atol=1e-5)


# --- formats ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["rec.csv", "rec.csv.gz"])
def test_csv_round_trip(tmp_path: Path, name: str) -> None:
    xyz = _signal()
    path = _write_csv(tmp_path / name, "timestamp,x,y,z", _times_s(), xyz)
    rec = load_recording(path, leg="left")
    _check_signal(rec, xyz)
    assert rec.leg == "left" and rec.source == str(path)
    assert rec.info["file"] == str(path) and rec.info["n_rows_read"] == N
    assert rec.info["units"] == "g" and rec.info["units_detected"] is True
    assert rec.info["time_relative"] is False and rec.info["time_format"] == "unix_s"


def test_gzip_detected_by_magic_bytes(tmp_path: Path) -> None:
    xyz = _signal()
    plain = _write_csv(tmp_path / "a.csv", "timestamp,x,y,z", _times_s(), xyz)
    disguised = tmp_path / "b.csv"
    disguised.write_bytes(gzip.compress(plain.read_bytes()))
    _check_signal(load_recording(disguised), xyz)


@pytest.mark.parametrize("name", ["rec.parquet", "rec.pq", "rec.dat"])
def test_parquet_round_trip(tmp_path: Path, name: str) -> None:
    xyz = _signal()
    df = pd.DataFrame({"temperature": 20.0, "Timestamp": T0 + np.arange(N) / FS,
                       "acc_x": xyz[:, 0], "acc_y": xyz[:, 1], "acc_z": xyz[:, 2]})
    df.to_parquet(tmp_path / name)  # .dat: found by the PAR1 magic bytes
    rec = load_recording(tmp_path / name)
    _check_signal(rec, xyz)
    assert rec.info["axis_columns"] == ["acc_x", "acc_y", "acc_z"]


def test_parquet_with_datetime_column_and_mg(tmp_path: Path) -> None:
    xyz = _signal()
    df = pd.DataFrame({"datetime": pd.to_datetime(T0 + np.arange(N) / FS, unit="s", utc=True),
                       "x_mg": xyz[:, 0] * 1000, "y_mg": xyz[:, 1] * 1000,
                       "z_mg": xyz[:, 2] * 1000})
    df.to_parquet(tmp_path / "r.parquet")
    rec = load_recording(tmp_path / "r.parquet")
    _check_signal(rec, xyz)
    assert rec.info["units"] == "mg" and rec.info["units_from"] == "column name"


def test_read_table_returns_columns_as_in_the_file(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "r.csv", "Time,AccX,AccY,AccZ", _times_s(5), _signal(5))
    df = read_table(path)
    assert list(df.columns) == ["Time", "AccX", "AccY", "AccZ"] and len(df) == 5


# --- timestamps -------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix, offset_s", [("Z", 0.0), ("", 0.0), ("+01:00", -3600.0),
                                              ("-05:30", 19800.0)])
def test_iso_timestamps(tmp_path: Path, suffix: str, offset_s: float) -> None:
    xyz = _signal()
    start = pd.Timestamp(T0, unit="s")  # naive = UTC
    times = [(start + pd.Timedelta(milliseconds=10 * i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
             + suffix for i in range(N)]
    rec = load_recording(_write_csv(tmp_path / "r.csv", "datetime,x,y,z", times, xyz))
    _check_signal(rec, xyz, t0=T0 + offset_s)
    assert rec.info["time_format"] == "iso8601"


def test_iso_timestamps_with_a_space_and_no_fraction(tmp_path: Path, monkeypatch) -> None:
    # Whole seconds only (1 Hz), so the parsed times are checked where the loader hands them to
    # the cleaning step: a 1 Hz recording itself is refused (5-2000 Hz).
    import detector.io.load as load_mod

    seen = {}

    def capture(t, xyz, **kw):
        seen["t"] = np.asarray(t)
        raise InputError("captured")

    xyz = _signal(40)
    start = pd.Timestamp(T0, unit="s")
    times = [(start + pd.Timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(40)]
    path = _write_csv(tmp_path / "r.csv", "time,x,y,z", times, xyz)
    with pytest.raises(InputError, match="5-2000 Hz"):
        load_recording(path, fs_hz=1.0)
    monkeypatch.setattr(load_mod, "clean", capture)
    with pytest.raises(InputError, match="captured"):
        load_recording(path)
    assert np.array_equal(seen["t"], T0 + np.arange(40.0))


@pytest.mark.parametrize("per_s, label", [(1e3, "unix_ms"), (1e6, "unix_us"), (1e9, "unix_ns")])
def test_integer_timestamps_in_ms_us_ns(tmp_path: Path, per_s: float, label: str) -> None:
    xyz = _signal()
    times = [str(int(T0 * per_s) + int(i * per_s / FS)) for i in range(N)]
    rec = load_recording(_write_csv(tmp_path / "r.csv", "ts,x,y,z", times, xyz))
    _check_signal(rec, xyz)
    assert rec.info["time_format"] == label


def test_relative_seconds(tmp_path: Path) -> None:
    xyz = _signal()
    rec = load_recording(_write_csv(tmp_path / "r.csv", "time_s,x,y,z",
                                    [f"{i / FS:.2f}" for i in range(N)], xyz))
    _check_signal(rec, xyz, t0=0.0)
    assert rec.info["time_relative"] is True


def test_relative_milliseconds_named_time_ms(tmp_path: Path) -> None:
    xyz = _signal()
    rec = load_recording(_write_csv(tmp_path / "r.csv", "time_ms,x,y,z",
                                    [str(10 * i) for i in range(N)], xyz))
    _check_signal(rec, xyz, t0=0.0)


def test_relative_milliseconds_without_unit_get_a_hint(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "r.csv", "time,x,y,z", [str(10 * i) for i in range(N)],
                      _signal())
    with pytest.raises(InputError, match=r"r\.csv: .*milliseconds"):
        load_recording(path)


def test_out_of_order_rows_are_sorted_and_reported(tmp_path: Path) -> None:
    xyz = _signal()
    order = np.arange(N)
    order[[100, 101]] = [101, 100]
    order[[2000, 2001]] = [2001, 2000]
    times = np.array(_times_s())[order]
    rec = load_recording(_write_csv(tmp_path / "r.csv", "timestamp,x,y,z", times, xyz[order]))
    _check_signal(rec, xyz)
    assert rec.info["n_out_of_order"] == 2


def test_two_hour_gap(tmp_path: Path) -> None:
    xyz = _signal(2 * N)
    times = [f"{T0 + i / FS + (7200.0 if i >= N else 0.0):.3f}" for i in range(2 * N)]
    rec = load_recording(_write_csv(tmp_path / "r.csv", "timestamp,x,y,z", times, xyz))
    assert len(rec.gaps) == 1
    assert rec.gaps.iloc[0]["start_s"] == pytest.approx(30.0, abs=0.01)
    assert rec.gaps.iloc[0]["duration_s"] == pytest.approx(7200.0, abs=0.02)
    assert rec.valid.sum() == 2 * N
    np.testing.assert_allclose(rec.acc_g[rec.valid], xyz, atol=1e-5)


# --- column names -----------------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    "Time,AccX,AccY,AccZ",
    " timestamp , ax, ay ,az",
    "TS,ACC_X,ACC_Y,ACC_Z",
    "unix_time,accel_x,accel_y,accel_z",
    "time_s,x_g,y_g,z_g",
    "t,acc_x_g,acc_y_g,acc_z_g",
    '"timestamp","Acc X (g)","Acc Y (g)","Acc Z (g)"',
    "battery,timestamp,z,y,x",
])
def test_column_aliases(tmp_path: Path, header: str) -> None:
    xyz = _signal()
    cols = [c.strip(' "').lower() for c in header.split(",")]
    if cols[0] == "battery":  # extra column first, axes in another order
        rows = np.column_stack([np.full(N, 3.7), xyz[:, 2], xyz[:, 1], xyz[:, 0]])
        lines = [header] + [f"{r[0]},{t},{r[1]},{r[2]},{r[3]}" for t, r in zip(_times_s(), rows)]
        path = tmp_path / "r.csv"
        path.write_text("\n".join(lines) + "\n")
    else:
        path = _write_csv(tmp_path / "r.csv", header, _times_s(), xyz)
    _check_signal(load_recording(path), xyz)


def test_acceleration_names_win_over_bare_x_y_z(tmp_path: Path) -> None:
    xyz = _signal()
    rows = np.column_stack([np.zeros((N, 3)) + 5.0, xyz])
    lines = ["time,x,y,z,acc_x,acc_y,acc_z"] + [
        ",".join([t] + [f"{v:.6f}" for v in r]) for t, r in zip(_times_s(), rows)]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    _check_signal(load_recording(tmp_path / "r.csv"), xyz)


def test_find_columns_reports_units_from_names() -> None:
    assert find_columns(["Time", "x_mg", "y_mg", "z_mg"]) == (0, None, [1, 2, 3], "mg")
    assert find_columns(["acc_x [m/s^2]", "acc_y [m/s^2]", "acc_z [m/s^2]", "time_ms"]) == (
        3, 1e-3, [0, 1, 2], "m/s2")


@pytest.mark.parametrize("sep", [";", "\t"])
def test_other_delimiters(tmp_path: Path, sep: str) -> None:
    xyz = _signal()
    path = _write_csv(tmp_path / "r.csv", sep.join(["timestamp", "x", "y", "z"]), _times_s(),
                      xyz, sep=sep)
    _check_signal(load_recording(path), xyz)


# --- units ------------------------------------------------------------------------------------

def test_milli_g_detected_from_magnitude(tmp_path: Path) -> None:
    xyz = _signal()
    path = _write_csv(tmp_path / "r.csv", "timestamp,x,y,z", _times_s(), xyz * 1000, fmt="{:.2f}")
    rec = load_recording(path)
    _check_signal(rec, xyz)
    assert rec.info["units"] == "mg" and rec.info["units_from"] == "magnitude"


def test_metres_per_second_squared_detected_and_converted(tmp_path: Path) -> None:
    xyz = _signal()
    path = _write_csv(tmp_path / "r.csv", "timestamp,x,y,z", _times_s(),
                      xyz * STANDARD_GRAVITY_MS2, fmt="{:.8f}")
    rec = load_recording(path)
    _check_signal(rec, xyz)
    assert rec.info["units"] == "m/s2" and rec.info["units_detected"] is True


@pytest.mark.parametrize("units", ["m/s^2", "ms2", "M/S2"])
def test_units_argument_overrides_detection(tmp_path: Path, units: str) -> None:
    # A gravity-free signal (median magnitude 0.3 m/s^2) cannot be detected, only given.
    xyz = _signal()
    xyz[:, 2] -= 1.0
    xyz[:, 0] += 0.03
    path = _write_csv(tmp_path / "r.csv", "timestamp,x,y,z", _times_s(),
                      xyz * STANDARD_GRAVITY_MS2, fmt="{:.8f}")
    with pytest.raises(InputError, match=r"r\.csv: cannot tell the units.*--units"):
        load_recording(path)
    rec = load_recording(path, units=units)
    _check_signal(rec, xyz)
    assert rec.info["units"] == "m/s2" and rec.info["units_detected"] is False


def test_units_argument_wins_over_the_magnitude(tmp_path: Path) -> None:
    xyz = _signal()
    path = _write_csv(tmp_path / "r.csv", "timestamp,x,y,z", _times_s(), xyz)
    with pytest.raises(InputError, match="--units mg but the median magnitude"):
        load_recording(path, units="mg")    # the data say g: refused without --force
    rec = load_recording(path, units="mg", force=True)  # insisted: values divided by 1000
    np.testing.assert_allclose(rec.acc_g, xyz / 1000, atol=1e-8)
    assert rec.info["units_from"] == "argument"


def test_bad_units_argument() -> None:
    with pytest.raises(InputError, match="expected one of g, mg, m/s2"):
        normalize_units("furlongs")


# --- bad files --------------------------------------------------------------------------------

def _raises(path: Path, *patterns: str, **kwargs: object) -> str:
    with pytest.raises(InputError) as err:
        load_recording(path, **kwargs)  # type: ignore[arg-type]
    msg = str(err.value)
    assert msg.startswith(str(path)), msg
    for pattern in patterns:
        assert pattern in msg, msg
    return msg


def test_missing_file(tmp_path: Path) -> None:
    _raises(tmp_path / "nope.csv", "file not found")


def test_directory(tmp_path: Path) -> None:
    _raises(tmp_path, "is a directory")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.csv").write_text("")
    _raises(tmp_path / "e.csv", "empty file")
    (tmp_path / "blank.csv").write_text("\n\n  \n")
    _raises(tmp_path / "blank.csv", "empty file")


def test_header_only(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("timestamp,x,y,z\n")
    _raises(tmp_path / "h.csv", "no data rows")
    (tmp_path / "h2.csv").write_text("timestamp,x,y,z")
    _raises(tmp_path / "h2.csv", "no data rows")


def test_binary_garbage(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    (tmp_path / "g.csv").write_bytes(rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    _raises(tmp_path / "g.csv", "not a CSV")
    (tmp_path / "latin.csv").write_bytes(b"timestamp,x,y,z\n\xe9\xe8\xff,1,2,3\n")
    _raises(tmp_path / "latin.csv", "not UTF-8")


def test_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / "c.parquet").write_bytes(b"PAR1" + bytes(100))
    _raises(tmp_path / "c.parquet", "cannot read as Parquet")


def test_wrong_columns(tmp_path: Path) -> None:
    (tmp_path / "w.csv").write_text("when,a,b,c\n1,2,3,4\n")
    msg = _raises(tmp_path / "w.csv", "missing a time column", "x, y, z columns",
                  "columns found: 'when', 'a', 'b', 'c'", "timestamp")
    assert "acc_x" in msg
    (tmp_path / "w2.csv").write_text("time,x,y\n1,2,3\n")
    msg = _raises(tmp_path / "w2.csv", "missing x, y, z columns", "'time', 'x', 'y'")
    assert "time column" not in msg.split("columns found")[0]


def test_wrong_columns_in_parquet(tmp_path: Path) -> None:
    pd.DataFrame({"time": [1.0, 2.0], "a": [0.0, 1.0]}).to_parquet(tmp_path / "w.parquet")
    _raises(tmp_path / "w.parquet", "missing x, y, z columns", "'time', 'a'")


def test_text_in_a_number_column_names_column_and_line(tmp_path: Path) -> None:
    xyz = _signal()
    times = _times_s()
    path = _write_csv(tmp_path / "r.csv", "timestamp,x,y,z", times, xyz)
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace(lines[1].split(",")[2], "abc")  # first data row = line 2
    path.write_text("\n".join(lines) + "\n")
    _raises(path, "column 'y', line 2", "'abc'")


def test_text_far_into_a_large_file(tmp_path: Path) -> None:
    # Past pyarrow's first 1-MB block, so the column type was already inferred as numbers.
    n = 60_000
    xyz = _signal(n)
    path = _write_csv(tmp_path / "r.csv", "# logger v2\ntimestamp,x,y,z",
                      [f"{T0 + i / FS:.3f}" for i in range(n)], xyz)
    lines = path.read_text().splitlines()
    assert path.stat().st_size > 2 << 20
    row = 55_000  # data row index; the header is on line 2 of the file
    parts = lines[row + 2].split(",")
    parts[3] = "1,5"  # a decimal comma adds a field: a malformed row, skipped and counted
    lines[row + 2] = ",".join(parts)
    parts = lines[row + 3].split(",")
    parts[3] = "0.98g"
    lines[row + 3] = ",".join(parts)
    path.write_text("\n".join(lines) + "\n")
    _raises(path, "column 'z', line", "'0.98g'")
    msg = _raises(path, "column 'z'")
    line_no = int(msg.split("line ")[1].split(":")[0])
    assert lines[line_no - 1].endswith(",0.98g")


def test_text_in_the_time_column(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "r.csv", "timestamp,x,y,z", _times_s(), _signal())
    lines = path.read_text().splitlines()
    lines[11] = "yesterday," + lines[11].split(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    _raises(path, "column 'timestamp', line 12", "'yesterday'")


def test_bad_iso_time(tmp_path: Path) -> None:
    start = pd.Timestamp(T0, unit="s")
    times = [(start + pd.Timedelta(milliseconds=10 * i)).isoformat() for i in range(N)]
    times[6] = "2023-13-45T99:00:00"
    path = _write_csv(tmp_path / "r.csv", "datetime,x,y,z", times, _signal())
    _raises(path, "column 'datetime', line 8", "ISO 8601", "'2023-13-45T99:00:00'")


def test_true_false_is_not_a_number(tmp_path: Path) -> None:
    lines = ["timestamp,x,y,z"] + [f"{t},true,0,1" for t in _times_s()]
    (tmp_path / "b.csv").write_text("\n".join(lines) + "\n")
    _raises(tmp_path / "b.csv", "column 'x'", "expected a number")


def test_all_nan(tmp_path: Path) -> None:
    lines = ["timestamp,x,y,z"] + [f"{t},nan,,NaN" for t in _times_s()]
    (tmp_path / "n.csv").write_text("\n".join(lines) + "\n")
    _raises(tmp_path / "n.csv", "no usable rows")


def test_one_sample(tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text("timestamp,x,y,z\n1700000000,0,0,1\n")
    _raises(tmp_path / "o.csv", "fewer than 2 usable samples")


def test_too_short(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "s.csv", "timestamp,x,y,z", _times_s(500), _signal(500))
    _raises(path, "expected at least 10 s of data")


def test_a_truncated_last_row_is_skipped_and_counted(tmp_path: Path) -> None:
    xyz = _signal()
    path = _write_csv(tmp_path / "r.csv", "timestamp,x,y,z", _times_s(), xyz)
    with open(path, "a") as fh:
        fh.write(f"{T0 + N / FS:.3f},0.01")  # the logger stopped mid-row
    rec = load_recording(path)
    _check_signal(rec, xyz)
    assert rec.info["n_malformed_rows"] == 1


def test_many_malformed_rows(tmp_path: Path) -> None:
    lines = ["timestamp,x,y,z"] + [f"{t},0,0" for t in _times_s()]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    _raises(tmp_path / "m.csv", "rows do not have the 4 fields")


def test_bad_rate_argument(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "r.csv", "timestamp,x,y,z", _times_s(), _signal())
    _raises(path, "positive", fs_hz=-1.0)


# --- property: any small table loads or raises InputError ------------------------------------

_TIME_NAMES = ["timestamp", "Time", " t ", "ts", "unix_time", "datetime", "time_s", "time_ms",
               "when"]
_AXIS_SETS = [("x", "y", "z"), ("ax", "ay", "az"), ("ACC_X", "ACC_Y", "ACC_Z"),
              ("accx", "accy", "accz"), ("x_mg", "y_mg", "z_mg"), ("accel_x", "accel_y", "q"),
              ("acc_x_ms2", "acc_y_ms2", "acc_z_ms2")]
_JUNK = ["", "nan", "abc", "1e400", "-0", "inf", "1,5", '"', "\u00e9", " ",
         "2024-01-01T00:00:00Z", "true", "0x10", "1e-310"]


@st.composite
def _tables(draw: st.DrawFn) -> str:
    """CSV text: random alias names and column order, time format, units, junk and short rows."""
    time_name = draw(st.sampled_from(_TIME_NAMES))
    axes = draw(st.sampled_from(_AXIS_SETS))
    n = draw(st.integers(0, 400))
    fs = draw(st.sampled_from([1.0, 10.0, 25.0, 40.0]))
    scale = draw(st.sampled_from([1.0, 1000.0, 9.81]))
    t_kind = draw(st.sampled_from(["unix", "ms", "relative", "iso"]))
    junk_every = draw(st.sampled_from([0, 3, 10, 50]))
    time_last = draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = np.arange(n) / fs + rng.uniform(-0.2, 0.2, n) / fs
    if t_kind == "unix":
        tv = [f"{T0 + v:.4f}" for v in t]
    elif t_kind == "ms":
        tv = [str(int((T0 + v) * 1000)) for v in t]
    elif t_kind == "relative":
        tv = [f"{v:.4f}" for v in t]
    else:
        tv = [(pd.Timestamp(T0, unit="s") + pd.Timedelta(seconds=v)).isoformat() for v in t]
    vals = rng.uniform(-0.3, 0.3, (n, 3)) * scale
    vals[:, 2] += scale
    rows = []
    for i in range(n):
        cells = [tv[i]] + [f"{v:.5g}" for v in vals[i]]
        if junk_every and rng.integers(junk_every) == 0:
            cells[rng.integers(4)] = _JUNK[rng.integers(len(_JUNK))]
        if junk_every and rng.integers(4 * junk_every) == 0:
            cells = cells[:rng.integers(4)]
        if time_last:
            cells = cells[1:] + cells[:1]
        rows.append(",".join(cells))
    header = ",".join([*axes, time_name] if time_last else [time_name, *axes])
    return "\n".join([header, *rows]) + ("\n" if draw(st.booleans()) else "")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(table=_tables(), gz=st.booleans(), units=st.sampled_from([None, None, "g", "mg"]))
def test_any_table_loads_or_raises_input_error(tmp_path: Path, table: str, gz: bool,
                                               units: str | None) -> None:
    text = table
    path = tmp_path / ("h.csv.gz" if gz else "h.csv")
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    try:
        rec = load_recording(path, units=units)
    except InputError as exc:
        assert str(exc).startswith(str(path))
        return
    assert isinstance(rec, Recording)
    assert rec.acc_g.dtype == np.float32 and rec.acc_g.shape == (rec.n_samples, 3)
    assert rec.valid.shape == (rec.n_samples,)
    assert np.isfinite(rec.acc_g[rec.valid]).all() and np.isnan(rec.acc_g[~rec.valid]).all()
    assert rec.valid.sum() / rec.fs_hz >= 10.0


def test_polar_sensor_logger_export(tmp_path):
    """Polar Sensor Logger: ';'-separated, phone time, sensor time in ns since 2000-01-01
    (the Polar epoch), axes in mG in the column names."""
    path = tmp_path / "Polar_Sense_ACC.txt"
    lines = ["Phone timestamp;sensor timestamp [ns];X [mg];Y [mg];Z [mg]"]
    t0_ns = 700_000_000_000_000_000  # 2022-03-07T20:26:40Z in the Polar epoch
    for i in range(52 * 20):
        lines.append(f"2022-03-07T21:26:{40 + i // 52:02d}.000;{t0_ns + i * 19_230_769};"
                     f"{12 + i % 3};-20;998")
    path.write_text("\n".join(lines) + "\n")
    rec = load_recording(path)
    assert rec.info["time_column"] == "sensor timestamp [ns]"
    assert rec.info["units"] == "mg"
    assert rec.fs_hz == 52.0
    assert rec.t0_unix_s == pytest.approx(946_684_800 + 700_000_000, abs=1e-3)
    np.testing.assert_allclose(rec.acc_g[0], [0.012, -0.020, 0.998], atol=1e-6)


def test_phyphox_export_with_units_in_parentheses(tmp_path):
    path = tmp_path / "Raw Data.csv"
    rows = ['"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)","Acceleration z (m/s^2)"']
    rows += [f"{i / 100:.2f},0.0,0.0,9.80665" for i in range(1500)]
    path.write_text("\n".join(rows) + "\n")
    rec = load_recording(path)
    assert rec.info["units"] == "m/s2" and rec.info["time_relative"]
    np.testing.assert_allclose(rec.acc_g[:, 2], 1.0, atol=1e-6)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_comma_exports_load_as_they_are(tmp_path: Path, sep: str) -> None:
    # phyphox's European export and many spreadsheets: ';' or tab between fields, ',' in numbers.
    xyz = _signal()
    t = np.arange(N) / FS
    df = pd.DataFrame({"Time (s)": t, "Acceleration x (m/s^2)": xyz[:, 0] * 9.80665,
                       "Acceleration y (m/s^2)": xyz[:, 1] * 9.80665,
                       "Acceleration z (m/s^2)": xyz[:, 2] * 9.80665})
    df.to_csv(tmp_path / "eu.csv", sep=sep, decimal=",", index=False, float_format="%.6f")
    assert "0,010000" in (tmp_path / "eu.csv").read_text()
    rec = load_recording(tmp_path / "eu.csv")
    assert rec.info["decimal_comma"] is True and rec.info["units"] == "m/s2"
    _check_signal(rec, xyz, t0=0.0)
