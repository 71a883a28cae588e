"""Text that came from a device, made safe to print on a terminal.

Anything a sensor sends (its advertised name, Device Information strings, error text built from
its bytes) may hold control characters. Printed raw, an escape sequence in a nearby device's name
could move the cursor, rewrite or hide lines, or change the terminal's title: every such string
goes through :func:`printable` before it reaches the user.
"""

from __future__ import annotations

import unicodedata
from typing import Any

__all__ = ["printable"]

#: Longest device string shown in full (longer ones are cut with an ellipsis).
MAX_CHARS = 80


def printable(value: Any, max_chars: int = MAX_CHARS) -> str:
    """``value`` as a single line with every control or format character escaped.

    Parameters
    ----------
    value : object
        Usually a str from a device; other values are converted with ``str``.
    max_chars : int
        Longest result before it is cut with ``...``.

    Returns
    -------
    str
        C0/C1 controls, DEL, line and paragraph separators and bidirectional or other format
        characters (Unicode categories Cc, Cf, Zl, Zp) as ``\\xNN``/``\\uNNNN`` escapes.

    Examples
    --------
    >>> printable("LegAccel\\x1b[2J\\x1b]0;pwned\\x07")
    'LegAccel\\\\x1b[2J\\\\x1b]0;pwned\\\\x07'
    """
    text = value if isinstance(value, str) else str(value)
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    s = "".join(out)
    return s if len(s) <= max_chars else s[: max_chars - 3] + "..."
