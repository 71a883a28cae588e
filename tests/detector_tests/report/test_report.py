"""The night report page and its figures.

The night used here is built by hand: a seeded 2-hour recording with planted leg movements
(rotations of gravity), twitches (damped transients) and sustained movements, and an events
table, PLM series, histograms and metrics written down from the planted events and the rule
definitions, not from running the pipeline. So these tests check the report and the plots alone.
The signal is made with numpy only (importing scipy.signal would double this file's run time).
"""

from __future__ import annotations

import base64
import html
import io
import re
import stat
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle, StepPatch

from detector.config import RULES, Config
from detector.report.plots import plot_hourly, plot_imi_histograms, plot_night
from detector.report.event_plots import plot_examples
from detector.io.recording import Recording
from detector.report import night as report
from detector.report import page as page_kit
from detector.report.night import render_report, write_report
from detector.tuning.results import NightResult
from detector.score.night import EVENT_COLUMNS

FS_HZ = 50.0
T0_UNIX_S = datetime(2024, 3, 5, 22, 0, 0, tzinfo=timezone.utc).timestamp()

# Planted events (onset s, duration s). Two PLM series under WASM 2016 (>= 4 candidate LMs with
# onset-to-onset intervals in [10, 90] s): six LMs 25 s apart from 600 s and five 30 s apart from
# 4000 s. Three isolated LMs are > 90 s from any other LM, so they are in no series.
SERIES_1 = [(600.0 + 25.0 * k, 2.0) for k in range(6)]
SERIES_2 = [(4000.0 + 30.0 * k, 1.5) for k in range(5)]
LONE_LMS = [(2000.0, 3.0), (2300.0, 3.0), (5000.0, 3.0)]
TWITCHES = [1000.0, 1500.0, 2500.0, 3500.0, 4500.0, 6000.0, 6500.0]
SUSTAINED = [(5500.0, 20.0), (6800.0, 15.0)]
TWITCH_S = 0.2


def _rest(n: int, seed: int) -> np.ndarray:
    """Still leg: gravity on z plus a bias of tens of mg and 1.5 mg RMS noise, in g."""
    rng = np.random.default_rng(seed)
    acc = rng.normal(0.0, 0.0015, (n, 3)) + np.array([0.03, -0.02, 1.01])
    return acc


def rotate(acc: np.ndarray, onset_s: float, duration_s: float, angle_deg: float,
            axes: tuple[int, int] = (0, 2)) -> None:
    """A leg movement: gravity swings by ``angle_deg`` (sin^2 profile) and comes back."""
    i0, m = int(round(onset_s * FS_HZ)), int(round(duration_s * FS_HZ))
    th = np.radians(angle_deg) * np.sin(np.pi * np.arange(m) / m) ** 2
    a, b = axes
    u, v = acc[i0:i0 + m, a].copy(), acc[i0:i0 + m, b].copy()
    acc[i0:i0 + m, a] = u * np.cos(th) - v * np.sin(th)
    acc[i0:i0 + m, b] = u * np.sin(th) + v * np.cos(th)


def _twitch(acc: np.ndarray, onset_s: float, amplitude_g: float = 0.15) -> None:
    """A twitch: a 15-Hz oscillation damped with a 50-ms time constant, on y."""
    i0, m = int(round(onset_s * FS_HZ)), int(round(0.4 * FS_HZ))
    tt = np.arange(m) / FS_HZ
    acc[i0:i0 + m, 1] += amplitude_g * np.exp(-tt / 0.05) * np.sin(2 * np.pi * 15.0 * tt)


def _events_table(lms_series: list[tuple[float, float, int | None]], twitches: list[float],
                  sustained: list[tuple[float, float]], t0: datetime) -> pd.DataFrame:
    rows = []
    for onset, dur, series in lms_series:
        rows.append(dict(start_s=onset, end_s=onset + dur, kind="lm", plm=series is not None,
                         series=series, peak_g=0.08, rotation_deg=15.0, candidate=True))
    for onset in twitches:
        rows.append(dict(start_s=onset, end_s=onset + TWITCH_S, kind="twitch", plm=False,
                         series=None, peak_g=0.12, rotation_deg=0.4, candidate=False))
    for onset, dur in sustained:
        rows.append(dict(start_s=onset, end_s=onset + dur, kind="sustained", plm=False,
                         series=None, peak_g=0.4, rotation_deg=40.0, candidate=False))
    ev = pd.DataFrame(rows, columns=["start_s", "end_s", "kind", "plm", "series", "peak_g",
                                     "rotation_deg", "candidate"])
    ev = ev.sort_values("start_s").reset_index(drop=True)
    ev["duration_s"] = ev["end_s"] - ev["start_s"]
    ev["start_time"] = [(t0 + timedelta(seconds=float(s))).isoformat(timespec="milliseconds")
                        for s in ev["start_s"]]
    ev["series"] = ev["series"].astype("Int64")
    ev["plm"] = ev["plm"].astype(bool)
    ev["candidate"] = ev["candidate"].astype(bool)
    onsets = ev.loc[ev["candidate"], "start_s"]
    ev["imi_s"] = onsets.diff()
    ev["leg"] = "left"
    ev["respiratory"] = False
    ev["at_gap"] = False
    return ev[EVENT_COLUMNS]


def make_night(*, hours: float = 2.0, gaps_s: tuple[tuple[float, float], ...] = ((3000.0, 3600.0),),
               with_events: bool = True, source: str = "night-2024-03-05.csv",
               leg: str = "left", t0_unix_s: float = T0_UNIX_S, config: Config | None = None,
               category: dict | None = None, info: dict | None = None,
               metrics_extra: dict | None = None) -> NightResult:
    """A realistic NightResult: seeded signal, planted events and hand-derived tables."""
    n = int(hours * 3600 * FS_HZ)
    acc = _rest(n, seed=3)
    end_s = hours * 3600
    lm_list = [e for e in SERIES_1 + SERIES_2 + LONE_LMS if with_events and sum(e) < end_s]
    twitches = [o for o in TWITCHES if with_events and o + TWITCH_S < end_s]
    sustained = [e for e in SUSTAINED if with_events and sum(e) < end_s]
    for onset, dur in lm_list:
        rotate(acc, onset, dur, 15.0)
    for onset in twitches:
        _twitch(acc, onset)
    rng = np.random.default_rng(5)
    for onset, dur in sustained:
        rotate(acc, onset, dur, 40.0, axes=(1, 2))
        i0, m = int(onset * FS_HZ), int(dur * FS_HZ)
        acc[i0:i0 + m] += rng.normal(0.0, 0.05, (m, 3))
    posture = np.median(acc[: int(60 * FS_HZ)], axis=0)
    for s, e in gaps_s:
        acc[int(s * FS_HZ):int(e * FS_HZ)] = np.nan
    rec = Recording.from_array(acc, FS_HZ, t0_unix_s=t0_unix_s, source=source, leg=leg)
    rec.info.update(info if info is not None else {
        "file": source, "n_rows_read": n + 12, "n_rows_used": n, "n_nan_rows": 7,
        "n_duplicates": 5, "n_out_of_order": 2, "fs_inferred_hz": 49.98, "fs_hz": FS_HZ,
        "fs_given": False, "clipped_fraction": 0.0, "clip_range_g": None, "units": "g",
        "units_detected": True})

    # Envelope: distance from the resting posture, smoothed over 2 samples (NaN in gaps).
    dev = np.linalg.norm(acc - posture, axis=1)
    dev = np.nan_to_num(dev)
    env = ((dev + np.concatenate(([dev[0]], dev[:-1]))) / 2.0).astype(np.float32)
    env[~rec.valid] = np.nan
    thr = np.where(rec.valid, 0.03, np.nan).astype(np.float32)

    plm_of = {onset: 1 for onset, _ in SERIES_1} | {onset: 2 for onset, _ in SERIES_2}
    ev = _events_table([(o, d, plm_of.get(o)) for o, d in lm_list], twitches, sustained,
                       rec.start_time)
    series = pd.DataFrame({"series": [1, 2], "start_s": [600.0, 4000.0],
                           "end_s": [727.0, 4121.5], "n_lm": [6, 5], "mean_imi_s": [25.0, 30.0]})
    series = series[series["series"].isin(ev["series"].dropna())].reset_index(drop=True)
    imis = ev.loc[ev["candidate"], "start_s"].diff().dropna().to_numpy()
    edges = np.arange(0.0, 92.0, 2.0)
    counts, _ = np.histogram(imis[imis <= 90.0], bins=edges)
    imi_hist = pd.DataFrame({"bin_start_s": edges[:-1], "bin_end_s": edges[1:], "count": counts})
    ln_edges = np.round(np.arange(-0.7, 7.01, 0.1), 1)
    ln_counts, _ = np.histogram(np.log(imis), bins=ln_edges)
    ln_hist = pd.DataFrame({"ln_imi_start": ln_edges[:-1], "ln_imi_end": ln_edges[1:],
                            "count": ln_counts})
    hour = (ev["start_s"] // 3600).astype(int)
    n_hours = int(np.ceil(hours))
    hourly = pd.DataFrame({"hour": np.arange(n_hours)})
    for col, mask in (("n_twitch", ev["kind"] == "twitch"), ("n_lm", ev["kind"] == "lm"),
                      ("n_plm", ev["plm"]), ("n_sustained", ev["kind"] == "sustained")):
        hourly[col] = np.bincount(hour[mask], minlength=n_hours)[:n_hours]

    gap_s = rec.gap_s
    sustained_s = sum(d for _, d in sustained)
    rest_h = (hours * 3600 - gap_s - sustained_s) / 3600  # recording - gaps - sustained
    n_lm = len(lm_list)
    n_plm = int(ev["plm"].sum())
    metrics = {
        "recording_h": hours, "rest_h": rest_h, "gap_s": gap_s,
        "n_twitch": len(twitches), "n_lm": n_lm, "n_candidate": n_lm, "n_plm": n_plm,
        "n_sustained": len(sustained), "n_series": len(series),
        "plm_index": n_plm / rest_h, "lm_index": n_lm / rest_h,
        "twitch_index": len(twitches) / rest_h,
        # 13 IMIs; those in runs of >= 3 consecutive IMIs in [10, 90] s: the 5 of series 1 and
        # the 4 of series 2 -> 9 / 13 (Ferri et al. 2006).
        "periodicity_index": 9 / 13 if len(imis) == 13 else None,
        "median_imi_s": float(np.median(imis)) if len(imis) else None,
    }
    metrics.update(metrics_extra or {})
    move = metrics["lm_index"] + metrics["twitch_index"]
    cat = category or {
        "id": "occasional_harmless_twitches",
        "title": "Occasional harmless twitches",
        "explanation": "Your legs moved now and then, as everyone's do. The article calls these "
                       "brief, unwanted muscle contractions common and usually harmless.",
        "advice": {
            "immediate_relief": "Try gentle stretching, massage, or heat to relax your muscles.",
            "long_term_management": "Regular exercise, a balanced diet and stress reduction.",
            "when_to_see_a_doctor": "If your leg twitches often, are weak, or feel unusual, "
                                    "see a doctor.",
        },
        "reasons": [f"Twitches and leg movements: {move:.1f}/h of rest (not above 30/h); "
                    f"PLM index {metrics['plm_index']:.1f}/h (not above 15/h)."],
        "disclaimer": "This is not a diagnosis. Only a doctor can diagnose PLMD or RLS.",
    }
    return NightResult(events=ev, series=series, metrics=metrics, category=cat,
                       config=config or Config(), recording=rec, envelope_g=env,
                       threshold_on_g=thr, imi_hist=imi_hist, ln_imi_hist=ln_hist,
                       hourly=hourly, info={"timings": {"detect_s": 0.1}})


def _text_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip drawing figures, for tests about the page's text (figures are tested below)."""
    blank = "data:image/png;base64,iVBORw0KGgo="
    monkeypatch.setattr(page_kit, "figure_data_uri", lambda fig, dpi=100: blank)
    for name in ("plot_night", "plot_hourly", "plot_imi_histograms"):
        monkeypatch.setattr(report, name, lambda *args, **kwargs: Figure())


@pytest.fixture()
def text_only(monkeypatch: pytest.MonkeyPatch) -> None:
    _text_only(monkeypatch)


@pytest.fixture(scope="module")
def night() -> NightResult:
    return make_night()


@pytest.fixture(scope="module")
def page(night: NightResult) -> str:
    return render_report(night)


def _tile(page: str, key: str) -> str:
    m = re.search(rf'<div class="tile[^"]*" data-metric="{key}">(.*?)</div></div>', page, re.S)
    assert m, f"no tile for {key}"
    return re.sub(r"<[^>]+>", " ", m.group(1))


# --- the page --------------------------------------------------------------------------------

def test_page_is_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    # No resource is fetched from anywhere: no links, scripts, imports or remote URLs.
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:|//)", page, re.I)
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page and "<script" not in page.lower()
    srcs = re.findall(r'<img src="([^"]+)"', page)
    # night, hourly, intervals as PNG; the examples as inline SVG: 4 of the 14 LMs, 4 of the 7
    # twitches and the 2 sustained movements, each with its axes labelled with units
    assert len(srcs) == 3
    svgs = re.findall(r'<svg class="ex".*?</svg>', page, re.S)
    assert len(svgs) == 4 + 4 + 2
    for svg in svgs:
        assert "time from the event&#x27;s onset (s)" in svg or "time from the event's onset (s)" in svg
        assert "acceleration (mg)" in svg and "<title>Example " in svg
        assert "<script" not in svg
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_sections_come_in_order(page: str) -> None:
    ids = ["not-a-diagnosis", "category", "numbers", "night", "hourly", "intervals", "examples",
           "limits", "quality", "config"]
    pos = [page.index(f'id="{i}"') for i in ids]
    assert pos == sorted(pos)
    assert page.index("<header>") < pos[0]


def test_header_names_file_date_clock_duration_and_rules(page: str) -> None:
    header = page[page.index("<header>"):page.index("</header>")]
    assert "night-2024-03-05.csv" in header
    assert "05 Mar 2024" in header
    # 2 h from 22:00 UTC ends at 00:00
    assert "22:00 \N{EN DASH} 00:00 UTC" in header
    assert "2 h 00 min" in header
    assert "WASM 2016" in header and "10\N{EN DASH}90 s" in header


def test_category_card_disclaimer_and_advice(night: NightResult, page: str) -> None:
    cat = night.category
    notdx = page[page.index('id="not-a-diagnosis"'):page.index('id="category"')]
    assert "Not a diagnosis" in notdx and html.escape(cat["disclaimer"]) in notdx
    card = page[page.index('id="category"'):page.index('id="numbers"')]
    assert html.escape(cat["title"]) in card
    assert html.escape(cat["explanation"]) in card
    for reason in cat["reasons"]:
        assert html.escape(reason) in card
    order = [card.index(f'data-advice="{k}"') for k in
             ("immediate_relief", "long_term_management", "when_to_see_a_doctor")]
    assert order == sorted(order)
    for key, text in cat["advice"].items():
        row = card[card.index(f'data-advice="{key}"'):]
        assert html.escape(text) in row[:row.index("</p>") + 4]


def test_single_row_advice_marks_the_row_that_fits(text_only: None) -> None:
    # The shape detector.score.category.categorize returns: one fitting row plus all rows' texts.
    cat = {"id": "frequent_twitching", "title": "Frequent twitching", "explanation": "Often.",
           "advice": {"row": "Long-term Management Strategies", "text": "Exercise regularly.",
                      "key": "long_term_management"},
           "advice_rows": {"immediate_relief": "Stretch.", "long_term_management":
                           "Exercise regularly.", "when_to_see_a_doctor": "See a doctor."},
           "reasons": ["Twitches and leg movements: 40.0/h of rest."], "disclaimer": "Not one."}
    page = render_report(make_night(category=cat, hours=0.5, gaps_s=()))
    fits = re.findall(r'<div class="row fits" data-advice="([a-z_]+)">', page)
    assert fits == ["long_term_management"]
    for text in ("Stretch.", "Exercise regularly.", "See a doctor."):
        assert text in page


def test_the_row_that_fits_comes_first_with_what_to_do(text_only: None) -> None:
    # A PLM index of 47/h: the doctor row fits. It stands first (the generic stretching and
    # electrolyte rows stood above it once), says concretely what to do, and the article's own
    # words are shown as a quotation, not as ours.
    cat = {"id": "periodic_limb_movement_pattern", "title": "Periodic limb movement pattern",
           "explanation": "Regular series.",
           "advice": {"row": "When to Consult a Doctor", "text": "Obtain medical advice leg twitch",
                      "key": "when_to_see_a_doctor"},
           "advice_rows": {"immediate_relief": "Stretch.", "long_term_management":
                           "Exercise regularly.", "when_to_see_a_doctor":
                           "Obtain medical advice leg twitch"},
           "reasons": ["PLM index 47.0 is above 15/h."], "disclaimer": "Not one."}
    page = render_report(make_night(category=cat, hours=0.5, gaps_s=()))
    card = page[page.index('id="category"'):page.index('id="numbers"')]
    keys = re.findall(r'data-advice="([a-z_]+)"', card)
    assert keys == ["when_to_see_a_doctor", "immediate_relief", "long_term_management"]
    first = card[card.index('data-advice="when_to_see_a_doctor"'):
                 card.index('data-advice="immediate_relief"')]
    assert "What to do:" in first and "sleep clinic" in first and "more nights" in first
    assert re.search(r'<blockquote class="article"><p>\N{LEFT DOUBLE QUOTATION MARK}Obtain '
                     r'medical advice leg twitch\N{RIGHT DOUBLE QUOTATION MARK}</p>', first)
    assert card.count("general advice") == 2


def test_twitch_heading_says_why_an_example_may_last_longer(page: str) -> None:
    ex = page[page.index('id="examples"'):]
    head = ex[ex.index("Twitch (&lt; 0.5 s)"):]
    assert "counts as a twitch up to 1 s" in head[:600]


def test_all_measured_numbers_have_plain_names(page: str) -> None:
    table = page[page.index('id="all-numbers"'):]
    table = table[:table.index("</details>")]
    assert "Median interval (s)" in table and "<code>median_imi_s</code>" in table
    assert "Rest time (h)" in table and "What it is" in table


def test_a_table_gives_the_indices_of_each_hour(page: str, night: NightResult) -> None:
    sec = page[page.index('id="hourly"'):page.index('id="intervals"')]
    table = sec[sec.index('<table class="hourly">'):]
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td>", table)
    assert len(rows) == len(night.hourly)
    assert rows[0][0] == "22:00" and "Minutes with data" in table and "PLMs" in table


def test_tiles_show_the_metrics(night: NightResult, page: str) -> None:
    m = night.metrics
    assert f"{m['plm_index']:.1f}" in _tile(page, "plm_index")
    assert f"{m['lm_index']:.1f}" in _tile(page, "lm_index")
    assert f"{m['twitch_index']:.1f}" in _tile(page, "twitch_index")
    assert f"{m['periodicity_index']:.2f}" in _tile(page, "periodicity_index")
    assert f"{m['median_imi_s']:.1f}" in _tile(page, "median_imi_s")
    for key in ("n_twitch", "n_lm", "n_plm", "n_sustained"):
        assert re.search(rf"\b{m[key]}\b", _tile(page, key)), key
    assert f"in {m['n_series']} series" in _tile(page, "n_plm")
    # 2 h - 600 s gap - 35 s sustained = 6565 s = 1 h 49 min 25 s -> "1 h 49 min"
    assert "1 h 49 min" in _tile(page, "rest_h") and "of 2 h 00 min" in _tile(page, "rest_h")
    assert '<span style="width:91.2%">' in page  # rest bar: 6565 s of 7200 s
    assert "10 min" in _tile(page, "gap_s")
    # PLM index 11 / 1.82 h = 6.0/h: not above the 15/h threshold, so not highlighted.
    assert 'class="tile" data-metric="plm_index"' in page
    assert "per hour of <strong>rest time</strong>" in page
    assert "minus gaps" in page and "minus sustained movements" in page
    for key in m:
        assert f"<code>{key}</code>" in page
    # the full table gives every metric to 3 decimals: rest_h = 6565 / 3600 = 1.8236 h
    assert '<code>rest_h</code></td><td class="num">1.824</td>' in page
    assert '<code>periodicity_index</code></td><td class="num">0.692</td>' in page


def test_high_plm_index_tile_is_highlighted(text_only: None) -> None:
    page = render_report(make_night(hours=0.5, gaps_s=(), metrics_extra={"plm_index": 42.0}))
    assert 'class="tile high" data-metric="plm_index"' in page
    assert "42.0" in _tile(page, "plm_index") and "above 15/h" in _tile(page, "plm_index")


def test_every_config_key_and_value_is_listed(text_only: None) -> None:
    cfg = Config(rules=RULES["aasm2012"])
    page = render_report(make_night(config=cfg, hours=0.5, gaps_s=()))
    table = page[page.index('id="config"'):]
    for section, values in cfg.to_dict().items():
        for key in values:
            assert f"<code>{section}.<wbr>{key}</code>" in table, f"{section}.{key}"
    row = table[table.index("<code>rules.<wbr>imi_min_s</code>"):]
    assert re.match(r"<code>rules.<wbr>imi_min_s</code></td><td class=\"num\">5</td>", row)
    assert "AASM 2012" in page and "5\N{EN DASH}90 s" in page


def test_limits_section_mentions_what_is_not_seen(page: str) -> None:
    limits = page[page.index('id="limits"'):page.index('id="quality"')]
    for phrase in ("EEG", "approximated by rest", "no respiratory-event file", "isometric",
                   "toes", "look the same as periodic"):
        assert phrase in limits, phrase


def test_limits_section_reports_respiratory_exclusion(text_only: None) -> None:
    page = render_report(make_night(hours=0.5, gaps_s=(), metrics_extra={
        "n_plm_without_resp": 3, "plm_index_without_resp": 6.5}))
    limits = page[page.index('id="limits"'):page.index('id="quality"')]
    assert "respiratory-event file was given: 3" in limits and "6.5/h" in limits
    assert "6.5" in _tile(page, "plm_index_without_resp")


def test_data_quality_lists_rate_gaps_and_dropped_rows(page: str) -> None:
    q = page[page.index('id="quality"'):page.index('id="config"')]
    assert "50 Hz" in q and "49.98 Hz" in q
    assert "7 empty or non-numeric, 5 duplicated timestamps" in q
    assert "<th scope=row>Rows read</th><td>360,012</td>" in q
    # one 600-s gap in a 7200-s night: 8.3 %
    assert "1 gap, 10 min in total (8.3% of the night), longest 10 min" in q
    assert "<th scope=row>Clipped samples</th><td>none</td>" in q


def test_strings_from_data_are_escaped(text_only: None) -> None:
    evil = '<script>alert("x")</script>'
    cat = {"id": "x", "title": f"T{evil}", "explanation": f"E{evil}",
           "advice": {"immediate_relief": f"A{evil}"}, "reasons": [f"R{evil}"],
           "disclaimer": f"D{evil}"}
    night = make_night(hours=0.5, gaps_s=(), source=f"/tmp/{evil}.csv", leg=f"L{evil}",
                       category=cat, info={f"note{evil}": f"v{evil}", "units": evil})
    page = render_report(night)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    for prefix in ("T", "E", "A", "R", "D", "L", "note", "v"):
        assert f"{prefix}&lt;script&gt;" in page, prefix


def test_write_report_is_private_and_replaces_loose_permissions(text_only: None, night: NightResult,
                                                                 tmp_path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old")
    path.chmod(0o644)
    out = write_report(night, path)
    assert out == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and night.category["title"] in text


# --- the figures ------------------------------------------------------------------------------

def _hatched_spans(fig: Figure) -> list[tuple[float, float]]:
    """x extents (hours) of the hatched gap collections in the night plot."""
    out = []
    for coll in fig.axes[0].collections:
        if isinstance(coll, PolyCollection) and coll.get_hatch():
            for path in coll.get_paths():
                xs = path.vertices[:, 0]
                out.append((round(float(xs.min()), 6), round(float(xs.max()), 6)))
    return sorted(out)


def test_night_plot_marks_gaps_events_and_series() -> None:
    # gaps at the very start, in the middle and at the very end of the night
    night = make_night(gaps_s=((0.0, 120.0), (3000.0, 3600.0), (7080.0, 7200.0)))
    fig = plot_night(night)
    assert _hatched_spans(fig) == [(0.0, round(120 / 3600, 6)), (round(3000 / 3600, 6),
                                   round(3600 / 3600, 6)), (round(7080 / 3600, 6), 2.0)]
    ax = fig.axes[0]
    scatters = [c for c in ax.collections if c.get_offsets().shape[0] and not isinstance(
        c, PolyCollection)]
    assert sorted(len(c.get_offsets()) for c in scatters) == [2, 7, 14]
    series = [c for c in ax.collections if isinstance(c, PolyCollection) and not c.get_hatch()]
    assert len(series) == 1 and len(series[0].get_paths()) == 2
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "PLM series: 2" in legend and "gap (no data): 14.0 min" in legend
    fig.savefig(io.BytesIO(), format="png")


def test_night_plot_reduces_an_8_hour_night_and_keeps_its_peak() -> None:
    fs = 100.0
    n = int(8 * 3600 * fs)
    acc = np.zeros((n, 3), np.float32)
    acc[:, 2] = 1.0
    rec = Recording.from_array(acc, fs, t0_unix_s=T0_UNIX_S)
    env = np.full(n, 0.002, np.float32)
    env[int(12345.67 * fs)] = 0.9  # one sample, 900 mg
    base = make_night(hours=0.5, gaps_s=())
    night = NightResult(base.events.iloc[:0], base.series.iloc[:0], base.metrics, base.category,
                        base.config, rec, env, np.full(n, 0.03, np.float32), base.imi_hist,
                        base.ln_imi_hist, base.hourly)
    fig = plot_night(night)
    lines = fig.axes[0].get_lines()
    assert all(len(line.get_xdata()) <= 4000 for line in lines)
    assert max(np.nanmax(line.get_ydata()) for line in lines) == pytest.approx(900.0, rel=1e-6)


def test_plots_work_without_events() -> None:
    night = make_night(hours=0.5, with_events=False, gaps_s=((100.0, 200.0),))
    fig = plot_examples(night, "lm")
    assert [t.get_text() for t in fig.axes[0].texts] == [
        "no leg movement (0.5-10 s) events this night"]
    fig.savefig(io.BytesIO(), format="png")
    page = render_report(night)  # draws the night, hourly and interval plots
    assert page.count("<img ") == 3  # night, hourly, intervals; no example figures
    for label in ("leg movement (0.5-10 s)", "twitch (< 0.5 s)", "sustained movement (> 10 s)"):
        assert f"No {html.escape(label)} events this night." in page


def test_hourly_plot_stacks_kinds_and_labels_gap_hours(night: NightResult) -> None:
    fig = plot_hourly(night)
    ax = fig.axes[0]
    heights = {c.get_label(): [p.get_height() for p in c] for c in ax.containers}
    # hour 0: SERIES_1 (6 PLM) + 2000 s, 2300 s LMs, twitches at 1000, 1500, 2500, 3500 s
    # hour 1: SERIES_2 (5 PLM) + 5000 s LM, twitches at 4500, 6000, 6500 s, sustained x2
    assert heights["twitch"] == [4, 3]
    assert heights["leg movement, not in a PLM series"] == [2, 1]
    assert heights["periodic limb movement (PLM)"] == [6, 5]
    assert heights["sustained movement"] == [0, 2]
    # the 600-s gap (3000-3600 s) is 1/6 of hour 0
    assert [t.get_text() for t in ax.texts] == ["17% gap"]
    top = [t.get_text() for t in ax.get_xticklabels()]
    assert top == ["0\n22:00", "1\n23:00"]


def _spans(ax) -> list[tuple[float, float]]:
    """x extents of the shaded spans (axvspan rectangles) of an axes."""
    return [(p.get_x(), p.get_x() + p.get_width()) for p in ax.patches
            if isinstance(p, Rectangle)]


def test_imi_histograms_shade_the_rule_range(night: NightResult) -> None:
    fig = plot_imi_histograms(night)
    ax1, ax2 = fig.axes[:2]
    assert _spans(ax1) == [(10.0, 90.0)]
    (lo, hi), = _spans(ax2)
    assert (lo, hi) == (pytest.approx(np.log(10.0)), pytest.approx(np.log(90.0)))
    # the histogram drawn is the one in the result: its step heights are the counts
    steps = [p for p in ax1.patches if isinstance(p, StepPatch)]
    assert len(steps) == 1
    assert list(steps[0].get_data().values) == list(night.imi_hist["count"])
    aasm = make_night(hours=0.5, gaps_s=(), config=Config(rules=RULES["aasm2012"]))
    assert _spans(plot_imi_histograms(aasm).axes[0]) == [(5.0, 90.0)]


def test_examples_show_the_chosen_events(night: NightResult) -> None:
    fig = plot_examples(night, "lm", n=4)
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert len(titles) == 4 and len(fig.axes) == 4
    # 14 LMs spread evenly: indices 0, 4, 9, 13 -> onsets 600, 700, 4030, 5000 s
    assert titles[0].startswith("22:10:00 \N{MIDDLE DOT} 2.00 s")
    assert titles[1].startswith("22:11:40")
    assert titles[2].startswith("23:07:10")
    assert titles[3].startswith("23:23:20 \N{MIDDLE DOT} 3.00 s")
    assert "peak 80 mg" in titles[0] and "rotation 15.0\N{DEGREE SIGN}" in titles[0]
    assert titles[0].endswith("\N{MIDDLE DOT} PLM") and "PLM" not in titles[3]
    # the axes panel is the raw signal minus its median, in mg: a 15-degree swing of 1 g
    # moves x by about sin(15 deg) = 259 mg
    x_mg = fig.axes[0].get_lines()[0].get_ydata()
    assert 230 < np.nanmax(np.abs(x_mg)) < 300
    # only 2 sustained movements exist: 2 panels drawn, the rest of the 1 x 2 grid is empty
    assert len([t for t in (ax.get_title(loc="left") for ax in
                            plot_examples(night, "sustained", n=4).axes) if t]) == 2
    with pytest.raises(ValueError, match="kind must be one of"):
        plot_examples(night, "jump")


def test_relative_timestamps_have_no_clock_axis(monkeypatch: pytest.MonkeyPatch) -> None:
    night = make_night(hours=0.5, gaps_s=(), t0_unix_s=0.0)
    fig = plot_night(night)
    assert not fig.axes[0].child_axes
    assert [t.get_text() for t in plot_hourly(night).axes[0].get_xticklabels()] == ["0"]
    assert "from start" in plot_examples(night, "lm", n=1).axes[0].get_title(loc="left")
    _text_only(monkeypatch)
    page = render_report(night)
    header = page[page.index("<header>"):page.index("</header>")]
    assert "relative timestamps" in header and "UTC" not in header
