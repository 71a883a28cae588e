"""What the live detector reports: one movement or PLM series as it is found, revised when its
surroundings become known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["EVENT_TABLE_COLUMNS", "LiveEvent", "near_segment_edge"]


#: Columns of :meth:`StreamingDetector.events` (those of ``find_movements().events``).
EVENT_TABLE_COLUMNS = ["start_s", "end_s", "start_time", "duration_s", "kind", "peak_g",
                       "rotation_deg", "leg", "at_gap", "context_g", "low_freq_share"]

_LABELS = {"twitch": "twitch", "lm": "LM", "sustained": "sustained", "plm_series": "PLM series"}


@dataclass(frozen=True)
class LiveEvent:
    """One movement or PLM series as reported during the recording.

    Attributes
    ----------
    kind : str
        ``twitch``, ``lm``, ``sustained`` or ``plm_series``.
    start_s, end_s, duration_s : float
        Seconds from the stream's sample 0 (for a series: first LM onset to latest LM offset).
    peak_g : float
        Peak of the movement envelope, g (NaN for ``plm_series``).
    series : int or None
        PLM series number (1-based) of a ``plm_series`` and of an LM known to be in a series.
    n_lm : int or None
        LMs in the series so far (``plm_series`` only; below ``rules.min_series`` when a revision
        dissolved the series).
    detected_at_s : float
        Signal time (seconds from sample 0) of the last sample pushed when this was reported.
    revised : bool
        True when this replaces an earlier report (a sustained movement that grew or absorbed
        earlier movements, or a series whose LMs changed).
    """

    kind: str
    start_s: float
    end_s: float
    duration_s: float
    peak_g: float
    series: int | None
    n_lm: int | None
    detected_at_s: float
    revised: bool = False

    def line(self, t0_unix_s: float = 0.0) -> str:
        """One readable terminal line.

        Parameters
        ----------
        t0_unix_s : float
            Unix time of sample 0: times are then local clock times; with 0, times since the
            start (``h:mm:ss.s``).
        """
        def clock(t_s: float) -> str:
            if t0_unix_s:
                dt = datetime.fromtimestamp(t0_unix_s + t_s, tz=timezone.utc).astimezone()
                return dt.strftime("%H:%M:%S.") + f"{dt.microsecond // 100_000}"
            whole = int(t_s)
            return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}.{int(10 * (t_s % 1))}"

        tag = " (revised)" if self.revised else ""
        if self.kind == "plm_series":
            what = f"{self.n_lm} LMs until {clock(self.end_s)}" if self.n_lm else "dissolved"
            return f"{clock(self.start_s)}  PLM series {self.series}: {what}{tag}"
        text = (f"{clock(self.start_s)}  {_LABELS.get(self.kind, self.kind):<9} "
                f"{self.duration_s:6.2f} s  peak {self.peak_g:.3f} g")
        if self.series is not None:
            text += f"  series {self.series}"
        return text + tag


def near_segment_edge(event: LiveEvent, segments: list[tuple[int, int]], fs_hz: float,
                      margin_s: float = 2.0) -> bool:
    """Whether a movement ends within ``margin_s`` of the end of its gap-free segment (it is
    reported when the gap becomes known) or within the first ``margin_s`` (= 2 s, the shortest
    segment analysed) of it. ``segments`` are ``[(i0, i1), ...]`` sample ranges."""
    for a, b in segments:
        if a / fs_hz <= event.start_s < b / fs_hz:
            return b / fs_hz - event.end_s < margin_s or event.end_s - a / fs_hz < margin_s
    return True
