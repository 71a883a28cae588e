"""The methods section: every configured number reaches the text, with the right rules source."""

from __future__ import annotations

import re

import pytest

import detector
from detector.config import RULES, Config, ConfigError
from detector.report.methods import describe

WASM_CITATION = "Sleep Med 2016;26:86-95"
AASM_MANUAL = "Manual for the Scoring of Sleep and Associated Events"


def has_number(text: str, value: float, unit: str = "") -> bool:
    """Whether ``value`` (written with ``:g``) stands in ``text`` as a whole number, followed by
    ``unit`` when given, directly or as the start of a range (``0.5-10 s``). ``0.5`` does not
    match inside ``10.5`` or ``0.55``."""
    num = re.escape(f"{value:g}")
    tail = rf"(?:-[\d.]+)?\s?{re.escape(unit)}" if unit else r"(?![\d])"
    return re.search(rf"(?<![\d.]){num}(?!\.\d){tail}", text) is not None


def plm_paragraph(text: str) -> str:
    return next(p for p in text.split("\n\n") if p.startswith("PLM scoring."))


def test_defaults_state_the_key_numbers_and_cite_wasm_2016():
    text = describe(Config())
    for phrase in ("4th-order", "Butterworth", "20 Hz", "no high-pass", "0.25 s", "30 s",
                   "300-s window", "max(5 × noise floor, 0.02 g)", "10-90 s", "0.5-10 s",
                   "at least 4 consecutive candidate LMs", "at most 15 s",
                   "from 2 s before to 10.25 s after the end of a respiratory event",
                   "Ferri", WASM_CITATION, "legtwitch version " + detector.__version__):
        assert phrase in text, phrase
    assert "AASM" not in text


def test_aasm_preset_says_5_s_and_cites_the_manual_not_ferri_2016():
    text = describe(Config(rules=RULES["aasm2012"]))
    plm = plm_paragraph(text)
    assert "5-90 s" in plm
    assert "onsets were less than 5 s apart" in plm
    assert "from 0.5 s before the start to 0.5 s after the end of a respiratory event" in plm
    assert AASM_MANUAL in plm and AASM_MANUAL in text.split("References")[1]
    assert WASM_CITATION not in text
    assert "WASM" not in text
    assert "10-90 s" not in text


def test_a_changed_threshold_changes_the_text():
    base = describe(Config())
    changed = describe(Config().with_overrides(["envelope.on_factor=7.5"]))
    assert "7.5" not in base
    assert "max(7.5 × noise floor, 0.02 g)" in changed
    assert "max(0.5 × 7.5 × noise floor, 0.005 g)" in changed


def test_lowcut_zero_is_a_low_pass_and_lowcut_half_hz_a_band_pass():
    low = describe(Config())
    band = describe(Config().with_overrides(["bandpass.lowcut_hz=0.5"]))
    assert "low-pass filter (corner 20 Hz; no high-pass filter)" in low
    assert "band-pass" not in low
    assert "band-pass filter (0.5-20 Hz)" in band
    assert "no high-pass" not in band


def test_sampling_rate_limits_the_low_pass_corner_to_045_fs():
    at25 = describe(Config(), fs_hz=25)
    assert "25 Hz" in at25 and "corner 11.25 Hz" in at25
    assert "limited to 0.45 times the sampling rate" in at25
    at100 = describe(Config(), fs_hz=100)
    assert "corner 20 Hz" in at100 and "limited to" not in at100
    # 0.04 s is one sample at 25 Hz: the envelope code does not smooth then.
    assert "not smoothed" in at25 and "not smoothed" not in at100


def test_high_pass_not_below_the_corner_used_is_rejected():
    cfg = Config().with_overrides(["bandpass.lowcut_hz=4", "bandpass.highcut_hz=20"])
    assert "band-pass filter (4-20 Hz)" in describe(cfg, fs_hz=100)
    with pytest.raises(ConfigError, match="lowcut_hz"):
        describe(cfg, fs_hz=8)  # corner 0.45 x 8 = 3.6 Hz
    with pytest.raises(ConfigError, match="fs_hz"):
        describe(cfg, fs_hz=0)


def test_custom_rules_name_each_difference_from_wasm_2016():
    cfg = Config().with_overrides(["rules.standard=\"custom\"", "rules.imi_min_s=5",
                                   "rules.min_series=3", "rules.bilateral_mode=\"onset\""])
    plm = plm_paragraph(describe(cfg))
    assert "custom rules" in plm and WASM_CITATION in describe(cfg)
    assert "shortest IMI 5 s (WASM 2016: 10 s)" in plm
    assert "fewest candidate LMs in a PLM series 3 (WASM 2016: 4)" in plm
    assert "bilateral merge by onset-to-onset interval (WASM 2016: by overlap" in plm
    # Unchanged rules are not listed as differences.
    assert "longest IMI" not in plm and "respiratory window" not in plm


def test_named_rules_changed_by_hand_are_called_modified():
    cfg = Config().with_overrides(["rules.imi_max_s=120"])
    assert cfg.rules.standard == "wasm2016"
    plm = plm_paragraph(describe(cfg))
    assert "modified as follows: longest IMI 120 s (WASM 2016: 90 s)" in plm
    assert "10-120 s" in plm
    assert "modified" not in describe(Config())


#: A value for every setting that a reader needs, none of them a default and none equal to a
#: number that the text holds anyway, so finding it proves the setting reached the text.
UNUSUAL = {
    "clean": {"max_interp_s": 0.37, "clip_margin_g": 0.031},
    "bandpass": {"lowcut_hz": 0.7, "highcut_hz": 17.5, "order": 3, "baseline_window_s": 41.0},
    "envelope": {"smooth_s": 0.06, "noise_window_s": 240.0, "noise_quantile": 0.2,
                 "on_factor": 6.5, "min_on_g": 0.023, "off_ratio": 0.44, "min_off_g": 0.007,
                 "edge_factor": 1.7, "max_edge_shift_s": 1.3, "merge_gap_s": 0.6,
                 "min_duration_s": 0.08, "bout_merge_gap_s": 2.6},
    "classify": {"twitch_max_s": 0.42, "lm_max_s": 11.0, "min_rotation_deg": 1.4,
                 "jerk_max_s": 0.9, "vibration_max_g": 0.055, "vibration_max_low_share": 0.35,
                 "context_s": 2.2, "context_factor": 2.7},
    "rules": {"standard": "custom", "lm_min_s": 0.55, "lm_max_s": 9.5, "bilateral_max_s": 14.0,
              "bilateral_mode": "overlap", "bilateral_gap_s": 0.4, "bilateral_max_parts": 6,
              "imi_min_s": 8.0, "imi_max_s": 95.0, "min_series": 7, "resp_before_s": 1.5,
              "resp_after_s": 9.75, "resp_anchor": "end", "lm_join_gap_s": 0.35},
}

UNITS = {"_s": " s", "_hz": " Hz", "_g": " g", "_deg": "°"}


def _unit(key: str) -> str:
    return next((u for suffix, u in UNITS.items() if key.endswith(suffix)), "")


def test_every_setting_a_reader_needs_appears_with_its_unit():
    cfg = Config.from_dict(UNUSUAL)
    text = describe(cfg, fs_hz=100, references=False)
    default = describe(Config(), fs_hz=100, references=False)
    body, default = (t.replace("-s window", " s window") for t in (text, default))  # 240 s
    missing, not_unusual = [], []
    for section, values in UNUSUAL.items():
        for key, value in values.items():
            if isinstance(value, str) or key == "order":  # order: "3rd-order", below
                continue
            if not has_number(body, value, _unit(key)):
                missing.append(f"{section}.{key}={value}{_unit(key)}")
            if has_number(default, value, _unit(key)):
                not_unusual.append(f"{section}.{key}={value}{_unit(key)}")
    assert missing == []
    assert not_unusual == []                             # the check above can fail
    assert "3rd-order" in text
    assert "0.2 quantile" in text
    # Rule numbers are in the scoring paragraph itself, not only in the list of differences.
    plm = plm_paragraph(text).split("differences:")[1].split(".", 1)[1]
    for key in ("lm_min_s", "lm_max_s", "bilateral_max_s", "bilateral_gap_s", "imi_min_s",
                "imi_max_s", "resp_before_s", "resp_after_s", "lm_join_gap_s"):
        assert has_number(plm, UNUSUAL["rules"][key], " s"), key


def test_onset_mode_states_the_onset_window():
    cfg = Config.from_dict({"rules": {"standard": "custom", "bilateral_mode": "onset",
                                      "bilateral_onset_s": 4.5}})
    plm = plm_paragraph(describe(cfg))
    assert "onsets were less than 4.5 s apart" in plm
    assert "offset by less than" not in plm


def test_respiratory_lms_that_end_a_series_are_described_so():
    cfg = Config.from_dict({"rules": {"standard": "custom", "resp_breaks_series": True}})
    plm = plm_paragraph(describe(cfg))
    assert "as non-candidate LMs that ended a series" in plm
    assert "IMI measured across them" not in plm.split("differences:")[1].split(".", 1)[1]


def test_references_are_numbered_in_order_of_citation_and_optional():
    text = describe(Config())
    refs = text.split("\nReferences\n")[1].strip().splitlines()
    assert [r.split(".")[0] for r in refs] == [str(i) for i in range(1, len(refs) + 1)]
    cited = [int(k) for k in re.findall(r"\[(\d+)\]", text.split("\nReferences\n")[0])]
    assert sorted(set(cited)) == list(range(1, len(refs) + 1))
    assert cited == sorted(cited)                         # first citations in numeric order
    wasm_no = next(i for i, r in enumerate(refs, 1) if WASM_CITATION in r)
    assert f"2016 standards [{wasm_no}]" in text
    inline = describe(Config(), references=False)
    assert "References" not in inline and not re.search(r"\[\d+\]", inline)
    assert f"(Ferri et al., {WASM_CITATION})" in inline


def test_limitation_sentence_and_no_diagnostic_claims():
    text = describe(Config())
    assert "per hour of recording (time in bed)" in text
    assert "as sleep was not staged" in text
    assert "diagnos" not in text.lower()


def test_version_and_presets():
    assert "legtwitch version 9.9.9" in describe(Config(), software_version="9.9.9")
    assert describe("aasm2012") == describe(Config(rules=RULES["aasm2012"]))
    assert describe(None) == describe(Config())
    with pytest.raises(ConfigError, match="expected a Config"):
        describe(42)  # type: ignore[arg-type]
