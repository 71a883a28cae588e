"""Map a night's numbers to the categories and advice of the plain-language article.

The article ("Leg Twitch Causes & Solutions - Easy Explanation") distinguishes harmless twitches,
restless legs and periodic limb movement disorder, and closes with a table of three kinds of
solution: immediate relief, long-term management, and when to consult a doctor. The texts below are
quoted from it. Thresholds are configuration (:class:`detector.config.CategoryConfig`); the source
of each default is named there. This is not a diagnosis.
"""

from __future__ import annotations

from typing import Any

from detector.config import CategoryConfig

__all__ = ["ADVICE", "CATEGORIES", "DISCLAIMER", "INSUFFICIENT", "categorize",
           "rest_text"]

#: The article's solution table, row by row, with the paragraph that explains each row.
ADVICE: dict[str, dict[str, str]] = {
    "immediate_relief": {
        "row": "Immediate Relief Techniques",
        "examples": "Stretching, Massage, Heat Application",
        "goal": "Quick relief leg twitch and discomfort reduction",
        "text": "For quick relief, try gentle stretching, massage, or heat to relax your muscles. "
                "Light exercise, like walking, can also help. Drinking water or electrolyte-rich "
                "drinks is key for muscle health and can reduce spasms.",
    },
    "long_term_management": {
        "row": "Long-term Management Strategies",
        "examples": "Regular exercise, Balanced diet, Stress reduction techniques",
        "goal": "Long-term leg twitch management and muscle health",
        "text": "For lasting relief, make lifestyle changes. Regular exercise strengthens muscles "
                "and improves blood flow. Eating a balanced diet with essential nutrients supports "
                "muscle health. Stress-reducing activities like meditation or yoga can also help "
                "manage symptoms.",
    },
    "when_to_see_a_doctor": {
        "row": "When to Consult a Doctor",
        "examples": "Persistent twitch evaluation, Symptom assessment",
        "goal": "Obtain medical advice leg twitch and tailored management plan",
        "text": "If your leg twitches often, are weak, or feel unusual, see a doctor. A healthcare "
                "professional can offer personalized advice and check for any underlying issues, "
                "ensuring your health and peace of mind.",
    },
}

#: Stable category identifiers (``summary.json`` key ``category``), titles, explanations and the
#: article's table row that fits each.
CATEGORIES: dict[str, dict[str, str]] = {
    "occasional_harmless_twitches": {
        "title": "Occasional harmless twitches",
        "explanation": "Your legs moved now and then, as everyone's do. The article calls these "
                       "brief, unwanted muscle contractions common and usually harmless: tiredness, "
                       "stress, caffeine or too little water can make them more frequent.",
        "advice": "immediate_relief",
    },
    "frequent_twitching": {
        "title": "Frequent twitching",
        "explanation": "Your legs twitched or moved often, but not in the regular rhythm of "
                       "periodic limb movements. The article links frequent twitching to fatigue, "
                       "stress, caffeine, dehydration and low magnesium, calcium or potassium, and "
                       "suggests lasting lifestyle changes.",
        "advice": "long_term_management",
    },
    "periodic_limb_movement_pattern": {
        "title": "Periodic limb movement pattern",
        "explanation": "Many of your leg movements came in regular series, one every 10 to 90 "
                       "seconds, as in periodic limb movements in sleep. The article describes "
                       "Periodic Limb Movement Disorder as legs moving on their own during sleep. "
                       "Only a sleep clinic can tell whether this is a disorder.",
        "advice": "when_to_see_a_doctor",
    },
    "restless_legs_like_pattern": {
        "title": "Restless-legs-like pattern",
        "explanation": "In the first part of your rest, when you lay down to sleep, your legs "
                       "made many irregular movements (not the regular series of periodic limb "
                       "movements), far more than later in the night. The article describes "
                       "Restless Leg Syndrome as "
                       "uncomfortable feelings that make you want to move your legs. Only a doctor "
                       "can tell whether this is restless legs syndrome.",
        "advice": "when_to_see_a_doctor",
    },
}

#: No category: the data cannot carry a verdict (too little rest time). No advice row fits.
INSUFFICIENT = {
    "title": "Not enough data for a verdict",
    "explanation": "The recording holds too little time with the sensor on a resting leg to say "
                   "which pattern the night shows. The numbers below describe what was "
                   "recorded, but no category is given and no advice row is singled out. "
                   "Record a whole night (lights off to lights on) with the sensor worn.",
}

DISCLAIMER = ("This is not a diagnosis. legtwitch measures movement of one leg with an "
              "accelerometer; it cannot see sleep stages (EEG), breathing events (unless a "
              "respiratory-event file is given) or your symptoms. Periodic limb movement disorder "
              "and restless legs syndrome can only be diagnosed by a doctor.")


def _fmt(x: float | None, unit: str = "/h") -> str:
    return "n/a" if x is None else f"{x:.1f}{unit}"


def rest_text(hours: float) -> str:
    """``2 h 05 min`` for a number of hours."""
    h, m = divmod(int(round(max(hours, 0.0) * 60)), 60)
    return f"{h} h {m:02d} min"


def categorize(metrics: dict[str, Any], settling: dict[str, Any],
               config: CategoryConfig | None = None, *,
               fs_hz: float | None = None) -> dict[str, Any]:
    """Choose the article's category that fits a night and the advice row that goes with it.

    Parameters
    ----------
    metrics : dict
        Night metrics (``plm_index``, ``lm_index``, ``twitch_index``, ``rest_h`` ...).
    settling : dict
        Movement rates in the settling window and after: ``settling_rate_per_h``,
        ``later_rate_per_h``, ``settling_h`` (see :func:`detector.score.night.settling_rates`).
    config : CategoryConfig, optional
    fs_hz : float, optional
        Sampling rate; below ``config.min_twitch_fs_hz`` twitches are not used.

    Returns
    -------
    dict
        ``id``, ``title``, ``explanation``, ``advice`` (the article's table row that fits, with its
        examples, goal and text), ``advice_rows`` (all three rows), ``reasons`` (the measured
        numbers behind the choice), ``disclaimer``.

    Notes
    -----
    With less rest than ``config.min_rest_h`` the category is ``insufficient_data``: no pattern
    is named and ``advice`` is None. Order of the checks otherwise: restless-legs-like first (in
    ICSD-3, periodic movements with restless legs symptoms point to RLS, not PLMD), then PLM index >
    15/h (ICSD-3 adult threshold), then frequent twitching, else occasional twitches.
    """
    cfg = config or CategoryConfig()
    rest_h = metrics.get("rest_h")
    if rest_h is not None and rest_h < cfg.min_rest_h:
        return {"id": "insufficient_data", "title": INSUFFICIENT["title"],
                "explanation": INSUFFICIENT["explanation"], "advice": None,
                "advice_rows": {k: v["text"] for k, v in ADVICE.items()},
                "reasons": [f"{rest_text(rest_h)} of rest; at least "
                            f"{rest_text(cfg.min_rest_h)} are needed for a verdict."],
                "disclaimer": DISCLAIMER}
    plmi = metrics.get("plm_index")
    lmi = metrics.get("lm_index") or 0.0
    twitch_ok = fs_hz is None or fs_hz >= cfg.min_twitch_fs_hz
    twi = (metrics.get("twitch_index") or 0.0) if twitch_ok else 0.0
    move = lmi + twi
    s_rate, l_rate = settling.get("settling_rate_per_h"), settling.get("later_rate_per_h")
    reasons: list[str] = []
    # The pattern is "more while settling than later": it needs both parts of the night.
    restless = (s_rate is not None and l_rate is not None
                and s_rate > cfg.settling_lm_index_per_h
                and s_rate >= cfg.settling_ratio * max(l_rate, 1e-9))
    if restless:
        cid = "restless_legs_like_pattern"
        reasons.append(f"In the first {cfg.settling_window_min:g} min of rest: "
                       f"{_fmt(s_rate)} irregular leg movements (not in PLM series) and "
                       f"longer movements, above "
                       f"{cfg.settling_lm_index_per_h:g}/h and at least {cfg.settling_ratio:g}x "
                       f"the rate later in the night ({_fmt(l_rate)}).")
        if plmi is not None and plmi > cfg.plm_index_per_h:
            reasons.append(f"PLM index {_fmt(plmi)} is also above {cfg.plm_index_per_h:g}/h; "
                           "periodic limb movements are common with restless legs.")
    elif plmi is not None and plmi > cfg.plm_index_per_h:
        cid = "periodic_limb_movement_pattern"
        reasons.append(f"PLM index {_fmt(plmi)} is above {cfg.plm_index_per_h:g}/h "
                       "(ICSD-3 threshold for adults).")
        pi = metrics.get("periodicity_index")
        if pi is not None:
            reasons.append(f"Periodicity index {pi:.2f} (share of intervals inside runs of "
                           "periodic movements).")
    elif move > cfg.frequent_twitch_index_per_h:
        cid = "frequent_twitching"
        reasons.append(f"Twitches and leg movements: {_fmt(move)} of rest, above "
                       f"{cfg.frequent_twitch_index_per_h:g}/h; PLM index {_fmt(plmi)} is not above "
                       f"{cfg.plm_index_per_h:g}/h.")
    else:
        cid = "occasional_harmless_twitches"
        reasons.append(f"Twitches and leg movements: {_fmt(move)} of rest (not above "
                       f"{cfg.frequent_twitch_index_per_h:g}/h); PLM index {_fmt(plmi)} (not above "
                       f"{cfg.plm_index_per_h:g}/h).")
    if not twitch_ok:
        reasons.append(f"Twitches were not counted for this choice: at {fs_hz:g} Hz they cannot "
                       f"be seen reliably (at least {cfg.min_twitch_fs_hz:g} Hz is needed).")
    cat = CATEGORIES[cid]
    return {
        "id": cid,
        "title": cat["title"],
        "explanation": cat["explanation"],
        "advice": dict(ADVICE[cat["advice"]], key=cat["advice"]),
        "advice_rows": {k: v["text"] for k, v in ADVICE.items()},
        "reasons": reasons,
        "disclaimer": DISCLAIMER,
    }
