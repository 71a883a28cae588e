"""The night report: one self-contained HTML page (inline CSS, figures as base64 PNG).

The page opens with what a person wants to know (which category of the plain-language article the
night fits, why, and what to do), then shows the night as pictures, and ends with what a
researcher needs to judge it: what an accelerometer cannot see, data quality and every threshold.
Nothing on the page is loaded from elsewhere (no external CSS, JavaScript, fonts or URLs), and every
string that comes from the data or a file name is HTML-escaped.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from .category import ADVICE
from .fileio import write_private
from .plots import (AXIS_COLOURS, KIND_COLOURS, PLM_COLOUR, event_title, example_events,
                    kind_labels, plot_event, plot_hourly, plot_imi_histograms, plot_night,
                    display_zone, recording_clock, rule_name)
from .localtime import has_clock, zone_label
from .results import NightResult

__all__ = ["render_report", "write_report", "figure_data_uri",
           # the page kit, shared with the trends page
           "escape", "number_text", "PAGE_CSS", "tile_html", "figure_section", "version_text"]

#: Resolution of the embedded figures, in dots per inch (figures are 10 in wide -> 1000 px).
FIGURE_DPI = 100
#: Example events shown per kind (sustained movements, turning over or getting up, vary less).
EXAMPLES_PER_KIND = {"lm": 4, "twitch": 4, "sustained": 2}
#: The article's solution table, in its order.
_ADVICE_KEYS = ("immediate_relief", "long_term_management", "when_to_see_a_doctor")
_RULE_SOURCES = {"wasm2016": "Ferri et al., Sleep Med 2016;26:86-95",
                 "aasm2012": "AASM Manual for the Scoring of Sleep v2.0 (2012)",
                 "custom": "custom settings (see Configuration)"}
_FALLBACK_DISCLAIMER = ("This is not a diagnosis. Only a doctor can diagnose periodic limb "
                        "movement disorder or restless legs syndrome.")


def escape(value: Any) -> str:
    """HTML-escape any value (quotes included)."""
    return html.escape(str(value), quote=True)


def _is_missing(x: Any) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return bool(isinstance(x, float) and math.isnan(x))
    except TypeError:
        return False


def number_text(x: Any, digits: int = 1) -> str:
    """Format a number with ``digits`` decimals; None/NaN become ``n/a``."""
    if _is_missing(x):
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "n/a"
    return f"{v:.{digits}f}"


def _count(x: Any) -> str:
    """Format a count (an integer, thousands separated by commas) or ``n/a``."""
    return "n/a" if _is_missing(x) else f"{int(x):,}"


def _value(x: Any) -> str:
    """Format any metric or setting compactly (floats to at most 3 decimals)."""
    if _is_missing(x):
        return "n/a"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.3f}".rstrip("0").rstrip(".") if abs(x) >= 1e-3 or x == 0 else f"{x:.3g}"
    if isinstance(x, Mapping):
        return ", ".join(f"{k}: {_value(v)}" for k, v in x.items()) or "none"
    if isinstance(x, (list, tuple)):
        return ", ".join(_value(v) for v in x) or "none"
    try:
        return _value(float(x)) if not isinstance(x, str) else x
    except (TypeError, ValueError):
        return str(x)


def _clock_time(rec: Any, offset_s: float, zone: Any) -> str:
    """``23:41`` (in ``zone``) ``offset_s`` into the recording, ``+1:05`` (hours since the
    start) when its timestamps were relative."""
    if not has_clock(rec):
        h, m = divmod(int(offset_s // 60), 60)
        return f"+{h}:{m:02d}"
    return datetime.fromtimestamp(rec.t0_unix_s + offset_s, tz=timezone.utc).astimezone(
        zone).strftime("%H:%M")


def _duration(seconds: Any) -> str:
    """``7 h 42 min``, ``12 min 5 s`` or ``40 s``."""
    if _is_missing(seconds):
        return "n/a"
    s = max(float(seconds), 0.0)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        m, r = divmod(int(round(s)), 60)
        return f"{m} min {r} s" if r else f"{m} min"
    h, r = divmod(int(round(s / 60.0)), 60)
    return f"{h} h {r:02d} min"


def figure_data_uri(fig: Figure, dpi: int = FIGURE_DPI) -> str:
    """Render a figure to a ``data:image/png;base64,...`` URI.

    Parameters
    ----------
    fig : Figure
    dpi : int
        Dots per inch of the PNG.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig: Figure, alt: str) -> str:
    return (f'<img src="{figure_data_uri(fig)}" alt="{escape(alt)}" '
            f'width="{int(fig.get_figwidth() * FIGURE_DPI)}" '
            f'height="{int(fig.get_figheight() * FIGURE_DPI)}">')


PAGE_CSS = """
:root { --ink:#1f2328; --muted:#57606a; --line:#d8dee4; --card:#f6f8fa; --accent:#0072B2;
        --warn:#8a4b00; --warnbg:#fff4e0; --ok:#00704f; color-scheme: light; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.5;
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
h1 { font-size: 1.7rem; line-height: 1.2; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .3rem;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1.15rem; margin: 0 0 .4rem; }
p { margin: .4rem 0 .8rem; }
.sub { color: var(--muted); margin: 0 0 1rem; overflow-wrap: anywhere; }
.meta { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr));
        gap: .4rem 1rem; margin: .8rem 0 1rem; padding: 0; }
.meta div { border-left: 3px solid var(--line); padding-left: .6rem; }
.meta dt { font-size: .8rem; color: var(--muted); text-transform: uppercase;
           letter-spacing: .03em; }
.meta dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.notdx { background: var(--warnbg); border: 2px solid #e0a040; border-radius: .6rem;
         padding: .8rem 1rem; margin: 1rem 0 1.4rem; }
.notdx strong { color: var(--warn); font-size: 1.1rem; display: block; margin-bottom: .2rem; }
.warnings { background: #fdecea; border: 2px solid #c0392b; border-radius: .6rem;
            padding: .8rem 1rem; margin: 1rem 0; }
.warnings strong { color: #a93226; font-size: 1.1rem; display: block; }
.warnings ul { margin: .3rem 0 0; padding-left: 1.2rem; }
.card { border: 1px solid var(--line); border-radius: .8rem; padding: 1.1rem 1.2rem;
        background: var(--card); }
.card .kicker { font-size: .8rem; color: var(--muted); text-transform: uppercase;
                letter-spacing: .04em; margin: 0; }
.card h3 { font-size: 1.45rem; color: var(--accent); margin: .1rem 0 .5rem; }
.reasons { margin: .2rem 0 1rem 1.1rem; padding: 0; }
.reasons li { margin: .15rem 0; }
.advice { display: grid; gap: .6rem; }
.advice .row { background: #fff; border: 1px solid var(--line); border-radius: .6rem;
               padding: .6rem .8rem; }
.advice .row.fits { border: 2px solid var(--accent); }
.advice .label { font-weight: 700; }
.advice .fitnote { font-size: .8rem; color: #fff; background: var(--accent); border-radius: 1rem;
                   padding: .05rem .5rem; margin-left: .4rem; white-space: nowrap; }
.advice .examples { font-size: .85rem; color: var(--muted); margin: .1rem 0 .2rem; }
.advice p { margin: .2rem 0 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(10.5rem, 1fr));
         gap: .6rem; }
.tile { border: 1px solid var(--line); border-radius: .6rem; padding: .6rem .75rem; }
.tile .name { font-size: .82rem; color: var(--muted); }
.tile .value { font-size: 1.65rem; font-weight: 700; line-height: 1.2; font-variant-numeric:
               tabular-nums; }
.tile .value.long { font-size: 1.3rem; }
.tile .unit { font-size: .85rem; font-weight: 400; color: var(--muted); }
.tile .note { font-size: .8rem; color: var(--muted); }
.tile.high { border-color: #e0a040; background: var(--warnbg); }
.bar { height: .45rem; background: #e6e9ed; border-radius: .3rem; margin-top: .35rem;
       overflow: hidden; }
.bar span { display: block; height: 100%; background: var(--ok); }
.explain { font-size: .92rem; color: var(--muted); }
figure { margin: .6rem 0 1.2rem; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line);
             border-radius: .4rem; }
.wide { overflow-x: auto; -webkit-overflow-scrolling: touch; }
.swipe { display: none; }
figcaption { font-size: .9rem; color: var(--muted); margin-top: .35rem; }
h3.kind { margin-top: 1.4rem; }
h3.kind i, .key i { display: inline-block; width: .8rem; height: .8rem; border-radius: .2rem;
                    margin-right: .4rem; vertical-align: -.05rem; }
.key { display: flex; flex-wrap: wrap; gap: .3rem 1rem; font-size: .9rem; color: var(--muted); }
.key i { height: .25rem; width: 1.2rem; vertical-align: .2rem; }
.key i.env { background: #c2c2c2; height: .7rem; vertical-align: -.05rem; }
.key i.line { background: #666; height: 2px; border-radius: 0; }
.key i.thr { border-top: 2px dashed #000; height: 0; border-radius: 0; }
.key i.band { height: .7rem; width: .9rem; vertical-align: -.05rem; opacity: .45; }
.key i.gap { height: .7rem; width: .9rem; vertical-align: -.05rem; border: 1px solid #888;
             background: repeating-linear-gradient(45deg, #bbb 0 2px, #eee 2px 5px); }
.key .mk { margin-right: .35rem; font-size: .95rem; }
.ex-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(20rem, 1fr));
           gap: 0 .8rem; }
.ex-grid figure { margin: .3rem 0 .7rem; }
.ex-grid figcaption { margin: 0 0 .2rem; color: var(--ink); font-variant-numeric: tabular-nums; }
ul.limits li { margin: .3rem 0; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem;
         border-bottom: 1px solid var(--line); }
th { background: var(--card); font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td code, th code { font-size: .85rem; overflow-wrap: break-word; }
.warnlist { color: var(--warn); }
details { border: 1px solid var(--line); border-radius: .6rem; padding: .5rem .8rem;
          margin: .6rem 0; }
summary { cursor: pointer; font-weight: 600; }
details[open] summary { margin-bottom: .5rem; }
footer { margin-top: 2.5rem; font-size: .85rem; color: var(--muted); }
@media (max-width: 40rem) {
  .wide img { width: 40rem; max-width: none; }
  .swipe { display: inline; }
}
@media (max-width: 32rem) {
  body { font-size: 15px; }
  main { padding: .9rem .7rem 2rem; }
  h1 { font-size: 1.4rem; }
  .card { padding: .9rem .8rem; }
  .tile .value { font-size: 1.4rem; }
  .tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); }
}
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .card, .notdx, .tile.high { background: none; }
  h2 { break-after: avoid; }
  figure, .tile, .card, .advice .row, tr { break-inside: avoid; }
  details { border: none; padding: 0; }
  details::details-content { content-visibility: visible; display: block; }
  summary { list-style: none; }
  .key i, .key .mk, h3.kind i, .bar span, .advice .fitnote {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _header(result: NightResult, start: datetime | None) -> str:
    rec = result.recording
    rules = result.config.rules
    name = Path(str(rec.source)).name or str(rec.source)
    zone = display_zone(result)
    if start is not None:
        end = (start.astimezone(timezone.utc) + timedelta(seconds=rec.duration_s)).astimezone(
            zone)
        date = start.strftime("%a %d %b %Y")
        clock = f"{start:%H:%M} \N{EN DASH} {end:%H:%M} {zone_label(zone)}"
    else:
        date = "unknown"
        clock = "relative timestamps (no clock time)"
    win = result.metrics.get("rest_window") or {}
    rest = "the whole recording"
    if win and win.get("source") != "whole recording":
        a, b = float(win.get("start_s", 0.0)), float(win.get("end_s", rec.duration_s))
        when = (f"{_clock_time(rec, a, zone)}\N{EN DASH}{_clock_time(rec, b, zone)}"
                + (f" {zone_label(zone)}" if has_clock(rec) else ""))
        rest = f"{when} ({'given' if win.get('source') == 'given' else 'estimated'})"
    items = [
        ("File", name),
        ("Date", date),
        ("Clock", clock),
        ("Duration", _duration(rec.duration_s)),
        ("Rest window", rest),
        ("Leg", result.legs),
        ("Rules", f"{rule_name(rules.standard)} (intervals {rules.imi_min_s:g}\N{EN DASH}"
                  f"{rules.imi_max_s:g} s, series of \N{GREATER-THAN OR EQUAL TO} "
                  f"{rules.min_series})"),
    ]
    meta = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in items)
    full = "" if name == str(rec.source) else f'<p class="sub">{escape(rec.source)}</p>'
    return (f'<header><h1>Night report: leg movements</h1>{full}'
            f'<dl class="meta">{meta}</dl></header>')


def _disclaimer(result: NightResult) -> str:
    text = result.category.get("disclaimer") or _FALLBACK_DISCLAIMER
    return (f'<section class="notdx" id="not-a-diagnosis" role="note"><strong>Not a diagnosis'
            f'</strong>{escape(text)}</section>')


def _warnings(result: NightResult) -> str:
    """What limits this night's numbers, at the top of the page (empty when nothing does)."""
    items = result.info.get("warnings") or []
    if not items:
        return ""
    li = "".join(f"<li>{escape(w)}</li>" for w in items)
    return (f'<section class="warnings" id="warnings" role="alert"><strong>Read this first'
            f'</strong><ul>{li}</ul></section>')


def _advice_rows(category: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """``(key, text, fits)`` for each row of the article's solution table that has text.

    Accepts ``advice`` as ``{row key: text}`` for the three rows, or as one row
    (``{"key", "text", ...}``) with the other rows' texts in ``advice_rows``.
    """
    advice = category.get("advice")
    texts: dict[str, str] = {}
    fits = None
    if isinstance(advice, Mapping):
        if any(k in advice for k in _ADVICE_KEYS):
            for k in _ADVICE_KEYS:
                v = advice.get(k)
                if isinstance(v, Mapping):
                    v = v.get("text")
                if v:
                    texts[k] = str(v)
        elif advice.get("key") in _ADVICE_KEYS:
            fits = str(advice["key"])
            if advice.get("text"):
                texts[fits] = str(advice["text"])
    elif isinstance(advice, str) and advice:
        texts["immediate_relief"] = advice
    others = category.get("advice_rows")
    if isinstance(others, Mapping):
        for k in _ADVICE_KEYS:
            v = others.get(k)
            if isinstance(v, Mapping):
                v = v.get("text")
            if v and k not in texts:
                texts[k] = str(v)
    return [(k, texts[k], k == fits) for k in _ADVICE_KEYS if k in texts]


def _category_card(result: NightResult) -> str:
    cat = result.category
    reasons = cat.get("reasons") or []
    rows = []
    for key, text, fits in _advice_rows(cat):
        art = ADVICE.get(key, {})
        note = '<span class="fitnote">fits this night</span>' if fits else ""
        examples = (f'<div class="examples">{escape(art["examples"])} \N{EM DASH} goal: '
                    f'{escape(art.get("goal", ""))}</div>') if art.get("examples") else ""
        rows.append(f'<div class="row{" fits" if fits else ""}" data-advice="{escape(key)}">'
                    f'<span class="label">{escape(art.get("row", key))}</span>{note}{examples}'
                    f'<p>{escape(text)}</p></div>')
    reason_html = "".join(f"<li>{escape(r)}</li>" for r in reasons)
    return (
        '<section id="category"><h2>What this night looks like</h2><div class="card">'
        f'<p class="kicker">{"No verdict" if cat.get("id") == "insufficient_data" else "Closest category"}</p>'
        f'<h3>{escape(cat.get("title", "n/a"))}</h3><p>{escape(cat.get("explanation", ""))}</p>'
        + (f'<p><strong>Measured numbers behind this choice</strong></p>'
           f'<ul class="reasons">{reason_html}</ul>' if reasons else "")
        + ('<p><strong>What the article suggests</strong></p>'
           f'<div class="advice">{"".join(rows)}</div>' if rows else "")
        + "</div></section>")


def tile_html(key: str, name: str, value: str, unit: str = "", note: str = "",
              high: bool = False, bar: float | None = None) -> str:
    """One key-number tile of a page (HTML): name, value with unit, a note, an optional bar."""
    bar_html = "" if bar is None else (
        f'<div class="bar" aria-hidden="true"><span style="width:{max(min(bar, 1.0), 0.0):.1%}">'
        "</span></div>")
    return (f'<div class="tile{" high" if high else ""}" data-metric="{escape(key)}">'
            f'<div class="name">{escape(name)}</div>'
            f'<div class="value{" long" if len(value) > 6 else ""}">{escape(value)}'
            + (f' <span class="unit">{escape(unit)}</span>' if unit else "") + "</div>"
            + (f'<div class="note">{escape(note)}</div>' if note else "") + f"{bar_html}</div>")


def _tiles(result: NightResult) -> str:
    m = result.metrics
    limit = result.config.category.plm_index_per_h
    lo = result.config.classify.twitch_max_s
    hi = result.config.classify.lm_max_s
    plmi = m.get("plm_index")
    high = not _is_missing(plmi) and float(plmi) > limit
    rec_h, rest_h = m.get("recording_h"), m.get("rest_h")
    share = None if _is_missing(rec_h) or _is_missing(rest_h) or not rec_h else rest_h / rec_h
    gap_s = m.get("gap_s", result.recording.gap_s)
    tiles = [
        tile_html("plm_index", "PLM index", number_text(plmi), "/h",
              f"{'above' if high else 'not above'} {limit:g}/h (ICSD-3 adult threshold: 15/h)",
              high),
        tile_html("lm_index", "Leg movement index", number_text(m.get("lm_index")), "/h",
              f"movements of {lo:g}\N{EN DASH}{hi:g} s"),
        tile_html("twitch_index", "Twitch index", number_text(m.get("twitch_index")), "/h",
              (f"approximate at {result.recording.fs_hz:g} Hz ("
               f"{result.config.category.precise_twitch_fs_hz:g} Hz or more counts them "
               "reliably)") if m.get("twitch_index_approximate") else
              f"jerks shorter than {lo:g} s, or longer without tilting the leg"
              if m.get("twitch_index_reliable", True) else
              f"unreliable at {result.recording.fs_hz:g} Hz (at least "
              f"{result.config.category.min_twitch_fs_hz:g} Hz is needed)"),
        tile_html("periodicity_index", "Periodicity index", number_text(m.get("periodicity_index"), 2), "",
              "0 = irregular, 1 = fully periodic"),
        tile_html("n_plm", "Periodic limb movements", _count(m.get("n_plm")), "",
              f"in {_count(m.get('n_series'))} series"),
        tile_html("n_lm", "Leg movements", _count(m.get("n_lm")), "", f"{lo:g}\N{EN DASH}{hi:g} s"),
        tile_html("n_twitch", "Twitches", _count(m.get("n_twitch")), "", f"shorter than {lo:g} s"),
        tile_html("n_sustained", "Sustained movements", _count(m.get("n_sustained")), "",
              f"over {hi:g} s: turning over, getting up"),
        tile_html("rest_h", "Rest time", _duration(None if _is_missing(rest_h) else rest_h * 3600),
              "", f"of {_duration(None if _is_missing(rec_h) else rec_h * 3600)} recorded",
              bar=share),
        tile_html("gap_s", "Gap time", _duration(gap_s), "", "no data (lost signal)"),
        tile_html("median_imi_s", "Median interval", number_text(m.get("median_imi_s")), "s",
              "between leg movement onsets"),
    ]
    if "plm_index_without_resp" in m:
        tiles.insert(1, tile_html("plm_index_without_resp", "PLM index without respiratory",
                              number_text(m.get("plm_index_without_resp")), "/h",
                              "respiratory-related movements excluded"))
    return ('<section id="numbers"><h2>Key numbers</h2>'
            f'<div class="tiles">{"".join(tiles)}</div>'
            '<p class="explain">Indices are events per hour of <strong>rest time</strong>: the '
            'rest window (lights off to lights on) minus gaps (no data), minus time with the '
            'sensor off the leg, minus sustained movements (turning over, getting up). Without '
            'brain-wave (EEG) recording, rest stands in for sleep.</p>'
            f'{_all_metrics(m)}</section>')


def _all_metrics(metrics: Mapping[str, Any]) -> str:
    rows = "".join(f'<tr><td><code>{escape(k)}</code></td><td class="num">{escape(_value(v))}</td></tr>'
                   for k, v in metrics.items())
    return ('<details id="all-numbers"><summary>All measured numbers</summary>'
            f'<div class="scroll"><table><tr><th>Metric</th><th>Value</th></tr>{rows}</table>'
            '</div></details>')


def figure_section(section_id: str, title: str, fig: Figure, alt: str, caption: str,
                   key: str = "") -> str:
    """A section with one wide figure, its colour key (HTML) and caption (HTML, escaped)."""
    return (f'<section id="{section_id}"><h2>{escape(title)}</h2>{key}<figure><div class="wide">'
            f'{_img(fig, alt)}</div><figcaption><span class="swipe">Swipe sideways to see all '
            f'of it. </span>{caption}</figcaption></figure></section>')


def _key(items: list[tuple[str, str]]) -> str:
    """A colour key: ``(swatch html, label)`` pairs; labels are escaped here."""
    return ('<p class="key">' + "".join(f"<span>{sw}{escape(label)}</span>" for sw, label in items)
            + "</p>")


def _marker(symbol: str, colour: str) -> str:
    return f'<b class="mk" style="color:{colour}">{symbol}</b>'


def _night_key(result: NightResult) -> str:
    kinds = result.events["kind"].astype(str) if "kind" in result.events else pd.Series([], str)
    n_series = 0 if result.series is None else len(result.series)
    items = [('<i class="line"></i>', "movement envelope (max per second)"),
             ('<i class="thr"></i>', "on threshold")]
    labels = kind_labels(result.config.classify)
    for kind, symbol in (("twitch", "\N{BLACK DOWN-POINTING TRIANGLE}"),
                         ("lm", "\N{BLACK CIRCLE}"), ("sustained", "\N{BLACK SQUARE}")):
        items.append((_marker(symbol, KIND_COLOURS[kind]),
                      f"{labels[kind]}: {int((kinds == kind).sum())}"))
    items.append((f'<i class="band" style="background:{PLM_COLOUR}"></i>',
                  f"PLM series: {n_series}"))
    items.append(('<i class="gap"></i>', f"gap (no data): {_duration(result.recording.gap_s)}"))
    nonwear = float(result.metrics.get("nonwear_s") or 0.0)
    if result.metrics.get("nonwear_periods"):
        items.append(('<i class="band" style="background:#E69F00"></i>',
                      f"sensor off the leg: {_duration(nonwear)}"))
    win = result.metrics.get("rest_window") or {}
    if win and win.get("source") != "whole recording":
        items.append(('<i class="thr" style="border-color:#0072B2"></i>',
                      f"rest window ({win.get('source')})"))
    return _key(items)


def _hourly_key() -> str:
    return _key([(f'<i class="band" style="background:{c};opacity:1"></i>', label) for label, c in (
        ("twitch", KIND_COLOURS["twitch"]), ("leg movement, not in a PLM series",
                                             KIND_COLOURS["lm"]),
        ("periodic limb movement (PLM)", PLM_COLOUR), ("sustained movement",
                                                       KIND_COLOURS["sustained"]))])


def _examples(result: NightResult) -> str:
    ev = result.events
    kinds = ev["kind"].astype(str) if "kind" in ev else pd.Series([], dtype=str)
    swatches = "".join(
        f'<span><i style="background:{c}"></i>{a}</span>' for a, c in zip("xyz", AXIS_COLOURS))
    key = (f'<p class="key">{swatches}<span><i class="env"></i>envelope</span>'
           '<span><i class="thr"></i>on threshold</span>'
           '<span>shaded: the event</span></p>')
    parts = ['<section id="examples"><h2>Example movements</h2>'
             '<p class="explain">A few events of each kind, spread over the night, each from '
             '5 s before it starts to 5 s after it ends: seconds from the event onset across, '
             'mg up (1 mg = 1/1000 of gravity). Coloured lines: the three '
             'sensor axes, each minus its median over that window. Grey area: the movement '
             'envelope; dashed: the threshold it must cross. Above each: clock time, duration, '
             'peak envelope and how far the leg turned.</p>',
             key]
    labels = kind_labels(result.config.classify)
    for kind in ("lm", "twitch", "sustained"):
        n = int((kinds == kind).sum())
        label = labels[kind]
        parts.append(f'<h3 class="kind"><i style="background:{KIND_COLOURS[kind]}"></i>'
                     f'{escape(label[0].upper() + label[1:])}: {n}</h3>')
        if n == 0:
            parts.append(f"<p>No {escape(label)} events this night.</p>")
            continue
        imgs = []
        for _, row in example_events(result, kind, EXAMPLES_PER_KIND[kind]).iterrows():
            title = event_title(row, result.recording)
            fig = plot_event(result, row, annotate=False)
            imgs.append(f"<figure><figcaption>{escape(title)}</figcaption>"
                        f"{_img(fig, f'Example {label}: {title}')}</figure>")
        parts.append(f'<div class="ex-grid">{"".join(imgs)}</div>')
    parts.append("</section>")
    return "".join(parts)


def _limits(result: NightResult) -> str:
    m = result.metrics
    if "n_plm_without_resp" in m:
        resp = (f"A respiratory-event file was given: {_count(m.get('n_plm_without_resp'))} "
                f"periodic movements remain after excluding those near the end of a breathing "
                f"event (PLM index {number_text(m.get('plm_index_without_resp'))}/h).")
    else:
        resp = ("Breathing: no respiratory-event file was given, so leg movements caused by "
                "breathing pauses (apnoeas) cannot be told apart. They look the same as periodic "
                "limb movements, so the PLM index may be too high if you snore or stop breathing "
                "at night.")
    items = [
        "Sleep: there is no brain-wave (EEG) recording, so the sensor cannot tell sleep from "
        "quiet wakefulness. Sleep is approximated by rest, and the indices are per hour of rest, "
        "not per hour of sleep.",
        resp,
        "Some movements: tensing a muscle without moving the leg (isometric contraction) and "
        "movements of the toes only barely move a sensor on the shin or ankle and can be missed.",
        "The other leg: only the leg wearing the sensor is measured unless a second recording "
        "was given.",
        "Symptoms: the urge to move, discomfort and daytime sleepiness are what matter for a "
        "diagnosis, and only you can report them.",
    ]
    li = "".join(f"<li>{escape(t)}</li>" for t in items)
    return (f'<section id="limits"><h2>What an accelerometer cannot see</h2>'
            f'<ul class="limits">{li}</ul></section>')


#: Cleaning notes shown in their own rows of the data quality table.
_QUALITY_KEYS = {"fs_hz", "fs_inferred_hz", "fs_given", "n_rows_read", "n_rows_used",
                 "n_nan_rows", "n_duplicates", "n_out_of_order", "clipped_fraction",
                 "n_out_of_range_rows", "n_stray_times", "recorder",
                 "clip_range_g", "units", "units_detected", "gap_s", "file"}


def _packet_line(c: dict) -> str:
    """The recorder's packet counts in words."""
    parts = [f"{_count(c.get('records', c.get('packets', 0)))} received"]
    if c.get("bad_packets"):
        parts.append(f"{_count(c['bad_packets'])} bad and dropped, their samples left as gaps"
                     + (f" ({_count(c['implausible'])} decoded but implausible: a wrong "
                        "index, session, clock or scale)" if c.get("implausible") else ""))
    for key, what in (("duplicates", "duplicates dropped"), ("reordered", "put back in order"),
                      ("late", "too late (their place was already a gap)")):
        if c.get(key):
            parts.append(f"{_count(c[key])} {what}")
    if c.get("sessions", 0) > 1:
        parts.append(f"{_count(c['sessions'])} stream sessions")
    return "; ".join(parts)


def _quality(result: NightResult) -> str:
    rec = result.recording
    info = rec.info
    gaps = rec.gaps
    gap_s = rec.gap_s
    share = gap_s / rec.duration_s if rec.duration_s > 0 else 0.0
    fs = f"{rec.fs_hz:g} Hz"
    if info.get("fs_given"):
        fs += " (given)"
    elif not _is_missing(info.get("fs_inferred_hz")):
        fs += f" (measured from timestamps: {number_text(info['fs_inferred_hz'], 2)} Hz)"
    rows = [("Sampling rate", fs)]
    if "n_rows_read" in info:
        rows.append(("Rows read", _count(info["n_rows_read"])))
    if "n_rows_used" in info:
        rows.append(("Rows used", _count(info["n_rows_used"])))
    dropped = []
    for key, what in (("n_nan_rows", "empty or non-numeric"), ("n_duplicates",
                                                                "duplicated timestamps"),
                      ("n_out_of_range_rows", "beyond +-20 g (not a leg's movement)"),
                      ("n_stray_times", "with a stray timestamp")):
        if key in info and (info[key] or key in ("n_nan_rows", "n_duplicates")):
            dropped.append(f"{_count(info[key])} {what}")
    if dropped:
        rows.append(("Rows dropped", ", ".join(dropped)))
    if "n_out_of_order" in info:
        rows.append(("Rows out of time order (sorted)", _count(info["n_out_of_order"])))
    packets = info.get("recorder")
    if isinstance(packets, dict) and packets:
        rows.append(("Packets (recorded over Bluetooth)", _packet_line(packets)))
    periods = result.metrics.get("nonwear_periods") or []
    if periods:
        zone = display_zone(result)
        spans = ", ".join(f"{_clock_time(rec, a, zone)}-{_clock_time(rec, b, zone)}"
                          for a, b in periods)
        rows.append(("Sensor off the leg (not worn)",
                     f"{_duration(float(result.metrics.get('nonwear_s') or 0.0))} in "
                     f"{len(periods)} period{'s' if len(periods) != 1 else ''} ({spans}"
                     f"{' ' + zone_label(zone) if has_clock(rec) else ''}): "
                     "still, without the pulse a worn leg shows; left out of the rest time"))
    else:
        rows.append(("Sensor off the leg (not worn)", "none found"))
    win = result.metrics.get("rest_window") or {}
    if win:
        outside = result.metrics.get("n_events_outside_window") or 0
        rows.append(("Rest window", f"{win.get('how', '')}"
                     + (f"; {outside} movements outside it are listed, not scored"
                        if outside else "")))
    longest = float(gaps["duration_s"].max()) if len(gaps) else 0.0
    rows.append(("Gaps (no data)", f"{len(gaps)} gap{'s' if len(gaps) != 1 else ''}, "
                 f"{_duration(gap_s)} in total ({share:.1%} of the night)"
                 + (f", longest {_duration(longest)}" if len(gaps) else "")))
    clip = info.get("clipped_fraction")
    if not _is_missing(clip):
        rng = info.get("clip_range_g")
        rows.append(("Clipped samples", "none" if float(clip) == 0 else (
            f"{float(clip):.3%}" + (f" (at the \N{PLUS-MINUS SIGN}{_value(rng)} g range)"
                                    if not _is_missing(rng) else ""))))
    if "units" in info:
        rows.append(("Units in the file", f"{info['units']}"
                     + (" (detected)" if info.get("units_detected") else " (given)")))
    if "n_rejected_vibration" in result.metrics:
        rows.append(("Bursts rejected as mattress vibration",
                     _count(result.metrics["n_rejected_vibration"])))
    warnings = []
    if share > 0.1:
        warnings.append(f"{share:.0%} of the night has no data; the numbers describe the rest.")
    if not _is_missing(clip) and float(clip) > 0.001:
        warnings.append("Some samples hit the sensor's range limit; peaks are underestimated.")
    other = {k: v for k, v in info.items() if k not in _QUALITY_KEYS}
    table = "".join(f"<tr><th scope=row>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    other_html = "" if not other else (
        '<details><summary>All cleaning notes</summary><div class="scroll"><table>'
        + "".join(f"<tr><td><code>{escape(k)}</code></td><td>{escape(_value(v))}</td></tr>"
                  for k, v in other.items())
        + "</table></div></details>")
    warn_html = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    return ('<section id="quality"><h2>Data quality</h2>'
            + (f'<ul class="warnlist">{warn_html}</ul>' if warnings else "")
            + f'<div class="scroll"><table>{table}</table></div>{other_html}</section>')


def _config_table(result: NightResult) -> str:
    cfg = result.config
    rows = []
    for section, values in cfg.to_dict().items():
        meta = {f.name: f.metadata for f in fields(getattr(cfg, section))}
        for key, value in values.items():
            md = meta.get(key, {})
            rows.append(f'<tr><td><code>{escape(section)}.<wbr>{escape(key)}</code></td>'
                        f'<td class="num">{escape(_value(value))}</td><td>{escape(md.get("doc", ""))}</td>'
                        f'<td>{escape(md.get("source", ""))}</td></tr>')
    return ('<section id="config"><h2>Configuration</h2><details><summary>Every threshold used '
            f'({len(rows)} settings)</summary><div class="scroll"><table><tr><th>Setting</th>'
            f'<th>Value</th><th>Meaning</th><th>Source</th></tr>{"".join(rows)}</table></div>'
            '</details></section>')


def version_text() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
        return version("legtwitch")
    except (ImportError, PackageNotFoundError):
        return ""


def render_report(result: NightResult) -> str:
    """Render a night as one self-contained HTML page.

    Parameters
    ----------
    result : NightResult

    Returns
    -------
    str
        The HTML document: header, "not a diagnosis" statement, category card with the
        article's advice, key numbers, the night at a glance, events per hour, interval
        histograms, example events, what an accelerometer cannot see, data quality and the full
        configuration. Figures are embedded as base64 PNG; no external resources.
    """
    rec = result.recording
    zone = display_zone(result)
    start = recording_clock(rec, zone)
    rules = result.config.rules
    clock_note = f"Clock times are {zone_label(zone)}." if start is not None else (
        "The file had relative timestamps, so times are from the start of the recording.")
    body = [
        _header(result, start),
        _warnings(result),
        _disclaimer(result),
        _category_card(result),
        _tiles(result),
        figure_section("night", "The night at a glance", plot_night(result, legend=False),
                "Movement envelope over the night with events marked by kind",
                "Grey line: how much the leg moved, second by second (log scale). Dashed: the "
                "level a movement must cross to count. Markers: detected events at their peak. "
                "Green bands: series of periodic limb movements. Hatched: gaps without data. "
                + escape(clock_note), _night_key(result)),
        figure_section("hourly", "Events per hour", plot_hourly(result, legend=False),
                "Stacked bar chart of events per hour by kind",
                "Each bar is one hour of the recording. Periodic limb movements (green) are the "
                "leg movements that belong to a series. Hours with more than 5% missing data "
                "say how much.", _hourly_key()),
        figure_section("intervals", "Intervals between leg movements", plot_imi_histograms(result),
                "Histograms of intervals between leg movement onsets",
                f"Time from one leg movement's start to the next. Periodic limb movements recur "
                f"every {rules.imi_min_s:g}\N{EN DASH}{rules.imi_max_s:g} s (shaded, "
                f"{escape(rule_name(rules.standard))}); on the log scale (right) they form their own "
                f"peak, apart from the short intervals of restless moving."),
        _examples(result),
        _limits(result),
        _quality(result),
        _config_table(result),
    ]
    version = version_text()
    footer = (f"<footer>legtwitch{' ' + escape(version) if version else ''} \N{MIDDLE DOT} "
              f"{escape(rule_name(rules.standard))} rules: {escape(_RULE_SOURCES.get(rules.standard, ''))}"
              " \N{MIDDLE DOT} not a diagnosis</footer>")
    title = f"Night report \N{EM DASH} {Path(str(rec.source)).name}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{PAGE_CSS}</style></head>"
            f"<body><main>{''.join(body)}{footer}</main></body></html>\n")


def write_report(result: NightResult, path: str | Path) -> Path:
    """Write the night report to ``path`` (mode 0600: it is health data).

    Parameters
    ----------
    result : NightResult
    path : str or Path
        The HTML file to write (created or replaced).

    Returns
    -------
    Path
        The file written.
    """
    return write_private(path, render_report(result))
