"""Tests of detector.io.clean: resampling, row repairs, gaps, sampling-rate inference, clipping."""

from __future__ import annotations

import numpy as np
import pytest

from detector.io.clean import clean, infer_fs, snap_fs
from detector.config import CleanConfig
from detector.io.recording import InputError, Recording

T0 = 1_700_000_000.0


def _regular(duration_s: float, fs_hz: float, t0: float = T0) -> np.ndarray:
    return t0 + np.arange(int(round(duration_s * fs_hz))) / fs_hz


def _rest(n: int) -> np.ndarray:
    """Sensor at rest: gravity on z."""
    xyz = np.zeros((n, 3))
    xyz[:, 2] = 1.0
    return xyz


# --- resampling -----------------------------------------------------------------------------

def test_jittered_timestamps_resample_to_the_true_signal() -> None:
    rng = np.random.default_rng(1)
    fs = 100.0
    t = T0 + np.arange(3000) / fs + rng.uniform(-0.002, 0.002, 3000)

    def truth(tt: np.ndarray) -> np.ndarray:
        rel = tt - T0
        return np.column_stack([0.1 + 0.01 * rel,                 # linear: exact under interp
                                0.5 * np.sin(2 * np.pi * 1.0 * rel),  # 1 Hz sine
                                np.ones_like(rel)])

    rec = clean(t, truth(t))
    assert isinstance(rec, Recording)
    assert rec.fs_hz == 100.0
    assert rec.t0_unix_s == t[0]
    grid = t[0] + np.arange(rec.n_samples) / rec.fs_hz
    assert grid[-1] <= t[-1] < grid[-1] + 1 / fs
    want = truth(grid)
    assert rec.acc_g.dtype == np.float32
    assert rec.valid.dtype == bool and rec.valid.all()
    np.testing.assert_allclose(rec.acc_g[:, 0], want[:, 0], atol=1e-5)
    # Linear interpolation error of a 1-Hz sine with <= 14 ms spacing: 0.5 * w^2 * h^2 / 8.
    np.testing.assert_allclose(rec.acc_g[:, 1], want[:, 1], atol=0.5 * (2 * np.pi) ** 2 *
                               0.014 ** 2 / 8 + 1e-5)
    np.testing.assert_allclose(rec.acc_g[:, 2], 1.0)


def test_long_jittered_recording_is_exact_for_a_piecewise_linear_signal() -> None:
    # 200 000 samples: several interpolation blocks. A ramp per axis is reproduced exactly by
    # linear interpolation, so every grid value is known.
    rng = np.random.default_rng(7)
    n = 200_000
    t = T0 + np.arange(n) / 100.0 + rng.uniform(-0.003, 0.003, n)
    slopes = np.array([0.001, -0.002, 0.0005])
    rec = clean(t, (t[:, None] - T0) * slopes + [0.0, 0.5, 1.0])
    assert rec.fs_hz == 100.0 and rec.valid.all()
    grid = rec.t0_unix_s - T0 + np.arange(rec.n_samples) / 100.0
    np.testing.assert_allclose(rec.acc_g, grid[:, None] * slopes + [0.0, 0.5, 1.0], atol=2e-6)


def test_samples_already_on_the_grid_are_kept_unchanged() -> None:
    rng = np.random.default_rng(2)
    t = _regular(20, 50)
    xyz = rng.normal(size=(t.size, 3))
    rec = clean(t, xyz)
    assert rec.n_samples == t.size
    np.testing.assert_array_equal(rec.acc_g, xyz.astype(np.float32))
    assert rec.info["n_gaps"] == 0 and rec.gap_s == 0.0


def test_given_rate_resamples_onto_that_grid() -> None:
    t = _regular(20, 100)
    xyz = _rest(t.size)
    xyz[:, 0] = (t - T0) * 0.05  # a ramp: linear interpolation is exact
    with pytest.raises(InputError, match="timestamps give 100 Hz.*--force"):
        clean(t, xyz, fs_hz=40.0)                # the timestamps say otherwise
    rec = clean(t, xyz, fs_hz=40.0, force=True)  # the user insists
    assert rec.fs_hz == 40.0 and rec.info["fs_given"] is True
    assert rec.info["fs_inferred_hz"] == pytest.approx(100.0)
    assert rec.n_samples == int(19.99 * 40) + 1
    np.testing.assert_allclose(rec.acc_g[:, 0], np.arange(rec.n_samples) / 40.0 * 0.05, atol=1e-6)


# --- row repairs ------------------------------------------------------------------------------

def test_nan_duplicate_and_out_of_order_rows_are_counted_and_repaired() -> None:
    t = _regular(20, 100)
    xyz = _rest(t.size)
    xyz[:, 0] = np.arange(t.size) * 1e-4  # distinct values identify rows
    rows_t = list(t)
    rows_x = [list(r) for r in xyz]
    # Three rows with a missing value.
    for i, bad in ((100, [np.nan, 0, 1]), (500, [0, np.inf, 1]), (900, [0, 0, np.nan])):
        rows_t.insert(i, t[i] + 0.003)
        rows_x.insert(i, bad)
    rows_t.append(np.nan)
    rows_x.append([0.0, 0.0, 1.0])
    # Two duplicated timestamps with other values: the first occurrence wins.
    for i in (1200, 1500):
        j = rows_t.index(t[i])
        rows_t.insert(j + 1, t[i])
        rows_x.insert(j + 1, [9.0, 9.0, 9.0])
    # Two adjacent swaps and one row moved to the end: three backward steps.
    for i in (300, 700):
        j = rows_t.index(t[i])
        rows_t[j], rows_t[j + 1] = rows_t[j + 1], rows_t[j]
        rows_x[j], rows_x[j + 1] = rows_x[j + 1], rows_x[j]
    j = rows_t.index(t[1000])
    rows_t.append(rows_t.pop(j))
    rows_x.append(rows_x.pop(j))

    rec = clean(np.array(rows_t), np.array(rows_x), info={"file": "x.csv", "n_rows_read": 7})
    assert rec.info["n_nan_rows"] == 4
    assert rec.info["n_duplicates"] == 2
    assert rec.info["n_out_of_order"] == 3
    assert rec.info["n_rows_used"] == t.size
    assert rec.info["file"] == "x.csv" and rec.info["n_rows_read"] == 7  # loader keys kept
    assert rec.n_samples == t.size
    np.testing.assert_allclose(rec.acc_g, xyz.astype(np.float32), atol=1e-6)


def test_short_hole_is_interpolated_not_a_gap() -> None:
    t = _regular(30, 100)
    xyz = _rest(t.size)
    xyz[:, 0] = (t - T0) * 0.1
    keep = np.ones(t.size, bool)
    keep[1000:1015] = False  # raw samples 0.16 s apart < max_interp_s = 0.25 s
    rec = clean(t[keep], xyz[keep])
    assert rec.valid.all() and len(rec.gaps) == 0
    np.testing.assert_allclose(rec.acc_g[:, 0], np.arange(rec.n_samples) / 100 * 0.1, atol=1e-5)


# --- gaps -------------------------------------------------------------------------------------

def test_three_second_hole_is_one_gap_with_nan_inside() -> None:
    fs = 100.0
    t = _regular(60, fs)
    rng = np.random.default_rng(3)
    xyz = _rest(t.size) + rng.normal(0, 0.01, (t.size, 3))
    keep = np.ones(t.size, bool)
    keep[1000:1300] = False  # samples from 10.00 to 12.99 s
    rec = clean(t[keep], xyz[keep])
    assert len(rec.gaps) == 1
    gap = rec.gaps.iloc[0]
    assert gap["start_s"] == pytest.approx(10.0, abs=1 / fs)
    assert gap["end_s"] == pytest.approx(13.0, abs=1 / fs)
    assert gap["duration_s"] == pytest.approx(3.0, abs=2 / fs)
    assert rec.gap_s == pytest.approx(3.0, abs=2 / fs) and rec.info["gap_s"] == rec.gap_s
    inside = np.arange(rec.n_samples) / fs
    in_gap = (inside >= gap["start_s"]) & (inside < gap["end_s"])
    assert not rec.valid[in_gap].any() and rec.valid[~in_gap].all()
    assert np.isnan(rec.acc_g[in_gap]).all() and np.isfinite(rec.acc_g[~in_gap]).all()
    # No value is interpolated across the hole: the samples at its edges are raw samples.
    np.testing.assert_allclose(rec.acc_g[999], xyz[999], atol=1e-6)
    np.testing.assert_allclose(rec.acc_g[1300], xyz[1300], atol=1e-6)
    assert rec.segments() == [(0, 1000), (1300, rec.n_samples)]


def test_hole_just_over_the_interpolation_limit_is_a_gap() -> None:
    t = _regular(30, 100)
    keep = np.ones(t.size, bool)
    keep[1000:1030] = False  # raw samples 9.99 and 10.30 s: 0.31 s apart > 0.25 s
    rec = clean(t[keep], _rest(int(keep.sum())), config=CleanConfig(max_interp_s=0.25))
    assert len(rec.gaps) == 1 and (~rec.valid).sum() == 30
    rec = clean(t[keep], _rest(int(keep.sum())), config=CleanConfig(max_interp_s=0.5))
    assert len(rec.gaps) == 0 and rec.valid.all()


def test_two_hour_gap() -> None:
    fs = 50.0
    a = _regular(30, fs)
    b = _regular(30, fs, t0=a[-1] + 1 / fs + 7200.0)
    t = np.concatenate([a, b])
    rec = clean(t, _rest(t.size))
    assert rec.fs_hz == fs
    assert len(rec.gaps) == 1
    gap = rec.gaps.iloc[0]
    assert gap["start_s"] == pytest.approx(30.0, abs=1 / fs)
    assert gap["duration_s"] == pytest.approx(7200.0, abs=2 / fs)
    assert rec.valid.sum() == pytest.approx(3000, abs=1)
    assert rec.n_samples == pytest.approx((7260.0 - 1 / fs) * fs + 1, abs=1)


def test_gap_from_dropped_nan_rows() -> None:
    t = _regular(30, 100)
    xyz = _rest(t.size)
    xyz[1000:1200, 1] = np.nan  # 2 s of rows without a y value
    rec = clean(t, xyz)
    assert rec.info["n_nan_rows"] == 200
    assert len(rec.gaps) == 1
    assert rec.gaps.iloc[0]["start_s"] == pytest.approx(10.0, abs=0.01)
    assert rec.gaps.iloc[0]["end_s"] == pytest.approx(12.0, abs=0.01)


# --- sampling rate ----------------------------------------------------------------------------

@pytest.mark.parametrize("true_hz, want_hz", [(99.3, 100.0), (52.1, 52.0), (25.4, 25.0),
                                              (203.0, 200.0), (37.0, 37.0), (37.123, 37.12)])
def test_rate_snaps_to_a_common_rate_within_two_percent(true_hz: float, want_hz: float) -> None:
    t = _regular(30, true_hz)
    rec = clean(t, _rest(t.size))
    assert rec.info["fs_inferred_hz"] == pytest.approx(true_hz, rel=1e-4)
    assert rec.fs_hz == want_hz and rec.info["fs_hz"] == want_hz
    assert rec.info["fs_given"] is False


def test_snap_fs_rounds_unknown_rates() -> None:
    assert snap_fs(104.9) == 104.0
    assert snap_fs(101.0) == 100.0
    assert snap_fs(75.456) == 75.46


def test_rate_inference_ignores_jitter_and_gaps() -> None:
    rng = np.random.default_rng(4)
    t = _regular(120, 100)
    t = t + rng.uniform(-0.002, 0.002, t.size)  # +-20 % of the period
    keep = rng.random(t.size) > 0.05              # 5 % of samples lost at random
    keep[3000:3500] = False                       # and a 5-s hole
    t = t[keep]
    assert infer_fs(np.diff(t)) == pytest.approx(100.0, rel=0.001)
    rec = clean(t, _rest(t.size))
    assert rec.fs_hz == 100.0


def test_rate_inference_with_heavy_normal_jitter() -> None:
    # Timestamps of BLE streams: true sample times plus jitter of SD 0.2 periods, bounded at
    # +-0.4 periods, so that single intervals range from 0.2 to 1.8 periods.
    rng = np.random.default_rng(6)
    t = _regular(600, 50) + np.clip(rng.normal(0, 0.004, 30_000), -0.008, 0.008)
    assert infer_fs(np.diff(t)) == pytest.approx(50.0, rel=0.002)


def test_millisecond_rounded_timestamps_at_416_hz() -> None:
    t = np.round(_regular(20, 416.0) * 1000) / 1000  # intervals of 2 and 3 ms
    assert set(np.round(np.diff(t) * 1000).astype(int)) == {2, 3}
    assert clean(t, _rest(t.size)).fs_hz == 416.0


# --- clipping ---------------------------------------------------------------------------------

def test_clipped_fraction_at_a_full_scale_range() -> None:
    t = _regular(60, 100)
    xyz = _rest(t.size)
    xyz[1000:1030, 0] = 4.0   # saturated positive
    xyz[2000:2020, 0] = -4.0  # saturated negative
    xyz[2010:2015, 1] = 3.995  # the same rows on y
    xyz[3000:3005, 2] = 2.5   # a large but unclipped value
    rec = clean(t, xyz)
    assert rec.info["clip_range_g"] == 4.0
    assert rec.info["clipped_fraction"] == pytest.approx(50 / t.size)
    np.testing.assert_array_equal(rec.acc_g[1000:1030, 0], 4.0)  # clipped samples are kept


def test_no_clipping_below_range_or_with_a_handful_of_samples() -> None:
    t = _regular(60, 100)
    xyz = _rest(t.size)
    xyz[100:110, 0] = 1.5
    rec = clean(t, xyz)
    assert rec.info["clipped_fraction"] == 0.0 and rec.info["clip_range_g"] is None
    xyz[500:503, 1] = 2.0  # three samples at 2 g: a peak, not saturation
    assert clean(t, xyz).info["clip_range_g"] is None


# --- errors -----------------------------------------------------------------------------------

def test_all_nan_rows() -> None:
    t = _regular(20, 100)
    with pytest.raises(InputError, match=r"night\.csv: no usable rows"):
        clean(t, np.full((t.size, 3), np.nan), source="night.csv")


def test_fewer_than_two_samples() -> None:
    with pytest.raises(InputError, match=r"night\.csv: fewer than 2 usable samples"):
        clean(np.array([T0]), np.array([[0.0, 0.0, 1.0]]), source="night.csv")
    with pytest.raises(InputError, match="fewer than 2"):
        clean(np.array([T0, T0]), _rest(2))  # a duplicate leaves one sample


def test_shorter_than_ten_seconds() -> None:
    t = _regular(9.5, 100)
    with pytest.raises(InputError, match=r"a\.csv: .*expected at least 10 s of data"):
        clean(t, _rest(t.size), source="a.csv")
    t = np.concatenate([_regular(4, 100), _regular(4.5, 100, T0 + 600)])  # 8.5 s, 10 min apart
    with pytest.raises(InputError, match="expected at least 10 s"):
        clean(t, _rest(t.size))


def test_bad_rate_arguments() -> None:
    t = _regular(20, 100)
    for bad in (0.0, -5.0, float("nan")):
        with pytest.raises(InputError, match="positive"):
            clean(t, _rest(t.size), fs_hz=bad)


def test_millisecond_timestamps_get_a_hint() -> None:
    t_ms = _regular(60, 100) * 1000.0 - T0 * 1000.0  # relative milliseconds
    with pytest.raises(InputError, match="milliseconds"):
        clean(t_ms, _rest(t_ms.size), source="a.csv")


def test_implausibly_fast_rate() -> None:
    t = T0 + np.arange(50_000) * 1e-4  # 10 kHz
    with pytest.raises(InputError, match="expected 5-2000 Hz"):
        clean(t, _rest(t.size))


def test_stray_timestamp_years_away() -> None:
    # One row whose time is years away from both neighbours is a bad row: counted, left out.
    t = _regular(30, 100)
    for i in (0, 1500, t.size - 1):
        u = t.copy()
        u[i] = T0 + 3 * 365 * 86400.0
        rec = clean(u, _rest(u.size))
        assert rec.info["n_stray_times"] == 1 and rec.info["n_rows_used"] == t.size - 1
        assert rec.duration_s == pytest.approx(30.0, abs=0.02)
    u = t.copy()
    u[1500] = 1e308  # finite, but no grid can reach it
    assert clean(u, _rest(u.size)).info["n_stray_times"] == 1
    # Several rows years away are not one stray row: one line says what to check.
    u = t.copy()
    u[-5:] = T0 + 3 * 365 * 86400.0 + np.arange(5) / 100
    with pytest.raises(InputError, match="stray timestamp"):
        clean(u, _rest(u.size))


def test_shape_errors() -> None:
    with pytest.raises(InputError, match=r"\(n, 3\)"):
        clean(_regular(20, 100), np.zeros((2000, 2)))
    with pytest.raises(InputError, match="timestamps but"):
        clean(_regular(20, 100), np.zeros((10, 3)))


@pytest.mark.parametrize("n_raw", [9_000, 12_001])  # holes looped over / handled vectorised
def test_every_interval_a_hole(n_raw: int) -> None:
    # Raw samples 0.3 s apart (> max_interp_s) resampled at 100 Hz: only the grid points that
    # fall on a raw sample (every 30th) are valid.
    t = T0 + np.arange(n_raw) * 0.3
    rec = clean(t, _rest(n_raw), fs_hz=100.0)
    k = np.arange(rec.n_samples)
    np.testing.assert_array_equal(rec.valid, k % 30 == 0)
    assert len(rec.gaps) == n_raw - 1
    np.testing.assert_allclose(rec.gaps["duration_s"], 0.29, atol=1e-9)


def test_a_stretch_cut_out_is_resampled_onto_the_whole_recordings_grid():
    # Jittered timestamps (+-3 ms at 50 Hz): a stretch cut out of the recording and cleaned
    # with the recording's first timestamp as grid origin lands on the same grid points, from
    # the whole recording's first whole second after the cut, with the same values.
    fs = 50.0
    rng = np.random.default_rng(4)
    n = 50 * 600
    t = 1_700_000_000.123 + np.arange(n) / fs + rng.uniform(-0.003, 0.003, n)
    xyz = rng.normal(0.0, 0.1, (n, 3)) + [0.0, 0.0, 1.0]
    whole = clean(t, xyz)
    cut = 12_345                            # 246.9 s in, between samples of the grid
    part = clean(t[cut:], xyz[cut:], grid_origin_unix_s=t[0])
    k0 = int(round((part.t0_unix_s - whole.t0_unix_s) * fs))
    assert k0 == 247 * 50                   # the first whole second at or after the cut
    assert part.t0_unix_s == pytest.approx(t[0] + 247.0, abs=1e-6)
    # (to float32 rounding: times relative to another start differ in the last bits)
    np.testing.assert_allclose(part.acc_g, whole.acc_g[k0:k0 + len(part.acc_g)], rtol=1e-6,
                               atol=1e-9)
    # without the origin, the stretch's own first sample starts a grid of another phase
    alone = clean(t[cut:], xyz[cut:])
    assert not np.allclose(alone.acc_g[:100], whole.acc_g[cut:cut + 100], atol=1e-4)
