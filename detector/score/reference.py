"""A researcher's reference scoring: scored leg movements from EDF+ annotations or a CSV.

PSG software (Compumedics, Natus/Embla RemLogic, Nox, Philips Alice, Domino, EDFbrowser ...)
exports a scorer's events as EDF+/BDF+ annotations or as a CSV (see
:mod:`detector.io.tables`). :func:`read_reference` reads either into a :class:`Reference`:
the leg movements (LMs) as an event table comparable with the detector's, the respiratory events
apart (they make LMs respiratory-related), and every other annotation (sleep stages, arousals,
lights off ...) in ``.other``, counted by label so nothing is dropped unseen.

Texts are sorted by :data:`DEFAULT_LABELS`. Kinds come from durations by the scoring rules
(WASM 2016 = Ferri et al., Sleep Med 2016;26:86-95; AASM 2012 = AASM Scoring Manual v2.0):
shorter than ``lm_min_s`` (0.5 s) a twitch, up to ``lm_max_s`` (10 s; bilateral
``bilateral_max_s``) an LM, longer sustained.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from detector.config import RULES, RulesConfig
from detector.fileio import write_private
from detector.io.edf_read import edf_kind, file_head, read_edf_annotations
from detector.io.psg import PSG_FORMATS, psg_kind, read_psg_annotations
from detector.io.tables import parse_bool
from detector.score.plm import score_plm
from detector.kinds import KINDS, LEG_ALIASES, LEGS, normalise_labels, kind_from_rules
from detector.io.recording import InputError
from detector.io.tables import LABEL_COLUMNS, parse_reference_csv
from detector.io.localtime import parse_start, parse_timezone, recording_start_unix_s
from detector.io.labels import (CLASSES, DEFAULT_LABELS, classify_label, classify_with,
                                compile_labels, leg_from_label)

__all__ = ["Reference", "read_reference", "write_reference_csv", "DEFAULT_LABELS",
           "classify_label", "leg_from_label", "CLASSES"]



#: Columns :func:`detector.score.plm.score_plm` computes; dropped before rescoring.
_SCORE_COLUMNS = ("candidate", "respiratory", "imi_s", "plm", "series", "plm_without_resp",
                  "n_parts", "legs")


@dataclass(frozen=True, eq=False)
class Reference:
    """A reference scoring of one night; times in seconds from second 0 (``start_unix_s``).

    Attributes
    ----------
    events : DataFrame
        Leg movements in onset order: ``start_s``, ``end_s``, ``duration_s`` (0 for an
        annotation without one), ``kind`` (``twitch``, ``lm``, ``sustained``: the file's, else
        by the rules), ``leg`` (``left``, ``right``, ``bilateral``, ``unknown``), ``plm``
        (nullable boolean; ``<NA>`` without PLM flags), ``label`` (empty for a CSV without
        labels), and ``source_line`` (CSV, 1-based) or ``annotation_index`` (0-based, into
        ``edfio``'s ``Edf.annotations``). Other CSV columns are kept as text.
    respiratory : DataFrame
        ``start_s``, ``end_s``, ``duration_s``, ``label`` and the source column.
    other : DataFrame
        The ignored annotations, as ``respiratory``; ``duration_s`` NaN (and ``end_s`` =
        ``start_s``) for an annotation without a duration.
    source : str
        The file read (or ``<memory>``).
    start_unix_s : float or None
        Unix time (s, UTC) of second 0: the recording's start when a recording was given,
        else the file's; None when unknown.
    format : str
        ``edf+``, ``bdf+``, ``csv`` or ``table``.
    rules : RulesConfig
        Rules the kinds were derived with; :meth:`scored`'s default.
    plm_from : str or None
        ``file`` (PLM labels or a ``plm`` column), ``rules`` (after :meth:`scored`) or None.
    series : DataFrame
        PLM series after :meth:`scored` (see :class:`detector.score.plm.PlmScoring`), else empty.
    info : dict
        ``shift_s`` (seconds added to the file's times, ``offset_s`` included), ``offset_s``,
        ``file_start_unix_s``, ``kind_from_file``, ``n_no_duration``, ``clock_times``,
        ``label_column_as_note``, ``recording_duration_s``; ``n_plm_without_resp`` after
        :meth:`scored`.
    """

    events: pd.DataFrame
    respiratory: pd.DataFrame
    other: pd.DataFrame
    source: str = "<memory>"
    start_unix_s: float | None = None
    format: str = "table"
    rules: RulesConfig = field(default_factory=lambda: RULES["wasm2016"])
    plm_from: str | None = None
    series: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["series", "start_s", "end_s", "n_lm", "mean_imi_s"]))
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_table(cls, events: pd.DataFrame, respiratory: pd.DataFrame | None = None, *,
                   rules: RulesConfig | str | None = None, source: str = "<memory>",
                   start_unix_s: float | None = None) -> "Reference":
        """Build a reference from in-memory tables.

        Parameters
        ----------
        events : DataFrame
            ``start_s`` and ``end_s`` (or ``duration_s``) in seconds; optional ``kind``,
            ``leg``, ``plm``, ``label``.
        respiratory : DataFrame, optional
            ``start_s`` and ``end_s`` (or ``duration_s``) of respiratory events, in seconds.
        rules : RulesConfig or str, optional
            Rules for missing kinds (default ``RULES["wasm2016"]``).
        source : str
            Name used in messages.
        start_unix_s : float, optional
            Unix time (s) of second 0.

        Returns
        -------
        Reference
        """
        tables = []
        for table, what, name in ((events, "lm", "events"),
                                  (respiratory, "respiratory", "respiratory events")):
            if table is not None:
                t = _seconds_table(table, f"{source} ({name})")
                t["category"] = what
                tables.append(t)
        raw = pd.concat(tables, ignore_index=True) if tables else _seconds_table(
            pd.DataFrame({"start_s": [], "end_s": []}), source)
        raw["source_line"] = np.arange(len(raw))
        return _assemble(raw, "source_line", fmt="table", source=source,
                         rules=_resolve_rules(rules), patterns=None, label_mode=False,
                         shift_s=0.0, start_unix_s=start_unix_s, info={"offset_s": 0.0})

    def summary(self) -> dict[str, Any]:
        """Counts, JSON-friendly.

        Returns
        -------
        dict
            ``n_events``, ``kind`` and ``leg`` counts, ``n_plm`` (None without PLM flags),
            ``n_series`` (None before :meth:`scored`), ``n_respiratory``/``n_other`` and their
            ``{label: count}`` (most frequent first), ``n_no_duration``, ``n_before_start``
            (before second 0), ``n_after_end`` (with a recording), ``source``, ``format``,
            ``start_time`` (ISO, UTC) and ``plm_from``.
        """
        ev = self.events
        plm = ev["plm"] if "plm" in ev.columns else pd.Series([], dtype="boolean")
        out: dict[str, Any] = {
            "source": self.source,
            "format": self.format,
            "start_time": (None if self.start_unix_s is None else
                           datetime.fromtimestamp(self.start_unix_s, tz=timezone.utc).isoformat()),
            "n_events": int(len(ev)),
            "kind": {k: int((ev["kind"] == k).sum()) for k in KINDS},
            "leg": {k: int((ev["leg"] == k).sum()) for k in LEGS},
            "n_plm": (int(plm.fillna(False).astype(bool).sum())
                      if self.plm_from is not None else None),
            "plm_from": self.plm_from,
            "n_series": int(len(self.series)) if self.plm_from == "rules" else None,
            "n_respiratory": int(len(self.respiratory)),
            "respiratory_labels": _label_counts(self.respiratory),
            "n_other": int(len(self.other)),
            "other_labels": _label_counts(self.other),
            "n_no_duration": int(self.info.get("n_no_duration", 0)),
            "n_before_start": int((ev["start_s"] < 0).sum()),
        }
        if self.info.get("recording_duration_s") is not None:
            out["n_after_end"] = int((ev["end_s"] > self.info["recording_duration_s"]).sum())
        return out

    def scored(self, rules: RulesConfig | str | None = None, *, force: bool = False
               ) -> "Reference":
        """Mark PLM series by the rules when the file carried no PLM flags.

        Parameters
        ----------
        rules : RulesConfig or str, optional
            ``"wasm2016"``, ``"aasm2012"`` or a RulesConfig; default the reference's rules.
        force : bool
            Rescore even when the scorer's PLM flags are present (they are replaced).

        Returns
        -------
        Reference
            ``self`` when the file had PLM flags (and not ``force``); else a copy with
            :func:`detector.score.plm.score_plm`'s events (legs merged and same-leg LMs joined as
            the rules say; ``candidate``, ``respiratory``, ``imi_s``, ``plm``, ``series``,
            ``n_parts``, ``legs``, and ``plm_without_resp`` when respiratory events exist),
            its ``series`` and ``plm_from`` ``"rules"``. Kinds from durations are derived
            again with ``rules``; kinds given by the file are kept.
        """
        rules_ = self.rules if rules is None else _resolve_rules(rules)
        if self.plm_from == "file" and not force:
            return self
        ev = self.events.drop(columns=[c for c in _SCORE_COLUMNS if c in self.events.columns])
        if not self.info.get("kind_from_file", False):
            ev = ev.drop(columns="kind")
        resp = self.respiratory[["start_s", "end_s"]] if len(self.respiratory) else None
        scoring = score_plm(ev, rules_, respiratory=resp)
        events = scoring.events
        if scoring.events_without_resp is not None:
            events["plm_without_resp"] = scoring.events_without_resp["plm"].to_numpy()
        first = [c for c in ("start_s", "end_s", "duration_s", "kind", "leg", "plm", "series",
                             "label", "source_line", "annotation_index") if c in events.columns]
        events = events[first + [c for c in events.columns if c not in first]]
        info = {**self.info, "n_plm_without_resp": scoring.n_plm_without_resp}
        return dataclasses.replace(self, events=events, series=scoring.series, rules=rules_,
                                   plm_from="rules", info=info)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

def read_reference(path: str | Path, *, recording: Any = None, offset_s: float = 0.0,
                   labels: Mapping[str, str] | None = None,
                   rules: RulesConfig | str | None = None,
                   start: datetime | str | float | None = None,
                   edf_timezone: str | tzinfo | None = None) -> Reference:
    """Read a reference scoring (EDF+/BDF+ annotations or a CSV) aligned to a recording.

    Parameters
    ----------
    path : str or Path
        The file, told by content: an EDF header (``0`` then spaces, or BDF's
        ``\\xffBIOSEMI``) with ``EDF+C``/``EDF+D`` (``BDF+C``/``BDF+D``) in the reserved field
        is read with ``edfio``: every annotation (onset in seconds from the file start,
        duration, text) is sorted by ``labels``, and an ``@@channel`` suffix (``LM@@EMG LAT``)
        names the leg when the text does not. Anything else must be a CSV
        (:mod:`detector.io.tables`).
    recording : Recording, optional
        The accelerometer recording (or a result with ``.recording``). Times are then seconds
        from its start (``t0_unix_s``): EDF+ onsets are shifted by (EDF start - recording
        start), CSV clock times are counted from it, and CSV seconds are taken as seconds from
        it unless ``start`` says otherwise.
    offset_s : float
        Seconds added to every time last (a known clock difference between the systems).
    labels : mapping of str to str, optional
        ``{regular expression: class}`` (class in :data:`CLASSES`), tried before
        :data:`DEFAULT_LABELS`; map a text to ``"other"`` to ignore it, or end with
        ``{".*": "other"}`` to switch the defaults off.
    rules : RulesConfig or str, optional
        Rules that derive kinds from durations (default ``RULES["wasm2016"]``).
    start : datetime, str or float, optional
        Wall-clock time of the file's second 0 (ISO string, datetime or unix seconds): what a
        CSV's seconds count from and the day of its clock times, or a replacement for an EDF+
        header start (e.g. an anonymised one).
    edf_timezone : str or tzinfo, optional
        Zone of naive wall-clock times: the EDF+ header start (EDF+ stores no zone), CSV clock
        and ISO times without an offset, and a naive ``start``. An IANA name
        (``"Europe/Berlin"``), ``"+01:00"`` or a tzinfo. **Default UTC**, as the recorder
        stores; give the PSG's zone when its clock ran on local time, else the alignment is off
        by the zone's offset.

    Returns
    -------
    Reference

    Raises
    ------
    InputError
        On a missing or unreadable file, a file neither EDF+/BDF+ nor CSV, a plain EDF or an
        EDF+ without annotations, an EDF+ start needed for alignment but unknown, clock times
        with no known start, a bad label pattern, or a bad CSV line (naming file, line, column).
    """
    path = Path(path)
    rules_ = _resolve_rules(rules)
    patterns = compile_labels(labels)
    tz = parse_timezone(edf_timezone)
    if recording is not None and not hasattr(recording, "t0_unix_s"):
        recording = getattr(recording, "recording", recording)
    rec_t0 = recording_start_unix_s(recording)
    start_unix = parse_start(start, tz) if start is not None else None
    if not isinstance(offset_s, (int, float)) or not math.isfinite(offset_s):
        raise InputError(f"offset_s={offset_s!r}: expected a finite number of seconds")
    head = file_head(path)
    info: dict[str, Any] = {"offset_s": float(offset_s)}
    if recording is not None and hasattr(recording, "duration_s"):
        info["recording_duration_s"] = float(recording.duration_s)
    fmt = edf_kind(head, path)
    psg = psg_kind(head) if fmt is None else None
    if fmt is not None or psg is not None:
        # annotations with onsets in seconds from the file's start: EDF+, or a PSG export
        if fmt is not None:
            raw, file_start = read_edf_annotations(path, fmt, tz)
            relative = ("the recording's start time is unknown (its timestamps are relative), so "
                        "the EDF+ annotations cannot be aligned to it; omit recording= and give "
                        "offset_s= (the EDF start minus the recording start, in seconds)")
            no_start = ("the EDF+ start date is anonymised, so the annotations cannot be aligned "
                        "to the recording; give start= (the EDF start as an ISO date-time) or "
                        "omit recording= and give offset_s= (the EDF start minus the recording "
                        "start, in seconds)")
        else:
            raw, file_start = read_psg_annotations(path, psg, tz, near_unix_s=rec_t0)
            fmt = psg
            info["format"] = PSG_FORMATS[psg]
            advice = ("so its events cannot be aligned to the recording; give start= (the "
                      "scoring's start as an ISO date-time) or omit recording= and give offset_s=")
            relative = ("the recording's start time is unknown (its timestamps are relative), "
                        + advice)
            no_start = f"the {PSG_FORMATS[psg]} does not say when its second 0 was, " + advice
        info["file_start_unix_s"] = file_start
        t0_file = start_unix if start_unix is not None else file_start
        shift = 0.0
        if recording is not None:
            if rec_t0 is None:
                raise InputError(f"{path}: {relative}")
            if t0_file is None:
                raise InputError(f"{path}: {no_start}")
            shift = t0_file - rec_t0
        return _assemble(raw, "annotation_index", fmt=fmt, source=str(path), rules=rules_,
                         patterns=patterns, label_mode=True, shift_s=shift + float(offset_s),
                         start_unix_s=rec_t0 if recording is not None else t0_file, info=info)
    if b"\x00" in head:
        raise InputError(f"{path}: unknown file type (binary, not an EDF+/BDF+ header); expected "
                         "EDF+ annotations (reserved field EDF+C or EDF+D) or a CSV of leg "
                         "movements")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a UTF-8 text file; expected a CSV of leg movements "
                         "or EDF+ annotations") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    rows = parse_reference_csv(text, str(path), tz=tz, start_unix_s=start_unix,
                               recording_start_unix_s=rec_t0)
    info.update(clock_times=rows.clock_times, file_start_unix_s=rows.file_start_unix_s)
    return _assemble(rows.table, "source_line", fmt="csv", source=str(path), rules=rules_,
                     patterns=patterns, label_mode=rows.label_mode,
                     shift_s=rows.shift_s + float(offset_s), start_unix_s=rows.start_unix_s,
                     info=info)


# --------------------------------------------------------------------------------------------
# Labels, legs, kinds: one table for EDF+, CSV and in-memory input
# --------------------------------------------------------------------------------------------





def _assemble(raw: pd.DataFrame, id_col: str, *, fmt: str, source: str, rules: RulesConfig,
              patterns: list[tuple[re.Pattern[str], str]] | None, label_mode: bool,
              shift_s: float, start_unix_s: float | None, info: dict[str, Any]) -> Reference:
    """Sort rows into LMs, respiratory events and others; derive legs, kinds and PLM flags.

    ``raw`` has ``start_s``, ``duration_s`` (NaN = none), optional ``end_s``, a label column,
    ``category``, ``leg``, ``kind``, ``plm``, and ``id_col``.
    """
    raw = raw.copy()
    ids = raw[id_col].to_numpy()
    where = f"{source}, " + ("line" if fmt in ("csv", "remlogic") else
                             "ScoredEvent" if fmt in ("nsrr", "profusion") else
                             "annotation" if id_col == "annotation_index" else "row")
    label_col = next((c for c in LABEL_COLUMNS if c in raw.columns), None)
    labels = (raw.pop(label_col).fillna("").astype(str).str.strip().to_numpy(dtype=object)
              if label_col is not None else np.full(len(raw), "", dtype=object))
    patterns = compile_labels(None) if patterns is None else patterns
    given = np.full(len(raw), "", dtype=object)
    if "category" in raw.columns:
        given = raw["category"].fillna("").astype(str).str.strip().str.lower().to_numpy()
        for k in np.flatnonzero(~np.isin(given, CLASSES + ("",)))[:1]:
            raise InputError(f"{where} {ids[k]}, column 'category': {raw['category'].iloc[k]!r}; "
                             f"expected one of {', '.join(CLASSES)}")
    by_label = np.full(len(raw), "lm", dtype=object)
    if label_mode:
        classes = np.array([classify_with(t, patterns) for t in labels], dtype=object)
        # A CSV label column none of whose texts is a movement or a respiratory event holds
        # notes: every row stays an LM.
        notes = (fmt == "csv" and "category" not in raw.columns and bool(len(raw))
                 and bool((classes == "other").all()))
        info = {**info, "label_column_as_note": notes}
        by_label = by_label if notes else classes
    cls = np.where(given != "", given, by_label)

    dur = raw["duration_s"].to_numpy(dtype=float)
    no_dur = np.isnan(dur)
    dur = np.where(no_dur, 0.0, dur)
    start = raw["start_s"].to_numpy(dtype=float) + shift_s
    is_ev = np.isin(cls, ("lm", "plm", "twitch"))
    is_resp = cls == "respiratory"
    info = {"shift_s": float(shift_s), **info,
            "n_no_duration": int((no_dur & (is_ev | is_resp)).sum())}

    def at(col: str) -> Any:
        return lambda k: f"{where} {ids[k]}, column '{col}'"

    # Legs: a given leg column wins unless unknown; else the label names it.
    leg = np.array([leg_from_label(t) for t in labels], dtype=object)
    if "leg" in raw.columns:
        col = np.array(normalise_labels(raw["leg"], LEG_ALIASES, LEGS, "leg", at("leg")),
                       dtype=object)
        leg = np.where(col == "unknown", leg, col)
    kind = kind_from_rules(dur, leg == "bilateral", rules).astype(object)
    kind = np.where(cls == "twitch", "twitch", kind)    # the label says what it is
    kind_from_file = bool((cls[is_ev] == "twitch").any())
    if "kind" in raw.columns:
        kinds = np.array(normalise_labels(raw["kind"], {"": None, "nan": None, "none": None}, KINDS,
                                    "kind", at("kind")), dtype=object)
        kind_from_file = kind_from_file or any(k is not None for k in kinds[is_ev])
        kind = np.where([isinstance(k, str) and bool(k) for k in kinds], kinds, kind)

    plm_from: str | None = None
    plm = pd.array([pd.NA] * len(raw), dtype="boolean")
    if "plm" in raw.columns and (raw["plm"].fillna("").astype(str).str.strip() != "").any():
        plm = pd.array(parse_bool(raw["plm"], column="plm", where=lambda k: f"{where} {ids[k]}"),
                       dtype="boolean")
        plm_from = "file"
    elif (cls[is_ev] == "plm").any():
        plm = pd.array(cls == "plm", dtype="boolean")
        plm_from = "file"

    known = {"start_s", "end_s", "duration_s", "kind", "leg", "plm", "category", id_col}
    extras = [c for c in raw.columns if c not in known]
    base = pd.DataFrame({"start_s": start, "end_s": start + dur, "duration_s": dur,
                         "kind": kind, "leg": leg, "plm": plm, "label": labels, id_col: ids})
    for c in extras:
        base[c] = raw[c].to_numpy()
    base.loc[no_dur & ~(is_ev | is_resp), "duration_s"] = np.nan  # others keep "no duration"

    def part(mask: np.ndarray, cols: list[str]) -> pd.DataFrame:
        t = base.loc[mask, cols]
        return t.iloc[np.argsort(t["start_s"].to_numpy(), kind="stable")].reset_index(drop=True)

    events = part(is_ev, ["start_s", "end_s", "duration_s", "kind", "leg", "plm", "label", id_col]
                  + extras)
    events["plm"] = events["plm"].astype("boolean")
    short = ["start_s", "end_s", "duration_s", "label", id_col]
    info["kind_from_file"] = bool(kind_from_file)
    return Reference(events=events, respiratory=part(is_resp, short),
                     other=part(~(is_ev | is_resp), short), source=source,
                     start_unix_s=start_unix_s, format=fmt, rules=rules, plm_from=plm_from,
                     info=info)


def _seconds_table(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """In-memory table -> ``start_s``/``duration_s`` (+ other columns), checked."""
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"{name}: expected a DataFrame with start_s and end_s (or duration_s), "
                         f"got {type(table).__name__}")
    if "start_s" not in table.columns or not ({"end_s", "duration_s"} & set(table.columns)):
        raise InputError(f"{name}: expected columns start_s and end_s (or duration_s) in seconds, "
                         f"has {', '.join(map(str, table.columns)) or 'none'}")
    out = table.reset_index(drop=True).copy()
    start = pd.to_numeric(out["start_s"], errors="coerce").to_numpy(dtype=float)
    dur = (pd.to_numeric(out["end_s"], errors="coerce").to_numpy(dtype=float) - start
           if "end_s" in out.columns else
           pd.to_numeric(out["duration_s"], errors="coerce").to_numpy(dtype=float))
    for k in np.flatnonzero(~(np.isfinite(start) & np.isfinite(dur)))[:1]:
        raise InputError(f"{name}, row {k}: start_s/end_s not finite numbers of seconds")
    for k in np.flatnonzero(dur < 0)[:1]:
        raise InputError(f"{name}, row {k}: end before start; expected end_s >= start_s")
    out["start_s"], out["duration_s"] = start, dur
    return out.drop(columns=[c for c in ("end_s",) if c in out.columns])


def _resolve_rules(rules: RulesConfig | str | None) -> RulesConfig:
    if rules is None:
        return RULES["wasm2016"]
    if isinstance(rules, RulesConfig):
        return rules
    if isinstance(rules, str) and rules in RULES:
        return RULES[rules]
    raise InputError(f"rules={rules!r}: expected a RulesConfig or one of {', '.join(RULES)}")


def _label_counts(table: pd.DataFrame) -> dict[str, int]:
    counts = table["label"].astype(str).value_counts(sort=True) if len(table) else {}
    return {str(k): int(v) for k, v in dict(counts).items()}


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def write_reference_csv(ref: Reference, path: str | Path) -> Path:
    """Write a reference as one CSV (mode 0600) that :func:`read_reference` reads back.

    One row per LM, respiratory event and other annotation, in onset order: ``start_s``,
    ``end_s``, ``duration_s`` (s; empty for an annotation without one), ``category``, ``kind``,
    ``leg``, ``plm`` (``true``/``false``, empty when unknown), ``series`` when scored,
    ``label`` and the EDF+ ``annotation_index``. Comment lines ``# start_unix_s = ...`` and
    ``# start_time = ...`` record second 0, so reading back needs no ``start=``.

    Parameters
    ----------
    ref : Reference
        The reference (e.g. read from EDF+ and aligned to a recording).
    path : str or Path
        Output file.

    Returns
    -------
    Path
        ``path``.
    """
    return write_private(path, format_reference_csv(ref))


#: Columns :func:`format_reference_csv` writes, in this order, when present.
_WRITE_COLUMNS = ("start_s", "end_s", "duration_s", "category", "kind", "leg", "plm", "series",
                  "label", "annotation_index")


def format_reference_csv(ref: Reference) -> str:
    """The text :func:`detector.score.reference.write_reference_csv` writes (described there)."""
    ev = ref.events
    plm = (ev["plm"].astype("boolean") if "plm" in ev.columns
           else pd.Series(pd.NA, index=ev.index, dtype="boolean"))
    lm = ev.assign(category="lm",
                   plm=["" if v is pd.NA else ("true" if v else "false") for v in plm])
    if "series" in ev.columns:
        lm["series"] = ev["series"].astype("Int64")
    parts = [lm] + [t.assign(category=c) for t, c in ((ref.respiratory, "respiratory"),
                                                       (ref.other, "other"))]
    out = pd.concat([t for t in parts if len(t)] or [lm], ignore_index=True)
    out = out[[c for c in _WRITE_COLUMNS if c in out.columns]]
    if "annotation_index" in out.columns:
        out["annotation_index"] = out["annotation_index"].astype("Int64")
    out = out.iloc[np.argsort(out["start_s"].to_numpy(dtype=float), kind="stable")]
    lines = []
    if ref.start_unix_s is not None:
        lines.append(f"# start_unix_s = {ref.start_unix_s!r}")
        lines.append("# start_time = " + datetime.fromtimestamp(
            ref.start_unix_s, tz=timezone.utc).isoformat())
    lines.append(f"# reference scoring from {Path(ref.source).name}; times in seconds"
                 + (" from start_time" if ref.start_unix_s is not None else ""))
    return "\n".join(lines) + "\n" + out.to_csv(index=False, lineterminator="\n")


