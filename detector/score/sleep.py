"""Sleep stages from a PSG scoring, and the PLM indices in sleep (PLMS) and in wake (PLMW).

WASM 2016 (Ferri et al., Sleep Med 2016;26:86-95) reports periodic leg movements during sleep and
during wake separately, as its reference implementation PLMScoRe does: PLM series are found over
the whole night, then each PLM (and each LM) is counted in the stage of the 30-s epoch its onset
falls in. The PLMS index is PLMs in sleep per hour of total sleep time (TST: epochs scored N1, N2,
N3 or REM); the PLMW index is PLMs in wake after sleep onset per hour of wake after sleep onset
(WASO: wake epochs between the first and the last sleep epoch).

Stage labels of the usual exports are understood (:data:`STAGE_LABELS`): RemLogic
``SLEEP-S0``..``SLEEP-S4``, ``SLEEP-REM``; NSRR ``Wake``, ``Stage 1 sleep``.. ``REM sleep``; EDF+
``Sleep stage W``, ``Sleep stage N2``, ``Sleep stage R``; R&K stage 4 counts as N3.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["STAGES", "STAGE_LABELS", "stage_of_label", "hypnogram_from_annotations",
           "sleep_metrics"]

#: Stages in the order of the tables: wake, NREM 1-3 (R&K 3 and 4 are N3), REM.
STAGES = ("W", "N1", "N2", "N3", "REM")
SLEEP_STAGES = ("N1", "N2", "N3", "REM")

#: ``{regular expression: stage}``, matched case-insensitively against a label (the text before
#: ``@@``); the first match wins. A label matching none is not a stage.
STAGE_LABELS: dict[str, str] = {
    r"^\W*(sleep[\s_-]*)?(stage[\s_-]*)?(s|n)?[\s_-]*(3|4)\W*$|sleep[\s_-]*s(3|4)\b"
    r"|stage[\s_-]*(3|4)[\s_-]*sleep|sleep stage (n)?(3|4)": "N3",
    r"sleep[\s_-]*s2\b|stage[\s_-]*2[\s_-]*sleep|sleep stage (n)?2|^\W*n2\W*$": "N2",
    r"sleep[\s_-]*s1\b|stage[\s_-]*1[\s_-]*sleep|sleep stage (n)?1|^\W*n1\W*$": "N1",
    r"sleep[\s_-]*rem|rem[\s_-]*sleep|sleep stage r(em)?\b|^\W*(r|rem)\W*$": "REM",
    r"sleep[\s_-]*s0\b|^\W*wake?\W*$|sleep stage (w|0)\b|^\W*w\W*$|stage[\s_-]*0": "W",
}
_COMPILED = [(re.compile(p, re.IGNORECASE), s) for p, s in STAGE_LABELS.items()]
#: Length of a scoring epoch (s) when an annotation gives no duration (AASM, R&K: 30 s).
EPOCH_S = 30.0


def stage_of_label(text: str) -> str | None:
    """The stage a scoring label names (``W``, ``N1``, ``N2``, ``N3``, ``REM``), or None."""
    text = str(text).split("@@")[0].strip()
    if re.search(r"arousal|apn|hypopn|movement|\blm\b|plm", text, re.IGNORECASE):
        return None
    return next((s for p, s in _COMPILED if p.search(text)), None)


def hypnogram_from_annotations(annotations: pd.DataFrame) -> pd.DataFrame:
    """The stage epochs among a scoring's annotations (``start_s``, ``duration_s``, ``label``).

    Returns
    -------
    DataFrame
        ``start_s``, ``end_s``, ``stage`` sorted by ``start_s`` (empty when no label is a stage);
        a stage without a duration lasts one 30-s epoch.
    """
    if annotations is None or not len(annotations) or "label" not in annotations:
        return pd.DataFrame({"start_s": [], "end_s": [], "stage": []})
    stage = [stage_of_label(t) for t in annotations["label"]]
    keep = np.array([s is not None for s in stage])
    start = annotations["start_s"].to_numpy(float)[keep]
    dur = annotations["duration_s"].to_numpy(float)[keep] if "duration_s" in annotations else (
        np.full(keep.sum(), np.nan))
    dur = np.where(np.isfinite(dur) & (dur > 0), dur, EPOCH_S)
    out = pd.DataFrame({"start_s": start, "end_s": start + dur,
                        "stage": np.array(stage, dtype=object)[keep]})
    return out.sort_values("start_s", kind="stable").reset_index(drop=True)


def _stage_at(hypnogram: pd.DataFrame, t: np.ndarray) -> np.ndarray:
    """The stage of the epoch each time falls in (None outside every epoch)."""
    if not len(hypnogram) or not len(t):
        return np.full(len(t), None, dtype=object)
    start = hypnogram["start_s"].to_numpy(float)
    end = hypnogram["end_s"].to_numpy(float)
    k = np.searchsorted(start, t, side="right") - 1
    inside = (k >= 0) & (t < end[np.maximum(k, 0)])
    stages = hypnogram["stage"].to_numpy(dtype=object)
    return np.where(inside, stages[np.maximum(k, 0)], None)


def sleep_metrics(events: pd.DataFrame, hypnogram: pd.DataFrame) -> dict[str, Any]:
    """PLMS and PLMW, total sleep time and wake after sleep onset, LMs and PLMs per stage.

    Parameters
    ----------
    events : DataFrame
        A PLM scoring's events (``start_s``, ``kind``, ``plm``; series found over the whole
        night, see :func:`detector.score.plm.score_plm`).
    hypnogram : DataFrame
        ``start_s``, ``end_s``, ``stage`` (:func:`hypnogram_from_annotations`), on the events'
        time axis.

    Returns
    -------
    dict
        ``tst_h``, ``waso_h``, ``sleep_onset_s``, ``n_plms``, ``plms_index`` (per hour of TST),
        ``n_plmw``, ``plmw_index`` (per hour of WASO), ``n_lms``, ``lms_index``, ``stage_h``
        and ``lm_per_stage`` / ``plm_per_stage`` (``{stage: count}``); empty when the
        hypnogram holds no sleep.
    """
    if hypnogram is None or not len(hypnogram):
        return {}
    st = hypnogram["stage"].to_numpy(dtype=object)
    dur = (hypnogram["end_s"] - hypnogram["start_s"]).to_numpy(float)
    asleep = np.isin(st, SLEEP_STAGES)
    if not asleep.any():
        return {}
    first = hypnogram["start_s"].to_numpy(float)[asleep][0]
    last_end = hypnogram["end_s"].to_numpy(float)[asleep][-1]
    starts = hypnogram["start_s"].to_numpy(float)
    after_onset = (starts >= first) & (starts < last_end)
    tst_s = float(dur[asleep].sum())
    waso_s = float(dur[(st == "W") & after_onset].sum())
    onset = events["start_s"].to_numpy(float) if len(events) else np.zeros(0)
    stage = _stage_at(hypnogram, onset)
    is_lm = (events["kind"] == "lm").to_numpy() if len(events) else np.zeros(0, bool)
    is_plm = (events["plm"].fillna(False).astype(bool).to_numpy() if len(events)
              else np.zeros(0, bool))
    in_sleep = np.isin(stage, SLEEP_STAGES)
    in_waso = (stage == "W") & (onset >= first) & (onset < last_end)
    n_plms, n_plmw = int((is_plm & in_sleep).sum()), int((is_plm & in_waso).sum())
    n_lms = int((is_lm & in_sleep).sum())

    def per_h(n: int, seconds: float) -> float | None:
        return n / (seconds / 3600.0) if seconds > 0 else None

    return {
        "tst_h": tst_s / 3600.0, "waso_h": waso_s / 3600.0, "sleep_onset_s": float(first),
        "n_plms": n_plms, "plms_index": per_h(n_plms, tst_s),
        "n_plmw": n_plmw, "plmw_index": per_h(n_plmw, waso_s),
        "n_lms": n_lms, "lms_index": per_h(n_lms, tst_s),
        "stage_h": {s: float(dur[st == s].sum()) / 3600.0 for s in STAGES},
        "lm_per_stage": {s: int((is_lm & (stage == s)).sum()) for s in STAGES},
        "plm_per_stage": {s: int((is_plm & (stage == s)).sum()) for s in STAGES},
    }
