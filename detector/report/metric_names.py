"""Plain names and one-line explanations of the numbers in ``summary.json``, for the report's
"All measured numbers" table (the keys themselves are a contract and stay as they are)."""

from __future__ import annotations

__all__ = ["METRIC_NAMES", "metric_name"]

#: key -> (plain name, what it is).
METRIC_NAMES: dict[str, tuple[str, str]] = {
    "recording_h": ("Recording length (h)", "first to last sample, gaps included"),
    "rest_h": ("Rest time (h)", "the rest window minus gaps, time off the leg and sustained "
               "movements: what the indices are per hour of"),
    "gap_s": ("Gaps (s)", "time without data, e.g. lost radio packets"),
    "n_twitch": ("Twitches", "jerks shorter than 0.5 s (or up to 1 s without tilting the leg)"),
    "n_lm": ("Leg movements", "movements of 0.5-10 s"),
    "n_candidate": ("Candidate leg movements", "leg movements the scoring rules may count in "
                    "a PLM series"),
    "n_plm": ("Periodic limb movements", "leg movements in PLM series"),
    "n_sustained": ("Sustained movements", "movements over 10 s: turning over, getting up"),
    "n_series": ("PLM series", "runs of at least 4 leg movements 10-90 s apart"),
    "plm_index": ("PLM index (/h)", "periodic limb movements per hour of rest"),
    "lm_index": ("Leg movement index (/h)", "leg movements per hour of rest"),
    "twitch_index": ("Twitch index (/h)", "twitches per hour of rest"),
    "periodicity_index": ("Periodicity index", "share of intervals inside runs of periodic "
                          "movements (0 irregular, 1 fully periodic)"),
    "plm_clm_ratio": ("Share of candidate movements in series", "periodic limb movements / "
                      "candidate leg movements (PLMScoRe's \"PI\")"),
    "mean_duration_s": ("Mean duration (s)", "of each kind of movement"),
    "median_imi_s": ("Median interval (s)", "between the onsets of consecutive candidate leg "
                     "movements"),
    "nonwear_s": ("Sensor off the leg (s)", "time the sensor lay still without a pulse"),
    "outside_window_s": ("Outside the rest window (s)", "recorded but not scored"),
    "nonwear_periods": ("Periods off the leg", "start and end, seconds from the first sample"),
    "n_events_nonwear": ("Events while off the leg", "not scored"),
    "n_events_outside_window": ("Events outside the rest window", "listed, not scored"),
    "rest_window": ("Rest window", "lights off to lights on, and how it was found"),
    "tz": ("Time zone", "of the clock times shown"),
    "n_rejected_vibration": ("Vibrations left out", "mattress shaking (a bed partner), not leg "
                             "movements"),
    "settling_h": ("Settling period (h)", "the first part of rest, compared with the rest of "
                   "the night for the restless-legs-like pattern"),
    "settling_rate_per_h": ("Movements while settling (/h)", "irregular leg movements and "
                            "longer movements per hour in the settling period"),
    "settling_later_h": ("Later rest (h)", "rest after the settling period"),
    "settling_later_rate_per_h": ("Movements later (/h)", "the same rate over the rest of the "
                                  "night"),
    "twitch_index_reliable": ("Twitch index reliable", "the sampling rate is high enough to see "
                              "twitches"),
    "twitch_index_approximate": ("Twitch index approximate", "a rate at which some twitches "
                                 "are missed"),
    "start_time_local": ("Start (local time)", "the first sample's clock time"),
    "n_plm_without_resp": ("PLMs without respiratory ones", "after leaving out leg movements "
                           "near the end of a breathing event"),
    "plm_index_without_resp": ("PLM index without respiratory ones (/h)", ""),
    "tst_h": ("Total sleep time (h)", "from the sleep stages of a PSG scoring"),
    "waso_h": ("Wake after sleep onset (h)", ""),
    "n_plms": ("PLMs in sleep", ""), "plms_index": ("PLMS index (/h of sleep)", ""),
    "n_plmw": ("PLMs in wake", ""), "plmw_index": ("PLMW index (/h of wake after sleep onset)",
                                                   ""),
}


def metric_name(key: str) -> tuple[str, str]:
    """``(plain name, explanation)`` of a summary key; the key itself when it has none."""
    return METRIC_NAMES.get(key, (key.replace("_", " "), ""))
