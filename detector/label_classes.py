"""What a scoring label can be (a leg movement, a PLM, a twitch, a respiratory event, or other) and
the check of a lab's own label table, shared by the configuration (its ``[labels]`` table) and the
label table of the scoring readers (:mod:`detector.io.labels`)."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["LABEL_CLASSES", "check_labels"]

#: What a scoring label can be: a leg movement, a leg movement the scorer marked as a PLM, a
#: twitch (a short jerk the scorer or legtwitch marked as such, whatever its duration), a
#: respiratory event (apnoea, hypopnoea, RERA), or anything else.
LABEL_CLASSES = ("lm", "plm", "twitch", "respiratory", "other")


def check_labels(items: Any, where: str) -> tuple[tuple[str, str], ...]:
    """``((pattern, class), ...)`` checked: each pattern a regular expression, each class one of
    :data:`LABEL_CLASSES`; a ValueError names the bad entry."""
    out = []
    for item in tuple(items):
        try:
            pattern, cls = item
        except (TypeError, ValueError):
            raise ValueError(f"{where}: expected (regular expression, class) pairs, got "
                             f"{item!r}") from None
        if not isinstance(pattern, str) or not isinstance(cls, str):
            raise ValueError(f"{where}: {pattern!r} = {cls!r}: both must be text")
        if cls not in LABEL_CLASSES:
            raise ValueError(f"{where}: {pattern!r} = {cls!r}: the class must be one of "
                             f"{', '.join(LABEL_CLASSES)}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{where}: {pattern!r} is not a regular expression ({exc})"
                             ) from None
        out.append((pattern, cls))
    return tuple(out)
