"""An example event as inline SVG for the night report: drawn in a few milliseconds, sharp at any
zoom, with labelled axes in seconds and mg.

The same data as :func:`detector.report.event_plots.plot_event` (matplotlib, for notebooks):
the three raw axes minus their median over the window, the movement envelope (grey area), the
on threshold (dashed) and the event shaded, from 5 s before it to 5 s after it. A report shows a
dozen of these, and matplotlib spends about 50 ms on each (most of it on tick labels); written
as SVG they cost a few milliseconds together.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from detector.report.plots import AXIS_COLOURS, KIND_COLOURS, TEXT_COLOUR

__all__ = ["event_svg", "nice_ticks"]

#: Size of one example (px) and the plot area's margins (left, right, top, bottom).
WIDTH, HEIGHT = 460, 230
_MARGIN = (56, 10, 10, 40)


def nice_ticks(lo: float, hi: float, n: int = 4) -> np.ndarray:
    """About ``n`` round tick values within [lo, hi]: 1, 2 or 5 times a power of ten apart,
    whichever is nearest to (hi - lo) / n."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo]) if math.isfinite(lo) else np.zeros(0)
    raw = (hi - lo) / max(n, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10)), key=lambda v: abs(math.log(v / raw)))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.round(ticks, 10)


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".") if abs(v) < 100 else f"{v:.0f}"


def _path(x: np.ndarray, y: np.ndarray) -> str:
    """An SVG path through the points, broken where a value is missing (a gap)."""
    ok = np.isfinite(x) & np.isfinite(y)
    out, pen = [], False
    for xi, yi, good in zip(x, y, ok):
        if good:
            out.append(f"{'L' if pen else 'M'}{xi:.1f} {yi:.1f}")
        pen = bool(good)
    return "".join(out)


def event_svg(t_s: np.ndarray, acc_mg: np.ndarray, env_mg: np.ndarray, thr_mg: np.ndarray,
              te_s: np.ndarray, tt_s: np.ndarray, duration_s: float, kind: str,
              label: str) -> str:
    """One example event as an ``<svg>`` element.

    Parameters
    ----------
    t_s, acc_mg : ndarray
        Times (s from the event onset) and the three axes minus their median (mg), (n, 3).
    env_mg, thr_mg : ndarray
        Envelope and on threshold (mg) at times ``te_s`` and ``tt_s``.
    duration_s : float
        The event's duration: the shaded span from 0.
    kind : str
        ``twitch``, ``lm`` or ``sustained`` (the shading colour).
    label : str
        What the image shows, for screen readers.
    """
    left, right, top, bottom = _MARGIN
    pw, ph = WIDTH - left - right, HEIGHT - top - bottom
    times = np.concatenate([t_s, te_s, tt_s])
    x0, x1 = (float(np.nanmin(times)), float(np.nanmax(times))) if len(times) else (-5.0, 5.0)
    if x1 <= x0:
        x1 = x0 + 1.0
    values = np.concatenate([np.ravel(acc_mg), env_mg, thr_mg, [0.0]])
    values = values[np.isfinite(values)]
    y0, y1 = float(values.min()), float(values.max())
    pad = 0.06 * (y1 - y0 or 1.0)
    y0, y1 = y0 - pad, y1 + pad

    def sx(v: Any) -> Any:
        return left + (np.asarray(v, float) - x0) / (x1 - x0) * pw

    def sy(v: Any) -> Any:
        return top + (y1 - np.asarray(v, float)) / (y1 - y0) * ph

    parts = [f'<svg class="ex" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
             f'role="img" aria-label="{escape(label)}">'
             f"<title>{escape(label)}</title>"]
    a, b = sx(max(0.0, x0)), sx(min(duration_s, x1))
    parts.append(f'<rect x="{a:.1f}" y="{top}" width="{max(b - a, 0.5):.1f}" height="{ph}" '
                 f'fill="{KIND_COLOURS.get(kind, "#999999")}" fill-opacity=".16"/>')
    ok = np.isfinite(env_mg)
    if ok.any():
        xs, ys = sx(te_s[ok]), sy(env_mg[ok])
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
        base = sy(0.0)
        parts.append(f'<polygon points="{xs[0]:.1f},{base:.1f} {pts} {xs[-1]:.1f},{base:.1f}" '
                     'fill="#9A9A9A" fill-opacity=".45"/>')
    for i, colour in enumerate(AXIS_COLOURS):
        parts.append(f'<path d="{_path(sx(t_s), sy(acc_mg[:, i]))}" fill="none" '
                     f'stroke="{colour}" stroke-width="1"/>')
    parts.append(f'<path d="{_path(sx(tt_s), sy(thr_mg))}" fill="none" stroke="#000" '
                 'stroke-width="1.1" stroke-dasharray="4 3"/>')
    # axes, ticks and labels
    font = f'font-size="11" fill="{TEXT_COLOUR}" font-family="sans-serif"'
    parts.append(f'<path d="M{left} {top}V{top + ph}H{left + pw}" fill="none" stroke="#888"/>')
    for v in nice_ticks(x0, x1, 6):
        x = sx(v)
        parts.append(f'<path d="M{x:.1f} {top + ph}v4" stroke="#888"/>'
                     f'<text x="{x:.1f}" y="{top + ph + 15}" text-anchor="middle" {font}>'
                     f"{_num(v)}</text>")
    for v in nice_ticks(y0, y1, 3):
        y = sy(v)
        parts.append(f'<path d="M{left - 4} {y:.1f}h4" stroke="#888"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {font}>'
                     f"{_num(v)}</text>")
    parts.append(f'<text x="{left + pw / 2:.0f}" y="{HEIGHT - 4}" text-anchor="middle" {font}>'
                 "time from the event's onset (s)</text>")
    parts.append(f'<text transform="translate(13 {top + ph / 2:.0f}) rotate(-90)" '
                 f'text-anchor="middle" {font}>acceleration (mg)</text>')
    parts.append("</svg>")
    return "".join(parts)


def example_svg(result: Any, row: pd.Series, label: str) -> str:
    """:func:`event_svg` of one row of ``result.events`` (the data of
    :func:`detector.report.event_plots.event_window`)."""
    from detector.report.event_plots import event_window

    t, acc_mg, te, env_mg, tt, thr_mg = event_window(result, row)
    return event_svg(t, acc_mg, env_mg, thr_mg, te, tt, float(row["end_s"] - row["start_s"]),
                     str(row.get("kind", "lm")), label)
