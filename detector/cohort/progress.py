"""Progress of a batch: nights done, failed and left, and the time remaining, as a line or a bar."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Mapping, TextIO

__all__ = ["BatchProgress", "ProgressBar"]


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch is: given to ``progress`` at the start and after every night."""

    total: int
    done: int
    analysed: int
    skipped: int
    failed: int
    elapsed_s: float
    last: Mapping[str, Any] | None = None

    @property
    def nights_per_min(self) -> float:
        """Nights analysed (or failed) per minute of wall time; skipped nights excluded."""
        worked = self.analysed + self.failed
        return 60.0 * worked / self.elapsed_s if self.elapsed_s > 0 and worked else math.nan

    @property
    def eta_s(self) -> float:
        """Seconds left at the current rate (NaN before the first analysed night)."""
        rate = self.nights_per_min
        return 60.0 * (self.total - self.done) / rate if rate > 0 else math.nan


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class ProgressBar:
    """Batch progress on a stream (stderr): one line rewritten in place on a terminal, a plain
    line per night otherwise. Failed nights are printed on their own line with the error."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(tty if tty is not None else getattr(self.stream, "isatty", lambda: False)())
        self._width = 0

    def line(self, p: BatchProgress) -> str:
        """The status text of ``p``."""
        rate = p.nights_per_min
        rate_text = f"{rate:.1f}" if math.isfinite(rate) else "-"
        return (f"{p.done}/{p.total} nights  analysed {p.analysed}  done before {p.skipped}  "
                f"failed {p.failed}  {rate_text} nights/min  ETA {_clock(p.eta_s)}")

    def __call__(self, p: BatchProgress) -> None:
        last = p.last or {}
        if self.tty:
            if last.get("status") == "failed":
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.write(f"failed: {last.get('night')}: {last.get('error')}\n")
            text = "batch " + self.line(p)
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            head = (f"{last.get('night')} {last.get('status')}"
                    + (f": {last.get('error')}" if last.get("status") == "failed" else "")
                    + "; ") if last else ""
            self.stream.write(f"batch: {head}{self.line(p)}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the in-place line."""
        if self.tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0
