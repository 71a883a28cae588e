"""Research device files (real files from research accelerometers, tests/data/devices/README.md):
each one read, or refused with one line naming the file and what is wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from detector.io.devices import read_geneactiv_pages
from detector.io.load import load_recording
from detector.io.recording import InputError
from repo import TESTS

# scikit-digital-health and pygt3x are in the [test] extra: these tests run, never skip.
import pygt3x  # noqa: F401
import skdh  # noqa: F401


DATA = TESTS / "data" / "devices"
UTC = ZoneInfo("UTC")


@pytest.mark.parametrize("name, fs, seconds", [
    ("ggirread_ax3_testfile.cwa", 100.0, 176.0),
    ("skdh_ax6_sample.cwa", 100.0, 105.3),
    ("skdh_gnactv_sample.bin", 50.0, 18.5),
])
def test_good_files_read_at_their_rate_with_one_g_at_rest(name, fs, seconds):
    rec = load_recording(DATA / name, tz=UTC)
    assert rec.fs_hz == fs
    assert rec.info["fs_given"] is False            # the device's setting, not the user's
    assert rec.duration_s == pytest.approx(seconds, abs=0.1)
    # the sensor lies still most of the time: the median magnitude is gravity
    assert np.nanmedian(np.linalg.norm(rec.acc_g, axis=1)) == pytest.approx(1.0, abs=0.06)
    temp = rec.info["temperature_c"]
    assert 15.0 < temp["min"] <= temp["median"] <= temp["max"] < 45.0
    assert rec.info["units"] == "g"


def test_the_device_clock_is_read_in_the_zone_given():
    utc = load_recording(DATA / "ggirread_ax3_testfile.cwa", tz=UTC)
    berlin = load_recording(DATA / "ggirread_ax3_testfile.cwa", tz=ZoneInfo("Europe/Berlin"))
    assert utc.t0_unix_s - berlin.t0_unix_s == pytest.approx(3600.0)   # February: UTC+1
    # a GENEActiv says its own zone (GMT -04:00): that wins over the one given
    gen = load_recording(DATA / "skdh_gnactv_sample.bin", tz=ZoneInfo("Europe/Berlin"))
    local = datetime(2019, 5, 21, 16, 16, 43, 500000, tzinfo=timezone(timedelta(hours=-4)))
    assert gen.t0_unix_s == pytest.approx(local.timestamp(), abs=0.01)


def test_a_cwa_block_that_fails_its_checksum_costs_only_its_own_samples():
    # 6 of 145 blocks damaged: 0 (the start), 13-14 (2.4 s in the middle), 142-144 (the end).
    # They are skipped, counted and named; the 139 good blocks are read, and blocks 13-14 are
    # the recording's one gap.
    name = "ggirread_ax3_testfile_corrupt_blocks_0_13_14_142_143_144.cwa"
    good = load_recording(DATA / "ggirread_ax3_testfile.cwa", tz=UTC)
    rec = load_recording(DATA / name, tz=UTC)
    assert rec.info["n_bad_blocks"] == 6 and rec.info["bad_blocks"] == "0, 13-14, 142-144"
    assert rec.info["warnings"] == ["6 of 145 .cwa data blocks were damaged (checksum or header "
                                    "wrong: blocks 0, 13-14, 142-144, counted from 0) and are "
                                    "left out; their time is a gap."]
    assert rec.info["n_rows_read"] == 139 * 120
    # the gap is where blocks 13 and 14 are in the undamaged copy (120 samples a block)
    from detector.io.cwa import iter_cwa

    t_good = np.concatenate([t for t, _ in iter_cwa(DATA / "ggirread_ax3_testfile.cwa", UTC)])
    assert len(rec.gaps) == 1
    start = rec.t0_unix_s + rec.gaps["start_s"].iloc[0]
    assert start == pytest.approx(t_good[13 * 120], abs=0.015)
    assert start + rec.gaps["duration_s"].iloc[0] == pytest.approx(t_good[15 * 120], abs=0.015)
    assert good.info["n_bad_blocks"] == 0 and "bad_blocks" not in good.info


@pytest.mark.parametrize("name", ["skdh_ax3_sample.cwa", "ggirread_ax3_testfile.cwa",
                                  "ggirread_ax6_testfile.cwa", "skdh_ax6_sample.cwa"])
def test_cwa_blocks_read_as_scikit_digital_health_reads_them(name):
    # The block reader (which never holds a whole file) gives the samples and times the
    # library gives, on real AX3 (packed) and AX6 (16-bit, gyroscope first) files.
    import warnings

    import skdh.io

    from detector.io.cwa import iter_cwa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = skdh.io.ReadCwa().predict(file=str(DATA / name), tz_name="UTC")
    parts = list(iter_cwa(DATA / name, UTC, blocks_per_read=7))
    t = np.concatenate([p[0] for p in parts])
    xyz = np.concatenate([p[1] for p in parts])
    np.testing.assert_array_equal(t, ref["time"])
    np.testing.assert_array_equal(xyz, np.asarray(ref["accel"], np.float32))


def test_a_written_cwa_reads_back_and_agrees_with_the_library(tmp_path):
    import warnings

    import skdh.io
    from cwa_file import write_cwa

    from detector.io.cwa import cwa_span, iter_cwa

    rng = np.random.default_rng(1)
    xyz = rng.normal(0.0, 0.3, (120 * 50, 3)) + [0.0, 0.0, 1.0]
    xyz[100:110] = [3.5, -3.9, 1.99]          # large values: a 10-bit word with an exponent
    path = write_cwa(tmp_path / "w.cwa", 1_700_000_000.3, 100.0, xyz)
    t, got = (np.concatenate(a) for a in zip(*iter_cwa(path, UTC)))
    assert t[0] == pytest.approx(1_700_000_000.3) and len(t) == len(xyz)
    np.testing.assert_allclose(np.diff(t), 0.01, atol=1e-6)
    np.testing.assert_allclose(got, xyz, atol=2.0 / 256 * 1.01)   # 1/256 g, x2 with exponent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = skdh.io.ReadCwa().predict(file=str(path), tz_name="UTC")
    np.testing.assert_array_equal(t, ref["time"])
    assert cwa_span(path, UTC) == (t[0], t[-1])


def test_a_geneactiv_file_cut_short_gives_its_complete_pages_and_says_so():
    # The library refuses this file (its last page is cut short); its 16 complete pages of 300
    # samples at 85.7 Hz are read, the cut page is left out and said.
    rec = load_recording(DATA / "ggirread_GENEActiv_testfile.bin", tz=UTC)
    assert rec.fs_hz == 85.7
    assert rec.n_samples == pytest.approx(16 * 300, abs=2)
    assert "1 GENEActiv data page(s) of 17 were cut short" in rec.info["warnings"][0]
    assert np.nanmedian(np.linalg.norm(rec.acc_g, axis=1)) == pytest.approx(1.0, abs=0.06)


def test_the_page_reader_agrees_with_the_library_on_a_good_file():
    import skdh

    t, acc, info = read_geneactiv_pages(DATA / "skdh_gnactv_sample.bin", UTC)
    out = skdh.io.ReadBin().predict(file=str(DATA / "skdh_gnactv_sample.bin"), tz_name="UTC")
    assert acc.shape == out["accel"].shape
    assert np.abs(acc - out["accel"]).max() < 1e-9
    assert info["calibration"]["gain"][0] > 0


def test_analyze_a_device_file_keeps_its_temperature_in_the_summary(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "detector.cli", "analyze",
                           str(DATA / "skdh_ax6_sample.cwa"), "--out", str(out), "--no-report",
                           "--tz", "UTC"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cleaning"]["format"] == "Axivity .cwa"
    assert summary["cleaning"]["temperature_c"]["median"] == pytest.approx(29.9, abs=0.5)
    assert summary["fs_hz"] == 100.0


@pytest.mark.parametrize("name, content, message", [
    ("night.cwa", b"not a cwa file at all", "not an Axivity .cwa file"),
    ("night.bin", b"\x00\x01\x02 binary", "not a GENEActiv .bin file"),
])
def test_a_wrong_file_with_a_device_suffix_gets_one_clear_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "detector.cli", "analyze", str(path), "--out",
                           str(tmp_path / "o"), "-q"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


# ActiGraph .gt3x: read through pygt3x (GPL-3: the [gt3x] extra, and in [test] so that this path
# is always tested). No public .gt3x file with a licence that allows copying it here was found, so the
# file is written from ActiGraph's published format (tests/gt3x_file.py).

def _gt3x(tmp_path, seconds=60, fs=30, offset_h=-5.0):
    from gt3x_file import write_gt3x

    acc = np.zeros((seconds * fs, 3))
    acc[:, 2] = 1.0
    acc[20 * fs:21 * fs, 0] = 0.5          # a 1-s step on x at 20 s
    path = tmp_path / "ankle.gt3x"
    counts = write_gt3x(path, acc, fs, datetime(2024, 3, 5, 22, 10, 0),
                        timedelta(hours=offset_h))
    return path, counts


def test_a_gt3x_file_reads_its_samples_rate_and_clock(tmp_path):
    path, counts = _gt3x(tmp_path)
    rec = load_recording(path, tz=ZoneInfo("Europe/Berlin"))
    assert rec.fs_hz == 30.0 and len(rec.acc_g) == len(counts) == 1800
    np.testing.assert_allclose(rec.acc_g, counts / 256.0, atol=1e-6)
    assert rec.acc_g[20 * 30, 0] == pytest.approx(0.5) and rec.acc_g[21 * 30, 0] == 0.0
    # The device clock said 22:10 at UTC-05:00 (its info.txt TimeZone): that wins over the zone
    # given, as a GENEActiv's own zone does.
    local = datetime(2024, 3, 5, 22, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert rec.t0_unix_s == pytest.approx(local.timestamp(), abs=1e-3)
    assert rec.info["format"] == "ActiGraph .gt3x" and rec.info["device_utc_offset_h"] == -5.0


def test_analyze_takes_a_gt3x_file_like_a_csv(tmp_path):
    path, _ = _gt3x(tmp_path, seconds=600)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "detector.cli", "analyze", str(path), "--out",
                           str(out), "--no-report", "-q"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cleaning"]["format"] == "ActiGraph .gt3x" and summary["fs_hz"] == 30.0
    local = datetime(2024, 3, 5, 22, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert datetime.fromisoformat(summary["start_time"]) == local


def test_a_gt3x_file_without_its_reader_gets_one_line_naming_the_extra(tmp_path, monkeypatch):
    path, _ = _gt3x(tmp_path)
    monkeypatch.setitem(sys.modules, "pygt3x", None)
    monkeypatch.setitem(sys.modules, "pygt3x.reader", None)
    with pytest.raises(InputError, match=r"ankle\.gt3x: .*pygt3x.*GPL-3.*legtwitch\[gt3x\]"):
        load_recording(path)


def test_a_damaged_gt3x_file_gets_one_clear_line(tmp_path):
    path = tmp_path / "night.gt3x"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    done = subprocess.run([sys.executable, "-m", "detector.cli", "analyze", str(path), "--out",
                           str(tmp_path / "o"), "-q"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "night.gt3x" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_last_cwa_block_not_full_gives_only_the_samples_it_holds(tmp_path):
    # A device stopped mid-block: its last block says 50 samples; the other 70 slots are not
    # samples (no zeros at the end of the recording).
    from cwa_file import write_cwa

    from detector.io.cwa import iter_cwa

    rng = np.random.default_rng(2)
    xyz = rng.normal(0.0, 0.1, (360, 3)) + [0.0, 0.0, 1.0]
    path = write_cwa(tmp_path / "short.cwa", 1_700_000_000.0, 100.0, xyz)
    data = bytearray(path.read_bytes())
    last = len(data) - 512
    data[last + 28:last + 30] = (50).to_bytes(2, "little")
    data[last + 510:last + 512] = b"\0\0"
    total = int(np.frombuffer(bytes(data[last:last + 510]), "<u2").astype(np.int64).sum())
    data[last + 510:last + 512] = ((-total) & 0xFFFF).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    t, got = (np.concatenate(a) for a in zip(*iter_cwa(path, UTC)))
    assert len(t) == 2 * 120 + 50
    np.testing.assert_allclose(got, xyz[:290], atol=1.01 / 256)
    np.testing.assert_allclose(np.diff(t), 0.01, atol=1e-6)


def test_a_written_geneactiv_file_reads_page_by_page_as_the_library_reads_it(tmp_path):
    import warnings

    import skdh.io
    from geneactiv_file import write_geneactiv

    from detector.io.geneactiv import geneactiv_span, iter_geneactiv

    rng = np.random.default_rng(3)
    xyz = rng.normal(0.0, 0.2, (300 * 7, 3)) + [0.0, 0.0, 1.0]
    path = write_geneactiv(tmp_path / "w.bin", 1_700_000_000.0, 25.0, xyz)
    t, got = (np.concatenate(a) for a in zip(*iter_geneactiv(path, UTC, pages_per_batch=3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = skdh.io.ReadBin().predict(file=str(path), tz_name="UTC")
    np.testing.assert_array_equal(t, ref["time"])
    np.testing.assert_array_equal(got, ref["accel"])
    np.testing.assert_allclose(got, xyz, atol=0.5 * 100 / 24829 + 1e-9)    # half a raw step
    assert geneactiv_span(path, UTC) == (t[0], t[-1])
