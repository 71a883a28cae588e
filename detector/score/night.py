"""Scoring a night's detected movements: rest window, non-wear, PLM series, metrics, category."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from detector.config import Config
from detector.detect.recipe import Detection
from detector.io.localtime import has_clock, zone_name, zone_or_utc
from detector.io.recording import Recording
from detector.score.category import categorize

__all__ = ["EVENT_COLUMNS", "score_detection", "settling_rates", "night_warnings",
           "events_table"]


def settling_rates(events: pd.DataFrame, recording: Recording, window_min: float,
                   valid: np.ndarray | None = None) -> dict[str, Any]:
    """Rate of irregular leg movements and longer movements early in the rest period and after.

    The restless-legs-like pattern is an urge to move while resting before sleep: many
    irregular movements at the start of rest, more than later. LMs that belong to PLM series
    (``plm`` true) are periodic, the other pattern, and are not counted.

    An accelerometer cannot see sleep onset, so the first ``window_min`` minutes of valid
    recording stand for "resting before sleep" (the report says so). ``valid`` (default: the
    recording's) says which samples count: without non-wear, a sensor put on late starts the
    window when it was put on.

    Returns
    -------
    dict
        ``settling_h``, ``settling_rate_per_h``, ``later_h``, ``later_rate_per_h`` (LMs outside
        PLM series plus sustained movements per hour of valid recording; None when a part is
        empty).
    """
    fs = recording.fs_hz
    valid = recording.valid if valid is None else valid
    total = int(np.count_nonzero(valid))
    if valid.size == 0 or total == 0:
        return {"settling_h": 0.0, "settling_rate_per_h": None, "later_h": 0.0,
                "later_rate_per_h": None}
    # The cumulative valid time is only needed up to the end of the window: look at a prefix
    # long enough to hold it (the whole night when gaps fill most of it).
    need = int(np.ceil(window_min * 60.0 * fs)) + 1
    m = valid.size
    prefix = min(m, 2 * need)
    if int(np.count_nonzero(valid[:prefix])) >= need:
        m = prefix
    valid_s = np.cumsum(valid[:m]) / fs
    cut_i = int(np.searchsorted(valid_s, window_min * 60.0))
    cut_s = cut_i / fs
    settle_h = (valid_s[cut_i] if cut_i < m else total / fs) / 3600.0
    later_h = total / fs / 3600.0 - settle_h
    # irregular movements only: LMs in PLM series are periodic, the other pattern
    periodic = (events["plm"].astype(bool) if "plm" in events.columns
                else pd.Series(False, index=events.index))
    moving = events[(events["kind"] == "sustained") | ((events["kind"] == "lm") & ~periodic)]
    n_early = int((moving["start_s"] < cut_s).sum())
    n_late = int(len(moving) - n_early)
    return {
        "settling_h": round(settle_h, 4),
        "settling_rate_per_h": n_early / settle_h if settle_h > 0.05 else None,
        "later_h": round(later_h, 4),
        "later_rate_per_h": n_late / later_h if later_h > 0.25 else None,
    }


def night_warnings(recording: Recording, metrics: dict[str, Any], cfg: Config) -> list[str]:
    """Plain sentences about what limits this night's numbers (``summary.json`` ``warnings``,
    printed by the command line and shown at the top of the report): the loader's own
    warnings, a rate too low for twitches, too little rest for a verdict, non-wear."""
    from detector.score.category import rest_text

    out = [str(w) for w in recording.info.get("warnings", [])]
    fs = recording.fs_hz
    cat = cfg.category
    if fs < cat.min_twitch_fs_hz:
        out.append(f"Sampled at {fs:g} Hz, below {cat.min_twitch_fs_hz:g} Hz: twitches (75-250 "
                   "ms) are not seen reliably, so the twitch index is unreliable and is not "
                   "used for the category. Some twitches may be counted as leg movements, "
                   "which can raise the LM and PLM indices.")
    elif fs < cat.precise_twitch_fs_hz:
        out.append(f"Sampled at {fs:g} Hz: twitches (75-250 ms) span only a few samples, so the "
                   f"twitch index is approximate (at least {cat.precise_twitch_fs_hz:g} Hz counts "
                   "them reliably); leg movements are counted as usual.")
    default_min = type(cat)().min_rest_h
    if cat.min_rest_h < default_min:
        out.append(f"The rest needed for a verdict was lowered to {rest_text(cat.min_rest_h)} "
                   f"(category.min_rest_h; the default is {rest_text(default_min)}): the "
                   "category of a short recording is less certain.")
    rest_h = metrics.get("rest_h")
    if rest_h is not None and rest_h < cat.min_rest_h:
        out.append(f"Only {rest_text(rest_h)} of rest: a verdict needs at least "
                   f"{rest_text(cat.min_rest_h)}, so no category is given.")
    nonwear_s = metrics.get("nonwear_s") or 0.0
    if nonwear_s >= 60:
        out.append(f"The sensor was off the leg for {rest_text(nonwear_s / 3600)}: that time is "
                   "left out of the rest time.")
    return out


def events_table(scored: pd.DataFrame) -> pd.DataFrame:
    """Order the scored events into the ``events.csv`` contract (extra columns kept after)."""
    ev = scored.copy()
    for col, default in (("plm", False), ("series", pd.NA), ("candidate", False),
                         ("imi_s", np.nan), ("respiratory", False), ("at_gap", False),
                         ("rotation_deg", np.nan), ("peak_g", np.nan), ("leg", "unknown"),
                         ("start_time", ""), ("in_rest_window", True)):
        if col not in ev:
            ev[col] = default
    ev["series"] = ev["series"].astype("Int64")
    extra = [c for c in ev.columns if c not in EVENT_COLUMNS]
    return ev[EVENT_COLUMNS + extra]


def score_detection(recording: Recording, cfg: Config, det: Detection, events: pd.DataFrame, *,
                    respiratory: pd.DataFrame | None = None, window: Any = None,
                    tz: Any = None, hypnogram: pd.DataFrame | None = None) -> dict[str, Any]:
    """Score detected movements: PLM series, metrics, article category, the events table.

    Parameters
    ----------
    recording : Recording
    cfg : Config
    det : Detection
        The detection the events came from (envelope, thresholds, info).
    events : DataFrame
        Its events (or the bilateral merge of both legs' events).
    respiratory : DataFrame, optional
        See :func:`detector.analyze`.
    window : RestWindow, optional
        See :func:`detector.analyze`.
    tz : tzinfo, optional
        See :func:`detector.analyze`.
    Returns
    -------
    dict
        The fields of :class:`detector.tuning.results.NightResult`: ``events``, ``series``,
        ``metrics``, ``category``, ``config``, ``recording``, ``envelope_g``,
        ``threshold_on_g``, ``imi_hist``, ``ln_imi_hist``, ``hourly``, ``info``.
    """
    from detector.score.metrics import (events_per_hour, imi_histogram, ln_imi_histogram,
                                        night_metrics)
    from detector.score.plm import score_plm

    from detector.detect.nonwear import find_nonwear_cached, nonwear_mask
    from detector.score.restwindow import estimated_window

    t = time.perf_counter()
    periods = find_nonwear_cached(recording, cfg.nonwear)
    worn = ~nonwear_mask(recording, periods)
    window = window if window is not None else estimated_window(recording, periods)
    fs = recording.fs_hz
    inside = np.zeros(recording.n_samples, bool)
    inside[int(round(window.start_s * fs)):int(round(window.end_s * fs))] = True
    n_nonwear_events = 0
    outside_events = events.iloc[0:0]
    if len(events):
        # Movements while the sensor is off the leg are the sensor being handled, not the leg.
        starts = events["start_s"].to_numpy(float)
        off = np.zeros(len(events), bool)
        for a, b in periods:
            off |= (starts >= a) & (starts < b)
        n_nonwear_events = int(off.sum())
        # Movements outside the rest window are listed, not scored.
        out = ~off & ((starts < window.start_s) | (starts >= window.end_s))
        outside_events = events[out]
        events = events[~off & ~out].reset_index(drop=True)
    nonwear_s = float(np.count_nonzero(recording.valid & ~worn)) / fs
    outside_s = float(np.count_nonzero(recording.valid & worn & ~inside)) / fs
    scoring = score_plm(events, cfg.rules, respiratory)
    scored = scoring.events
    if len(outside_events):
        listed = outside_events.assign(plm=False, candidate=False, in_rest_window=False)
        scored = (pd.concat([scored.assign(in_rest_window=True), listed], ignore_index=True)
                  .sort_values("start_s", kind="stable").reset_index(drop=True))
    metrics = night_metrics(scoring, recording_s=recording.duration_s, gap_s=recording.gap_s,
                            excluded_s=nonwear_s + outside_s)
    metrics["nonwear_s"] = nonwear_s
    metrics["outside_window_s"] = outside_s
    metrics["nonwear_periods"] = [[round(a, 3), round(b, 3)] for a, b in periods]
    metrics["n_events_nonwear"] = n_nonwear_events
    metrics["n_events_outside_window"] = int(len(outside_events))
    metrics["rest_window"] = window.as_dict(recording)
    metrics["tz"] = zone_name(window.zone or tz)
    metrics["n_rejected_vibration"] = det.info["n_rejected_vibration"]
    settling = settling_rates(scoring.events, recording, cfg.category.settling_window_min,
                              valid=recording.valid & worn & inside)
    metrics.update({f"settling_{k}" if not k.startswith("settling") else k: v
                    for k, v in settling.items()})
    category = categorize(metrics, settling, cfg.category, fs_hz=recording.fs_hz)
    metrics["twitch_index_reliable"] = recording.fs_hz >= cfg.category.min_twitch_fs_hz
    metrics["twitch_index_approximate"] = (metrics["twitch_index_reliable"]
                                           and recording.fs_hz < cfg.category.precise_twitch_fs_hz)
    table = events_table(scored)
    if hypnogram is not None and len(hypnogram):
        from detector.score.sleep import sleep_metrics

        # PLMS and PLMW (WASM 2016, as PLMScoRe reports them): the series found over the whole
        # night, each PLM counted in the stage of its onset
        metrics.update(sleep_metrics(scoring.events, hypnogram))
    zone = zone_or_utc(metrics["tz"])
    if has_clock(recording):
        # Local clock time with its offset (start_time stays UTC, as other tools read it).
        t0 = pd.Timestamp(recording.t0_unix_s, unit="s", tz="UTC")
        local = (t0 + pd.to_timedelta(table["start_s"].to_numpy(float), unit="s")).tz_convert(
            zone)
        table["local_time"] = [t.isoformat(timespec="milliseconds") for t in local]
        metrics["start_time_local"] = t0.tz_convert(zone).isoformat(timespec="milliseconds")
    info = dict(det.info)
    info["timings"] = {"score_s": time.perf_counter() - t}
    info["warnings"] = night_warnings(recording, metrics, cfg)
    return dict(
        events=table,
        series=scoring.series,
        metrics=metrics,
        category=category,
        config=cfg,
        recording=recording,
        envelope_g=det.envelope_g,
        threshold_on_g=det.on_g,
        imi_hist=imi_histogram(scoring),
        ln_imi_hist=ln_imi_histogram(scoring),
        hourly=events_per_hour(scoring.events, recording.duration_s),
        info=info,
    )


#: Columns of ``events.csv`` (a contract read by other tools: add, never rename).
EVENT_COLUMNS = ["start_s", "end_s", "start_time", "duration_s", "kind", "plm", "series", "peak_g",
                 "leg", "rotation_deg", "candidate", "imi_s", "respiratory", "at_gap"]
