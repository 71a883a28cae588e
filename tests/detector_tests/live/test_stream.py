"""The streaming (live) detector against the offline analysis of the same recording.

Agreement bound enforced on every simulated 1-h night (5 scenarios x 2 seeds, packets of random
sizes 10-70 samples, the second seed with 5 extra gaps of 1-20 s): at most 2 movements without a
partner on either side, at least 97 % of them matched one-to-one (same kind, onsets within
0.5 s), and the same PLM series made of the same LMs. The borderline cases that remain (about
1 in 1000 movements): getting up with a standing pause close to the 3-s bout merge gap, and an
edge that moves by just over 0.5 s where the envelope hovers at the off threshold.

Reports must come within 2 s (signal time) of a movement's end, except for movements that end
within 2 s of a gap (a gap is only known when the samples after it arrive) or in the first 2 s
of a segment (segments shorter than 2 s are not analysed, as offline).
"""

from __future__ import annotations

import functools
import itertools

import nights
import numpy as np
import pandas as pd
import pytest
from synth import rest, rotate, turn_over, twitch

from detector.cli.bench import stream_benchmark
from detector.config import RULES, ClassifyConfig
from detector.detect.classify import classify_events, kinds_from_features
from detector.detect.recipe import find_movements
from detector.io.clean import clean
from detector.io.recording import InputError, Recording
from detector.live.detector import _median_bounds, StreamingDetector
from detector.live.events import LiveEvent, near_segment_edge
from detector.live.plm import LivePlm
from detector.score.plm import score_plm
from detector.tuning.evaluate import match_onsets

FS = 100.0
NIGHTS = [(sc, seed, 5 * (seed == 2)) for sc in ("healthy", "plmd", "twitchy", "rls", "noise")
          for seed in (1, 2)]


# ------------------------------------------------------------------------------ building blocks
@functools.lru_cache(maxsize=None)
def night(scenario: str, seed: int, extra_gaps: int) -> Recording:
    """A simulated 1-h night on the 100-Hz grid, with ``extra_gaps`` stretches of 1-20 s lost."""
    sim = nights.night(scenario, hours=1.0, fs_hz=FS, seed=seed)
    s = sim.samples
    rec = clean(s["timestamp"].to_numpy(), s[["x", "y", "z"]].to_numpy(), fs_hz=FS)
    if extra_gaps:
        rng = np.random.default_rng(seed)
        acc = rec.acc_g.copy()
        for _ in range(extra_gaps):
            d = int(rng.uniform(1.0, 20.0) * FS)
            a = int(rng.integers(0, len(acc) - d))
            acc[a:a + d] = np.nan
        rec = Recording.from_array(acc, FS, rec.t0_unix_s)
    return rec


def push_in_packets(rec: Recording, sizes) -> tuple[StreamingDetector, list[LiveEvent]]:
    """Push every gap-free segment of ``rec`` in packets whose sizes come from ``sizes``."""
    det = StreamingDetector(rec.fs_hz, t0_unix_s=rec.t0_unix_s)
    live: list[LiveEvent] = []
    for a, b in rec.segments():
        i = a
        while i < b:
            j = min(i + next(sizes), b)
            live += det.push(rec.acc_g[i:j], i)
            i = j
    live += det.finish()
    return det, live


def random_sizes(seed: int, lo: int = 10, hi: int = 70):
    rng = np.random.default_rng(seed)
    while True:
        yield int(rng.integers(lo, hi + 1))


@functools.lru_cache(maxsize=None)
def compared(scenario: str, seed: int, extra_gaps: int):
    rec = night(scenario, seed, extra_gaps)
    offline = find_movements(rec).events
    det, live = push_in_packets(rec, random_sizes(seed))
    return rec, offline, det, live


def match(a: pd.DataFrame, b: pd.DataFrame, tol_s: float = 0.5) -> list[tuple[int, int]]:
    """One-to-one pairs of rows with the same kind and onsets within ``tol_s``, nearest first
    (:func:`detector.tuning.evaluate.match_onsets`, the matching every comparison uses)."""
    pairs = []
    ka, kb = a["kind"].to_numpy(), b["kind"].to_numpy()
    for kind in set(ka) & set(kb):
        ia, ib = np.flatnonzero(ka == kind), np.flatnonzero(kb == kind)
        ti, di = match_onsets(a["start_s"].to_numpy(float)[ia], b["start_s"].to_numpy(float)[ib],
                              tol_s)
        pairs += [(int(ia[i]), int(ib[j])) for i, j in zip(ti, di)]
    return sorted(pairs)


def series_members(scoring) -> list[tuple[int, ...]]:
    """Row positions of each PLM series' LMs, in series order."""
    series = scoring.events["series"].to_numpy(dtype=float, na_value=np.nan)
    return [tuple(np.flatnonzero(series == k)) for k in scoring.series["series"]]


def final_live_table(live: list[LiveEvent]) -> list[tuple[float, float, str]]:
    """The movements the live reports leave once each revision replaced what it covers."""
    table: list[LiveEvent] = []
    for e in live:
        if e.kind == "plm_series":
            continue
        if e.revised:
            table = [t for t in table if not (t.start_s < e.end_s and t.end_s > e.start_s)]
        table.append(e)
    return sorted((round(t.start_s, 3), round(t.end_s, 3), t.kind) for t in table)


# ------------------------------------------------------------------- agreement with offline
@pytest.mark.parametrize("scenario,seed,gaps", NIGHTS)
def test_events_agree_with_the_offline_analysis(scenario, seed, gaps):
    rec, offline, det, _ = compared(scenario, seed, gaps)
    events = det.events()
    pairs = match(offline, events)
    most = max(len(offline), len(events))
    assert most - len(pairs) <= 2
    assert len(pairs) >= 0.97 * most
    if scenario == "noise":
        assert most == 0
    assert list(events.columns) == list(offline.columns)
    # No event crosses a gap; at_gap marks those touching one.
    valid = rec.valid
    for s, e in zip(events["start_s"], events["end_s"]):
        assert valid[int(round(s * FS)):int(round(e * FS))].all()


@pytest.mark.parametrize("scenario,seed,gaps", NIGHTS)
def test_plm_series_are_the_same_series_of_the_same_lms(scenario, seed, gaps):
    _, offline, det, _ = compared(scenario, seed, gaps)
    events = det.events()
    pairs = dict(match(offline, events))
    off_series = series_members(score_plm(offline, RULES["wasm2016"]))
    live_series = series_members(det.scoring())
    assert [tuple(pairs.get(i, -1) for i in s) for s in off_series] == live_series
    if scenario == "plmd":
        assert len(live_series) >= 2


@pytest.mark.parametrize("scenario,seed,gaps", NIGHTS)
def test_every_report_comes_within_2_s_of_the_end(scenario, seed, gaps):
    rec, _, _, live = compared(scenario, seed, gaps)
    segments = rec.segments()
    series_revisions = [e for e in live if e.kind == "plm_series" and e.revised]
    late = [e for e in live if e.detected_at_s - e.end_s > 2.0
            and not near_segment_edge(e, segments, FS) and e not in series_revisions]
    assert late == []
    # A series is revised when a movement report revises one of its LMs, in the same packet.
    moved = {e.detected_at_s for e in live if e.kind != "plm_series" and e.revised}
    assert all(e.detected_at_s in moved for e in series_revisions)
    # Those near a gap are reported when the samples after the gap arrive, never before.
    assert all(e.detected_at_s >= e.end_s - 1.0 / FS for e in live)


@pytest.mark.parametrize("scenario,seed,gaps", NIGHTS)
def test_live_reports_add_up_to_the_final_table(scenario, seed, gaps):
    _, _, det, live = compared(scenario, seed, gaps)
    ev = det.events()
    assert final_live_table(live) == sorted(
        (round(s, 3), round(e, 3), k) for s, e, k in zip(ev["start_s"], ev["end_s"], ev["kind"]))
    # Series: announced at their 4th LM (WASM 2016 minimum), numbered in order, and the last
    # announcement of each is the final series.
    scoring = det.scoring()
    last: dict[int, LiveEvent] = {}
    for e in live:
        if e.kind == "plm_series":
            if e.series not in last:
                assert e.series == len(last) + 1
                assert e.n_lm == RULES["wasm2016"].min_series
            last[e.series] = e
    final = {int(r.series): int(r.n_lm) for r in scoring.series.itertuples()}
    assert {k: e.n_lm for k, e in last.items() if e.n_lm} == final
    counts = det.counts()
    assert counts["series"] == len(final)
    assert {k: counts[k] for k in ("twitch", "lm", "sustained")} == {
        k: int((ev["kind"] == k).sum()) for k in ("twitch", "lm", "sustained")}
    # An LM reported with a series number and still an LM at the end is in that series.
    ends = {(round(s, 3), round(e, 3)): k for s, e, k in zip(
        scoring.events["start_s"], scoring.events["end_s"], scoring.events["series"])}
    for e in live:
        key = (round(e.start_s, 3), round(e.end_s, 3))
        if e.kind == "lm" and e.series is not None and key in ends:
            assert ends[key] == e.series


def test_some_reports_are_revisions_of_sustained_movements():
    revised = [e for sc, seed, gaps in NIGHTS for e in compared(sc, seed, gaps)[3]
               if e.revised and e.kind != "plm_series"]
    assert revised and {e.kind for e in revised} <= {"sustained", "lm", "twitch"}
    assert any(e.kind == "sustained" for e in revised)


# ------------------------------------------------------------------ packet-size invariance
def test_same_events_whatever_the_packet_sizes():
    # 80 s of restless settling: getting up, then LMs a few seconds after it.
    rec = night("rls", 1, 0)
    short = Recording.from_array(rec.acc_g[int(720 * FS):int(800 * FS)], FS)
    runs = [push_in_packets(short, sizes) for sizes in
            (itertools.repeat(1), itertools.repeat(1000), random_sizes(7, 10, 70))]
    tables = [det.events() for det, _ in runs]
    assert len(tables[0]) >= 5 and "sustained" in set(tables[0]["kind"])
    for t in tables[1:]:
        pd.testing.assert_frame_equal(t, tables[0])
    finals = [final_live_table(live) for _, live in runs]
    assert finals[1] == finals[0] and finals[2] == finals[0]
    for det, _ in runs:
        assert det.samples_seen == len(short.acc_g)


# ----------------------------------------------------------------- hand-built, exact events
def test_lm_and_twitch_reported_with_their_onsets():
    acc = rest(90.0, FS, seed=3)
    rotate(acc, FS, 30.0, 2.0, 10.0)          # an LM: 2 s, 10 degrees
    twitch(acc, FS, 60.0)                     # a twitch at 60 s
    det = StreamingDetector(FS)
    live = []
    for i in range(0, len(acc), 35):
        live += det.push(acc[i:i + 35])
    live += det.finish()
    kinds = [(e.kind, e.start_s) for e in live]
    assert [k for k, _ in kinds] == ["lm", "twitch"]
    assert abs(kinds[0][1] - 30.0) < 0.3 and abs(kinds[1][1] - 60.0) < 0.1
    assert all(e.detected_at_s - e.end_s <= 2.0 for e in live)
    offline = find_movements(Recording.from_array(acc, FS)).events
    assert len(match(offline, det.events())) == len(offline) == 2


def test_lm_just_before_turning_over_stays_an_lm_live_and_offline():
    # LM at 40-42 s, turning over from 43 s for 15 s: the leg rests between them where the LM
    # started, so the LM is a movement of its own (the rules keep movements > 0.5 s apart).
    acc = rest(120.0, FS, seed=4)
    rotate(acc, FS, 40.0, 2.0, 12.0)
    turn_over(acc, FS, 43.0, 15.0)
    det = StreamingDetector(FS)
    live = []
    for i in range(0, len(acc), 50):
        live += det.push(acc[i:i + 50])
    live += det.finish()
    assert live[0].kind == "lm" and not live[0].revised
    ev = det.events()
    assert list(ev["kind"]) == ["lm", "sustained"]
    assert abs(ev["start_s"].iloc[0] - 40.0) < 0.3 and abs(ev["start_s"].iloc[1] - 43.0) < 0.5
    offline = find_movements(Recording.from_array(acc, FS)).events
    assert list(offline["kind"]) == ["lm", "sustained"]
    assert len(match(offline, ev)) == len(offline) == 2


def test_gaps_split_segments_and_short_segments_are_ignored():
    acc = rest(100.0, FS, seed=5)
    rotate(acc, FS, 20.0, 2.0, 10.0)          # LM in the first segment
    rotate(acc, FS, 40.2, 1.0, 30.0)          # large movement inside a 1.5-s segment
    rotate(acc, FS, 70.0, 3.0, 10.0)          # LM in the last segment
    acc[30 * 100:40 * 100] = np.nan           # gap 30-40 s
    acc[4150:50 * 100] = np.nan               # segment 40-41.5 s, then a gap to 50 s
    rec = Recording.from_array(acc, FS)
    det, _ = push_in_packets(rec, itertools.repeat(40))
    ev = det.events()
    assert len(ev) == 2 and (ev["kind"] == "lm").all()
    assert abs(ev["start_s"].iloc[0] - 20.0) < 0.3 and abs(ev["start_s"].iloc[1] - 70.0) < 0.3
    offline = find_movements(rec).events
    assert len(match(offline, ev)) == len(offline) == 2
    # NaN rows inside one packet are lost samples too: the same result in one push.
    one = StreamingDetector(FS)
    one.push(acc)
    one.finish()
    pd.testing.assert_frame_equal(one.events(), ev)
    assert one.samples_seen == int(rec.valid.sum())


def test_explicit_start_index_leaves_a_gap():
    acc = rest(60.0, FS, seed=6)
    rotate(acc, FS, 12.0, 2.0, 10.0)
    rotate(acc, FS, 45.0, 2.0, 10.0)
    det = StreamingDetector(FS)
    det.push(acc[:2000])                      # 0-20 s
    det.push(acc[3000:], 3000)                # 30-60 s: 20-30 s lost
    det.finish()
    assert det.next_index == 6000
    starts = det.events()["start_s"].to_numpy()
    assert len(starts) == 2 and abs(starts[0] - 12.0) < 0.3 and abs(starts[1] - 45.0) < 0.3


# ----------------------------------------------------------------------- pieces and checks
def test_the_live_array_rule_is_classify_events():
    # the live detector classifies arrays with kinds_from_features; classify_events must hand
    # it every column (the ring test's peak_offset_s and tail_ratio included) in its place
    rng = np.random.default_rng(0)
    n = 400
    table = pd.DataFrame({
        "duration_s": rng.choice([0.2, 0.5, 0.7, 1.0, 1.4, 3.0, 10.0, 10.01, 20.0], n),
        "peak_g": rng.choice([0.02, 0.059, 0.06, 0.3], n),
        "rotation_deg": rng.choice([0.2, 1.0, 5.0], n),
        "context_g": rng.choice([0.002, 0.01, 0.02, np.inf], n),
        "low_freq_share": rng.choice([0.2, 0.5, 0.9], n),
        "peak_offset_s": rng.choice([0.1, 0.9], n),
        "tail_ratio": rng.choice([0.2, 0.9], n)})
    cfg = ClassifyConfig()
    kept, _ = classify_events(table.assign(_i=np.arange(n)), cfg)
    expected = np.full(n, None, object)
    expected[kept["_i"].to_numpy()] = kept["kind"].to_numpy()
    got, _ = kinds_from_features(*(table[c].to_numpy() for c in (
        "duration_s", "peak_g", "rotation_deg", "context_g", "low_freq_share", "peak_offset_s",
        "tail_ratio")), cfg)
    assert list(got) == list(expected)
    assert {None, "twitch", "lm", "sustained"} <= set(got)


def test_median_bounds_cover_every_completion():
    rng = np.random.default_rng(1)
    for _ in range(40):
        vals = np.sort(rng.integers(0, 10, rng.integers(1, 8)).astype(float))
        unknown = int(rng.integers(0, 4))
        lo, hi = _median_bounds(vals, unknown)
        seen = [float(np.median(np.concatenate([vals, extra]))) for k in range(unknown + 1)
                for extra in itertools.product((-1.0, 4.5, 11.0), repeat=k)]
        assert lo <= min(seen) and max(seen) <= hi
        assert np.isclose(min(seen), lo) or lo == -np.inf
        assert np.isclose(max(seen), hi) or hi == np.inf


@pytest.mark.parametrize("standard", ["wasm2016", "aasm2012"])
def test_live_plm_series_are_score_plm_series(standard):
    # AASM 2012 leaves an LM < 5 s after the previous one out of the series without ending it:
    # the 2-s and 4-s steps make such LMs, and the base the live scoring settles must not split
    # a series that goes on across them.
    rules = RULES[standard]
    rng = np.random.default_rng(2)
    n_series = 0
    for trial in range(10):
        t, rows = 0.0, []
        for k in range(40):
            t += float(rng.choice([2.0, 4.0, 9.99, 10.0, 25.0, 60.0, 90.0, 90.5, 120.0]))
            kind = str(rng.choice(["lm", "lm", "lm", "twitch", "sustained"]))
            dur = {"lm": 2.0, "twitch": 0.3, "sustained": 15.0}[kind]
            if trial % 5 == 0 and k == 20:
                t = rows[-1]["end_s"] + 0.3       # same-leg LMs < 0.5 s apart: joined (WASM)
            rows.append({"start_s": t, "end_s": t + dur, "kind": kind, "leg": "left",
                         "key": k})
            t += dur
        plm = LivePlm(rules)
        announced: dict[int, int] = {}
        for k in range(1, len(rows) + 1):
            for u in plm.update(rows[:k], np.inf):
                announced[u.series] = u.n_lm
        table = pd.DataFrame(rows).drop(columns="key")
        final = score_plm(table, rules).series
        n_series += len(final)
        assert {k: v for k, v in announced.items() if v} == dict(zip(final["series"],
                                                                     final["n_lm"]))
    assert n_series >= 5       # the comparison is not between empty tables


def test_live_plm_aasm_series_goes_on_across_a_left_out_lm():
    # AASM 2012: the LM at 23 s (3 s after 20) is left out without ending the series, so the
    # live scoring must not settle at it: one series 0, 20, 40, 60, 80 (5 LMs), as score_plm.
    rows = [{"start_s": float(t), "end_s": t + 1.0, "kind": "lm", "leg": "left", "key": k}
            for k, t in enumerate([0, 20, 23, 40, 60, 80])]
    plm = LivePlm(RULES["aasm2012"])
    last = {}
    for k in range(1, len(rows) + 1):
        for u in plm.update(rows[:k], np.inf):
            last[u.series] = (u.start_s, u.n_lm)
    assert last == {1: (0.0, 5)}


def test_bad_input_raises_input_error():
    det = StreamingDetector(FS)
    with pytest.raises(InputError, match="shape"):
        det.push(np.zeros((10, 2)))
    det.push(np.zeros((10, 3)), 100)
    with pytest.raises(InputError, match="start_index 50"):
        det.push(np.zeros((10, 3)), 50)
    det.finish()
    with pytest.raises(InputError, match="finish"):
        det.push(np.zeros((10, 3)))
    for fs in (0.0, -5.0, float("nan"), True):
        with pytest.raises(InputError, match="fs_hz"):
            StreamingDetector(fs)


def test_terminal_lines():
    lm = LiveEvent("lm", 3725.25, 3727.5, 2.25, 0.1234, 3, None, 3728.4)
    assert lm.line() == "1:02:05.2  LM          2.25 s  peak 0.123 g  series 3"
    sus = LiveEvent("sustained", 10.0, 40.0, 30.0, 1.5, None, None, 41.0, revised=True)
    assert sus.line().endswith("(revised)")
    series = LiveEvent("plm_series", 100.0, 160.0, 60.0, float("nan"), 2, 4, 161.0)
    assert series.line() == "0:01:40.0  PLM series 2: 4 LMs until 0:02:40.0"
    gone = LiveEvent("plm_series", 100.0, 160.0, 60.0, float("nan"), 2, 0, 170.0, True)
    assert "dissolved" in gone.line()
    clock = lm.line(t0_unix_s=1_700_000_000.0)
    assert clock[2] == ":" and clock[5] == ":" and "LM" in clock


def test_benchmark_reports_speed_and_delays():
    out = stream_benchmark(hours=0.05, packet=35, seed=3, scenario="twitchy")
    assert out["signal_s"] == pytest.approx(180.0, abs=0.5)
    assert out["realtime_factor"] > 0 and out["n_events"] > 0
    assert 0 < out["latency_p50_s"] <= out["latency_p95_s"] <= out["latency_max_s"]
