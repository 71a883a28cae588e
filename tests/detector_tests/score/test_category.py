"""Mapping a night to the article's categories and advice rows."""

from __future__ import annotations

import re

import pytest

from detector.score.category import ADVICE, CATEGORIES, categorize
from detector.config import CategoryConfig
from repo import SHARED

ARTICLE = SHARED / "article.txt"


def metrics(plmi=0.0, lmi=2.0, twi=3.0, pi=0.1):
    return {"plm_index": plmi, "lm_index": lmi, "twitch_index": twi, "periodicity_index": pi}


QUIET = {"settling_rate_per_h": 4.0, "later_rate_per_h": 4.0}


def test_plm_index_above_15_is_the_plm_pattern_and_sends_to_a_doctor():
    cat = categorize(metrics(plmi=15.1, lmi=30), QUIET)
    assert cat["id"] == "periodic_limb_movement_pattern"
    assert cat["advice"]["row"] == "When to Consult a Doctor"
    assert any("15.1/h" in r for r in cat["reasons"])


def test_plm_index_of_exactly_15_is_not_above_the_threshold():
    assert categorize(metrics(plmi=15.0, lmi=20), QUIET)["id"] != "periodic_limb_movement_pattern"


def test_frequent_twitching_gets_long_term_management():
    cat = categorize(metrics(plmi=3, lmi=10, twi=25), QUIET)
    assert cat["id"] == "frequent_twitching"
    assert cat["advice"]["key"] == "long_term_management"


def test_quiet_night_is_occasional_harmless_twitches_with_immediate_relief():
    cat = categorize(metrics(), QUIET)
    assert cat["id"] == "occasional_harmless_twitches"
    assert cat["advice"]["key"] == "immediate_relief"
    assert "not a diagnosis" in cat["disclaimer"]


def test_much_movement_while_settling_is_restless_legs_like_even_with_plm():
    settling = {"settling_rate_per_h": 60.0, "later_rate_per_h": 10.0}
    cat = categorize(metrics(plmi=20, lmi=25), settling)
    assert cat["id"] == "restless_legs_like_pattern"
    assert any("PLM index" in r for r in cat["reasons"])


def test_settling_needs_both_the_rate_and_the_ratio():
    cfg = CategoryConfig()
    busy_all_night = {"settling_rate_per_h": 60.0, "later_rate_per_h": 45.0}  # ratio 1.33 < 2
    assert categorize(metrics(), busy_all_night, cfg)["id"] != "restless_legs_like_pattern"
    low = {"settling_rate_per_h": 30.0, "later_rate_per_h": 1.0}  # 30/h is not above 40/h
    assert categorize(metrics(), low, cfg)["id"] != "restless_legs_like_pattern"


def test_thresholds_are_configuration():
    cfg = CategoryConfig(plm_index_per_h=5.0)
    assert categorize(metrics(plmi=6), QUIET, cfg)["id"] == "periodic_limb_movement_pattern"


def test_every_category_has_an_advice_row_of_the_article():
    for cat in CATEGORIES.values():
        assert cat["advice"] in ADVICE


@pytest.mark.skipif(not ARTICLE.is_file(), reason="the article is kept beside the repository")
def test_advice_is_quoted_from_the_article():
    words = re.sub(r"\s+", " ", ARTICLE.read_text(encoding="utf-8"))
    for row in ADVICE.values():
        assert f"| {row['row']} | {row['examples']} | {row['goal']} |" in words
        for sentence in re.split(r"(?<=\.) ", row["text"]):
            assert sentence in words, sentence


def test_a_recording_with_no_later_part_cannot_be_restless_like():
    # 30 min of recording: all of it is the settling window, so there is nothing to compare with.
    short = {"settling_rate_per_h": 90.0, "later_rate_per_h": None}
    assert categorize(metrics(plmi=3, lmi=10, twi=5), short)["id"] != "restless_legs_like_pattern"
