"""Figures of one night: the night at a glance, events per hour, IMI histograms, example events.

Every function builds a :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so plotting
is thread-safe, opens no window and leaves no global state behind. Whole-night traces are reduced
to at most a few thousand points before drawing, so an 8-hour night plots in well under a second.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies),
and event kinds also differ by marker shape.
"""

from __future__ import annotations

import io
import math
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure as _MplFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from detector.io.localtime import zone_label, zone_or_utc

__all__ = ["Figure", "KIND_COLOURS", "KIND_LABELS", "kind_labels", "AXIS_COLOURS", "PLM_COLOUR",
           "GAP_COLOUR", "recording_clock", "rule_name", "plot_night", "plot_imi_histograms",
           "plot_hourly", "new_figure", "style_axes"]

class Figure(_MplFigure):
    """A matplotlib Figure that shows itself in Jupyter, with or without ``%matplotlib inline``.

    The figures here are built without pyplot (thread-safe, no global state), so no backend
    registers them for display; this PNG representation does.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


#: Okabe-Ito colours of the event kinds.
KIND_COLOURS: dict[str, str] = {"twitch": "#E69F00", "lm": "#0072B2", "sustained": "#CC79A7"}


def kind_labels(classify: Any = None) -> dict[str, str]:
    """Plain-language names of the event kinds with their duration classes.

    Parameters
    ----------
    classify : ClassifyConfig, optional
        ``twitch_max_s`` and ``lm_max_s``; the defaults are the WASM 2016 / AASM 2012 LM
        durations (0.5-10 s).
    """
    lo = getattr(classify, "twitch_max_s", 0.5)
    hi = getattr(classify, "lm_max_s", 10.0)
    return {"twitch": f"twitch (< {lo:g} s)", "lm": f"leg movement ({lo:g}-{hi:g} s)",
            "sustained": f"sustained movement (> {hi:g} s)"}


#: Plain-language names of the event kinds with the default duration classes.
KIND_LABELS: dict[str, str] = kind_labels()
_KIND_MARKERS = {"twitch": "v", "lm": "o", "sustained": "s"}
#: Colour of PLM series (bands) and of PLMs (bars).
PLM_COLOUR = "#009E73"
#: Colour of gaps (hatched).
GAP_COLOUR = "#BBBBBB"
#: Colour of periods with the sensor off the leg (hatched the other way).
NONWEAR_COLOUR = "#E69F00"
#: Okabe-Ito colours of the x, y and z axes in example plots.
AXIS_COLOURS = ("#0072B2", "#D55E00", "#009E73")
TEXT_COLOUR = "#222222"
FONT_PT = 10.0
#: Most points drawn for one whole-night line.
_MAX_NIGHT_POINTS = 4000
#: Most points drawn for one line of an example event.
MAX_EXAMPLE_POINTS = 900
#: Seconds shown on each side of an example event.
EXAMPLE_PAD_S = 5.0
#: Floor of the log envelope axis, in mg (below the MEMS noise of ~1-2 mg RMS).
_ENV_FLOOR_MG = 0.1
_RULE_NAMES = {"wasm2016": "WASM 2016", "aasm2012": "AASM 2012", "custom": "custom rules"}


def recording_clock(recording: Any, zone: Any = None) -> datetime | None:
    """Wall-clock time of the first sample (in ``zone``, default UTC), or None when the
    timestamps were relative.

    Parameters
    ----------
    recording : Recording

    Returns
    -------
    datetime or None
        None when the loader noted ``time_relative`` or the start is the Unix epoch (a recording
        built from an array without a start time).
    """
    if recording.info.get("time_relative") or float(recording.t0_unix_s) == 0.0:
        return None
    start = recording.start_time
    return start.astimezone(zone) if zone is not None else start


def rule_name(standard: str) -> str:
    """Readable name of a rule set (``wasm2016`` -> ``WASM 2016``)."""
    return _RULE_NAMES.get(standard, str(standard))


def new_figure(width_in: float, height_in: float, *, left_in: float = 0.75,
                right_in: float = 0.2, top_in: float = 0.3, bottom_in: float = 0.55,
                hspace: float = 0.2, wspace: float = 0.2) -> Figure:
    """A figure with fixed margins in inches.

    A fixed layout instead of matplotlib's constrained layout: that measures every tick label
    twice and would triple the time a report takes.
    """
    fig = Figure(figsize=(width_in, height_in), dpi=100)
    fig.subplots_adjust(left=left_in / width_in, right=1.0 - right_in / width_in,
                        top=1.0 - top_in / height_in, bottom=bottom_in / height_in,
                        hspace=hspace, wspace=wspace)
    return fig


def style_axes(ax: Axes) -> None:
    """Quiet axes: no top/right spines, light grid, readable tick labels."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=FONT_PT - 1, colors=TEXT_COLOUR)
    ax.grid(True, color="#E5E5E5", linewidth=0.6)
    ax.set_axisbelow(True)


def empty_message(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=FONT_PT + 1, color="#666666")


def _reduce_max(t: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the maximum of each block so a trace of ``len(t)`` points fits in ``max_points``.

    NaN blocks (gaps) stay NaN so the line breaks there.
    """
    n = len(t)
    if n <= max_points:
        return t, y
    k = math.ceil(n / max_points)
    m = n // k
    yb = y[: m * k].reshape(m, k)
    finite = np.isfinite(yb)
    filled = np.where(finite, yb, -np.inf).max(axis=1)
    filled[~finite.any(axis=1)] = np.nan
    return t[: m * k : k], filled


def reduce_minmax(t: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Min/max decimation of ``y`` (n,) or (n, c): each block becomes its minimum and maximum.

    Peaks survive the reduction, which plain striding would lose.
    """
    n = len(t)
    if n <= max_points:
        return t, y
    k = math.ceil(2 * n / max_points)
    m = n // k
    yb = y[: m * k].reshape((m, k) + y.shape[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks (gaps) stay NaN
        lo, hi = np.nanmin(yb, axis=1), np.nanmax(yb, axis=1)
    tb = t[: m * k].reshape(m, k)
    tt = np.stack([tb[:, 0], tb[:, k // 2]], axis=1).reshape(-1)
    yy = np.stack([lo, hi], axis=1).reshape((2 * m,) + y.shape[1:])
    return tt, yy


def _clock_ticks(start: datetime, duration_h: float) -> tuple[np.ndarray, list[str]]:
    """Positions (hours from the start) and ``HH:MM`` labels of whole clock hours in
    ``start``'s zone (real elapsed time: across a daylight-saving change an hour repeats or is
    skipped on the labels, never on the axis)."""
    step_h = 1 if duration_h <= 12 else (2 if duration_h <= 24 else 6)
    zone = start.tzinfo or timezone.utc
    t0 = start.astimezone(timezone.utc)
    tick = t0.replace(minute=(t0.minute // 15) * 15, second=0, microsecond=0)
    pos, labels = [], []
    while True:
        h = (tick - t0).total_seconds() / 3600.0
        if h > duration_h:
            break
        local = tick.astimezone(zone)
        if h >= 0 and local.minute == 0 and local.hour % step_h == 0:
            pos.append(h)
            labels.append(local.strftime("%H:%M"))
        tick += timedelta(minutes=15)
    return np.asarray(pos), labels


def display_zone(result: Any) -> Any:
    """The zone clock times of a result are shown in: ``summary.json``'s ``tz`` (the
    computer's zone, or ``--tz``); UTC when unknown."""
    return zone_or_utc((getattr(result, "metrics", None) or {}).get("tz"))


def _event_column(events: pd.DataFrame, name: str, default: float = np.nan) -> np.ndarray:
    if name in events:
        return pd.to_numeric(events[name], errors="coerce").to_numpy(dtype=float)
    return np.full(len(events), default)


def plot_night(result: Any, ax: Axes | None = None, *, legend: bool = True) -> Figure:
    """The night at a glance: envelope, on threshold, events by kind, PLM series and gaps.

    Parameters
    ----------
    result : NightResult
    ax : matplotlib Axes, optional
        Draw into these axes; by default a new 10 in wide figure is made.
    legend : bool
        Draw the legend (with the count of each kind) below the axes. A page that explains the
        symbols in its own text passes False.

    Returns
    -------
    Figure
        Bottom axis: hours since the first sample; top axis: clock time (UTC) when known.
        The envelope is the per-second maximum (:meth:`NightResult.envelope_per_second`), in mg on
        a log axis, further reduced to at most 4000 points by block maxima.
    """
    if ax is None:
        fig = (new_figure(10.0, 4.2, top_in=0.6, bottom_in=1.35) if legend
               else new_figure(10.0, 3.3, top_in=0.6, bottom_in=0.5))
        own = True
    else:
        fig, own = ax.figure, False
    if own:
        ax = fig.add_subplot()
    style_axes(ax)
    rec = result.recording
    duration_h = rec.duration_s / 3600.0
    eps = result.envelope_per_second()
    t_h = eps["t_s"].to_numpy(float) / 3600.0
    env_mg = np.maximum(eps["env_max_g"].to_numpy(float) * 1000.0, _ENV_FLOOR_MG)
    thr_mg = eps["threshold_on_g"].to_numpy(float) * 1000.0
    te, env_mg = _reduce_max(t_h, env_mg, _MAX_NIGHT_POINTS)
    tt, thr_mg = _reduce_max(t_h, thr_mg, _MAX_NIGHT_POINTS)
    ax.plot(te, env_mg, color="#666666", linewidth=0.6, zorder=2)
    ax.plot(tt, thr_mg, color="#000000", linewidth=1.0, linestyle="--", zorder=3)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=8))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))

    ev = result.events
    labels = kind_labels(result.config.classify)
    handles: list[Any] = [Line2D([], [], color="#666666", linewidth=1.0,
                                 label="movement envelope (max per s)"),
                          Line2D([], [], color="#000000", linestyle="--",
                                 label="on threshold")]
    peaks_mg = np.maximum(_event_column(ev, "peak_g") * 1000.0, _ENV_FLOOR_MG)
    mid_h = (_event_column(ev, "start_s") + _event_column(ev, "end_s")) / 7200.0
    kinds = ev["kind"].astype(str).to_numpy() if "kind" in ev else np.array([], dtype=str)
    # the rarer kinds are drawn last, on top of the many leg movements
    for kind, colour, z in (("twitch", KIND_COLOURS["twitch"], 6), ("lm", KIND_COLOURS["lm"], 4),
                            ("sustained", KIND_COLOURS["sustained"], 5)):
        sel = kinds == kind
        ax.scatter(mid_h[sel], peaks_mg[sel], s=30 if kind != "twitch" else 28, c=colour,
                   marker=_KIND_MARKERS[kind], edgecolors="white", linewidths=0.3, zorder=z)
        handles.append(Line2D([], [], color=colour, marker=_KIND_MARKERS[kind], linestyle="",
                              label=f"{labels[kind]}: {int(sel.sum())}"))

    xaxis = ax.get_xaxis_transform()
    series = result.series
    if series is not None and len(series):
        starts, ends = series["start_s"].to_numpy(float), series["end_s"].to_numpy(float)
        spans = [(s / 3600.0, max(e - s, 1.0) / 3600.0) for s, e in zip(starts, ends)]
        ax.broken_barh(spans, (0.0, 1.0), transform=xaxis, facecolors=PLM_COLOUR, alpha=0.22,
                       edgecolors="none", zorder=1)
    handles.append(Patch(facecolor=PLM_COLOUR, alpha=0.3,
                         label=f"PLM series: {0 if series is None else len(series)}"))
    gaps = rec.gaps
    if len(gaps):
        spans = [(s / 3600.0, d / 3600.0) for s, d in
                 zip(gaps["start_s"].to_numpy(float), gaps["duration_s"].to_numpy(float))]
        ax.broken_barh(spans, (0.0, 1.0), transform=xaxis, facecolors=GAP_COLOUR,
                       edgecolors="#888888", hatch="///", linewidth=0.0, alpha=0.6, zorder=1)
        handles.append(Patch(facecolor=GAP_COLOUR, edgecolor="#888888", hatch="///",
                             label=f"gap (no data): {rec.gap_s / 60:.1f} min"))

    periods = (getattr(result, "metrics", None) or {}).get("nonwear_periods") or []
    if periods:
        spans = [(a / 3600.0, (b - a) / 3600.0) for a, b in periods]
        ax.broken_barh(spans, (0.0, 1.0), transform=xaxis, facecolors=NONWEAR_COLOUR,
                       edgecolors="#B07A00", hatch="\\\\", linewidth=0.0, alpha=0.35, zorder=1)
        total = sum(b - a for a, b in periods)
        handles.append(Patch(facecolor=NONWEAR_COLOUR, edgecolor="#B07A00", hatch="\\\\",
                             alpha=0.5, label=f"sensor off the leg: {total / 60:.0f} min"))

    win = (getattr(result, "metrics", None) or {}).get("rest_window") or {}
    if win and win.get("source") != "whole recording":
        for edge in (win.get("start_s"), win.get("end_s")):
            if edge is not None:
                ax.axvline(float(edge) / 3600.0, color="#0072B2", linestyle="-.", linewidth=1.2,
                           zorder=3)
        handles.append(Line2D([], [], color="#0072B2", linestyle="-.",
                              label=f"rest window ({win.get('source')})"))

    ax.set_xlim(0.0, max(duration_h, 1e-3))
    # at least 1-100 mg, so a quiet night does not look busy by autoscaling
    levels = np.concatenate([env_mg, thr_mg, peaks_mg])
    levels = levels[np.isfinite(levels)]
    low = float(levels.min()) if levels.size else 1.0
    high = float(levels.max()) if levels.size else 100.0
    ax.set_ylim(max(min(low / 1.5, 1.0), _ENV_FLOOR_MG), max(high * 2.0, 100.0))
    ax.set_xlabel("hours since start", fontsize=FONT_PT, color=TEXT_COLOUR)
    ax.set_ylabel("movement (mg, log)", fontsize=FONT_PT, color=TEXT_COLOUR)
    if not np.isfinite(env_mg).any() and not len(ev):
        empty_message(ax, "no valid data")
    zone = display_zone(result)
    start = recording_clock(rec, zone)
    if start is not None:
        top = ax.secondary_xaxis("top")
        pos, labels = _clock_ticks(start, duration_h)
        top.set_xticks(pos, labels)
        top.tick_params(labelsize=FONT_PT - 1, colors=TEXT_COLOUR)
        top.set_xlabel(f"clock time ({zone_label(zone)})", fontsize=FONT_PT, color=TEXT_COLOUR)
    if legend and own:
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncols=3,
                   fontsize=FONT_PT - 1, frameon=False)
    elif legend:
        ax.legend(handles=handles, loc="upper left", ncols=3, fontsize=FONT_PT - 2, frameon=False)
    return fig


#: Rows of the hypnogram, top to bottom (the usual clinical layout: wake on top, deep sleep low).
HYPNOGRAM_ROWS = ("W", "REM", "N1", "N2", "N3")


def plot_hypnogram(result: Any, ax: Axes | None = None) -> Figure:
    """The sleep stages of a PSG scoring of the night (``result.hypnogram``), on the same hours
    axis as :func:`plot_night`, with the PLMs as ticks at their onsets.

    Returns
    -------
    Figure
        x: hours since the first sample; y: stage (W, REM, N1, N2, N3). REM drawn in red, as
        hypnograms usually are.
    """
    if ax is None:
        fig = new_figure(10.0, 1.9, top_in=0.2, bottom_in=0.5)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    style_axes(ax)
    hyp = getattr(result, "hypnogram", None)
    duration_h = result.recording.duration_s / 3600.0
    row = {s: k for k, s in enumerate(HYPNOGRAM_ROWS)}
    if hyp is None or not len(hyp):
        empty_message(ax, "no sleep stages")
    else:
        x0 = hyp["start_s"].to_numpy(float) / 3600.0
        x1 = hyp["end_s"].to_numpy(float) / 3600.0
        y = np.array([row.get(s, np.nan) for s in hyp["stage"]], dtype=float)
        xs = np.column_stack([x0, x1]).ravel()
        ys = np.repeat(y, 2)
        ax.plot(xs, ys, color="#444444", linewidth=1.0, drawstyle="default")
        rem = hyp["stage"].to_numpy(dtype=object) == "REM"
        ax.hlines(np.full(rem.sum(), row["REM"]), x0[rem], x1[rem], color="#D55E00", linewidth=3.0)
        ev = result.events
        if len(ev) and "plm" in ev:
            on = ev.loc[ev["plm"].fillna(False).astype(bool), "start_s"].to_numpy(float) / 3600.0
            ax.plot(on, np.full(len(on), len(HYPNOGRAM_ROWS) - 0.45), linestyle="", marker="|",
                    color=PLM_COLOUR, markersize=6)
    ax.set_yticks(range(len(HYPNOGRAM_ROWS)), HYPNOGRAM_ROWS)
    ax.set_ylim(len(HYPNOGRAM_ROWS) - 0.2, -0.6)
    ax.set_xlim(0.0, max(duration_h, 1e-3))
    ax.set_xlabel("hours since start", fontsize=FONT_PT, color=TEXT_COLOUR)
    ax.set_ylabel("stage", fontsize=FONT_PT, color=TEXT_COLOUR)
    return fig


def _safe_log(x: np.ndarray) -> np.ndarray:
    """Natural log that maps non-positive values to a very small number instead of -inf."""
    return np.log(np.maximum(x, 1e-9))


def _bars(ax: Axes, hist: pd.DataFrame, start: str, end: str, colour: str) -> int:
    """Draw a histogram table as one filled step outline (one artist, not one per bar)."""
    if hist is None or not len(hist):
        return 0
    lo = hist[start].to_numpy(float)
    hi = hist[end].to_numpy(float)
    count = hist["count"].to_numpy(float)
    if np.allclose(lo[1:], hi[:-1]):
        ax.stairs(count, np.append(lo, hi[-1]), fill=True, color=colour, zorder=3)
    else:  # bins with holes between them
        ax.bar(lo, count, width=hi - lo, align="edge", color=colour, zorder=3)
    return int(count.sum())


def plot_imi_histograms(result: Any) -> Figure:
    """Histograms of the intervals between consecutive candidate leg movements (IMI).

    Left: 2-s bins up to 90 s (``result.imi_hist``); right: 0.1-wide bins of ln(IMI/s)
    (``result.ln_imi_hist``), the view in which periodic movements form a separate peak. The
    rule's PLM interval range (``rules.imi_min_s`` to ``rules.imi_max_s``; WASM 2016: 10-90 s,
    AASM 2012: 5-90 s) is shaded.

    Parameters
    ----------
    result : NightResult

    Returns
    -------
    Figure
    """
    rules = result.config.rules
    lo_s, hi_s = rules.imi_min_s, rules.imi_max_s
    fig = new_figure(10.0, 3.4, top_in=0.55, right_in=0.3, wspace=0.28)
    ax1, ax2 = fig.subplots(1, 2)
    label = f"PLM range, {rule_name(rules.standard)}: {lo_s:g}-{hi_s:g} s"
    for ax in (ax1, ax2):
        style_axes(ax)
        ax.set_ylabel("intervals", fontsize=FONT_PT, color=TEXT_COLOUR)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax1.axvspan(lo_s, hi_s, color=PLM_COLOUR, alpha=0.15, zorder=1)
    ax1.set_title(label, loc="left", fontsize=FONT_PT - 1, color="#00573D")
    n1 = _bars(ax1, result.imi_hist, "bin_start_s", "bin_end_s", KIND_COLOURS["lm"])
    hist_max = result.imi_hist["bin_end_s"].max() if len(result.imi_hist) else 90.0
    ax1.set_xlim(0.0, max(float(hist_max), hi_s) + 1.0)
    ax1.set_xlabel("interval between movement onsets (s)", fontsize=FONT_PT, color=TEXT_COLOUR)

    ax2.axvspan(math.log(max(lo_s, 1e-3)), math.log(hi_s), color=PLM_COLOUR, alpha=0.15,
                zorder=1)
    n2 = _bars(ax2, result.ln_imi_hist, "ln_imi_start", "ln_imi_end", KIND_COLOURS["lm"])
    ax2.set_xlabel("natural log of the interval in s (top: the interval, s)", fontsize=FONT_PT,
                   color=TEXT_COLOUR)
    if len(result.ln_imi_hist):
        left = min(float(result.ln_imi_hist["ln_imi_start"].min()), math.log(0.5))
        right = max(float(result.ln_imi_hist["ln_imi_end"].max()), math.log(hi_s) + 0.3)
    else:
        left, right = math.log(0.5), math.log(hi_s) + 0.3
    ax2.set_xlim(left, right)
    top = ax2.secondary_xaxis("top", functions=(np.exp, _safe_log))
    ticks = [t for t in sorted({1, 2, 5, 30, 300, 1000, 3000, lo_s, hi_s})
             if left <= math.log(max(t, 1e-3)) <= right]
    top.set_xticks(ticks, [f"{t:g} s" for t in ticks])
    top.tick_params(labelsize=FONT_PT - 1, colors=TEXT_COLOUR)
    for ax, n in ((ax1, n1), (ax2, n2)):
        ax.set_ylim(bottom=0.0, top=max(ax.get_ylim()[1], 5.0))
        if n == 0:
            empty_message(ax, "no intervals (fewer than 2 leg movements)")
    return fig


def plot_hourly(result: Any, *, legend: bool = True) -> Figure:
    """Events per hour of recording, stacked by kind; leg movements in PLM series apart.

    Parameters
    ----------
    result : NightResult
        Uses ``result.hourly`` (``hour``, ``n_twitch``, ``n_lm``, ``n_plm``, ``n_sustained``;
        ``n_lm`` includes the PLMs, which are leg movements in a series) and the gaps.
    legend : bool
        Draw the legend below the axes.

    Returns
    -------
    Figure
        Hours that are more than 5 % gap are labelled with their missing share.
    """
    fig = new_figure(10.0, 3.6 if legend else 3.1, top_in=0.25,
                      bottom_in=1.15 if legend else 0.7)
    ax = fig.add_subplot()
    style_axes(ax)
    hourly = result.hourly
    rec = result.recording
    if hourly is None or not len(hourly):
        empty_message(ax, "no hours to show")
        return fig
    hour = hourly["hour"].to_numpy(int)
    col = {c: hourly[c].to_numpy(float) if c in hourly else np.zeros(len(hourly))
           for c in ("n_twitch", "n_lm", "n_plm", "n_sustained")}
    layers = [("twitch", col["n_twitch"], KIND_COLOURS["twitch"]),
              ("leg movement, not in a PLM series", np.maximum(col["n_lm"] - col["n_plm"], 0.0),
               KIND_COLOURS["lm"]),
              ("periodic limb movement (PLM)", col["n_plm"], PLM_COLOUR),
              ("sustained movement", col["n_sustained"], KIND_COLOURS["sustained"])]
    bottom = np.zeros(len(hour))
    for label, values, colour in layers:
        ax.bar(hour + 0.5, values, width=0.8, bottom=bottom, color=colour, label=label,
               edgecolor="white", linewidth=0.4, zorder=3)
        bottom = bottom + values
    top_y = float(bottom.max()) if bottom.size else 0.0
    ax.set_ylim(0.0, max(top_y * 1.15, 5.0))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    gap_frac = _gap_fraction_per_hour(rec.gaps, len(hour), rec.duration_s)
    for h, frac, height in zip(hour, gap_frac, bottom):
        if frac > 0.05:
            ax.text(h + 0.5, height, f"{frac:.0%} gap", ha="center", va="bottom",
                    fontsize=FONT_PT - 2, color="#555555")
    # whole hours; a last hour of a few seconds (8.0002 h) is not worth an empty slot
    ax.set_xlim(0.0, max(math.ceil(rec.duration_s / 3600.0 - 0.01), 1))
    zone = display_zone(result)
    start = recording_clock(rec, zone)
    step = 1 if len(hour) <= 14 else 2
    ticks = hour[::step]
    if start is not None:
        utc0 = start.astimezone(timezone.utc)
        labels = [f"{h}\n{(utc0 + timedelta(hours=int(h))).astimezone(zone):%H:%M}"
                  for h in ticks]
        ax.set_xlabel(f"hour since start / clock time at its start ({zone_label(zone)})",
                      fontsize=FONT_PT, color=TEXT_COLOUR)
    else:
        labels = [str(h) for h in ticks]
        ax.set_xlabel("hour since start", fontsize=FONT_PT, color=TEXT_COLOUR)
    ax.set_xticks(ticks.astype(float), labels)
    ax.set_ylabel("events", fontsize=FONT_PT, color=TEXT_COLOUR)
    if legend:
        fig.legend(handles=ax.containers, loc="lower center", bbox_to_anchor=(0.5, 0.0),
                   ncols=4, fontsize=FONT_PT - 1, frameon=False)
    return fig


def _gap_fraction_per_hour(gaps: pd.DataFrame, n_hours: int, duration_s: float) -> np.ndarray:
    """Share of each hour of recording that falls inside gaps."""
    frac = np.zeros(n_hours)
    if not len(gaps) or n_hours == 0:
        return frac
    edges = np.arange(n_hours + 1) * 3600.0
    for s, e in zip(gaps["start_s"].to_numpy(float), gaps["end_s"].to_numpy(float)):
        overlap = np.clip(np.minimum(edges[1:], e) - np.maximum(edges[:-1], s), 0.0, None)
        frac += overlap
    length = np.clip(np.minimum(edges[1:], duration_s) - edges[:-1], 1e-9, None)
    return np.clip(frac / length, 0.0, 1.0)


