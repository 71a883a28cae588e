"""The report's table of indices per hour of the night: events of each kind per clock hour, and
per hour of data (an hour with gaps is scaled by the minutes it has)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from detector.report.page import escape

__all__ = ["hourly_table"]


def hourly_table(result: Any, start: Any = None) -> str:
    """An HTML table: each hour of the recording (its clock time when ``start``, a datetime of
    the first sample, is given), minutes with data, and twitches, leg movements and PLMs as
    counts and per hour of data."""
    hourly = result.hourly
    if hourly is None or not len(hourly):
        return ""
    rec = result.recording
    per_hour = int(round(3600 * rec.fs_hz))
    valid = np.asarray(rec.valid, bool)
    rows = []
    for r in hourly.itertuples(index=False):
        h = int(r.hour)
        minutes = float(valid[h * per_hour:(h + 1) * per_hour].sum()) / rec.fs_hz / 60.0
        if minutes < 0.5 and not (r.n_twitch or r.n_lm or r.n_plm):
            continue                        # the recording's last sample ends on the hour
        when = (start + timedelta(hours=h)).strftime("%H:%M") if start is not None else f"{h}"
        cells = []
        for n in (r.n_twitch, r.n_lm, r.n_plm):
            rate = f"{n * 60.0 / minutes:.0f}" if minutes >= 5 else "n/a"
            cells.append(f'<td class="num">{int(n)}</td><td class="num">{rate}</td>')
        rows.append(f'<tr><td>{escape(when)}</td><td class="num">{minutes:.0f}</td>'
                    f'{"".join(cells)}</tr>')
    head = ("<tr><th>Hour from</th><th>Minutes with data</th><th>Twitches</th><th>/h</th>"
            "<th>Leg movements</th><th>/h</th><th>PLMs</th><th>/h</th></tr>")
    return ('<div class="scroll"><table class="hourly"><caption>Indices per hour of the night: '
            'counts and per hour of data (an hour with under 5 minutes of data has no rate)'
            f'</caption>{head}{"".join(rows)}</table></div>')
