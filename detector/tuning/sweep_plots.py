"""Figures of a parameter sweep (:func:`detector.tuning.sweep.sweep`): the precision-recall
trade-off and the error surface over two settings. Figures are built without pyplot."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from detector.report.plots import Figure
from detector.tuning.sweep import (KIND_NAMES, is_missing, lower_is_better, plain_value,
                                   setting_columns, summarize_sweep)

__all__ = ["plot_precision_recall", "plot_error_surface"]


def _fmt(value: Any) -> str:
    value = plain_value(value)
    if is_missing(value):
        return "base"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _equal(a: Any, b: Any) -> bool:
    """Setting values equal, missing (None, NaN) equal to missing."""
    a, b = plain_value(a), plain_value(b)
    if is_missing(a) or is_missing(b):
        return is_missing(a) and is_missing(b)
    return bool(a == b)


def _position(values: list[Any], value: Any) -> int:
    return next(k for k, v in enumerate(values) if _equal(v, value))


def _sorted_values(values: Iterable[Any]) -> list[Any]:
    """Distinct values, sorted when they can be (else in first-seen order)."""
    seen: list[Any] = []
    for v in values:
        if not any(_equal(v, s) for s in seen):
            seen.append(plain_value(v))
    try:
        return sorted(seen)
    except TypeError:
        return seen


def _same(series: pd.Series, value: Any) -> np.ndarray:
    """``series == value`` where missing equals missing."""
    return np.array([_equal(v, value) for v in series], dtype=bool)


def _settings_text(row: pd.Series, settings: list[str]) -> str:
    return ", ".join(f"{c}={_fmt(row[c])}" for c in settings)


def plot_precision_recall(df: pd.DataFrame, kind: str = "lm", vary: str | None = None) -> Figure:
    """Pooled precision against recall, one point per combination of a sweep.

    Parameters
    ----------
    df : DataFrame
        A :func:`sweep` table.
    kind : str
        Event kind compared (see :func:`summarize_sweep`).
    vary : str, optional
        A setting: one line per value of it, through the combinations that share that value
        (ordered by the one other setting when there is one, else by recall).

    Returns
    -------
    Figure
        Grey iso-F1 curves (0.2 to 0.9); the combinations (``gid`` ``"combinations"``, or one
        line per value of ``vary`` with ``gid`` ``"vary"``); the best pooled F1 as a star
        (``gid`` ``"best"``). Combinations without a precision or recall (nothing detected or
        nothing true) are not drawn.
    """
    summary = summarize_sweep(df, kind=kind, metric="f1")
    settings = setting_columns(df)
    if vary is not None and vary not in settings:
        raise ValueError(f"vary={vary!r}: expected one of the settings {', '.join(settings)}")
    fig = Figure(figsize=(6.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    for f1 in (0.2, 0.4, 0.6, 0.8, 0.9):
        r = np.linspace(f1 / 2 + 1e-3, 1.0, 200)
        p = f1 * r / (2 * r - f1)
        keep = p <= 1.0
        ax.plot(r[keep], p[keep], color="0.82", lw=0.8, zorder=0, gid="iso-f1")
        ax.annotate(f"F1={f1:g}", (1.0, f1 / (2 - f1)), xytext=(2, 0), textcoords="offset points",
                    fontsize=7, color="0.5", va="center")
    ok = summary[summary["precision"].notna() & summary["recall"].notna()]
    if vary is None:
        ax.scatter(ok["recall"], ok["precision"], s=28, color="#0072B2", alpha=0.8,
                   label=f"{len(ok)} combinations", gid="combinations")
    else:
        others = [c for c in settings if c != vary]
        for value in _sorted_values(ok[vary]):
            part = ok[_same(ok[vary], value)]
            if len(others) == 1:
                rank = _sorted_values(part[others[0]])
                order = np.argsort([_position(rank, v) for v in part[others[0]]], kind="stable")
            else:
                order = np.argsort(part["recall"].to_numpy(float), kind="stable")
            part = part.iloc[order]
            ax.plot(part["recall"], part["precision"], marker="o", ms=5, lw=1.2,
                    label=f"{vary}={_fmt(value)}", gid="vary")
    n_rec = int(summary["n_recordings"].max()) if len(summary) else 0
    if len(ok) and not is_missing(plain_value(summary["f1"].iloc[0])):
        best = summary.iloc[0]
        ax.plot([best["recall"]], [best["precision"]], marker="*", ms=16, color="#D55E00",
                markeredgecolor="black", linestyle="none", zorder=5, gid="best",
                label=f"best F1 {best['f1']:.3f}: {_settings_text(best, settings)}")
    ax.set_xlim(0.0, 1.05)
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel(f"Recall (pooled over {n_rec} recording{'s' if n_rec != 1 else ''})")
    ax.set_ylabel("Precision (pooled)")
    ax.set_title(f"{KIND_NAMES[kind]}: pooled precision and recall of each combination",
                 fontsize=10)
    ax.legend(loc="lower left", fontsize=7, frameon=False)
    ax.grid(alpha=0.2)
    return fig


def plot_error_surface(df: pd.DataFrame, x: str, y: str, metric: str = "f1", kind: str = "lm"
                       ) -> Figure:
    """Heatmap of a summary metric over two settings of a sweep, the others at their best.

    Parameters
    ----------
    df : DataFrame
        A :func:`sweep` table.
    x, y : str
        Settings on the horizontal and vertical axes.
    metric : str
        A :func:`summarize_sweep` column: ``f1`` (pooled, default), ``precision``, ``recall``,
        ``mean_f1``, ``plm_index_error`` (detected - true PLMs per hour: drawn with a diverging
        colour map centred on 0, as is every signed error) ...
    kind : str
        Event kind compared.

    Returns
    -------
    Figure
        One annotated cell per (x, y) pair, with any other settings fixed at the values of the
        best combination by ``metric`` (named in the title); missing pairs are blank.
    """
    settings = setting_columns(df)
    for axis, name in (("x", x), ("y", y)):
        if name not in settings:
            raise ValueError(f"{axis}={name!r}: expected one of the settings "
                             f"{', '.join(settings) or '(none)'}")
    if x == y:
        raise ValueError(f"x and y are both {x!r}; give two different settings")
    summary = summarize_sweep(df, kind=kind, metric=metric)
    best = summary.iloc[0]
    others = [c for c in settings if c not in (x, y)]
    part = summary
    for c in others:
        part = part[_same(part[c], best[c])]
    xs, ys = _sorted_values(part[x]), _sorted_values(part[y])
    grid = np.full((len(ys), len(xs)), np.nan)
    for _, row in part.iterrows():
        grid[_position(ys, row[y]), _position(xs, row[x])] = float(row[metric])
    signed = lower_is_better(metric) and not metric.startswith(("abs_", "mean_abs"))
    finite = grid[np.isfinite(grid)]
    if signed:
        lim = float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0
        cmap, vmin, vmax = "RdBu_r", -lim, lim
    else:
        cmap = "viridis_r" if lower_is_better(metric) else "viridis"
        vmin = float(finite.min()) if finite.size else None
        vmax = float(finite.max()) if finite.size else None
    fig = Figure(figsize=(1.2 + 0.9 * len(xs) + 1.5, 1.4 + 0.6 * len(ys) + 0.8),
                 layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(xs)), [_fmt(v) for v in xs])
    ax.set_yticks(range(len(ys)), [_fmt(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for i in range(len(ys)):
        for j in range(len(xs)):
            v = grid[i, j]
            r, g, b, _ = im.cmap(im.norm(v)) if np.isfinite(v) else (1.0, 1.0, 1.0, 1.0)
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # white text on dark cells
            ax.text(j, i, f"{v:.2f}" if np.isfinite(v) else "-", ha="center", va="center",
                    fontsize=8, color="white" if dark else "black", gid="cell")
    what = (f"{metric} (PLMs per hour)" if "plm_index" in metric
            else f"{metric}, {KIND_NAMES[kind].lower()}")
    fig.colorbar(im, ax=ax, label=what)
    fixed = _settings_text(best, others)
    ax.set_title(what + (f"\nother settings at the best: {fixed}" if fixed else ""), fontsize=9)
    return fig
