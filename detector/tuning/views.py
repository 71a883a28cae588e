"""Views behind the threshold panel, usable without widgets: slider ranges, a table and figure
over one setting (:func:`static_panel`), what changed between two detections
(:func:`changes_table`) and a zoomed window of the night (:func:`plot_window`)."""

from __future__ import annotations

import io
from dataclasses import fields
from typing import Any, Iterable

import numpy as np
import pandas as pd

from detector.config import Config, ConfigError
from detector.detect.filters import HIGHCUT_MAX_FRACTION
from detector.report.plots import Figure, KIND_COLOURS, PLM_COLOUR

__all__ = ["static_panel", "changes_table", "plot_window", "slider_range", "DEFAULT_SETTINGS",
           "SLIDER_RANGES", "CHANGE_TOLERANCE_S", "AS_LOADED", "WINDOWS_MIN", "step_decimals",
           "setting_field", "is_number", "figure_png"]

#: Settings the panel shows by default (``rules`` is a drop-down of the rule sets).
DEFAULT_SETTINGS = ("lowcut_hz", "highcut_hz", "on_factor", "off_ratio", "min_on_g",
                    "edge_factor", "min_duration_s", "twitch_max_s", "merge_gap_s", "rules")

#: Sensible slider ranges ``(min, max, step)``, further clipped to each field's valid range
#: (the ``lo``/``hi`` metadata in :mod:`detector.config`); ``highcut_hz`` also to 0.45 x fs.
SLIDER_RANGES: dict[str, tuple[float, float, float]] = {
    "bandpass.lowcut_hz": (0.0, 2.0, 0.05),
    "bandpass.highcut_hz": (2.0, 40.0, 0.5),
    "envelope.on_factor": (1.5, 20.0, 0.25),
    "envelope.off_ratio": (0.1, 1.0, 0.05),
    "envelope.min_on_g": (0.0, 0.1, 0.0025),
    "envelope.edge_factor": (1.0, 5.0, 0.1),
    "envelope.min_duration_s": (0.0, 1.0, 0.01),
    "envelope.merge_gap_s": (0.0, 3.0, 0.05),
    "classify.twitch_max_s": (0.1, 2.0, 0.05),
}

#: Onset tolerance (s) of the "added"/"removed" columns of :func:`changes_table`.
CHANGE_TOLERANCE_S = 0.5
_KINDS = ("twitch", "lm", "plm", "sustained")
WINDOWS_MIN = (1, 2, 5, 10, 30)
_DPI = 90
AS_LOADED = "as loaded"


# --------------------------------------------------------------------------------------------
# Settings and their slider ranges
# --------------------------------------------------------------------------------------------

def is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def setting_field(config: Config, name: str) -> tuple[str, str, Any]:
    """``(section, key, dataclass field)`` of a short (``on_factor``) or ``section__key`` name."""
    data = config.to_dict()
    section, _, key = name.partition("__")
    if not key:
        key = name
        owners = [s for s, values in data.items() if key in values]
        if len(owners) > 1:
            raise ConfigError(f"{name} exists in {' and '.join(owners)}; write "
                              + " or ".join(f"{s}__{key}" for s in owners))
        section = owners[0] if owners else ""
    if key not in data.get(section, {}):
        raise ConfigError(f"{name}: unknown setting")
    if section == "clean":
        raise ConfigError(f"{name}: clean.* settings apply while loading the recording; call "
                          "detect_movements(path, clean={...}) instead")
    f = next(f for f in fields(getattr(config, section)) if f.name == key)
    if not is_number(f.default):
        raise ConfigError(f"{name}: only numeric settings (and rules) get a slider")
    return section, key, f


def step_decimals(step: float) -> int:
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def slider_range(config: Config, name: str, fs_hz: float | None = None
                 ) -> tuple[float, float, float]:
    """Slider ``(min, max, step)`` of one setting.

    Parameters
    ----------
    config : Config
        The starting settings: the range always includes their value.
    name : str
        ``on_factor`` (a key in one section only) or ``section__key``.
    fs_hz : float, optional
        Sampling rate in Hz: ``highcut_hz`` stops at 0.45 x ``fs_hz`` (the filter clamps any
        higher corner there, so a longer slider would change nothing).

    Returns
    -------
    (float, float, float)
        :data:`SLIDER_RANGES` clipped to the field's valid range (``lo``/``hi``). Settings not
        in that table get the valid range, or 1/4 to 4 times their value where it is open.

    Raises
    ------
    ConfigError
        On an unknown, ambiguous, non-numeric or ``clean`` setting.
    """
    section, key, f = setting_field(config, name)
    value = float(getattr(getattr(config, section), key))
    lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
    sensible = SLIDER_RANGES.get(f"{section}.{key}")
    if sensible is None:
        low = lo if lo is not None else value / 4.0
        high = hi if hi is not None else max(value * 4.0, 1.0)
        step = 1.0 if isinstance(f.default, int) else 10.0 ** np.floor(np.log10(
            max(high - low, 1e-9) / 100.0))
        sensible = (low, high, float(step))
    low, high, step = sensible
    low = max(low, lo) if lo is not None else low
    high = min(high, hi) if hi is not None else high
    if key == "highcut_hz" and fs_hz:
        high = min(high, np.floor(HIGHCUT_MAX_FRACTION * fs_hz / step) * step)
    low, high = min(low, value), max(high, value)
    return float(low), float(high), float(step)


# --------------------------------------------------------------------------------------------
# Tables and figures (no widgets needed)
# --------------------------------------------------------------------------------------------

def _counts(results: Any) -> dict[str, float]:
    ev = results.events
    out: dict[str, float] = {k: int((ev["kind"] == k).sum()) for k in ("twitch", "lm",
                                                                       "sustained")}
    out["plm"] = int(ev["plm"].fillna(False).astype(bool).sum())
    out["series"] = int(len(results.series))
    out["plm_index_per_h"] = round(float(results.metrics.get("plm_index") or 0.0), 1)
    return out


def changes_table(start: Any, now: Any, tolerance_s: float = CHANGE_TOLERANCE_S) -> pd.DataFrame:
    """What a change of settings did: counts before and after, and events added or removed.

    Parameters
    ----------
    start, now : NightResult
        The night under the starting and the current settings.
    tolerance_s : float
        Onset tolerance (s) within which an event of the same kind counts as the same event.

    Returns
    -------
    DataFrame
        Index ``twitch``, ``lm``, ``plm``, ``sustained``, ``all`` (events), ``series`` (PLM
        series) and ``plm_index_per_h``; columns ``start``, ``now``, ``change`` and, for the
        event rows, ``added`` (events of that kind now without one at the start within
        ``tolerance_s``: false alarms of :func:`detector.tuning.compare.compare_events` with the
        start as reference) and ``removed`` (the other way round). For every event row
        ``change == added - removed``.
    """
    from detector.tuning.compare import compare_events

    a, b = _counts(start), _counts(now)
    a["all"], b["all"] = len(start.events), len(now.events)
    scores = compare_events(now, start, tolerance_s=tolerance_s).scores.set_index("kind")
    rows = []
    for k in (*_KINDS, "all", "series", "plm_index_per_h"):
        row: dict[str, Any] = {"start": a[k], "now": b[k], "change": round(b[k] - a[k], 1)}
        if k in scores.index:
            row.update(added=int(scores.at[k, "fp"]), removed=int(scores.at[k, "fn"]))
        rows.append(row)
    index = pd.Index([*_KINDS, "all", "series", "plm_index_per_h"], name="kind")
    # object columns: counts stay integers next to the (decimal) PLM index
    table = pd.DataFrame({c: pd.Series([r[c] for r in rows], index=index, dtype=object)
                          for c in ("start", "now", "change")})
    for c in ("added", "removed"):
        table[c] = pd.array([r.get(c) for r in rows], dtype="Int64")
    return table


def static_panel(results: Any, setting: str, values: Iterable[Any]) -> tuple[pd.DataFrame, Figure]:
    """Counts and PLM index over several values of one setting, without widgets.

    Parameters
    ----------
    results : NightResult
        The night (re-thresholded for each value from its own settings).
    setting : str
        A name :meth:`detector.config.Config.with_values` takes: ``on_factor``,
        ``envelope__merge_gap_s``, ``rules`` ...
    values : iterable
        The values to try, e.g. ``[3, 4, 5, 6, 8]`` or ``["wasm2016", "aasm2012"]``.

    Returns
    -------
    table : DataFrame
        One row per value: ``setting`` value, ``n_twitch``, ``n_lm``, ``n_plm``,
        ``n_sustained``, ``n_series``, ``plm_index`` (per hour of analysed rest), ``lm_index``,
        ``twitch_index``.
    fig : Figure
        Events of each kind (left axis) and PLM index (right axis, dashed) against the value;
        the starting value marked by a grey line.

    Raises
    ------
    ConfigError
        On an unknown setting or a value out of its range (naming both).
    """
    values = list(values)
    if not values:
        raise ValueError("values: give at least one value to try")
    rows = []
    for v in values:
        m = results.rethreshold(**{setting: v}).metrics
        rows.append({setting: v, "n_twitch": m["n_twitch"], "n_lm": m["n_lm"],
                     "n_plm": m["n_plm"], "n_sustained": m["n_sustained"],
                     "n_series": m["n_series"], "plm_index": m["plm_index"],
                     "lm_index": m["lm_index"], "twitch_index": m["twitch_index"]})
    table = pd.DataFrame(rows)
    numeric = all(is_number(v) for v in values)
    x = np.asarray(values, float) if numeric else np.arange(len(values), dtype=float)
    fig = Figure(figsize=(6.4, 3.4), layout="constrained")
    ax = fig.add_subplot()
    for col, kind, colour in (("n_twitch", "twitches", KIND_COLOURS["twitch"]),
                              ("n_lm", "leg movements", KIND_COLOURS["lm"]),
                              ("n_plm", "in PLM series", PLM_COLOUR),
                              ("n_sustained", "sustained", KIND_COLOURS["sustained"])):
        ax.plot(x, table[col], marker="o", color=colour, label=kind)
    ax.set_xlabel(setting)
    ax.set_ylabel("events")
    ax.grid(alpha=0.25)
    if not numeric:
        ax.set_xticks(x, [str(v) for v in values])
    right = ax.twinx()
    right.plot(x, table["plm_index"], color="black", linestyle="--", marker="s",
               label="PLM index (/h)")
    right.set_ylabel("PLM index (/h)")
    right.set_ylim(bottom=0.0)
    current = _current_value(results.config, setting)
    if numeric and is_number(current):
        ax.axvline(float(current), color="#999999", linewidth=1.0, zorder=0)
    handles = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, frameon=False,
              loc="upper right")
    ax.set_title(f"{setting}: events and PLM index (starting value: {current})", fontsize=10,
                 loc="left")
    return table, fig


def _current_value(config: Config, setting: str) -> Any:
    if setting == "rules":
        return config.rules.standard
    try:
        section, key, _ = setting_field(config, setting)
    except ConfigError:
        return None
    return getattr(getattr(config, section), key)


def _block_max(t: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    if len(y) <= max_points:
        return t, y
    k = int(np.ceil(len(y) / max_points))
    m = len(y) // k
    blocks = y[: m * k].reshape(m, k)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(blocks).any(axis=1)
        peak = np.where(ok, np.nanmax(np.where(np.isfinite(blocks), blocks, -np.inf), axis=1),
                        np.nan)
    return t[: m * k : k], peak


def plot_window(results: Any, start_s: float, length_s: float, *, before: Any = None) -> Figure:
    """A stretch of the night: envelope, on threshold and events, in mg.

    Parameters
    ----------
    results : NightResult
    start_s, length_s : float
        The window, in seconds from the first sample.
    before : NightResult, optional
        The same night under other settings: its events are drawn as black bars above the
        axes, so added and removed events stand out.

    Returns
    -------
    Figure
        x in seconds from the first sample; events shaded in the colour of their kind (LMs in a
        PLM series with a green bar along the bottom).
    """
    rec = results.recording
    fs = rec.fs_hz
    i0 = int(np.clip(np.floor(start_s * fs), 0, rec.n_samples))
    i1 = int(np.clip(np.ceil((start_s + length_s) * fs), i0, rec.n_samples))
    t = np.arange(i0, i1) / fs
    te, env = _block_max(t, results.envelope_g[i0:i1].astype(float) * 1000.0, 3000)
    tt, thr = _block_max(t, results.threshold_on_g[i0:i1].astype(float) * 1000.0, 3000)
    fig = Figure(figsize=(10.0, 3.3), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(te, env, color="#666666", linewidth=0.7, label="movement envelope")
    ax.plot(tt, thr, color="black", linewidth=1.0, linestyle="--", label="on threshold")
    lo_s, hi_s = start_s, start_s + length_s
    for name, res, y0, h in (("now", results, 0.0, 1.0), ("before", before, 1.0, 0.08)):
        if res is None:
            continue
        ev = res.events
        part = ev[(ev["end_s"] >= lo_s) & (ev["start_s"] <= hi_s)]
        for s, e, kind, plm in zip(part["start_s"], part["end_s"], part["kind"],
                                   part["plm"].fillna(False).astype(bool)):
            if name == "now":
                ax.axvspan(s, max(e, s + 0.05), color=KIND_COLOURS.get(kind, "#999999"),
                           alpha=0.3, linewidth=0)
                if plm:
                    ax.axvspan(s, max(e, s + 0.05), ymin=0.0, ymax=0.04, color=PLM_COLOUR)
            else:
                ax.axvspan(s, max(e, s + 0.05), ymin=0.92, ymax=1.0, color="black", alpha=0.7)
    ax.set_xlim(lo_s, hi_s)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("mg")
    ax.grid(alpha=0.25)
    note = "\nblack bars on top: the events under the starting settings" if before is not None \
        else ""
    ax.set_title(f"{lo_s / 60:.1f}-{hi_s / 60:.1f} min. Shaded: twitch (orange), leg movement "
                 f"(blue), sustained (pink); green foot: in a PLM series{note}", fontsize=8,
                 loc="left")
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    return fig


def figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()
