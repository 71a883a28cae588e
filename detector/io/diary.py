"""The lifestyle diary: one row per day with what the article names as causes of leg twitches.

Format (a CSV file, UTF-8, comma- or semicolon-separated)
---------------------------------------------------------
- Lines starting with ``#`` and empty lines are ignored (comments).
- The first other line is the header. It must have a ``date`` column; every other column is a
  number per day, e.g. the known columns of :data:`KNOWN_COLUMNS`:

  ============== ===================================== =============
  column         meaning                               allowed
  ============== ===================================== =============
  caffeine_mg    caffeine that day, in mg              >= 0
  alcohol_units  alcohol that day, in units (10 ml)    >= 0
  stress_1_5     how stressed you felt, 1 (calm) to 5  1 to 5
  exercise_min   exercise that day, in minutes         0 to 1440
  sleep_h        hours slept the night before          0 to 24
  water_l        water and other drinks, in litres     0 to 20
  ============== ===================================== =============

  Any other column is allowed and must hold numbers (e.g. ``screen_h``, ``magnesium_mg``).
  Free text goes in a column named ``notes`` (or ``note``, ``comment``), which is kept but never
  analysed.
- ``date`` is ``YYYY-MM-DD``: the day the entry describes. It is matched with the night that
  starts on the evening of that day (see :func:`detector.cohort.trends.night_date`).
- An empty cell means "not recorded" (that day is left out of that factor only).

A bad line is an :class:`~detector.io.recording.InputError` naming the file, the line number and the
column: a malformed or repeated date, a value that is not a number, a value outside the allowed
range of a known column, or a line with too many or too few cells.
"""

from __future__ import annotations

import csv
import math
import re
from datetime import date
from pathlib import Path

import pandas as pd

from detector.fileio import write_private
from detector.io.recording import InputError

__all__ = ["KNOWN_COLUMNS", "TEXT_COLUMNS", "TEMPLATE_CSV", "read_diary", "parse_diary",
           "write_diary_template"]

#: Known diary columns: ``(meaning, minimum, maximum)``; the article names each as a cause of
#: twitching (caffeine, alcohol, stress, overexertion, poor sleep, dehydration).
KNOWN_COLUMNS: dict[str, tuple[str, float, float]] = {
    "caffeine_mg": ("caffeine that day (mg; a cup of coffee is about 80-100 mg)", 0.0, math.inf),
    "alcohol_units": ("alcohol that day (units of 10 ml pure alcohol)", 0.0, math.inf),
    "stress_1_5": ("how stressed you felt (1 = calm ... 5 = very stressed)", 1.0, 5.0),
    "exercise_min": ("exercise that day (minutes)", 0.0, 1440.0),
    "sleep_h": ("hours slept the night before (hours)", 0.0, 24.0),
    "water_l": ("water and other drinks that day (litres)", 0.0, 20.0),
}

#: Columns of free text: kept in the table, never analysed.
TEXT_COLUMNS = ("notes", "note", "comment", "comments")

#: The diary template (also in ``datasets/diary_template.csv``).
TEMPLATE_CSV = """\
# legtwitch lifestyle diary: one line per day, then run
#   legtwitch trends results/ --diary diary.csv
# date           YYYY-MM-DD, the day the line describes; it goes with the night that starts
#                that evening
# caffeine_mg    caffeine that day in mg (coffee ~80-100 mg a cup, tea ~40, cola ~35), >= 0
# alcohol_units  alcohol that day in units (10 ml pure alcohol; a small beer ~1.1), >= 0
# stress_1_5     how stressed you felt: 1 calm, 2, 3, 4, 5 very stressed
# exercise_min   exercise that day in minutes, 0-1440
# sleep_h        hours slept the night before, 0-24
# water_l        water and other drinks that day in litres, 0-20
# notes          free text, not analysed
# Leave a cell empty if you did not record it. You may add columns of your own (numbers only),
# e.g. screen_h or magnesium_mg. Lines starting with # are comments.
date,caffeine_mg,alcohol_units,stress_1_5,exercise_min,sleep_h,water_l,notes
2024-03-01,200,0,3,30,7.5,1.5,example line: replace with your own
"""

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _split(line: str, delimiter: str) -> list[str]:
    return [c.strip() for c in next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))]


def parse_diary(text: str, source: str = "<diary>") -> pd.DataFrame:
    """Parse diary text (see the module docstring for the format).

    Parameters
    ----------
    text : str
        The CSV text.
    source : str
        File name used in error messages.

    Returns
    -------
    DataFrame
        ``date`` (datetime64, midnight, sorted) plus one float column per numeric column of the
        file (NaN where empty) and any text columns (:data:`TEXT_COLUMNS`) as strings.

    Raises
    ------
    InputError
        Naming ``source``, the line number (1 = first line of the file) and the column.
    """
    header: list[str] | None = None
    delimiter = ","
    rows: list[tuple[int, list[str]]] = []
    for lineno, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if header is None:
            delimiter = ";" if line.count(";") > line.count(",") else ","
            header = [c.lower() for c in _split(line, delimiter)]
            if "date" not in header:
                raise InputError(f"{source}, line {lineno}: the header has no 'date' column "
                                 f"(found {', '.join(header)}); expected e.g. "
                                 "date,caffeine_mg,stress_1_5")
            for i, name in enumerate(header):
                if not name:
                    raise InputError(f"{source}, line {lineno}: column {i + 1} of the header has "
                                     "no name")
                if header.index(name) != i:
                    raise InputError(f"{source}, line {lineno}: column {name!r} appears twice in "
                                     "the header")
            continue
        cells = _split(line, delimiter)
        if len(cells) != len(header):
            raise InputError(f"{source}, line {lineno}: {len(cells)} cells, expected "
                             f"{len(header)} ({', '.join(header)})")
        rows.append((lineno, cells))
    if header is None:
        raise InputError(f"{source}: no header line; expected e.g. date,caffeine_mg,stress_1_5 "
                         "(see the diary template)")
    if not rows:
        raise InputError(f"{source}: no diary lines after the header")

    seen: dict[date, int] = {}
    columns: dict[str, list] = {name: [] for name in header}
    for lineno, cells in rows:
        for name, cell in zip(header, cells):
            if name == "date":
                value: object = _parse_date(cell, source, lineno)
                if value in seen:
                    raise InputError(f"{source}, line {lineno}, column date: {cell} already has "
                                     f"a line (line {seen[value]}); one line per day")
                seen[value] = lineno
            elif name in TEXT_COLUMNS:
                value = cell
            else:
                value = _parse_number(cell, name, source, lineno)
            columns[name].append(value)
    df = pd.DataFrame({"date": pd.to_datetime(pd.Series(columns.pop("date")))})
    for name, values in columns.items():
        df[name] = pd.Series(values, dtype=object if name in TEXT_COLUMNS else float)
    return df.sort_values("date", kind="stable").reset_index(drop=True)


def _parse_date(cell: str, source: str, lineno: int) -> date:
    if _DATE_RE.match(cell):
        try:
            return date.fromisoformat(cell)
        except ValueError:
            pass
    raise InputError(f"{source}, line {lineno}, column date: {cell!r} is not a date; expected "
                     "YYYY-MM-DD, e.g. 2024-03-01")


def _parse_number(cell: str, name: str, source: str, lineno: int) -> float:
    if cell == "":
        return math.nan
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
        ok = False
    else:
        ok = math.isfinite(value)
    if not ok:
        raise InputError(f"{source}, line {lineno}, column {name}: {cell!r} is not a number "
                         "(leave the cell empty if not recorded; free text goes in a 'notes' "
                         "column)")
    if name in KNOWN_COLUMNS:
        meaning, lo, hi = KNOWN_COLUMNS[name]
        if not lo <= value <= hi:
            allowed = f">= {lo:g}" if math.isinf(hi) else f"{lo:g} to {hi:g}"
            raise InputError(f"{source}, line {lineno}, column {name}: {cell} is out of range; "
                             f"expected {allowed} ({meaning})")
    return value


def read_diary(path: str | Path) -> pd.DataFrame:
    """Read a diary CSV file (format in the module docstring).

    Parameters
    ----------
    path : str or Path
        The diary file.

    Returns
    -------
    DataFrame
        See :func:`parse_diary`.

    Raises
    ------
    InputError
        The file cannot be read, or a line is bad (the message names the file, line and column).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: diary file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the diary ({exc}); expected a UTF-8 CSV "
                         "file") from None
    return parse_diary(text, str(path))


def write_diary_template(path: str | Path) -> Path:
    """Write the diary template (:data:`TEMPLATE_CSV`) to ``path`` (mode 0600)."""
    return write_private(path, TEMPLATE_CSV)
