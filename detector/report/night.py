"""The night report: one self-contained HTML page (inline CSS, figures as base64 PNG).

The page opens with what a person wants to know (which category of the plain-language article the
night fits, why, and what to do), then shows the night as pictures, and ends with what a
researcher needs to judge it: what an accelerometer cannot see, data quality and every threshold.
Nothing on the page is loaded from elsewhere (no external CSS, JavaScript, fonts or URLs), and every
string that comes from the data or a file name is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from detector.fileio import write_private
from detector.io.localtime import has_clock, zone_label
from detector.report.event_plots import event_title, example_events
from detector.report.hourly_table import hourly_table
from detector.report.svg_event import example_svg
from detector.report.page import (PAGE_CSS, advice_row_html, colour_key, count_text, escape,
                                  figure_section, is_missing, marker_html, number_text, tile_html,
                                  value_text, version_text)
from detector.report.plots import (AXIS_COLOURS, KIND_COLOURS, PLM_COLOUR, display_zone,
                                   kind_labels, plot_hourly, plot_hypnogram, plot_imi_histograms,
                                   plot_night, recording_clock, rule_name)
from detector.score.category import ADVICE

__all__ = ["render_report", "write_report", "escape", "number_text", "PAGE_CSS", "tile_html",
           "figure_section", "version_text"]

#: Example events shown per kind (sustained movements, turning over or getting up, vary less).
EXAMPLES_PER_KIND = {"lm": 4, "twitch": 4, "sustained": 2}
#: The article's solution table, in its order.
_ADVICE_KEYS = ("immediate_relief", "long_term_management", "when_to_see_a_doctor")
_RULE_SOURCES = {"wasm2016": "Ferri et al., Sleep Med 2016;26:86-95",
                 "aasm2012": "AASM Manual for the Scoring of Sleep v2.0 (2012)",
                 "custom": "custom settings (see Configuration)"}
_FALLBACK_DISCLAIMER = ("This is not a diagnosis. Only a doctor can diagnose periodic limb "
                        "movement disorder or restless legs syndrome.")


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
    if is_missing(seconds):
        return "n/a"
    s = max(float(seconds), 0.0)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        m, r = divmod(int(round(s)), 60)
        return f"{m} min {r} s" if r else f"{m} min"
    h, r = divmod(int(round(s / 60.0)), 60)
    return f"{h} h {r:02d} min"


def _header(result: Any, start: datetime | None) -> str:
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


def _disclaimer(result: Any) -> str:
    text = result.category.get("disclaimer") or _FALLBACK_DISCLAIMER
    return (f'<section class="notdx" id="not-a-diagnosis" role="note"><strong>Not a diagnosis'
            f'</strong>{escape(text)}</section>')


def _warnings(result: Any) -> str:
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


#: What to do, in our words, for the category whose article row fits the night (the article's
#: own text follows as a quotation).
_WHAT_TO_DO = {
    "periodic_limb_movement_pattern": (
        "Record two or three more nights to see whether the pattern comes back. Then bring this "
        "report to your doctor or a sleep clinic. A sleep study (polysomnography) records the "
        "leg muscles together with sleep stages, breathing and brief awakenings, so it can tell "
        "whether these movements happen in sleep, wake you, or follow pauses in breathing: "
        "what a sensor on the leg cannot see."),
    "restless_legs_like_pattern": (
        "Note for a week when the urge to move comes, how it feels and what eases it, and "
        "record a few more nights. Restless legs syndrome is diagnosed by a doctor from what you "
        "feel; bring this report and your notes."),
    "frequent_twitching": (
        "Try the article's suggestions below for a week, then record a few more nights: "
        "`legtwitch trends` with a diary shows whether the twitching falls and what goes "
        "with it."),
    "occasional_harmless_twitches": (
        "Nothing in this night calls for action. The article's general advice follows."),
}


def _category_card(result: Any) -> str:
    cat = result.category
    reasons = cat.get("reasons") or []
    rows = []
    found = _advice_rows(cat)
    # the row that fits this night first, with what to do; the others as general advice
    for key, text, fits in sorted(found, key=lambda r: not r[2]):
        ours = _WHAT_TO_DO.get(str(cat.get("id"))) if fits else None
        todo = f'<p class="todo"><strong>What to do:</strong> {escape(ours)}</p>' if ours else ""
        rows.append(advice_row_html(key, ADVICE.get(key, {}), text, fits=fits,
                                    fits_label="fits this night",
                                    general=any(f for *_, f in found), todo=todo))
    reason_html = "".join(f"<li>{escape(r)}</li>" for r in reasons)
    return (
        '<section id="category"><h2>What this night looks like</h2><div class="card">'
        f'<p class="kicker">{"No verdict" if cat.get("id") == "insufficient_data" else "Closest category"}</p>'
        f'<h3>{escape(cat.get("title", "n/a"))}</h3><p>{escape(cat.get("explanation", ""))}</p>'
        + (f'<p><strong>Measured numbers behind this choice</strong></p>'
           f'<ul class="reasons">{reason_html}</ul>' if reasons else "")
        + ('<p><strong>What to do, and what the article suggests</strong> (its table is quoted '
           'as it is written)</p>'
           f'<div class="advice">{"".join(rows)}</div>' if rows else "")
        + "</div></section>")


def _tiles(result: Any) -> str:
    m = result.metrics
    limit = result.config.category.plm_index_per_h
    lo = result.config.classify.twitch_max_s
    hi = result.config.classify.lm_max_s
    plmi = m.get("plm_index")
    high = not is_missing(plmi) and float(plmi) > limit
    rec_h, rest_h = m.get("recording_h"), m.get("rest_h")
    share = None if is_missing(rec_h) or is_missing(rest_h) or not rec_h else rest_h / rec_h
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
        tile_html("n_plm", "Periodic limb movements", count_text(m.get("n_plm")), "",
              f"in {count_text(m.get('n_series'))} series"),
        tile_html("n_lm", "Leg movements", count_text(m.get("n_lm")), "", f"{lo:g}\N{EN DASH}{hi:g} s"),
        tile_html("n_twitch", "Twitches", count_text(m.get("n_twitch")), "", f"shorter than {lo:g} s"),
        tile_html("n_sustained", "Sustained movements", count_text(m.get("n_sustained")), "",
              f"over {hi:g} s: turning over, getting up"),
        tile_html("rest_h", "Rest time", _duration(None if is_missing(rest_h) else rest_h * 3600),
              "", f"of {_duration(None if is_missing(rec_h) else rec_h * 3600)} recorded",
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
    from detector.report.metric_names import metric_name

    rows = []
    for k, v in metrics.items():
        name, what = metric_name(k)
        rows.append(f'<tr><td>{escape(name)}<br><code>{escape(k)}</code></td>'
                    f'<td class="num">{escape(value_text(v))}</td><td>{escape(what)}</td></tr>')
    return ('<details id="all-numbers"><summary>All measured numbers</summary>'
            '<div class="scroll"><table><tr><th>Measure (its key in summary.json)</th>'
            f'<th>Value</th><th>What it is</th></tr>{"".join(rows)}</table></div></details>')


def _night_key(result: Any) -> str:
    kinds = result.events["kind"].astype(str) if "kind" in result.events else pd.Series([], str)
    n_series = 0 if result.series is None else len(result.series)
    items = [('<i class="line"></i>', "movement envelope (max per second)"),
             ('<i class="thr"></i>', "on threshold")]
    labels = kind_labels(result.config.classify)
    for kind, symbol in (("twitch", "\N{BLACK DOWN-POINTING TRIANGLE}"),
                         ("lm", "\N{BLACK CIRCLE}"), ("sustained", "\N{BLACK SQUARE}")):
        items.append((marker_html(symbol, KIND_COLOURS[kind]),
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
    return colour_key(items)


def _hourly_key() -> str:
    return colour_key([(f'<i class="band" style="background:{c};opacity:1"></i>', label) for label, c in (
        ("twitch", KIND_COLOURS["twitch"]), ("leg movement, not in a PLM series",
                                             KIND_COLOURS["lm"]),
        ("periodic limb movement (PLM)", PLM_COLOUR), ("sustained movement",
                                                       KIND_COLOURS["sustained"]))])


def _examples(result: Any) -> str:
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
             'acceleration in mg up (1 mg = 1/1000 of gravity). Coloured lines: the three '
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
        if kind == "twitch":
            c = result.config.classify
            parts.append(f'<p class="explain">A jerk that does not tilt the leg counts as a '
                         f'twitch up to {c.jerk_max_s:g} s (a strapped sensor rings on for a few '
                         f'tenths of a second after it; a ringing jerk up to {c.ring_max_s:g} s), '
                         f'so some examples last longer than {c.twitch_max_s:g} s.</p>')
        if n == 0:
            parts.append(f"<p>No {escape(label)} events this night.</p>")
            continue
        imgs = []
        for _, row in example_events(result, kind, EXAMPLES_PER_KIND[kind]).iterrows():
            title = event_title(row, result.recording)
            imgs.append(f"<figure><figcaption>{escape(title)}</figcaption>"
                        f"{example_svg(result, row, f'Example {label}: {title}')}</figure>")
        parts.append(f'<div class="ex-grid">{"".join(imgs)}</div>')
    parts.append("</section>")
    return "".join(parts)


def _limits(result: Any) -> str:
    m = result.metrics
    if "n_plm_without_resp" in m:
        resp = (f"A respiratory-event file was given: {count_text(m.get('n_plm_without_resp'))} "
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
                 "n_out_of_range_rows", "n_stray_times", "recorder", "n_bad_blocks",
                 "clip_range_g", "units", "units_detected", "gap_s", "file"}


def _packet_line(c: dict) -> str:
    """The recorder's packet counts in words."""
    parts = [f"{count_text(c.get('records', c.get('packets', 0)))} received"]
    if c.get("bad_packets"):
        parts.append(f"{count_text(c['bad_packets'])} bad and dropped, their samples left as gaps"
                     + (f" ({count_text(c['implausible'])} decoded but implausible: a wrong "
                        "index, session, clock or scale)" if c.get("implausible") else ""))
    for key, what in (("duplicates", "duplicates dropped"), ("reordered", "put back in order"),
                      ("late", "too late (their place was already a gap)")):
        if c.get(key):
            parts.append(f"{count_text(c[key])} {what}")
    if c.get("sessions", 0) > 1:
        parts.append(f"{count_text(c['sessions'])} stream sessions")
    return "; ".join(parts)


def _quality(result: Any) -> str:
    rec = result.recording
    info = rec.info
    gaps = rec.gaps
    gap_s = rec.gap_s
    share = gap_s / rec.duration_s if rec.duration_s > 0 else 0.0
    fs = f"{rec.fs_hz:g} Hz"
    if info.get("fs_given"):
        fs += " (given)"
    elif info.get("device_fs_hz") == rec.fs_hz and not is_missing(info.get("fs_inferred_hz")):
        fs += (" (the device's setting; its timestamps: "
               f"{number_text(info['fs_inferred_hz'], 2)} Hz)")
    elif not is_missing(info.get("fs_inferred_hz")):
        fs += f" (measured from timestamps: {number_text(info['fs_inferred_hz'], 2)} Hz)"
    rows = [("Sampling rate", fs)]
    if "n_rows_read" in info:
        rows.append(("Rows read", count_text(info["n_rows_read"])))
    if "n_rows_used" in info:
        rows.append(("Rows used", count_text(info["n_rows_used"])))
    dropped = []
    for key, what in (("n_nan_rows", "empty or non-numeric"), ("n_duplicates",
                                                                "duplicated timestamps"),
                      ("n_out_of_range_rows", "beyond +-20 g (not a leg's movement)"),
                      ("n_stray_times", "with a stray timestamp"),
                      ("n_bad_blocks", "damaged device blocks (skipped, a gap)")):
        if key in info and (info[key] or key in ("n_nan_rows", "n_duplicates")):
            dropped.append(f"{count_text(info[key])} {what}")
    if dropped:
        rows.append(("Rows dropped", ", ".join(dropped)))
    if "n_out_of_order" in info:
        rows.append(("Rows out of time order (sorted)", count_text(info["n_out_of_order"])))
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
    if not is_missing(clip):
        rng = info.get("clip_range_g")
        rows.append(("Clipped samples", "none" if float(clip) == 0 else (
            f"{float(clip):.3%}" + (f" (at the \N{PLUS-MINUS SIGN}{value_text(rng)} g range)"
                                    if not is_missing(rng) else ""))))
    if "units" in info:
        rows.append(("Units in the file", f"{info['units']}"
                     + (" (detected)" if info.get("units_detected") else " (given)")))
    if "n_rejected_vibration" in result.metrics:
        rows.append(("Bursts rejected as mattress vibration",
                     count_text(result.metrics["n_rejected_vibration"])))
    warnings = []
    if share > 0.1:
        warnings.append(f"{share:.0%} of the night has no data; the numbers describe the rest.")
    if not is_missing(clip) and float(clip) > 0.001:
        warnings.append("Some samples hit the sensor's range limit; peaks are underestimated.")
    other = {k: v for k, v in info.items() if k not in _QUALITY_KEYS}
    table = "".join(f"<tr><th scope=row>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    other_html = "" if not other else (
        '<details><summary>All cleaning notes</summary><div class="scroll"><table>'
        + "".join(f"<tr><td><code>{escape(k)}</code></td><td>{escape(value_text(v))}</td></tr>"
                  for k, v in other.items())
        + "</table></div></details>")
    warn_html = "".join(f"<li>{escape(w)}</li>" for w in warnings)
    return ('<section id="quality"><h2>Data quality</h2>'
            + (f'<ul class="warnlist">{warn_html}</ul>' if warnings else "")
            + f'<div class="scroll"><table>{table}</table></div>{other_html}</section>')


def _config_table(result: Any) -> str:
    cfg = result.config
    rows = []
    for section, values in cfg.to_dict().items():
        meta = {f.name: f.metadata for f in fields(getattr(cfg, section))}
        for key, value in values.items():
            md = meta.get(key, {})
            rows.append(f'<tr><td><code>{escape(section)}.<wbr>{escape(key)}</code></td>'
                        f'<td class="num">{escape(value_text(value))}</td><td>{escape(md.get("doc", ""))}</td>'
                        f'<td>{escape(md.get("source", ""))}</td></tr>')
    return ('<section id="config"><h2>Configuration</h2><details><summary>Every threshold used '
            f'({len(rows)} settings)</summary><div class="scroll"><table><tr><th>Setting</th>'
            f'<th>Value</th><th>Meaning</th><th>Source</th></tr>{"".join(rows)}</table></div>'
            '</details></section>')


def _hypnogram_section(result: Any) -> str:
    """The PSG scoring's sleep stages above the night plot, when a hypnogram was given."""
    hyp = getattr(result, "hypnogram", None)
    if hyp is None or not len(hyp):
        return ""
    m = result.metrics

    def idx(key: str) -> str:
        return f"{number_text(m.get(key))}/h" if m.get(key) is not None else "n/a"

    caption = escape(
        f"Sleep stages scored on the PSG (W wake, REM, N1-N3 NREM sleep), on the same time axis "
        f"as the night below; green ticks: PLMs. PLMS index {idx('plms_index')} "
        f"({m.get('n_plms', 0)} PLMs in {number_text(m.get('tst_h'), 2)} h of sleep), PLMW "
        f"index {idx('plmw_index')} ({m.get('n_plmw', 0)} PLMs in "
        f"{number_text(m.get('waso_h'), 2)} h of wake after sleep onset); each PLM counted in "
        "the stage of its onset, series found over the whole night (WASM 2016, as PLMScoRe).")
    return figure_section("hypnogram", "Sleep stages (from the PSG scoring)",
                          plot_hypnogram(result), "Hypnogram of the PSG scoring", caption)


def render_report(result: Any) -> str:
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
        _hypnogram_section(result),
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
                "say how much.", _hourly_key()).replace("</figure></section>", "</figure>" + (
                    hourly_table(result, start)) + "</section>"),
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


def write_report(result: Any, path: str | Path) -> Path:
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
