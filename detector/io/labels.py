"""The one label table every scoring reader uses: what an annotation's text says it is (a leg
movement, a PLM, a twitch, a respiratory event, or other) and which leg it names. Labels vary by lab:
pass your own entries (``labels=`` of :func:`detector.score.reference.read_reference`), tried
before :data:`DEFAULT_LABELS`."""

from __future__ import annotations

import re
from typing import Mapping

from detector.io.recording import InputError
from detector.label_classes import LABEL_CLASSES

__all__ = ["CLASSES", "DEFAULT_LABELS", "compile_labels", "classify_label", "classify_with",
           "leg_from_label"]


#: What a label can be (:data:`detector.label_classes.LABEL_CLASSES`).
CLASSES = LABEL_CLASSES


#: Default label table, ``{regular expression: class}``, matched case-insensitively with
#: :func:`re.search` against the text before an EDF+ ``@@channel`` suffix; the first match
#: wins, and text matching none is ``other``. It covers the usual PSG exports:
#:
#: * respiratory: ``Obstructive Apnea``, ``Central Apnoea``, ``Mixed Apnea``, ``Hypopnea``,
#:   ``RERA``, ``Respiratory effort related arousal`` (before the arousal entry);
#: * ``other``: arousals (``Arousal``, ``Arousal (LM)``: an arousal, not a movement) and
#:   markers of a whole PLM series (``PLM series``, ``PLMS episode``), which span many LMs;
#: * ``lm`` before ``plm``: RemLogic's ``PLM-LM`` (a leg movement event; the series are found by
#:   the rules);
#: * ``plm`` (an LM the scorer counted as periodic): ``PLM``, ``PLMS``, ``PLM (Left)``,
#:   ``PLM-R``, ``Periodic Limb Movement``, ``Periodic leg movement``;
#: * ``lm``: ``LM``, ``LMs``, ``LM (L)``, ``LM-L``, ``LM-R``, ``LML``, ``Limb Movement``,
#:   ``Limb Movement (Left)``, ``Leg Movement``, ``Leg movement - Left``, ``Leg Mov``,
#:   ``LAT``/``RAT`` (left/right anterior tibialis), ``bilateral``.
#:
#: Sleep stages, lights off/on, body position, desaturations, snoring ... match nothing: other.
DEFAULT_LABELS: dict[str, str] = {
    r"apn(o)?ea|hypopn(o)?ea|(?<![a-z])rera(?![a-z])|resp\w*[\s_-]+effort[\s_-]+related":
        "respiratory",
    r"^\W*arousal": "other",
    r"((?<![a-z])plms?|periodic[\s_-]+(limb|leg)[\s_-]+mov\w*)\W*(series|episode|train|sequence)":
        "other",
    r"twitch|hypnic[\s_-]*jerk|(?<![a-z])jerk(?![a-z])": "twitch",
    # RemLogic's leg movement event (PLMScoRe reads these and finds the series itself)
    r"^\W*plm[\s_-]*lm(?![a-z])": "lm",
    r"(?<![a-z])plms?[lrb]?(?![a-z])|periodic[\s_-]+(limb|leg)[\s_-]+mov": "plm",
    r"(limb|leg)[\s_-]*(mov|mvt|mvmt)|(?<![a-z])lms?[lrb]?(?![a-z])|(?<![a-z])[lr]-?at(?![a-z])"
    r"|^\W*bilat(eral)?\W*$": "lm",
}


#: Leg named by a label, tried in order (a label naming both left and right is bilateral).
_LEG_PATTERNS = (
    ("bilateral", re.compile(r"bilat|(?<![a-z])(bil|both|b)(?![a-z])|(?<![a-z])p?lms?b(?![a-z])",
                             re.IGNORECASE)),
    ("left", re.compile(r"left|(?<![a-z])(l|lt|lat|l-at)(?![a-z])|(?<![a-z])p?lms?l(?![a-z])",
                        re.IGNORECASE)),
    ("right", re.compile(r"right|(?<![a-z])(r|rt|rat|r-at)(?![a-z])|(?<![a-z])p?lms?r(?![a-z])",
                         re.IGNORECASE)),
)


def compile_labels(labels: Mapping[str, str] | None) -> list[tuple[re.Pattern[str], str]]:
    """User entries first, then :data:`DEFAULT_LABELS`, compiled case-insensitively."""
    out = []
    for pattern, cls in list((labels or {}).items()) + list(DEFAULT_LABELS.items()):
        if cls not in CLASSES:
            raise InputError(f"labels: class {cls!r} of pattern {pattern!r} is not one of "
                             f"{', '.join(CLASSES)}")
        try:
            out.append((re.compile(pattern, re.IGNORECASE), cls))
        except re.error as exc:
            raise InputError(f"labels: pattern {pattern!r} is not a valid regular expression "
                             f"({exc})") from None
    return out


def classify_label(text: str, labels: Mapping[str, str] | None = None) -> str:
    """Class (:data:`CLASSES`) of an annotation text by ``labels``, then :data:`DEFAULT_LABELS`."""
    return classify_with(str(text), compile_labels(labels))


def classify_with(text: str, patterns: list[tuple[re.Pattern[str], str]]) -> str:
    label = text.split("@@", 1)[0]
    return next((cls for rx, cls in patterns if rx.search(label)), "other")


def leg_from_label(text: str) -> str:
    """Leg named by an annotation text: ``left``, ``right``, ``bilateral`` or ``unknown``.

    ``Limb Movement (Left)``, ``LM-L``, ``LM (L)``, ``LAT``, ``PLM left`` are left (``RAT``,
    ``LM-R`` ... right); ``bilateral``, ``both`` or a text naming left and right is bilateral.
    When the text names no leg, an EDF+ ``@@channel`` suffix (``LM@@EMG LAT``) is tried.
    """
    for part in str(text).split("@@", 1):
        found = [leg for leg, rx in _LEG_PATTERNS if rx.search(part)]
        if "bilateral" in found or ("left" in found and "right" in found):
            return "bilateral"
        if found:
            return found[0]
    return "unknown"
