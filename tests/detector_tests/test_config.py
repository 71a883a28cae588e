"""Configuration: presets equal the dataclass defaults, bad keys and values are named errors."""

from __future__ import annotations

import dataclasses
import sys

import pytest

from detector.config import RULES, Config, ConfigError, list_presets, load_config
from repo import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIGS = REPO / "configs"


def test_default_preset_file_equals_the_dataclass_defaults():
    data = tomllib.loads((CONFIGS / "default.toml").read_text())
    assert Config.from_dict(data) == Config()
    assert load_config("default") == Config()
    assert load_config(None) == Config()


def test_every_key_of_every_section_is_in_the_default_preset():
    data = tomllib.loads((CONFIGS / "default.toml").read_text())
    assert data == Config().to_dict()


def test_aasm_preset_differs_from_default_only_in_the_rules():
    aasm = load_config("aasm2012")
    assert aasm.rules == RULES["aasm2012"]
    assert dataclasses.replace(aasm, rules=RULES["wasm2016"]) == Config()
    # AASM 2012: IMI 5-90 s, legs merged when onsets < 5 s apart, respiratory window +-0.5 s.
    assert (aasm.rules.imi_min_s, aasm.rules.imi_max_s) == (5.0, 90.0)
    assert aasm.rules.bilateral_mode == "onset" and aasm.rules.bilateral_onset_s == 5.0
    assert (aasm.rules.resp_before_s, aasm.rules.resp_after_s) == (0.5, 0.5)


def test_wasm_defaults_are_the_published_numbers():
    r = Config().rules
    # WASM 2016: CLM 0.5-10 s (bilateral 15 s, <= 4 parts, < 0.5 s apart); IMI 10-90 s; >= 4;
    # respiratory window -2 to +10.25 s around the event end.
    assert (r.lm_min_s, r.lm_max_s, r.bilateral_max_s) == (0.5, 10.0, 15.0)
    assert (r.bilateral_gap_s, r.bilateral_max_parts) == (0.5, 4)
    assert (r.imi_min_s, r.imi_max_s, r.min_series) == (10.0, 90.0, 4)
    assert (r.resp_before_s, r.resp_after_s) == (2.0, 10.25)


def test_presets_are_listed_and_load():
    names = list_presets()
    assert {"default", "aasm2012", "sensitive"} <= set(names)
    sens = load_config("sensitive")
    assert sens.envelope.min_on_g < Config().envelope.min_on_g


def test_unknown_key_is_an_error_naming_it(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[envelope]\non_factr = 6\n")
    with pytest.raises(ConfigError, match=r"bad.toml.*envelope\.on_factr"):
        load_config(p)


def test_unknown_section_and_bad_values_are_named(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[envelop]\non_factor = 6\n")
    with pytest.raises(ConfigError, match=r"\[envelop\]"):
        load_config(p)
    p.write_text("[envelope]\non_factor = -1\n")
    with pytest.raises(ConfigError, match=r"envelope\.on_factor.*below the minimum"):
        load_config(p)
    p.write_text('[envelope]\non_factor = "six"\n')
    with pytest.raises(ConfigError, match=r"envelope\.on_factor.*expected float"):
        load_config(p)
    p.write_text("[rules]\nstandard = 'wasm2099'\n")
    with pytest.raises(ConfigError, match=r"rules\.standard"):
        load_config(p)
    p.write_text("[envelope\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


def test_set_overrides_apply_and_are_checked():
    cfg = load_config("default", ["envelope.on_factor=6", "rules.min_series=5"])
    assert cfg.envelope.on_factor == 6.0 and cfg.rules.min_series == 5
    with pytest.raises(ConfigError, match="envelope.nope"):
        load_config(None, ["envelope.nope=1"])
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, ["on_factor=6"])
    with pytest.raises(ConfigError, match="rules.min_series"):
        load_config(None, ["rules.min_series=1"])


def test_switching_rules_standard_brings_its_numbers():
    cfg = load_config(None, ["rules.standard=aasm2012"])
    assert cfg.rules == RULES["aasm2012"]


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().envelope.on_factor = 3.0  # type: ignore[misc]


def test_unknown_preset_name_lists_the_known_ones():
    with pytest.raises(ConfigError, match="default"):
        load_config("nonexistent_preset")
