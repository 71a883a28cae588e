"""A methods section for a paper, written from a configuration.

:func:`describe` states, in past tense and plain scientific English, what the analysis did with
every threshold of a :class:`~detector.config.Config`: pre-processing, filtering, the movement
envelope and its thresholds, classification, and PLM scoring under the configured rules, with
numbered references. Every number comes from the configuration (or from the constant in the
module that uses it), so the text changes when a threshold does.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import fields
from pathlib import Path

import numpy as np

from detector.io.clean import FULL_SCALE_RANGES_G, SNAP_TOLERANCE
from detector.config import RULES, Config, ConfigError, RulesConfig, load_config
from detector.detect.envelope import (MIN_REST_S, POSTURE_STEP_G, REST_HALF_BLOCKS,
                                      STILL_QUANTILE, STILL_WINDOW_S, posture_baselines)
from detector.detect.events import MIN_SEGMENT_S, ROTATION_SMOOTH_S, SAME_POSTURE_G
from detector.detect.filters import HIGHCUT_MAX_FRACTION
from detector.io.columns import STANDARD_GRAVITY_MS2
from detector.score.metrics import PERIODICITY_MIN_IMIS

__all__ = ["describe"]

#: Largest low-pass corner as a fraction of the sampling rate (see
#: :func:`detector.detect.filters.design_bandpass`).

#: Frequency below which a movement counts as slow: the first null of the 1/3-s moving average
#: in :func:`detector.detect.events.event_features`.
_SLOW_BELOW_HZ = 3

_REFERENCES: dict[str, tuple[str, str]] = {
    # key: (numbered reference, short inline citation)
    "scipy": ("Virtanen P, Gommers R, Oliphant TE, et al. SciPy 1.0: fundamental algorithms for "
              "scientific computing in Python. Nat Methods 2020;17:261-272.",
              "Virtanen et al., Nat Methods 2020"),
    "wasm2016": ("Ferri R, Fulda S, Allen RP, et al. World Association of Sleep Medicine (WASM) "
                 "2016 standards for recording and scoring leg movements in polysomnograms "
                 "developed by a joint task force from the International and the European "
                 "Restless Legs Syndrome Study Groups (IRLSSG and EURLSSG). Sleep Med "
                 "2016;26:86-95.",
                 "Ferri et al., Sleep Med 2016;26:86-95"),
    "aasm2012": ("Berry RB, Brooks R, Gamaldo CE, et al. The AASM Manual for the Scoring of Sleep "
                 "and Associated Events: Rules, Terminology and Technical Specifications, "
                 "Version 2.0. Darien, IL: American Academy of Sleep Medicine; 2012.",
                 "Berry et al., AASM Scoring Manual v2.0, 2012"),
    "periodicity": ("Ferri R, Zucconi M, Manconi M, et al. New approaches to the study of "
                    "periodic leg movements during sleep in restless legs syndrome. Sleep "
                    "2006;29:759-769.",
                    "Ferri et al., Sleep 2006;29:759-769"),
    "vanhees2013": ("van Hees VT, Gorzelniak L, Dean Leon EC, et al. Separating movement and "
                    "gravity components in an acceleration signal and implications for the "
                    "assessment of human daily physical activity. PLoS ONE 2013;8:e61691.",
                    "van Hees et al., PLoS ONE 2013;8:e61691"),
}

_RULE_NAMES = {
    "wasm2016": "the World Association of Sleep Medicine (WASM) / International Restless Legs "
                "Syndrome Study Group (IRLSSG) 2016 standards",
    "aasm2012": "the American Academy of Sleep Medicine (AASM) Manual for the Scoring of Sleep "
                "and Associated Events, version 2.0 (2012)",
}
_RULE_SHORT = {"wasm2016": "WASM 2016", "aasm2012": "AASM 2012"}

#: How each rule reads in a list of differences from a named rule set.
_RULE_LABELS: dict[str, str] = {
    "lm_min_s": "shortest LM",
    "lm_max_s": "longest monolateral candidate LM",
    "bilateral_max_s": "longest bilateral candidate LM",
    "bilateral_mode": "bilateral merge",
    "bilateral_gap_s": "bilateral merge gap",
    "bilateral_max_parts": "most monolateral LMs in a bilateral candidate LM",
    "bilateral_onset_s": "bilateral onset window",
    "imi_min_s": "shortest IMI",
    "imi_max_s": "longest IMI",
    "short_imi_breaks_series": "an IMI below the shortest",
    "min_series": "fewest candidate LMs in a PLM series",
    "resp_before_s": "respiratory window start",
    "resp_after_s": "respiratory window end",
    "resp_anchor": "respiratory window anchor",
    "resp_breaks_series": "respiratory-related LMs when excluded",
    "lm_join_gap_s": "same-leg join gap",
}


def _n(value: float) -> str:
    """A number as written in the text: shortest exact decimal, no trailing zeros."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    return np.format_float_positional(round(float(value), 6), trim="-")


def _ordinal(k: int) -> str:
    """``4`` -> ``4th``, ``1`` -> ``1st``, ``12`` -> ``12th``."""
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _rule_value(key: str, value: object) -> str:
    """A rule's value in a list of differences."""
    if key == "bilateral_mode":
        return {"overlap": "by overlap or offset-to-onset gap",
                "onset": "by onset-to-onset interval"}[str(value)]
    if key == "resp_anchor":
        return {"end": "end of the respiratory event", "event": "whole respiratory event"}[
            str(value)]
    if key == "resp_breaks_series":
        return "end a series" if value else "removed, IMI measured across them"
    if key == "short_imi_breaks_series":
        return "ends a series" if value else "LM left out, series goes on"
    if key == "bilateral_max_parts" and value == 0:
        return "no limit"
    if key.endswith("_s"):
        return f"{_n(value)} s"  # type: ignore[arg-type]
    return _n(value)  # type: ignore[arg-type]


class _Citations:
    """Numbers references in order of first citation, or cites inline when not numbered."""

    def __init__(self, numbered: bool) -> None:
        self.numbered = numbered
        self.order: list[str] = []

    def cite(self, key: str) -> str:
        if not self.numbered:
            return f"({_REFERENCES[key][1]})"
        if key not in self.order:
            self.order.append(key)
        return f"[{self.order.index(key) + 1}]"

    def listing(self) -> str:
        lines = [f"{i}. {_REFERENCES[key][0]}" for i, key in enumerate(self.order, start=1)]
        return "References\n" + "\n".join(lines)


def _preprocessing(cfg: Config, fs_hz: float | None) -> str:
    rate = (f"{_n(fs_hz)} Hz" if fs_hz is not None else
            "the sensor's sampling rate (measured from the timestamps and set to the nearest "
            f"standard output data rate within {_n(SNAP_TOLERANCE * 100)} %)")
    ranges = (", ".join(_n(r) for r in FULL_SCALE_RANGES_G[:-1])
              + f" or {_n(FULL_SCALE_RANGES_G[-1])}")
    return (
        "Pre-processing. Rows with a missing or non-finite value were discarded, rows were "
        "sorted by time and of repeated timestamps the first row was kept. Acceleration recorded "
        f"in mg or m/s² was converted to g (1 g = {_n(STANDARD_GRAVITY_MS2)} m/s²). The samples "
        f"were placed on a uniform time grid at {rate} by linear interpolation between "
        "neighbouring samples (samples already on the grid were used as recorded). Intervals "
        f"of more than {_n(cfg.clean.max_interp_s)} s between consecutive "
        "samples (lost data) were marked as gaps: grid points inside a gap were left empty, not "
        "interpolated, and every following step ran on each gap-free segment separately, so "
        "that no movement was detected across a gap. Segments shorter than "
        f"{_n(MIN_SEGMENT_S)} s were not analysed. Samples within "
        f"{_n(cfg.clean.clip_margin_g)} g of a full-scale range ({ranges} g) were counted as "
        "clipped and kept.")


def _filtering(cfg: Config, fs_hz: float | None) -> str:
    bp, cl = cfg.bandpass, cfg.classify
    high = bp.highcut_hz if fs_hz is None else min(bp.highcut_hz, HIGHCUT_MAX_FRACTION * fs_hz)
    if bp.lowcut_hz > 0 and bp.lowcut_hz >= high:
        at = "" if fs_hz is None else f" at {_n(fs_hz)} Hz"
        raise ConfigError(f"bandpass.lowcut_hz={_n(bp.lowcut_hz)} must be below the low-pass "
                          f"corner {_n(high)} Hz{at}")
    if bp.lowcut_hz > 0:
        kind = (f"band-pass filter ({_n(bp.lowcut_hz)}-{_n(high)} Hz)")
        drift = ("Besides the high-pass filter, the resting posture (gravity) was removed by a "
                 "posture baseline")
    else:
        kind = f"low-pass filter (corner {_n(high)} Hz; no high-pass filter)"
        drift = ("Gravity and slow drift were removed not by a high-pass filter, which rings "
                 "after a change of posture and attenuates slow and held movements, but by a "
                 "posture baseline")
    if fs_hz is None:
        clamp = (f" The low-pass corner was {_n(bp.highcut_hz)} Hz or "
                 f"{_n(HIGHCUT_MAX_FRACTION)} times the sampling rate, whichever was lower.")
    elif high < bp.highcut_hz:
        clamp = (f" The configured low-pass corner of {_n(bp.highcut_hz)} Hz was limited to "
                 f"{_n(HIGHCUT_MAX_FRACTION)} times the sampling rate.")
    else:
        clamp = ""
    params = inspect.signature(posture_baselines).parameters
    still_factor = params["still_factor"].default
    still_min_g = params["still_min_g"].default
    return (
        "Filtering. Each axis of each gap-free segment was filtered with a "
        f"{_ordinal(bp.order)}-order Butterworth {kind}, applied forward and backward (zero "
        "phase, doubling the effective order; second-order sections, SciPy sosfiltfilt "
        f"{{scipy}}).{clamp} {drift}: 1-s blocks whose largest per-axis standard deviation was "
        f"below max({_n(still_factor)} × the {_n(STILL_QUANTILE * 100)}th percentile of the "
        f"blocks' deviations in the {_n(STILL_WINDOW_S / 60)} min around it, {_n(still_min_g)} "
        "g) were taken as still. Consecutive still blocks whose mean acceleration vectors "
        f"differed by less than {_n(POSTURE_STEP_G)} g formed a still stretch; a stretch of at least "
        f"{_n(MIN_REST_S)} s was a resting posture unless it was shorter than "
        f"{_n(cl.lm_max_s)} s and the leg came back from it (the postures before and after it "
        "nearer each other than half its distance from them: the held middle of a leg "
        "movement). Inside a resting posture the posture before (after) each block was the "
        f"median of the mean vectors of that posture's blocks within {_n(REST_HALF_BLOCKS)} s "
        "before (after) it, so that a still leg never made a movement, whatever posture it "
        "held; in between, the posture before (after) each block "
        "was the resting posture the leg held before (came to rest in after) it. Where a "
        "segment had no resting posture, the median of the mean vectors of the blocks within "
        f"{_n(bp.baseline_window_s)} s before (after) stood in.")


def _envelope(cfg: Config, fs_hz: float | None) -> str:
    ev, cl = cfg.envelope, cfg.classify
    smooth = (f"it was smoothed by a moving maximum followed by a moving average, each over "
              f"{_n(ev.smooth_s)} s")
    if fs_hz is not None and int(round(ev.smooth_s * fs_hz)) <= 1:
        smooth = (f"it was not smoothed, as the smoothing window of {_n(ev.smooth_s)} s spans "
                  f"at most one sample at {_n(fs_hz)} Hz")
    return (
        "Movement envelope and thresholds. The envelope was the Euclidean distance of the "
        "filtered three-axis acceleration vector from the nearer of the two posture baselines, "
        "so that a change of posture raised it only while the leg moved, and "
        f"{smooth}. The noise floor was estimated every second as the {_n(ev.noise_quantile)} "
        "quantile of the 1-s medians of the envelope within a centred "
        f"{_n(ev.noise_window_s)}-s window. A movement began where the envelope exceeded the "
        f"on threshold, max({_n(ev.on_factor)} × noise floor, {_n(ev.min_on_g)} g), and lasted "
        "while the envelope stayed above the off threshold, "
        f"max({_n(ev.off_ratio)} × {_n(ev.on_factor)} × noise floor, {_n(ev.min_off_g)} g), "
        "capped at the on threshold (hysteresis). Each movement's onset and offset were then "
        f"moved outward, by at most {_n(ev.max_edge_shift_s)} s and never into a neighbouring "
        f"movement or a gap, to where the envelope fell to {_n(ev.edge_factor)} × the noise "
        f"floor. Movements less than {_n(ev.merge_gap_s)} s apart were merged; movements less "
        f"than {_n(ev.bout_merge_gap_s)} s from a movement longer than {_n(cl.lm_max_s)} s "
        "were joined to it as one bout of activity, repeatedly, unless the leg rested in "
        "between where the shorter movement had started (or where it ended), within "
        f"{_n(SAME_POSTURE_G)} g (mean acceleration vector): such a movement was a leg "
        "movement of its own next to the bout; movements shorter than "
        f"{_n(ev.min_duration_s)} s were discarded.")


def _classification(cfg: Config) -> str:
    cl = cfg.classify
    return (
        f"Classification. Movements shorter than {_n(cl.twitch_max_s)} s were classed as "
        f"twitches, movements of {_n(cl.twitch_max_s)}-{_n(cl.lm_max_s)} s (inclusive) as leg "
        f"movements (LMs) and movements longer than {_n(cl.lm_max_s)} s as sustained movements "
        "(e.g. turning over). The change of leg orientation was the largest angle between the "
        f"acceleration vector averaged over {_n(ROTATION_SMOOTH_S)} s and the resting posture at "
        f"the movement's onset. A movement shorter than {_n(cl.jerk_max_s)} s whose orientation "
        f"changed by less than {_n(cl.min_rotation_deg)}° was classed as a twitch whatever its "
        "duration, as the sensor rings on after a jerk; so was one shorter than "
        f"{_n(cl.ring_max_s)} s without that change of orientation, with broadband motion (see "
        f"below) and its envelope's peak within {_n(cl.ring_peak_s)} s of its onset (a loosely "
        "strapped sensor ringing on). To reject mattress vibration (e.g. a bed partner's "
        "movements), a movement whose envelope peaked below "
        f"{_n(cl.vibration_max_g)} g was discarded when its peak was less than "
        f"{_n(cl.context_factor)} times the median envelope within {_n(cl.context_s)} s on "
        f"either side; and a movement that peaked below {_n(cl.shaking_max_g)} g was "
        f"discarded when it lasted {_n(cl.jerk_max_s)} s or more, was not such a ringing jerk, "
        f"its orientation changed by less than {_n(cl.min_rotation_deg)}° and the share of its "
        f"root-mean-square deviation from the posture below about {_SLOW_BELOW_HZ} Hz was less "
        f"than {_n(cl.vibration_max_low_share)} (broadband motion).")


def _rules_source(rules: RulesConfig, cite: _Citations) -> str:
    """The sentence naming the rules and, for custom or modified rules, what differs."""
    base_key = rules.standard if rules.standard in RULES else "wasm2016"
    base = RULES[base_key]
    diffs = [f"{_RULE_LABELS[f.name]} {_rule_value(f.name, getattr(rules, f.name))} "
             f"({_RULE_SHORT[base_key]}: {_rule_value(f.name, getattr(base, f.name))})"
             for f in fields(RulesConfig) if f.name != "standard"
             and getattr(rules, f.name) != getattr(base, f.name)]
    source = f"{_RULE_NAMES[base_key]} {cite.cite(base_key)}"
    if rules.standard == "custom":
        if not diffs:
            return (f"LMs were scored by custom rules whose numbers equal those of {source}.")
        return (f"LMs were scored by custom rules: {source} with these differences: "
                f"{'; '.join(diffs)}.")
    if diffs:
        return (f"LMs were scored by {source}, modified as follows: {'; '.join(diffs)}.")
    return f"LMs were scored by {source}."


def _plm(cfg: Config, cite: _Citations) -> str:
    r = cfg.rules
    if r.bilateral_mode == "overlap":
        link = ("when they overlapped or the later onset followed the earlier offset by less "
                f"than {_n(r.bilateral_gap_s)} s")
    else:
        link = f"when their onsets were less than {_n(r.bilateral_onset_s)} s apart"
    if r.resp_anchor == "end":
        window = (f"from {_n(r.resp_before_s)} s before to {_n(r.resp_after_s)} s after the end "
                  "of a respiratory event")
    else:
        window = (f"from {_n(r.resp_before_s)} s before the start to {_n(r.resp_after_s)} s "
                  "after the end of a respiratory event")
    excluded = ("as non-candidate LMs that ended a series" if r.resp_breaks_series else
                "removing them with the IMI measured across them")
    imi = f"{_n(r.imi_min_s)}-{_n(r.imi_max_s)} s"
    parts = ("made of any number of monolateral LMs" if r.bilateral_max_parts == 0 else
             f"made of at most {_n(r.bilateral_max_parts)} monolateral LMs")
    noncand = ("a sustained movement" if r.bilateral_max_parts == 0 else
               "a sustained movement or a bilateral LM of too many parts")
    if r.short_imi_breaks_series:
        short = "an IMI outside this range started a new run"
    else:
        short = (f"an IMI above {_n(r.imi_max_s)} s started a new run, while a candidate LM less "
                 f"than {_n(r.imi_min_s)} s after the previous one was left out of the run "
                 "without ending it, the next IMI being measured from the LM before it")
    return (
        f"PLM scoring. {_rules_source(r, cite)} Movements of the same leg less than "
        f"{_n(r.lm_join_gap_s)} s apart were joined into one LM, and an LM lasted at least "
        f"{_n(r.lm_min_s)} s. A candidate LM lasted {_n(r.lm_min_s)}-{_n(r.lm_max_s)} s on one "
        "leg. When both legs were recorded, LMs of the two legs were merged into one bilateral "
        f"LM {link}; a bilateral LM was a candidate when it lasted at most "
        f"{_n(r.bilateral_max_s)} s and was {parts}, none longer than {_n(r.lm_max_s)} s. "
        f"A PLM series was a run of at least {_n(r.min_series)} consecutive candidate LMs with "
        f"onset-to-onset intervals (IMI) of {imi} (inclusive): {short}, a "
        f"non-candidate LM ({noncand}) ended the "
        "run, and twitches, not being LMs, neither counted nor interrupted it. When respiratory "
        f"events were available, LMs overlapping the window {window} were labelled "
        f"respiratory-related, and PLM was also scored without them, {excluded}. The "
        "electromyographic amplitude criteria of the rules were replaced by the accelerometer "
        "thresholds described above. The periodicity index was the share of IMIs that "
        f"belonged to runs of at least {PERIODICITY_MIN_IMIS} consecutive IMIs of {imi} "
        f"{cite.cite('periodicity')}. The PLM, LM and twitch indices were counts per hour of "
        "recording (time in bed) excluding data gaps, time with the sensor off the leg and "
        "time spent in sustained movements, as sleep was not staged.")


def _nonwear(cfg: Config, cite: "_Citations") -> str:
    nw = cfg.nonwear
    if not nw.enabled:
        return "Periods with the sensor off the leg were not looked for."
    return (
        "Non-wear. Periods with the sensor off the leg were found as in actigraphy "
        f"{cite.cite('vanhees2013')}, adapted to a leg that can lie still for long: in "
        f"{_n(nw.block_s / 60)}-min blocks, a block was off the leg when every axis had a "
        f"standard deviation below {_n(nw.still_sd_g * 1000)} mg and a value range below "
        f"{_n(nw.still_range_g * 1000)} mg, and no axis showed the pulse "
        "of a worn leg (the autocorrelation of its 0.6-3.5 Hz component at lags of 0.5-1.6 s "
        f"stayed below {_n(nw.pulse_min_corr)}); runs of at least {_n(nw.min_s / 60)} min were "
        "non-wear, left out of the rest time, and movements starting in them were not scored.")


def describe(config: Config | str | Path | None = None, *, fs_hz: float | None = None,
             software_version: str | None = None, references: bool = True) -> str:
    """Write a methods section describing what an analysis with ``config`` does.

    Parameters
    ----------
    config : Config, str or Path, optional
        The configuration, or a bundled preset name or TOML path (see
        :func:`detector.config.load_config`); ``None`` means ``Config()``.
    fs_hz : float, optional
        Sampling rate of the recording, in Hz. When given, the text states it and the low-pass
        corner actually used (limited to 0.45 x ``fs_hz``).
    software_version : str, optional
        legtwitch version named in the text; defaults to ``detector.__version__``.
    references : bool
        Number the citations and end with a numbered reference list (default); otherwise cite
        inline by author and journal.

    Returns
    -------
    str
        Paragraphs in past tense, separated by blank lines, then the references.

    Raises
    ------
    ConfigError
        When ``config`` is of the wrong type, ``fs_hz`` is not a positive number, or the
        high-pass corner is not below the low-pass corner used.
    """
    if config is None:
        cfg = Config()
    elif isinstance(config, Config):
        cfg = config
    elif isinstance(config, (str, Path)):
        cfg = load_config(config)
    else:
        raise ConfigError(f"describe: expected a Config, preset name or TOML path, got "
                          f"{type(config).__name__}")
    if fs_hz is not None:
        if isinstance(fs_hz, bool) or not isinstance(fs_hz, (int, float, np.number)) or not (
                math.isfinite(float(fs_hz)) and fs_hz > 0):
            raise ConfigError(f"describe: fs_hz={fs_hz!r}; expected a positive number of Hz")
        fs_hz = float(fs_hz)
    if software_version is None:
        from detector.version import __version__ as software_version
    cite = _Citations(references)
    intro = ("Leg movements were detected from the three-axis acceleration of a leg-worn "
             f"sensor with legtwitch version {software_version}, an open-source Python package, "
             "in the steps below.")
    preprocessing = _preprocessing(cfg, fs_hz)
    nonwear = _nonwear(cfg, cite)  # cited in the order the text reads
    filtering = _filtering(cfg, fs_hz).replace("{scipy}", cite.cite("scipy"))
    paragraphs = [intro, preprocessing, nonwear, filtering,
                  _envelope(cfg, fs_hz), _classification(cfg), _plm(cfg, cite)]
    if references:
        paragraphs.append(cite.listing())
    return "\n\n".join(paragraphs) + "\n"
