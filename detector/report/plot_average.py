"""Event-locked averages: what a typical twitch, leg movement or sustained movement looks like.

Each kind gets one panel: the movement envelope of every event of that kind, aligned on its onset
(time 0), drawn faintly, with the median trace and its interquartile band on top. A threshold
change that starts catching noise shows up at once as a flat, low median.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from detector.report.plots import Figure, KIND_COLOURS, PLM_COLOUR, kind_labels

__all__ = ["event_locked", "plot_average", "WINDOWS_S"]

#: Seconds before and after the onset shown for each kind.
WINDOWS_S: dict[str, tuple[float, float]] = {
    "twitch": (-1.0, 2.0), "lm": (-2.0, 12.0), "plm": (-2.0, 12.0), "sustained": (-5.0, 30.0)}

#: Most single traces drawn faintly behind the median.
_MAX_TRACES = 40


def event_locked(envelope_g: np.ndarray, fs_hz: float, onsets_s: np.ndarray,
                 window_s: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Cut the envelope around each onset.

    Parameters
    ----------
    envelope_g : ndarray, shape (n,)
        Envelope in g on the recording grid (NaN in gaps).
    fs_hz : float
    onsets_s : ndarray
        Onsets in seconds from the first sample.
    window_s : (float, float)
        Seconds before (negative) and after the onset.

    Returns
    -------
    t_s : ndarray, shape (m,)
        Time from the onset, in seconds.
    traces_g : ndarray, shape (len(onsets_s), m)
        NaN where the window leaves the recording or meets a gap.
    """
    k0 = int(np.floor(window_s[0] * fs_hz))
    k1 = int(np.ceil(window_s[1] * fs_hz))
    offsets = np.arange(k0, k1 + 1)
    idx = np.round(np.asarray(onsets_s, float) * fs_hz).astype(np.int64)[:, None] + offsets
    inside = (idx >= 0) & (idx < len(envelope_g))
    traces = np.where(inside, envelope_g[np.clip(idx, 0, max(len(envelope_g) - 1, 0))], np.nan)
    return offsets / fs_hz, traces.astype(float)


def plot_average(result: Any, kind: str | list[str] | None = None) -> Figure:
    """Onset-locked envelope of each kind: single events, median and interquartile band, in mg.

    Parameters
    ----------
    result : NightResult
        Needs ``events``, ``envelope_g`` and ``recording``.
    kind : str or list of str, optional
        ``twitch``, ``lm``, ``plm`` (LMs in PLM series) and/or ``sustained``; by default
        every kind that occurred (all three duration classes when none did).

    Returns
    -------
    Figure
        One panel per kind, titled with the number of events and their median duration.
    """
    ev = result.events
    if kind is None:
        kinds = [k for k in ("twitch", "lm", "sustained") if (ev["kind"] == k).any()] or [
            "twitch", "lm", "sustained"]
    else:
        kinds = [kind] if isinstance(kind, str) else list(kind)
    bad = [k for k in kinds if k not in WINDOWS_S]
    if bad:
        raise ValueError(f"kind {bad[0]!r}: expected one of {', '.join(WINDOWS_S)}")
    labels = {**kind_labels(result.config.classify), "plm": "leg movements in PLM series"}
    fig = Figure(figsize=(4.2 * len(kinds), 3.4), layout="constrained")
    axes = fig.subplots(1, len(kinds), squeeze=False)[0]
    fs = result.recording.fs_hz
    for ax, k in zip(axes, kinds):
        sel = (ev["plm"].fillna(False).astype(bool) if k == "plm" else ev["kind"] == k).to_numpy()
        part = ev[sel]
        colour = PLM_COLOUR if k == "plm" else KIND_COLOURS[k]
        t, traces = event_locked(result.envelope_g, fs, part["start_s"].to_numpy(float),
                                 WINDOWS_S[k])
        traces_mg = traces * 1000.0
        ax.axvline(0.0, color="#444444", linewidth=0.8, linestyle=":")
        ax.set_xlabel("seconds from onset")
        ax.set_ylabel("envelope (mg)")
        ax.grid(alpha=0.25)
        if not len(part):
            ax.set_title(f"{labels[k]}: none", fontsize=10, loc="left")
            ax.text(0.5, 0.5, "no events of this kind", transform=ax.transAxes, ha="center",
                    va="center", color="#777777")
            continue
        step = max(len(part) // _MAX_TRACES, 1)
        for row in traces_mg[::step][:_MAX_TRACES]:
            ax.plot(t, row, color=colour, alpha=0.15, linewidth=0.6)
        with warnings.catch_warnings():  # columns that are all NaN (every window cut)
            warnings.simplefilter("ignore", RuntimeWarning)
            q1, med, q3 = np.nanpercentile(traces_mg, [25, 50, 75], axis=0)
        ax.fill_between(t, q1, q3, color=colour, alpha=0.3, linewidth=0, label="middle 50 %")
        ax.plot(t, med, color=colour, linewidth=2.0, label="median")
        dur = float(part["duration_s"].median())
        ax.axvline(dur, color=colour, linewidth=0.8, linestyle="--",
                   label=f"median duration {dur:.2f} s")
        ax.set_xlim(t[0], t[-1])
        ax.set_title(f"{labels[k]}: n = {len(part)}", fontsize=10, loc="left")
        ax.legend(fontsize=8, frameon=False, loc="upper right")
    return fig
