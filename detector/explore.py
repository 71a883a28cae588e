"""Threshold tuning in a notebook: sliders over one night, and the same numbers without widgets.

::

    import detector as lt
    from detector.explore import threshold_panel, static_panel

    res = lt.detect_movements("night.csv")
    panel = threshold_panel(res, export_path="output/tuned.toml")
    panel                      # sliders, the night, counts, what changed, "Export preset"
    panel.results              # what the panel shows now (a MovementResults)
    panel.config.to_toml("tuned.toml")   # legtwitch analyze night.csv --config tuned.toml

    table, fig = static_panel(res, "on_factor", [3, 4, 5, 6, 8])   # no widgets needed

Every change re-detects with :meth:`detector.tuning.MovementResults.rethreshold` from the
starting settings, so what the panel shows is exactly what ``legtwitch analyze --config`` finds
with the exported preset. Without ``ipywidgets`` the panel falls back to :func:`static_panel`
and can still be driven with :meth:`ThresholdPanel.set`.
"""

from __future__ import annotations

import io
import shlex
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .config import RULES, Config, ConfigError
from .filters import HIGHCUT_MAX_FRACTION
from .plots import KIND_COLOURS, PLM_COLOUR
from .recording import InputError

__all__ = ["threshold_panel", "static_panel", "changes_table", "plot_window", "slider_range",
           "ThresholdPanel", "DEFAULT_SETTINGS", "SLIDER_RANGES"]

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
_WINDOWS_MIN = (1, 2, 5, 10, 30)
_DPI = 90
_AS_LOADED = "as loaded"


# --------------------------------------------------------------------------------------------
# Settings and their slider ranges
# --------------------------------------------------------------------------------------------

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _field(config: Config, name: str) -> tuple[str, str, Any]:
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
    if not _is_number(f.default):
        raise ConfigError(f"{name}: only numeric settings (and rules) get a slider")
    return section, key, f


def _decimals(step: float) -> int:
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
    section, key, f = _field(config, name)
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
        ``tolerance_s``: false alarms of :func:`detector.compare.compare_events` with the
        start as reference) and ``removed`` (the other way round). For every event row
        ``change == added - removed``.
    """
    from .compare import compare_events

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
    results : MovementResults
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
    numeric = all(_is_number(v) for v in values)
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
    if numeric and _is_number(current):
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
        section, key, _ = _field(config, setting)
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


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# The panel
# --------------------------------------------------------------------------------------------

class ThresholdPanel:
    """Sliders over one night's settings, with the state a later notebook cell can use.

    Create with :func:`threshold_panel`. Attributes: ``start`` (the results it began with),
    ``results`` and ``config`` (what it shows now), ``overrides`` (the settings changed, as
    ``rethreshold`` takes them), ``widget`` (the ipywidgets box, None without ipywidgets),
    ``controls`` (``{setting: slider or drop-down}``), ``static`` (``static_panel``'s table and
    figure when ipywidgets is missing), ``message`` (the last status line).
    """

    def __init__(self, results: Any, settings: Sequence[str] | Mapping[str, Any] | None = None,
                 *, export_path: str | Path | None = None, widgets: bool = True) -> None:
        self.start = results
        self._results = results
        self.export_path = Path(export_path) if export_path is not None else Path("tuned.toml")
        cfg, fs = results.config, results.recording.fs_hz
        names = list(settings if settings is not None else DEFAULT_SETTINGS)
        given = settings if isinstance(settings, Mapping) else {}
        self.ranges: dict[str, tuple[float, float, float]] = {}
        self._keys: dict[str, str] = {}
        for name in names:
            if name == "rules":
                continue
            section, key, _ = _field(cfg, name)
            self._keys[name] = f"{section}__{key}"
            if given.get(name):  # the user's range, widened to hold the starting value
                value = getattr(getattr(cfg, section), key)
                lo, hi, step = (float(v) for v in given[name])
                self.ranges[name] = (min(lo, value), max(hi, value), step)
            else:
                self.ranges[name] = slider_range(cfg, name, fs)
        self._rules = "rules" in names
        start_rules = cfg.rules.standard if RULES.get(cfg.rules.standard) == cfg.rules else None
        self._start_values: dict[str, Any] = {
            n: getattr(getattr(cfg, k.split("__")[0]), k.split("__")[1])
            for n, k in self._keys.items()}
        if self._rules:
            self._start_values["rules"] = start_rules
        self._values = dict(self._start_values)
        self.message = ""
        self.static: tuple[pd.DataFrame, Figure] | None = None
        self.widget: Any = None
        self.controls: dict[str, Any] = {}
        self._batch = False
        if widgets:
            self._build()

    # -- state ---------------------------------------------------------------------------
    @property
    def results(self) -> Any:
        """The night under the settings shown now (a MovementResults)."""
        return self._results

    @property
    def config(self) -> Config:
        """The settings shown now; ``config.to_toml(path)`` is the preset."""
        return self._results.config

    @property
    def overrides(self) -> dict[str, Any]:
        """Settings that differ from the start, e.g. ``{"on_factor": 6.0}``: ready for
        ``detect_movements(path, **panel.overrides)`` or ``Config.with_values``."""
        return {n: v for n, v in self._values.items() if v != self._start_values[n]}

    def _rethreshold_args(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self._rules and values["rules"] != self._start_values["rules"]:
            out["rules"] = values["rules"]
        for n, key in self._keys.items():
            if values[n] != self._start_values[n]:
                out[key] = values[n]
        return out

    def set(self, **values: Any) -> Any:
        """Change settings as the sliders would (all at once) and redraw.

        Parameters
        ----------
        **values
            Settings shown by the panel, e.g. ``on_factor=6, rules="aasm2012"``.

        Returns
        -------
        MovementResults
            :attr:`results` after the change.

        Raises
        ------
        ConfigError
            On a setting the panel does not show, or a value it cannot take (the panel keeps
            its previous results).
        """
        unknown = [n for n in values if n not in self._start_values]
        if unknown:
            raise ConfigError(f"{unknown[0]}: not a setting of this panel; it shows "
                              f"{', '.join(self._start_values)}")
        new = {**self._values, **{n: self._clean(n, v) for n, v in values.items()}}
        self._show_values(new)
        if not self._apply(new):
            raise ConfigError(self.message)
        return self._results

    def _show_values(self, values: Mapping[str, Any]) -> None:
        """Move the controls to ``values`` without triggering a re-detection."""
        if self.widget is None:
            return
        self._batch = True
        try:
            for n, ctl in self.controls.items():
                v = values[n]
                if n == "rules":
                    ctl.value = v if v is not None else _AS_LOADED
                    continue
                ctl.min, ctl.max = min(ctl.min, v), max(ctl.max, v)  # a value set from code
                ctl.value = v
        finally:
            self._batch = False

    def _clean(self, name: str, value: Any) -> Any:
        if name == "rules":
            if value in (None, _AS_LOADED):
                return self._start_values["rules"]
            if value not in RULES:
                raise ConfigError(f"rules={value!r}: expected one of {', '.join(RULES)}")
            return value
        if not _is_number(value):
            raise ConfigError(f"{name}={value!r}: expected a number")
        start = self._start_values[name]
        if float(value) == float(start):
            return start
        if isinstance(start, int):
            return int(round(float(value)))
        return round(float(value), 9)  # drops float noise of the browser (0.30000000000000004)

    def _apply(self, values: dict[str, Any]) -> bool:
        """Re-detect with ``values``; on an invalid combination keep the results, say why."""
        t = time.perf_counter()
        args = self._rethreshold_args(values)
        try:
            results = self.start.rethreshold(**args)
        except (ConfigError, InputError, ValueError) as exc:
            self.message = f"not applied: {exc}"
            self._show_values(self._values)
            self._show_status(error=True)
            return False
        self._values, self._results = values, results
        m = results.metrics
        changed = ", ".join(f"{k}={v}" for k, v in self.overrides.items()) or "starting settings"
        self.message = (f"{changed}: {m['n_twitch']} twitches, {m['n_lm']} LMs, {m['n_plm']} "
                        f"PLMs in {m['n_series']} series, PLM index {m['plm_index']:.1f}/h "
                        f"({time.perf_counter() - t:.2f} s)")
        self._redraw()
        return True

    def changes(self) -> pd.DataFrame:
        """:func:`changes_table` of the starting against the current results."""
        return changes_table(self.start, self._results)

    def command(self, path: str | Path | None = None) -> str:
        """The ``legtwitch analyze`` command that repeats this analysis with the exported
        preset."""
        source = str(self._results.recording.source)
        rec = source if Path(source).is_file() else "RECORDING"
        return (f"legtwitch analyze {shlex.quote(rec)} --config "
                f"{shlex.quote(str(path or self.export_path))}")

    def export(self, path: str | Path | None = None) -> Path:
        """Write the current settings as a TOML preset (mode 0600).

        Parameters
        ----------
        path : str or Path, optional
            Default: the panel's ``export_path``. Missing folders are created (0700).

        Returns
        -------
        Path
            The preset; ``load_config(path)`` gives back :attr:`config`.
        """
        from .fileio import make_private_dir

        path = Path(path) if path is not None else self.export_path
        if str(path.parent) not in ("", "."):
            make_private_dir(path.parent)
        self.config.to_toml(path)
        return path

    # -- widgets -------------------------------------------------------------------------
    def _build(self) -> None:
        import ipywidgets as w

        layout = w.Layout(width="420px")
        style = {"description_width": "130px"}
        for name, (lo, hi, step) in self.ranges.items():
            start = self._start_values[name]
            klass = w.IntSlider if isinstance(start, int) else w.FloatSlider
            extra = {} if isinstance(start, int) else {
                "readout_format": f".{max(_decimals(step), 1)}f"}
            ctl = klass(value=start, min=lo, max=hi, step=step, description=name,
                        continuous_update=False, layout=layout, style=style, **extra)
            self.controls[name] = ctl
        if self._rules:
            options = list(RULES) if self._start_values["rules"] is not None else [
                _AS_LOADED, *RULES]
            self.controls["rules"] = w.Dropdown(
                options=options, value=self._start_values["rules"] or _AS_LOADED,
                description="rules", layout=layout, style=style)
        for ctl in self.controls.values():
            ctl.observe(self._on_control, names="value")
        dur_min = self.start.recording.duration_s / 60.0
        self.view = w.ToggleButtons(options=["night", "window"], value="night",
                                    description="show", style={"button_width": "80px"})
        self.window_start = w.FloatSlider(value=0.0, min=0.0, max=max(dur_min - 1.0, 0.0),
                                          step=0.5, description="window start (min)",
                                          continuous_update=False, layout=layout, style=style)
        self.window_length = w.Dropdown(options=[(f"{m} min", m) for m in _WINDOWS_MIN],
                                        value=5, description="window length", style=style)
        for ctl in (self.view, self.window_start, self.window_length):
            ctl.observe(lambda _change: self._draw_figure(), names="value")
        self.status = w.HTML()
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.summary_html = w.HTML()
        self.changes_html = w.HTML()
        self.export_button = w.Button(description="Export preset", icon="download",
                                      button_style="primary")
        self.export_html = w.HTML()
        self.export_button.on_click(lambda _b: self._on_export())
        reset = w.Button(description="Reset")
        reset.on_click(lambda _b: self.set(**self._start_values))
        left = w.VBox([w.HTML("<b>Settings</b>"), *self.controls.values(),
                       w.HBox([self.export_button, reset]), self.export_html])
        right = w.VBox([w.HTML("<b>Events</b>"), self.summary_html,
                        w.HTML(f"<b>What changed</b> (vs the starting settings; added/removed: "
                               f"no event of that kind within {CHANGE_TOLERANCE_S:g} s)"),
                        self.changes_html])
        self.widget = w.VBox([w.HBox([left, right]), self.status,
                              w.HBox([self.view, self.window_start, self.window_length]),
                              self.image])
        self.message = "starting settings"
        self._redraw()

    def _on_control(self, change: Any) -> None:
        if self._batch:
            return
        name = next(n for n, c in self.controls.items() if c is change["owner"])
        try:
            value = self._clean(name, change["new"])
        except ConfigError as exc:
            self.message = f"not applied: {exc}"
            self._show_status(error=True)
            return
        self._apply({**self._values, name: value})

    def _on_export(self) -> None:
        import html

        try:
            path = self.export()
        except OSError as exc:
            self.export_html.value = f"<span style='color:#B00020'>not written: {exc}</span>"
            return
        self.export_html.value = (f"written: <code>{html.escape(str(path))}</code><br>run: "
                                  f"<code>{html.escape(self.command(path))}</code>")

    def _show_status(self, error: bool = False) -> None:
        if self.widget is None:
            if error:
                print(self.message)
            return
        import html

        colour = "#B00020" if error else "#333333"
        self.status.value = f"<span style='color:{colour}'>{html.escape(self.message)}</span>"

    def _redraw(self) -> None:
        if self.widget is None:
            return
        self._show_status()
        self.summary_html.value = self._results.event_summary().round(2).to_html()
        self.changes_html.value = self.changes().to_html(na_rep="")
        self._draw_figure()

    def _draw_figure(self) -> None:
        if self.view.value == "night":
            fig = self._results.plot_night()
        else:
            fig = plot_window(self._results, self.window_start.value * 60.0,
                              self.window_length.value * 60.0, before=self.start)
        self.image.value = _png(fig)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self.widget is not None:
            display(self.widget)
        elif self.static is not None:
            print(self.message)
            display(self.static[0])
            display(self.static[1])


def _around(value: float, lo: float, hi: float, step: float) -> list[float]:
    """A handful of values around ``value`` within ``[lo, hi]``, on the slider's step."""
    picks = {min(max(round(value * f / step) * step, lo), hi)
             for f in (0.6, 0.8, 1.0, 1.2, 1.6, 2.0)}
    return sorted(round(v, _decimals(step)) for v in picks)


def threshold_panel(results: Any, settings: Sequence[str] | Mapping[str, Any] | None = None, *,
                    export_path: str | Path | None = None) -> ThresholdPanel:
    """Sliders over a night's detection settings, redrawn on every change.

    Parameters
    ----------
    results : MovementResults
        From :func:`detector.detect_movements`; its settings are the starting point.
    settings : sequence of str or mapping, optional
        Settings to show: short names (``on_factor``) or ``section__key``, and ``rules`` for the
        rule-set drop-down (WASM 2016 / AASM 2012). Default :data:`DEFAULT_SETTINGS`. A mapping
        ``{name: (min, max, step) or None}`` also sets the slider ranges (None:
        :func:`slider_range`; a range is widened to hold the starting value).
    export_path : str or Path, optional
        Where "Export preset" writes the TOML (default ``tuned.toml`` in the working folder).

    Returns
    -------
    ThresholdPanel
        Shows itself as the last expression of a cell. ``panel.results`` / ``panel.config``
        hold what it shows; ``panel.set(on_factor=6)`` moves sliders from code;
        ``panel.export()`` writes the preset. Each change calls ``rethreshold`` (events exactly
        as ``detect_movements`` with those settings) and redraws the night (or a zoomed window
        with the starting events above it), :meth:`~detector.results.NightResult.event_summary`
        and :func:`changes_table`.

    Notes
    -----
    Without ``ipywidgets`` a note is printed and the panel shows :func:`static_panel` over
    ``on_factor`` (or the first setting) instead; ``set`` and ``export`` still work.
    """
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        panel = ThresholdPanel(results, settings, export_path=export_path, widgets=False)
        name = "on_factor" if "on_factor" in panel.ranges else next(iter(panel.ranges), None)
        print("ipywidgets is not installed, so there are no sliders: showing a table over "
              f"{name or 'rules'} instead (pip install -e \".[notebooks]\" for the panel; "
              "panel.set(on_factor=6) changes settings from code).")
        if name is not None:
            lo, hi, step = panel.ranges[name]
            values: list[Any] = _around(float(panel._start_values[name]), lo, hi, step)
        else:
            name, values = "rules", list(RULES)
        panel.static = static_panel(results, name, values)
        panel.message = f"{name} over {values}"
        return panel
    return ThresholdPanel(results, settings, export_path=export_path)
