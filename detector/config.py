"""Configuration: frozen dataclasses loaded from TOML presets.

Every threshold the pipeline uses lives here, with its unit in its name and the source of its
default in its metadata. Unknown keys and out-of-range values raise :class:`ConfigError` naming
the key, so a typo in a preset never silently falls back to a default.

Presets ship in ``configs/`` (packaged as ``detector.presets``): ``default`` (WASM/IRLSSG 2016),
``aasm2012`` and ``sensitive``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import tomllib
from detector.label_classes import check_labels

__all__ = [
    "ConfigError",
    "CleanConfig",
    "BandpassConfig",
    "EnvelopeConfig",
    "ClassifyConfig",
    "NonwearConfig",
    "RulesConfig",
    "CategoryConfig",
    "Config",
    "RULES",
    "load_config",
    "list_presets",
    "preset_path",
]


class ConfigError(ValueError):
    """A configuration key is unknown, mistyped or out of range."""


def _f(default: Any, doc: str, lo: float | None = None, hi: float | None = None,
       choices: tuple[str, ...] | None = None, source: str = "legtwitch default") -> Any:
    """Declare a configuration field with its documentation, valid range and source."""
    return field(default=default, metadata={"doc": doc, "lo": lo, "hi": hi,
                                            "choices": choices, "source": source})


class _Section:
    """Shared validation for configuration sections (frozen dataclasses)."""

    _section: str = ""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            key = f"{self._section}.{f.name}"
            want = type(f.default)
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
                value = float(value)
            if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
                raise ConfigError(f"{key}: expected {want.__name__}, got {value!r}")
            if want is float and not math.isfinite(value):
                raise ConfigError(f"{key}: {value!r} is not a finite number")
            lo, hi, choices = f.metadata["lo"], f.metadata["hi"], f.metadata["choices"]
            if lo is not None and value < lo:
                raise ConfigError(f"{key}: {value!r} is below the minimum {lo}")
            if hi is not None and value > hi:
                raise ConfigError(f"{key}: {value!r} is above the maximum {hi}")
            if choices is not None and value not in choices:
                raise ConfigError(f"{key}: {value!r} is not one of {', '.join(choices)}")

    def to_dict(self) -> dict[str, Any]:
        """Return the section as a plain ``{key: value}`` dictionary."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class CleanConfig(_Section):
    """Resampling onto a uniform grid and gap detection."""

    _section = "clean"
    max_interp_s: float = _f(
        0.25, "Longest hole between samples that is interpolated; longer holes are gaps "
        "(lost BLE packets) and no event is detected or interpolated across them.", 0.0, 10.0)
    clip_margin_g: float = _f(
        0.02, "Samples within this distance of the largest absolute value seen on an axis, "
        "when that value is a typical full-scale range (2, 4, 8, 16 g), count as clipped.", 0.0, 1.0)


@dataclass(frozen=True)
class BandpassConfig(_Section):
    """Zero-phase Butterworth band-pass (scipy SOS, ``sosfiltfilt``) applied per axis."""

    _section = "bandpass"
    lowcut_hz: float = _f(
        0.0, "High-pass corner; 0 disables it (gravity and drift are removed by the posture "
        "baseline instead, which keeps slow and held movements intact).", 0.0, 5.0)
    highcut_hz: float = _f(
        20.0, "Low-pass corner; twitch energy reaches 10-20 Hz. Clamped to 0.45 x fs.", 1.0, 200.0,
        source="PAM-RL band 0.3-20 Hz; twitch transients up to 10-20 Hz")
    order: int = _f(4, "Butterworth order (doubled by the zero-phase forward-backward pass).", 1, 10)
    baseline_window_s: float = _f(
        30.0, "The posture a movement is measured from is the resting posture the leg held "
        "before it and the one it comes to rest in after it (still stretches of 1-s blocks). "
        "Where a stretch of recording has no resting posture (restless throughout), the median "
        "of the blocks within this many seconds on each side stands in; the live detector uses "
        "it as its posture window. Must exceed the longest leg movement (10 s).", 12.0, 600.0)


@dataclass(frozen=True)
class EnvelopeConfig(_Section):
    """Envelope, adaptive noise floor and hysteresis thresholds."""

    _section = "envelope"
    smooth_s: float = _f(0.04, "Window of the moving maximum (then moving average) applied to "
                         "the movement magnitude; the maximum keeps the amplitude of a twitch's "
                         "10-20 Hz oscillation, which an average would halve.", 0.0, 2.0)
    noise_window_s: float = _f(300.0, "Window of the rolling noise-floor estimate.", 10.0, 7200.0)
    noise_quantile: float = _f(0.25, "Quantile of 1-s envelope medians taken as the noise floor.",
                               0.01, 0.9)
    on_factor: float = _f(5.0, "An event starts where the envelope exceeds on_factor x noise floor.",
                          1.0, 100.0)
    min_on_g: float = _f(
        0.02, "Absolute lower bound of the on threshold: keeps a bed partner's mattress "
        "vibration (a few to ~10 mg) and heartbeat ripple out.", 0.0, 2.0,
        source="above partner vibration of up to ~10 mg; Sicbaldi et al. 2025 used 15 mg on |a|")
    off_ratio: float = _f(0.5, "The event ends where the envelope falls below off_ratio x the "
                          "adaptive on level (on_factor x noise floor).", 0.05, 1.0,
                          source="PAM-RL on/off thresholds about 2:1")
    min_off_g: float = _f(0.005, "Absolute lower bound of the off threshold (above heartbeat "
                          "ripple of a few mg).", 0.0, 1.0)
    edge_factor: float = _f(
        1.5, "Event edges are moved outward to where the envelope meets edge_factor x noise "
        "floor, so slow movements keep their true onset and duration.", 1.0, 10.0)
    max_edge_shift_s: float = _f(1.0, "Furthest an edge may move outward.", 0.0, 5.0)
    merge_gap_s: float = _f(
        0.5, "Bursts separated by less than this are one movement.", 0.0, 10.0,
        source="WASM 2016: an LM ends at the start of >= 0.5 s below the off threshold")
    min_duration_s: float = _f(0.05, "Shorter bursts are discarded as noise.", 0.0, 1.0)
    bout_merge_gap_s: float = _f(
        5.0, "Bursts this close to a sustained movement (> classify.lm_max_s) join it when the "
        "leg pauses in a posture it neither started from nor ends in (standing while getting up, "
        "half-way through turning over): one bout of activity. A movement that starts from or "
        "returns to a resting posture stays apart (the rules keep movements > 0.5 s apart).",
        0.0, 30.0)


@dataclass(frozen=True)
class ClassifyConfig(_Section):
    """Duration classes and the check that separates leg movements from mattress vibration."""

    _section = "classify"
    twitch_max_s: float = _f(0.5, "Events shorter than this are twitches.", 0.05, 5.0,
                             source="WASM 2016 / AASM 2012: minimum LM duration 0.5 s")
    lm_max_s: float = _f(10.0, "Events longer than this are sustained movements, not LMs.",
                         1.0, 60.0, source="WASM 2016 / AASM 2012: maximum LM duration 10 s")
    min_rotation_deg: float = _f(
        1.0, "A leg movement tilts the leg; below this change of orientation an event is a "
        "twitch if shorter than jerk_max_s (or a ringing jerk up to ring_max_s), else (when "
        "its motion is broadband and its peak stays under shaking_max_g) mattress shaking, "
        "which is dropped.", 0.0, 45.0)
    jerk_max_s: float = _f(
        1.0, "Events up to this long whose orientation does not change are twitches: a sensor "
        "rings on for a few tenths of a second after a jerk.", 0.0, 5.0)
    ring_max_s: float = _f(
        2.0, "A jerk without tilt whose sensor rings on (broadband, peak within ring_peak_s of "
        "its start) is a twitch up to this long.", 0.0, 10.0,
        source="a loosely strapped sensor rings at 4-8 Hz for 1-1.5 s after a twitch")
    ring_peak_s: float = _f(
        0.5, "A ringing jerk peaks this soon after its start (a twitch's burst lasts 75-250 ms); "
        "mattress shaking swells and fades.", 0.0, 5.0)
    ring_tail_ratio: float = _f(
        0.5, "...and dies away: the envelope in its second half stays below this share of its "
        "peak.", 0.0, 1.0)
    vibration_max_g: float = _f(0.06, "Events peaking below this must also stand out from their "
                                "surroundings (see min_rotation_deg and context_factor).", 0.0, 2.0)
    shaking_max_g: float = _f(
        0.15, "An event of jerk_max_s or more without tilt and with broadband motion (see "
        "vibration_max_low_share), not a ringing jerk, is mattress shaking and dropped when "
        "its peak stays below this.", 0.0, 2.0,
        source="a partner turning over on a spring mattress shakes the sensor by 60-75 mg")
    vibration_max_low_share: float = _f(
        0.5, "A small burst without tilt is mattress vibration only if less than this share of "
        "its RMS lies below ~3 Hz (vibration is broadband; a limb's own motion is slow).",
        0.0, 1.0)
    context_s: float = _f(3.0, "Surroundings looked at on each side of a small event.", 0.5, 60.0)
    context_factor: float = _f(
        3.0, "A small event's peak must exceed this many times the median envelope of its "
        "surroundings; bursts inside a stretch of mattress vibration do not.", 1.0, 100.0)


@dataclass(frozen=True)
class RulesConfig(_Section):
    """PLM scoring rules. Defaults are WASM/IRLSSG 2016 (Ferri et al., Sleep Med 2016;26:86-95)."""

    _section = "rules"
    standard: str = _f("wasm2016", "Name of the rule set these numbers implement.",
                       choices=("wasm2016", "aasm2012", "custom"))
    lm_min_s: float = _f(0.5, "Shortest candidate LM.", 0.0, 10.0, source="WASM 2016; AASM 2012")
    lm_max_s: float = _f(10.0, "Longest monolateral candidate LM.", 0.5, 60.0,
                         source="WASM 2016; AASM 2012")
    bilateral_max_s: float = _f(15.0, "Longest bilateral candidate LM.", 0.5, 60.0,
                                source="WASM 2016")
    bilateral_mode: str = _f("overlap", "How the two legs' LMs are merged: 'overlap' (overlapping "
                             "or offset-to-onset < bilateral_gap_s; WASM 2016) or 'onset' (onsets "
                             "< bilateral_onset_s apart; AASM 2012).", choices=("overlap", "onset"))
    bilateral_gap_s: float = _f(0.5, "WASM 2016 bilateral merge gap.", 0.0, 10.0, source="WASM 2016")
    bilateral_max_parts: int = _f(4, "Most monolateral LMs in one bilateral candidate LM; 0: no "
                                  "limit.", 0, 20, source="WASM 2016 (AASM 2012: none)")
    bilateral_onset_s: float = _f(5.0, "AASM 2012 bilateral merge: onsets closer than this.",
                                  0.0, 30.0, source="AASM 2012")
    imi_min_s: float = _f(10.0, "Shortest onset-to-onset interval inside a PLM series (inclusive).",
                          0.0, 300.0, source="WASM 2016 (AASM 2012: 5 s)")
    short_imi_breaks_series: bool = _f(True, "A candidate LM less than imi_min_s after the "
        "previous one ends the series (true: WASM 2016) or is left out of it, the next interval "
        "measured from the LM before (false: AASM 2012).", source="WASM 2016; AASM 2012")
    imi_max_s: float = _f(90.0, "Longest onset-to-onset interval inside a PLM series (inclusive).",
                          1.0, 600.0, source="WASM 2016; AASM 2012")
    min_series: int = _f(4, "Fewest consecutive candidate LMs that make a PLM series.", 2, 50,
                         source="WASM 2016; AASM 2012")
    resp_before_s: float = _f(2.0, "Respiratory-related LM window starts this long before the "
                              "end of a respiratory event.", 0.0, 60.0,
                              source="WASM 2016 (AASM 2012: 0.5 s)")
    resp_after_s: float = _f(10.25, "Respiratory-related LM window ends this long after the "
                             "end of a respiratory event.", 0.0, 60.0,
                             source="WASM 2016 (AASM 2012: 0.5 s)")
    resp_anchor: str = _f("end", "What the respiratory window surrounds: 'end' (the event's "
                          "end, WASM 2016) or 'event' (the whole event, AASM 2012: from 0.5 s "
                          "before it to 0.5 s after it).", choices=("end", "event"))
    resp_breaks_series: bool = _f(False, "When PLM is scored without respiratory-related LMs, "
                                  "they end a series (true) rather than being removed with the "
                                  "interval measured across them (false: the WASM 2016 "
                                  "reference implementation, PLMScoRe, and AASM 2012).")
    lm_join_gap_s: float = _f(0.5, "LMs of the same leg separated by less than this are one LM "
                              "(WASM 2016: an LM ends at the start of >= 0.5 s without "
                              "activity); joins split rows in a scorer's LM list.", 0.0, 10.0,
                              source="WASM 2016")


RULES: dict[str, RulesConfig] = {
    "wasm2016": RulesConfig(),
    # AASM Manual v2.0 (2012) VII.A rules 1-2, note 1; sources in detector.score.plm.
    "aasm2012": RulesConfig(standard="aasm2012", imi_min_s=5.0, short_imi_breaks_series=False,
                            bilateral_mode="onset", bilateral_max_s=10.0, bilateral_max_parts=0,
                            resp_before_s=0.5, resp_after_s=0.5, resp_anchor="event"),
}


@dataclass(frozen=True)
class CategoryConfig(_Section):
    """Thresholds that map a night to a category of the plain-language article."""

    _section = "category"
    plm_index_per_h: float = _f(15.0, "PLM index above which the night shows a periodic limb "
                                "movement pattern (adults).", 0.0, 200.0,
                                source="ICSD-3: PLMS index > 15/h in adults")
    frequent_twitch_index_per_h: float = _f(
        30.0, "Twitch + LM index above which twitching is called frequent.", 0.0, 1000.0,
        source="legtwitch heuristic (no guideline defines frequent twitching)")
    settling_window_min: float = _f(
        30.0, "First minutes of rest taken as 'resting before sleep' (an accelerometer cannot "
        "see sleep onset).", 5.0, 180.0, source="legtwitch heuristic")
    settling_lm_index_per_h: float = _f(
        40.0, "Rate of irregular movements (LMs outside PLM series, and sustained movements) "
        "in the settling window above which the night shows a restless-legs-like pattern: an "
        "urge to move while resting, not periodic series.", 0.0, 1000.0,
        source="legtwitch heuristic")
    settling_ratio: float = _f(
        2.0, "...and at least this many times the rate of the rest of the night.", 1.0, 100.0,
        source="legtwitch heuristic")
    min_rest_h: float = _f(
        4.0, "Least rest time (hours, gaps, non-wear and sustained movements left out) for "
        "which a category is given; below it the category is insufficient_data.", 0.0, 24.0,
        source="as home recordings ask: at least 4 h of technically adequate data (AASM home "
        "sleep apnea testing, Kapur et al., J Clin Sleep Med 2017;13:479-504)")
    min_twitch_fs_hz: float = _f(
        25.0, "Below this sampling rate twitches (75-250 ms bursts) cannot be seen reliably: "
        "the twitch index is reported as unreliable and not used for a category.", 1.0, 1000.0,
        source="legtwitch (a 75-ms burst spans fewer than 2 samples below 25 Hz)")
    precise_twitch_fs_hz: float = _f(
        50.0, "From min_twitch_fs_hz up to this rate twitches are counted only approximately "
        "(the report and summary.json say so).", 1.0, 1000.0,
        source="twitch F1 on simulated nights: 0.99 at 50 Hz, 0.90-0.97 at 25 Hz; 0.73 at 25 Hz "
        "on independently simulated nights")


@dataclass(frozen=True)
class NonwearConfig(_Section):
    """When the sensor is off the leg (on a table, in a drawer): left out of the rest time."""

    _section = "nonwear"
    enabled: bool = _f(True, "Look for periods when the sensor is not worn.")
    block_s: float = _f(300.0, "Blocks in which the signal is judged.", 60.0, 3600.0,
                        source="van Hees et al. 2013 (PLoS ONE 8:e61691) use 15-min steps")
    min_s: float = _f(1800.0, "Shortest run of off-leg blocks called non-wear (a still leg "
                      "can rest this long only with its heartbeat ripple showing).", 300.0,
                      14400.0, source="legtwitch, after van Hees et al. 2011/2013 (30-60 min)")
    still_sd_g: float = _f(0.013, "Every axis must vary less than this (standard deviation in "
                           "a block): no movement at all.", 0.001, 0.1,
                           source="van Hees et al. 2013: SD < 13 mg")
    still_range_g: float = _f(0.05, "... and every axis must span less than this (largest minus "
                              "smallest value in the block): a block holding a movement is not "
                              "still, however short the movement.", 0.005, 1.0,
                              source="van Hees et al. 2013: value range < 50 mg")
    pulse_min_corr: float = _f(
        0.3, "... and on no axis may the 0.6-3.5 Hz band repeat itself at a heartbeat's "
        "interval (0.5-1.6 s) with an autocorrelation of this or more: a worn leg shows its "
        "pulse.", 0.05, 0.95,
        source="legtwitch (a worn shin shows a ballistocardiographic ripple of a few mg; on "
        "simulated nights at 25-100 Hz, 0.44 or more worn, 0.14 or less on a table)")


_SECTIONS: dict[str, type[_Section]] = {
    "clean": CleanConfig,
    "bandpass": BandpassConfig,
    "envelope": EnvelopeConfig,
    "classify": ClassifyConfig,
    "rules": RulesConfig,
    "category": CategoryConfig,
    "nonwear": NonwearConfig,
}


@dataclass(frozen=True)
class Config:
    """All settings of one analysis. ``Config()`` equals ``configs/default.toml``."""

    clean: CleanConfig = field(default_factory=CleanConfig)
    bandpass: BandpassConfig = field(default_factory=BandpassConfig)
    envelope: EnvelopeConfig = field(default_factory=EnvelopeConfig)
    classify: ClassifyConfig = field(default_factory=ClassifyConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    category: CategoryConfig = field(default_factory=CategoryConfig)
    nonwear: NonwearConfig = field(default_factory=NonwearConfig)
    #: A lab's own scoring labels, ``((regular expression, class), ...)``: the ``[labels]``
    #: table of a preset (``"^PLM-L$" = "lm"``), tried before the default label table
    #: (:data:`detector.io.labels.DEFAULT_LABELS`) when a reference scoring is read.
    labels: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "labels", check_labels(self.labels, "labels"))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "configuration") -> "Config":
        """Build a configuration from nested ``{section: {key: value}}`` data.

        Raises
        ------
        ConfigError
            On an unknown section or key, a wrong type or an out-of-range value.
        """
        kwargs: dict[str, Any] = {}
        for section, values in data.items():
            if section == "labels":
                if not isinstance(values, Mapping):
                    raise ConfigError(f"{origin}: [labels] must be a table of "
                                      '"regular expression" = "class"')
                try:
                    kwargs["labels"] = check_labels(tuple(values.items()), f"{origin}: [labels]")
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None
                continue
            if section not in _SECTIONS:
                raise ConfigError(f"{origin}: unknown section [{section}]; "
                                  f"expected one of {', '.join(_SECTIONS)}")
            if not isinstance(values, Mapping):
                raise ConfigError(f"{origin}: [{section}] must be a table of keys")
            klass = _SECTIONS[section]
            known = {f.name for f in fields(klass)}
            for key in values:
                if key not in known:
                    raise ConfigError(f"{origin}: unknown key {section}.{key}; "
                                      f"expected one of {', '.join(sorted(known))}")
            base = RULES[values["standard"]] if (
                section == "rules" and values.get("standard") in RULES) else klass()
            try:
                kwargs[section] = dataclasses.replace(base, **values)
            except ConfigError as exc:
                raise ConfigError(f"{origin}: {exc}") from None
        return cls(**kwargs)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Every threshold, as nested plain data (written to ``summary.json``); ``labels`` only
        when the configuration has its own."""
        out = {name: getattr(self, name).to_dict() for name in _SECTIONS}
        if self.labels:
            out["labels"] = dict(self.labels)
        return out

    def with_overrides(self, assignments: list[str] | tuple[str, ...]) -> "Config":
        """Apply ``section.key=value`` overrides (values parsed as TOML, else as strings)."""
        data = self.to_dict()
        for item in assignments:
            if "=" not in item or "." not in item.split("=", 1)[0]:
                raise ConfigError(f"--set {item!r}: expected section.key=value, "
                                  "e.g. envelope.on_factor=6")
            dotted, raw = item.split("=", 1)
            section, key = dotted.strip().split(".", 1)
            try:
                value = tomllib.loads(f"v = {raw.strip()}")["v"]
            except tomllib.TOMLDecodeError:
                value = raw.strip()
            if section not in data:
                raise ConfigError(f"--set {item!r}: unknown section [{section}]; "
                                  f"expected one of {', '.join(_SECTIONS)}")
            if key not in data[section]:
                raise ConfigError(f"--set {item!r}: unknown key {section}.{key}; expected one "
                                  f"of {', '.join(sorted(data[section]))}")
            if section == "rules" and key == "standard" and value in RULES:
                data["rules"] = RULES[value].to_dict()
            data[section][key] = value
        return Config.from_dict(data, origin="--set")

    def with_values(self, **overrides: Any) -> "Config":
        """Return a copy with some values changed, for notebooks and scripts.

        Parameters
        ----------
        **overrides
            Any of: ``on_factor=6`` (a key name that exists in one section only),
            ``envelope__on_factor=6`` (section and key, for names in two sections such as
            ``lm_max_s``), ``envelope={"on_factor": 6}`` (a section's keys at once) and
            ``rules="aasm2012"`` (a named rule set, applied before the other rules keys).

        Raises
        ------
        ConfigError
            On an unknown or ambiguous key, a wrong type or an out-of-range value.
        """
        data = self.to_dict()
        owners: dict[str, list[str]] = {}
        for section, values in data.items():
            for key in values:
                owners.setdefault(key, []).append(section)
        rules_name = overrides.get("rules")
        if isinstance(rules_name, str):
            if rules_name not in RULES:
                raise ConfigError(f"rules={rules_name!r}: expected one of {', '.join(RULES)} "
                                  "(or rules__<key>=... for single rules)")
            data["rules"] = RULES[rules_name].to_dict()
        for name, value in overrides.items():
            if name in data:
                if isinstance(value, str) and name == "rules":
                    continue
                if not isinstance(value, Mapping):
                    raise ConfigError(f"{name}={value!r}: a section takes a dict of keys, e.g. "
                                      f"{name}={{{next(iter(data[name]))!r}: ...}}")
                unknown = [k for k in value if k not in data[name]]
                if unknown:
                    raise ConfigError(f"unknown key {name}.{unknown[0]}; expected one of "
                                      f"{', '.join(sorted(data[name]))}")
                data[name].update(value)
                continue
            section, _, key = name.partition("__")
            if key:
                if section not in data or key not in data[section]:
                    raise ConfigError(f"{name}: unknown key {section}.{key}")
            else:
                key = name
                found = owners.get(key, [])
                if not found:
                    close = difflib.get_close_matches(key, list(owners), n=3)
                    hint = f"; did you mean {' or '.join(close)}?" if close else ""
                    raise ConfigError(f"{name}: unknown setting{hint}")
                if len(found) > 1:
                    raise ConfigError(f"{name} exists in {' and '.join(found)}; write "
                                      + " or ".join(f"{s}__{key}" for s in found))
                section = found[0]
            data[section][key] = value
        return Config.from_dict(data, origin="overrides")

    def to_toml(self, path: str | Path | None = None) -> str:
        """Render the configuration as a TOML preset, documenting each key and its source.

        Parameters
        ----------
        path : str or Path, optional
            Also write the preset there (readable by its owner only), for
            ``legtwitch analyze --config PATH``. Loading it gives back an equal ``Config``.

        Returns
        -------
        str
            The TOML text.
        """
        text = self._toml_text()
        if path is not None:
            from detector.fileio import write_private

            write_private(Path(path), text)
        return text

    def _toml_text(self) -> str:
        lines: list[str] = ["# legtwitch preset: load with `legtwitch analyze --config FILE` or "
                            "load_config(FILE).", ""]
        for name, klass in _SECTIONS.items():
            lines.append(f"[{name}]")
            for f in fields(klass):
                v = getattr(getattr(self, name), f.name)
                text = ("true" if v else "false") if isinstance(v, bool) else (
                    f'"{v}"' if isinstance(v, str) else repr(v))
                lines.append(f"# {f.metadata['doc']} Source: {f.metadata['source']}.")
                lines.append(f"{f.name} = {text}")
            lines.append("")
        if self.labels:
            lines.append("[labels]")
            lines.append("# This lab's scoring labels: regular expression (case-insensitive, "
                         "matched in the label) = lm, plm, twitch, respiratory or other; tried "
                         "before the default table.")
            lines += [f"{_toml_string(p)} = {_toml_string(c)}" for p, c in self.labels]
            lines.append("")
        return "\n".join(lines)




def _toml_string(text: str) -> str:
    """A TOML basic string (backslashes and quotes escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _presets_dir() -> Any:
    """``configs/`` of a source checkout or editable install, else the copy inside the wheel."""
    here = Path(__file__).resolve().parent.parent / "configs"
    if (here / "default.toml").is_file():
        return here
    return resources.files("detector.presets")


def list_presets() -> dict[str, str]:
    """Return ``{preset name: first comment line}`` of the bundled presets."""
    out: dict[str, str] = {}
    for entry in sorted(_presets_dir().iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            first = entry.read_text(encoding="utf-8").splitlines()[0:1]
            out[entry.name[:-5]] = first[0].lstrip("# ").strip() if first else ""
    return out


def preset_path(name: str) -> Any:
    """Return the resource path of a bundled preset by name (``default``, ``aasm2012`` ...)."""
    entry = _presets_dir().joinpath(f"{name}.toml")
    if not entry.is_file():
        raise ConfigError(f"unknown preset {name!r}; bundled presets: "
                          f"{', '.join(list_presets())}")
    return entry


def load_config(source: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
                ) -> Config:
    """Load a preset by name or a TOML file by path, then apply ``--set`` style overrides.

    Parameters
    ----------
    source : str or Path, optional
        A bundled preset name (``default``, ``aasm2012``, ``sensitive``) or a path to a TOML
        file. ``None`` means the defaults (identical to ``configs/default.toml``).
    overrides : sequence of str
        ``section.key=value`` assignments applied last.
    """
    if source is None:
        cfg = Config()
    else:
        path = Path(source)
        if path.suffix == ".toml" or path.exists():
            if not path.is_file():
                raise ConfigError(f"{path}: configuration file not found")
            try:
                text, origin = path.read_text(encoding="utf-8"), str(path)
            except UnicodeDecodeError:
                raise ConfigError(f"{path}: not a text file; expected TOML") from None
        else:
            text, origin = preset_path(str(source)).read_text(encoding="utf-8"), f"preset {source}"
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{origin}: not valid TOML ({exc})") from None
        cfg = Config.from_dict(data, origin=origin)
    return cfg.with_overrides(list(overrides)) if overrides else cfg


def as_config(config: Config | str | Path | Mapping[str, Any] | None) -> Config:
    """A :class:`Config` from a Config, a preset name, a TOML path or nested ``{section: {key:
    value}}`` data; ``None`` is the default (WASM 2016) preset."""
    if config is None or isinstance(config, Config):
        return config or Config()
    if isinstance(config, (str, Path)):
        return load_config(config)
    if isinstance(config, Mapping):
        return Config.from_dict(config)
    raise ConfigError(f"config: expected a Config, a preset name, a TOML path or a dict, got "
                      f"{type(config).__name__}")
