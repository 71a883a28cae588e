"""Figures of single events: example events of each kind (raw axes, envelope, threshold) and one
event over its duration."""

from __future__ import annotations

import math
import warnings
from datetime import timedelta
from typing import Any
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from detector.report.plots import (AXIS_COLOURS, Figure, KIND_COLOURS, EXAMPLE_PAD_S, FONT_PT,
                                   MAX_EXAMPLE_POINTS, TEXT_COLOUR, empty_message, reduce_minmax,
                                   kind_labels, new_figure, recording_clock, style_axes)

__all__ = ["event_title", "example_events", "event_window", "plot_event", "plot_examples"]


def _pick_examples(events: pd.DataFrame, n: int) -> pd.DataFrame:
    """Up to ``n`` events spread evenly over the night, preferring ones away from gaps."""
    if "at_gap" in events:
        clean = events[~events["at_gap"].fillna(False).astype(bool)]
        if len(clean) >= min(n, len(events)):
            events = clean
    if len(events) <= n:
        return events
    idx = np.unique(np.round(np.linspace(0, len(events) - 1, n)).astype(int))
    return events.iloc[idx]


def event_title(row: pd.Series, recording: Any) -> str:
    """One line describing an event: clock time (UTC), duration, peak, rotation, PLM.

    Parameters
    ----------
    row : Series
        A row of an events table.
    recording : Recording
        For the clock time of the first sample (time from the start when it is unknown).
    """
    start = recording_clock(recording)
    t_s = float(row["start_s"])
    if start is not None:
        when = (start + timedelta(seconds=t_s)).strftime("%H:%M:%S")
    else:
        h, rem = divmod(int(t_s), 3600)
        when = f"{h}:{rem // 60:02d}:{rem % 60:02d} from start"
    parts = [when, f"{float(row['duration_s']):.2f} s"]
    peak = pd.to_numeric(pd.Series([row.get("peak_g", np.nan)]), errors="coerce").iloc[0]
    if np.isfinite(peak):
        parts.append(f"peak {peak * 1000:.0f} mg")
    rot = pd.to_numeric(pd.Series([row.get("rotation_deg", np.nan)]), errors="coerce").iloc[0]
    if np.isfinite(rot):
        parts.append(f"rotation {rot:.1f}\N{DEGREE SIGN}")
    plm = row.get("plm", False)
    if pd.notna(plm) and bool(plm):
        parts.append("PLM")
    return " \N{MIDDLE DOT} ".join(parts)


def example_events(result: Any, kind: str = "lm", n: int = 4) -> pd.DataFrame:
    """Up to ``n`` events of one kind, spread evenly over the night, preferring ones away from gaps.

    Parameters
    ----------
    result : NightResult
    kind : {"twitch", "lm", "sustained"}
    n : int

    Returns
    -------
    DataFrame
        Rows of ``result.events``, in time order.
    """
    if kind not in KIND_COLOURS:
        raise ValueError(f"kind must be one of {', '.join(KIND_COLOURS)}, got {kind!r}")
    ev = result.events
    ev = ev[ev["kind"].astype(str) == kind] if "kind" in ev else ev.iloc[:0]
    return _pick_examples(ev.sort_values("start_s"), max(int(n), 1))


def event_window(result: Any, row: pd.Series) -> tuple[np.ndarray, ...]:
    """What an example event shows, from :data:`EXAMPLE_PAD_S` before it to after it, reduced to
    at most :data:`MAX_EXAMPLE_POINTS` points per line (peaks kept):
    ``t_s, acc_mg, te_s, env_mg, tt_s, thr_mg``: seconds from the onset; the three axes minus
    their median in the window (mg); the envelope and the on threshold (mg)."""
    rec = result.recording
    fs = rec.fs_hz
    s_s, e_s = float(row["start_s"]), float(row["end_s"])
    i0 = max(int(math.floor((s_s - EXAMPLE_PAD_S) * fs)), 0)
    i1 = min(int(math.ceil((e_s + EXAMPLE_PAD_S) * fs)), rec.n_samples)
    t = np.arange(i0, i1) / fs - s_s
    acc = rec.acc_g[i0:i1].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window (a gap)
        med = np.nanmedian(acc, axis=0) if len(acc) else np.zeros(3)
    acc_mg = (acc - med) * 1000.0
    env_mg = result.envelope_g[i0:i1].astype(float) * 1000.0
    thr_mg = result.threshold_on_g[i0:i1].astype(float) * 1000.0
    ta, acc_mg = reduce_minmax(t, acc_mg, MAX_EXAMPLE_POINTS)
    te, env_mg = reduce_minmax(t, env_mg, MAX_EXAMPLE_POINTS)
    tt, thr_mg = reduce_minmax(t, thr_mg, MAX_EXAMPLE_POINTS)
    return ta, acc_mg, te, env_mg, tt, thr_mg


def _draw_event(ax: Axes, result: Any, row: pd.Series, annotate: bool, legend: bool) -> None:
    """One example event on ``ax``: raw axes minus their median, envelope and threshold, in mg."""
    style_axes(ax)
    rec = result.recording
    kind = str(row.get("kind", "lm"))
    s_s, e_s = float(row["start_s"]), float(row["end_s"])
    ta, acc_mg, te, env_mg, tt, thr_mg = event_window(result, row)
    t = ta
    ax.axvspan(0.0, e_s - s_s, color=KIND_COLOURS.get(kind, "#999999"), alpha=0.16, linewidth=0,
               zorder=0)
    ax.fill_between(te, 0.0, env_mg, color="#9A9A9A", alpha=0.45, linewidth=0,
                    label="envelope", zorder=1)
    for a, name, axis_colour in zip(range(3), "xyz", AXIS_COLOURS):
        ax.plot(ta, acc_mg[:, a], color=axis_colour, linewidth=0.8, label=name, zorder=2)
    ax.plot(tt, thr_mg, color="#000000", linewidth=0.9, linestyle="--", label="on threshold",
            zorder=3)
    # few ticks: each tick label costs milliseconds, and a report draws a dozen of these
    ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.set_xlim(t[0] if len(t) else -EXAMPLE_PAD_S, t[-1] if len(t) else EXAMPLE_PAD_S)
    if not annotate:
        return
    ax.set_title(event_title(row, rec), fontsize=FONT_PT, color=TEXT_COLOUR, loc="left")
    ax.set_ylabel("mg", fontsize=FONT_PT - 1, color=TEXT_COLOUR)
    ax.set_xlabel("seconds from event onset", fontsize=FONT_PT - 1, color=TEXT_COLOUR)
    if legend:
        ax.legend(fontsize=FONT_PT - 2, frameon=False, loc="lower left", bbox_to_anchor=(0.0, 1.1),
                  ncols=5, handlelength=1.2, columnspacing=0.8, borderaxespad=0.0)


def plot_event(result: Any, event: pd.Series, ax: Axes | None = None, *, annotate: bool = True
               ) -> Figure:
    """One event over its duration +- 5 s, everything in mg.

    The three raw axes minus their median in that window (coloured lines), the movement
    envelope (grey area) and the on threshold (dashed); the event itself is shaded.

    Parameters
    ----------
    result : NightResult
    event : Series
        A row of ``result.events`` (``start_s``, ``end_s``, ``duration_s``, ``kind``; ``peak_g``,
        ``rotation_deg`` and ``plm`` go into the title when present).
    ax : matplotlib Axes, optional
        Draw into these axes; by default a new 5 x 3 in figure is made.
    annotate : bool
        Title (:func:`event_title`), axis labels and legend. Pages that say these in their own
        text pass False: every text drawn costs a few milliseconds.

    Returns
    -------
    Figure
        Titled with the clock time (UTC), duration, peak and rotation of the event.
    """
    if ax is None:
        if annotate:
            fig = new_figure(5.0, 3.2, top_in=0.75, bottom_in=0.5, left_in=0.7, right_in=0.15)
        else:
            fig = new_figure(5.0, 2.6, top_in=0.1, bottom_in=0.3, left_in=0.5, right_in=0.1)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    _draw_event(ax, result, event, annotate, legend=True)
    return fig


def plot_examples(result: Any, kind: str = "lm", n: int = 4) -> Figure:
    """Up to ``n`` example events of one kind, spread over the night, two per row.

    Each example is one panel (see :func:`plot_event`) over the event +- 5 s, everything in mg:
    the three raw axes minus their median in that window, the movement envelope (grey area) and
    the on threshold (dashed). One panel per example (not two) keeps a report fast: every
    matplotlib axes costs tens of milliseconds to draw.

    Parameters
    ----------
    result : NightResult
    kind : {"twitch", "lm", "sustained"}
    n : int
        Most examples shown.

    Returns
    -------
    Figure
        Titled with the clock time (UTC), duration, peak and rotation of each event.
    """
    picked = example_events(result, kind, n)
    k = len(picked)
    if k == 0:
        fig = new_figure(10.0, 0.8, left_in=0.0, right_in=0.0, top_in=0.0, bottom_in=0.0)
        ax = fig.add_subplot()
        ax.set_axis_off()
        empty_message(ax, f"no {kind_labels(result.config.classify)[kind]} events this night")
        return fig
    ncols = 1 if k == 1 else 2
    nrows = math.ceil(k / ncols)
    width_in = 10.0 if ncols == 2 else 5.0
    fig = new_figure(width_in, 0.7 + 2.6 * nrows, top_in=0.75, bottom_in=0.5, left_in=0.7,
                      right_in=0.15, hspace=0.6, wspace=0.85 / (width_in / ncols - 0.85))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for j, (_, row) in enumerate(picked.iterrows()):
        _draw_event(axes[j], result, row, annotate=True, legend=j == 0)
    for ax in axes[k:]:
        ax.set_axis_off()
    return fig
