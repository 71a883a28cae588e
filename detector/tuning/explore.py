"""Threshold tuning in a notebook: sliders over one night, and the same numbers without widgets.

::

    import detector as lt
    from detector.tuning.explore import threshold_panel, static_panel

    res = lt.detect_movements("night.csv")
    panel = threshold_panel(res, export_path="output/tuned.toml")
    panel                      # sliders, the night, counts, what changed, "Export preset"
    panel.results              # what the panel shows now (a NightResult)
    panel.config.to_toml("tuned.toml")   # legtwitch analyze night.csv --config tuned.toml

    table, fig = static_panel(res, "on_factor", [3, 4, 5, 6, 8])   # no widgets needed

Every change re-detects with :meth:`detector.tuning.results.NightResult.rethreshold` from the
starting settings, so what the panel shows is exactly what ``legtwitch analyze --config`` finds
with the exported preset. Without ``ipywidgets`` the panel falls back to :func:`static_panel`
and can still be driven with :meth:`ThresholdPanel.set`.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
from matplotlib.figure import Figure

from detector.config import RULES, Config, ConfigError
from detector.io.recording import InputError
from detector.tuning.views import (AS_LOADED, CHANGE_TOLERANCE_S, DEFAULT_SETTINGS, SLIDER_RANGES,
                                   WINDOWS_MIN, changes_table, figure_png, is_number, plot_window,
                                   setting_field, slider_range, static_panel, step_decimals)

__all__ = ["threshold_panel", "static_panel", "changes_table", "plot_window", "slider_range",
           "ThresholdPanel", "DEFAULT_SETTINGS", "SLIDER_RANGES"]

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
            section, key, _ = setting_field(cfg, name)
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
        """The night under the settings shown now (a NightResult)."""
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
        NightResult
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
                    ctl.value = v if v is not None else AS_LOADED
                    continue
                ctl.min, ctl.max = min(ctl.min, v), max(ctl.max, v)  # a value set from code
                ctl.value = v
        finally:
            self._batch = False

    def _clean(self, name: str, value: Any) -> Any:
        if name == "rules":
            if value in (None, AS_LOADED):
                return self._start_values["rules"]
            if value not in RULES:
                raise ConfigError(f"rules={value!r}: expected one of {', '.join(RULES)}")
            return value
        if not is_number(value):
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
        from detector.fileio import make_private_dir

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
                "readout_format": f".{max(step_decimals(step), 1)}f"}
            ctl = klass(value=start, min=lo, max=hi, step=step, description=name,
                        continuous_update=False, layout=layout, style=style, **extra)
            self.controls[name] = ctl
        if self._rules:
            options = list(RULES) if self._start_values["rules"] is not None else [
                AS_LOADED, *RULES]
            self.controls["rules"] = w.Dropdown(
                options=options, value=self._start_values["rules"] or AS_LOADED,
                description="rules", layout=layout, style=style)
        for ctl in self.controls.values():
            ctl.observe(self._on_control, names="value")
        dur_min = self.start.recording.duration_s / 60.0
        self.view = w.ToggleButtons(options=["night", "window"], value="night",
                                    description="show", style={"button_width": "80px"})
        self.window_start = w.FloatSlider(value=0.0, min=0.0, max=max(dur_min - 1.0, 0.0),
                                          step=0.5, description="window start (min)",
                                          continuous_update=False, layout=layout, style=style)
        self.window_length = w.Dropdown(options=[(f"{m} min", m) for m in WINDOWS_MIN],
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
        self.image.value = figure_png(fig)

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
    return sorted(round(v, step_decimals(step)) for v in picks)


def threshold_panel(results: Any, settings: Sequence[str] | Mapping[str, Any] | None = None, *,
                    export_path: str | Path | None = None) -> ThresholdPanel:
    """Sliders over a night's detection settings, redrawn on every change.

    Parameters
    ----------
    results : NightResult
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
        with the starting events above it),
        :meth:`~detector.tuning.results.NightResult.event_summary` and :func:`changes_table`.

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
