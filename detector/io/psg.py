"""PSG scoring exports read as annotation tables: RemLogic event exports, NSRR XML and Compumedics
Profusion XML.

Each reader returns the same raw table as the EDF+ annotation reader
(:func:`detector.io.edf_read.read_edf_annotations`): ``start_s`` (seconds from the file's time
zero), ``duration_s``, ``label`` and ``annotation_index`` (the event's position in the file), and
the wall-clock time of second 0 in unix seconds when the file says it (None otherwise).
:func:`detector.score.reference.read_reference` sorts the labels into leg movements, respiratory
events and others with its one label table; a channel or location the file gives is appended to
the label as ``@@channel`` (as EDF+ does), so that it can name the leg.

Formats:

* **RemLogic event export** (Natus Embla RemLogic; the format PLMScoRe reads): text lines
  ``RemLogic Event Export``, ``Patient:``, ``Recording Date:``, ``Events Included:`` and the
  event names, then a tab-separated table with ``Time [hh:mm:ss.xxx]`` (ISO-like date-times
  ``2013-08-13T23:11:11.907543``, or clock times put on the recording date and after midnight
  on the next day), ``Event``, ``Duration[s]`` and ``Location`` (``EMG.Tibialis-Leg.Left``), and
  sometimes ``Sleep Stage`` and ``Position``. Second 0 is the first event's time.
* **NSRR XML** (``PSGAnnotation``): ``ScoredEvent`` elements with ``EventType``,
  ``EventConcept`` (``Limb movement - left|Limb Movement (Left)``: the text before ``|`` is the
  label), ``Start`` and ``Duration`` in seconds from the recording start, and the start's clock
  time in the ``Recording Start Time`` event's ``ClockTime`` (``00.00.00 23.04.07``: no date; put
  on a day as a CSV's clock times are, 6 h before to 18 h after the recording's start).
* **Compumedics Profusion XML** (``CMPStudyConfig``): ``ScoredEvent`` elements with ``Name``,
  ``Start``, ``Duration`` and ``Input`` (the channel); no clock time.

XML is parsed with ``defusedxml`` (entity expansion and external entities refused).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

import numpy as np
import pandas as pd

from detector.errors import InputError
from detector.io.localtime import parse_clock, unix_s

__all__ = ["psg_kind", "read_psg_annotations", "PSG_FORMATS"]

#: What :func:`psg_kind` can tell, and the name used in messages.
PSG_FORMATS = {"remlogic": "RemLogic event export", "nsrr": "NSRR XML annotations",
               "profusion": "Compumedics Profusion XML"}

_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2}):(\d{2}(?:\.\d*)?)\s*$")
_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})[:.](\d{2}(?:\.\d*)?)\s*$")
_DATES = ("%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d-%m-%Y")


def psg_kind(head: bytes) -> str | None:
    """``remlogic``, ``nsrr`` or ``profusion`` for the first bytes of such a file, else None."""
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if text.lower().startswith("remlogic event export"):
        return "remlogic"
    if text.startswith("<"):
        if "<PSGAnnotation" in text:
            return "nsrr"
        if "<CMPStudyConfig" in text:
            return "profusion"
    return None


def read_psg_annotations(path: Path, kind: str, tz: tzinfo, near_unix_s: float | None = None
                         ) -> tuple[pd.DataFrame, float | None]:
    """The events of a PSG scoring export as a raw annotation table, and the unix time of its
    second 0 (None when the file does not say).

    Parameters
    ----------
    path : Path
    kind : str
        ``remlogic``, ``nsrr`` or ``profusion`` (see :func:`psg_kind`).
    tz : tzinfo
        Zone of the file's wall-clock times (they carry none).
    near_unix_s : float, optional
        The accelerometer recording's start: an NSRR start clock time, which has no date, is put
        from 6 h before to 18 h after it (:func:`detector.io.localtime.parse_clock`).

    Raises
    ------
    InputError
        A file that cannot be read, or an event whose time or duration is not a number, naming
        the file and the line or event.
    """
    if kind == "remlogic":
        return _read_remlogic(path, tz)
    root = _parse_xml(path, PSG_FORMATS[kind])
    if kind == "nsrr":
        return _read_nsrr(root, path, tz, near_unix_s)
    return _read_profusion(root, path), None


# --------------------------------------------------------------------------------------------
# RemLogic
# --------------------------------------------------------------------------------------------

def _read_remlogic(path: Path, tz: tzinfo) -> tuple[pd.DataFrame, float | None]:
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    lines = text.splitlines()
    rec_date: date | None = None
    header_at = None
    for n, line in enumerate(lines):
        if line.lower().startswith("recording date"):
            rec_date = _parse_date(line.split(":", 1)[1].strip() if ":" in line else "")
        cells = [c.strip().lower() for c in line.split("\t")]
        if "event" in cells and any(c.startswith("time") for c in cells):
            header_at = n
            break
    if header_at is None:
        raise InputError(f"{path}: a RemLogic event export without its table; expected a "
                         "tab-separated header line with 'Time [hh:mm:ss.xxx]', 'Event' and "
                         "'Duration[s]'")
    header = [c.strip().lower() for c in lines[header_at].split("\t")]

    def col(prefix: str) -> int | None:
        return next((i for i, c in enumerate(header) if c.startswith(prefix)), None)

    i_time, i_event, i_dur, i_loc = col("time"), col("event"), col("duration"), col("location")
    if i_dur is None:
        raise InputError(f"{path}, line {header_at + 1}: no 'Duration[s]' column; found "
                         f"{', '.join(header)}")
    times: list[float] = []
    durs: list[float] = []
    labels: list[str] = []
    where: list[int] = []
    day_offset = 0
    last_clock = None
    for n in range(header_at + 1, len(lines)):
        cells = lines[n].split("\t")
        if not lines[n].strip():
            continue
        if len(cells) <= max(i_time, i_event, i_dur):
            raise InputError(f"{path}, line {n + 1}: {len(cells)} tab-separated fields; the "
                             f"header has {len(header)}")
        raw_t, label = cells[i_time].strip(), cells[i_event].strip()
        m = _ISO.match(raw_t)
        if m:
            y, mo, d, h, mi, s = m.groups()
            t = datetime(int(y), int(mo), int(d), int(h), int(mi), 0) + timedelta(
                seconds=float(s))
        else:
            c = _CLOCK.match(raw_t)
            if c is None:
                raise InputError(f"{path}, line {n + 1}, column 'Time': {raw_t!r}; expected "
                                 "a date-time like 2013-08-13T23:11:11.907 or a clock time "
                                 "hh:mm:ss.xxx")
            if rec_date is None:
                raise InputError(f"{path}, line {n + 1}: clock times but no 'Recording Date:' "
                                 "line to put them on a day")
            clock = timedelta(hours=int(c.group(1)), minutes=int(c.group(2)),
                              seconds=float(c.group(3)))
            if last_clock is not None and clock < last_clock - timedelta(hours=12):
                day_offset += 1                       # past midnight
            last_clock = clock
            t = datetime.combine(rec_date, datetime.min.time()) + clock + timedelta(
                days=day_offset)
        try:
            dur = float(cells[i_dur].strip().replace(",", "."))
        except ValueError:
            raise InputError(f"{path}, line {n + 1}, column 'Duration[s]': "
                             f"{cells[i_dur].strip()!r}; expected seconds") from None
        if not np.isfinite(dur) or dur < 0:
            raise InputError(f"{path}, line {n + 1}, column 'Duration[s]': {dur!r}; expected "
                             "seconds >= 0")
        loc = cells[i_loc].strip() if i_loc is not None and i_loc < len(cells) else ""
        times.append(unix_s(t, tz))
        durs.append(dur)
        labels.append(f"{label}@@{loc}" if loc else label)
        where.append(n + 1)
    if not times:
        raise InputError(f"{path}: the RemLogic event export holds no events")
    t0 = min(times)
    raw = pd.DataFrame({"start_s": np.asarray(times) - t0, "duration_s": durs, "label": labels,
                        "annotation_index": where})
    return raw, t0


def _parse_date(text: str) -> date | None:
    for fmt in _DATES:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------------------------

def _parse_xml(path: Path, what: str):
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        return ElementTree.parse(path).getroot()
    except DefusedXmlException as exc:
        raise InputError(f"{path}: {what} refused ({type(exc).__name__}: entities or external "
                         "references are not read)") from None
    except ElementTree.ParseError as exc:
        raise InputError(f"{path}: not well-formed {what} ({exc})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None


def _text(el, tag: str) -> str:
    child = el.find(tag)
    return "" if child is None or child.text is None else child.text.strip()


def _seconds(el, tag: str, path: Path, k: int) -> float:
    raw = _text(el, tag)
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{path}, ScoredEvent {k + 1}, <{tag}>: {raw!r}; expected seconds"
                         ) from None
    if not np.isfinite(value):
        raise InputError(f"{path}, ScoredEvent {k + 1}, <{tag}>: {raw!r}; expected seconds")
    return value


def _read_nsrr(root, path: Path, tz: tzinfo, near_unix_s: float | None
               ) -> tuple[pd.DataFrame, float | None]:
    rows = []
    clock: str | None = None
    for k, ev in enumerate(root.iter("ScoredEvent")):
        concept = _text(ev, "EventConcept")
        label = concept.split("|")[0].strip()
        if label.lower().startswith("recording start time"):
            clock = _text(ev, "ClockTime") or clock
            continue
        start = _seconds(ev, "Start", path, k)
        dur = _seconds(ev, "Duration", path, k) if _text(ev, "Duration") else np.nan
        loc = _text(ev, "SignalLocation")
        rows.append((start, dur, f"{label}@@{loc}" if loc else label, k + 1))
    raw = pd.DataFrame(rows, columns=["start_s", "duration_s", "label", "annotation_index"])
    t0 = None
    m = re.search(r"(\d{1,2})[.:](\d{2})[.:](\d{2}(?:\.\d*)?)\s*$", clock or "")
    if m is not None and near_unix_s is not None:
        # "00.00.00 23.04.07": NSRR removed the date; the clock time is put on a day as a CSV's
        # clock times are (from 6 h before to 18 h after the recording's start)
        t0 = parse_clock(":".join(m.groups()), tz, near_unix_s)
    return raw, t0


#: Profusion's stage codes (one per epoch in ``SleepStages``), as RemLogic-style labels.
_PROFUSION_STAGES = {0: "SLEEP-S0", 1: "SLEEP-S1", 2: "SLEEP-S2", 3: "SLEEP-S3", 4: "SLEEP-S4",
                     5: "SLEEP-REM"}


def _read_profusion(root, path: Path) -> pd.DataFrame:
    rows = []
    try:
        epoch_s = float(_text(root, "EpochLength") or 30.0)
    except ValueError:
        epoch_s = 30.0
    stages = root.find("SleepStages")
    for k, el in enumerate([] if stages is None else stages.iter("SleepStage")):
        label = _PROFUSION_STAGES.get(int(el.text or -1) if (el.text or "").strip().isdigit()
                                      else -1)
        if label is not None:
            rows.append((k * epoch_s, epoch_s, label, -(k + 1)))
    for k, ev in enumerate(root.iter("ScoredEvent")):
        label = _text(ev, "Name")
        start = _seconds(ev, "Start", path, k)
        dur = _seconds(ev, "Duration", path, k) if _text(ev, "Duration") else np.nan
        channel = _text(ev, "Input")
        rows.append((start, dur, f"{label}@@{channel}" if channel else label, k + 1))
    return pd.DataFrame(rows, columns=["start_s", "duration_s", "label", "annotation_index"])
