"""EDF+ interchange: a night's accelerometer channels and events for PSG viewers, and back.

:func:`write_edf` writes an **EDF+C** file (``edfio``): channels ``ACC_X``, ``ACC_Y``, ``ACC_Z``
in ``g`` at the recording's rate, every event, PLM series and gap as an EDF+ annotation.
:func:`read_edf_recording` reads such a file (or another EDF/EDF+ with three accelerometer
channels) back into a :class:`~detector.recording.Recording`.

Choices, and why
----------------
* **EDF+C, gaps annotated.** EDF+D can only skip whole data records, so a 0.3 s gap would still
  need filler samples, and many readers (MNE, several PSG viewers) refuse or mis-place EDF+D.
  The file is continuous; samples inside gaps are written as digital 0 (0 g, a flat line well
  away from the ~1 g gravity baseline) and each gap is an annotation ``Gap (no data)`` with its
  duration. Samples that only fill the last data record are annotated ``Padding (no data)``.
  :func:`read_edf_recording` marks both invalid (and places EDF+D records by their onsets).
* **Start time, UTC.** The header holds the recording start in UTC (EDF+ stores no zone) to the
  second; the sub-second part is the first data record's time-keeping annotation (EDF+ 2.3.1,
  microseconds, read by edfio and EDFbrowser). The exact ``t0_unix_s`` (and the sample count and
  leg) are extra subfields of the recording identification (``legtwitch t0=... n=... leg=...``),
  so a file written here reads back with the same ``t0_unix_s`` to the bit.
* **int16, lossless when possible.** Data on an int16 sensor's grid (``k * 2^-m`` g, e.g.
  8 g / 32768) or a milli-g grid are written with gain = one LSB and physical bounds that the
  8-character header fields hold exactly, so they read back bit-identical; the top 2^j - 1
  codes of a binary grid (within 0.4 % of full scale, i.e. saturated samples) are clipped to the
  header's physical maximum. Other data (resampled CSV) use the smallest full scale of 2, 4, 8,
  16 ... g that holds them: the error is at most half a step, full scale / 65535.
* **Labels** are read by :func:`detector.reference.read_reference` into the same classes:
  ``Leg Movement (Left)`` (an LM), ``PLM (Left)`` (an LM in a PLM series),
  ``Sustained Leg Movement (Left)`` (an LM-class text; longer than the rules' LM maximum, so
  ``sustained``), ``Twitch (Left)`` and ``PLM series N``, ``Gap (no data)`` (``other``: a twitch
  is not a scored leg movement, and EDF+ carries no kind, so a twitch of 0.5 s or more would
  otherwise come back as an LM). Without a known leg the ``(Left)`` is left out.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .clean import MAX_FS_HZ, MIN_FS_HZ
from .fileio import write_private
from .localtime import has_clock, zone_or_utc
from .recording import InputError, Recording, gap_table

__all__ = ["event_label", "annotation_table", "write_edf", "write_annotations",
           "read_edf_recording", "edf_scale", "EdfScale",
           "CHANNELS", "GAP_TEXT", "PAD_TEXT"]

#: Channel labels, in x, y, z order.
CHANNELS = ("ACC_X", "ACC_Y", "ACC_Z")
#: Annotation text of a gap in the data (any text starting "Gap" is read as one).
GAP_TEXT = "Gap (no data)"
#: Annotation text of the samples that fill the last data record.
PAD_TEXT = "Padding (no data)"
#: Marker subfield of the EDF+ recording identification written by :func:`write_edf`.
MARKER = "legtwitch"

_STANDARD_GRAVITY_MS2 = 9.80665  # CGPM 1901
_UNITS_TO_G = {"g": 1.0, "mg": 1e-3, "m/s^2": 1.0 / _STANDARD_GRAVITY_MS2,
               "m/s2": 1.0 / _STANDARD_GRAVITY_MS2, "m/s\u00b2": 1.0 / _STANDARD_GRAVITY_MS2,
               "ms-2": 1.0 / _STANDARD_GRAVITY_MS2, "ms^-2": 1.0 / _STANDARD_GRAVITY_MS2,
               "m/s/s": 1.0 / _STANDARD_GRAVITY_MS2}
_AXIS_NAMES = {a: {f"acc{a}", f"accel{a}", f"accelerometer{a}", f"acceleration{a}", f"a{a}", a}
               for a in "xyz"}
_NO_DATA = re.compile(r"^\s*(gap|padding)\b", re.IGNORECASE)
_LEG_TEXT = {"left": " (Left)", "right": " (Right)", "bilateral": " (Bilateral)"}
_MAX_RECORD_S = 1000
_DIGITAL_LO, _DIGITAL_HI = -32768, 32767


# --------------------------------------------------------------------------------------------
# Annotations
# --------------------------------------------------------------------------------------------

def event_label(kind: str, leg: str, plm: bool) -> str:
    """Annotation text of one event.

    Parameters
    ----------
    kind : str
        ``twitch``, ``lm`` or ``sustained``.
    leg : str
        ``left``, ``right``, ``bilateral`` or ``unknown`` (no leg in the text).
    plm : bool
        The LM counts in a PLM series.

    Returns
    -------
    str
        ``Twitch (Left)``, ``Leg Movement (Left)``, ``PLM (Left)`` or
        ``Sustained Leg Movement (Left)``.
    """
    suffix = _LEG_TEXT.get(str(leg), "")
    if kind == "twitch":
        return f"Twitch{suffix}"
    if kind == "sustained":
        return f"Sustained Leg Movement{suffix}"
    return f"{'PLM' if plm else 'Leg Movement'}{suffix}"


def annotation_table(result: Any) -> pd.DataFrame:
    """Every event, PLM series and gap of a night as annotations, in onset order.

    Parameters
    ----------
    result : NightResult
        ``events``, ``series`` and ``recording`` are used.

    Returns
    -------
    DataFrame
        ``onset_s``, ``duration_s`` (seconds from the first sample), ``annotation`` and
        ``clock_time`` (ISO 8601, UTC, milliseconds) and, when the night has a clock time,
        ``local_time`` (ISO 8601 with the offset of ``summary.json``'s ``tz``).
    """
    rec: Recording = result.recording
    ev = result.events
    plm = (ev["plm"].fillna(False).astype(bool).to_numpy() if "plm" in ev
           else np.zeros(len(ev), bool))
    leg = ev["leg"].astype(str).to_numpy() if "leg" in ev else np.full(len(ev), "unknown")
    parts = [pd.DataFrame({
        "onset_s": ev["start_s"].to_numpy(dtype=float),
        "duration_s": (ev["end_s"] - ev["start_s"]).to_numpy(dtype=float),
        "annotation": [event_label(k, g, p) for k, g, p in zip(ev["kind"], leg, plm)]})]
    series = result.series
    if len(series):
        parts.append(pd.DataFrame({
            "onset_s": series["start_s"].to_numpy(dtype=float),
            "duration_s": (series["end_s"] - series["start_s"]).to_numpy(dtype=float),
            "annotation": [f"PLM series {int(s)}" for s in series["series"]]}))
    if len(rec.gaps):
        parts.append(pd.DataFrame({"onset_s": rec.gaps["start_s"].to_numpy(dtype=float),
                                   "duration_s": rec.gaps["duration_s"].to_numpy(dtype=float),
                                   "annotation": GAP_TEXT}))
    table = pd.concat(parts, ignore_index=True)
    table = table.iloc[np.argsort(table["onset_s"].to_numpy(), kind="stable")]
    table = table.reset_index(drop=True)
    t0 = datetime.fromtimestamp(rec.t0_unix_s, tz=timezone.utc)
    table["clock_time"] = [(t0 + timedelta(seconds=float(s))).isoformat(timespec="milliseconds")
                           for s in table["onset_s"]]
    tz = (getattr(result, "metrics", None) or {}).get("tz")
    if tz and has_clock(rec):
        zone = zone_or_utc(tz)
        table["local_time"] = [(t0 + timedelta(seconds=float(s))).astimezone(zone).isoformat(
            timespec="milliseconds") for s in table["onset_s"]]
    return table


def write_annotations(table: pd.DataFrame, path: str | Path) -> Path:
    """Write annotations as CSV (``.csv``) or TSV (``.tsv``/``.txt``), mode 0600.

    Parameters
    ----------
    table : DataFrame
        From :func:`annotation_table`.
    path : str or Path
        Output file; its suffix picks the separator.

    Returns
    -------
    Path
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".tsv", ".txt"):
        raise InputError(f"{path}: annotations file must end in .csv or .tsv")
    out = table[[c for c in ("onset_s", "duration_s", "annotation", "clock_time", "local_time")
                 if c in table]].copy()
    text = out.to_csv(index=False, sep="," if suffix == ".csv" else "\t",
                      float_format="%.6f", lineterminator="\n")
    return _write(path, text)


def _write(path: Path, data: bytes | str) -> Path:
    try:
        return write_private(path, data)
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None


# --------------------------------------------------------------------------------------------
# Writing EDF+
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EdfScale:
    """Calibration of the int16 channels.

    Attributes
    ----------
    physical_min_g, physical_max_g : float
        Header physical range, in g (exactly representable in 8 characters).
    digital_min, digital_max : int
        Header digital range.
    grid : str
        ``binary`` (data on ``k * 2^-m`` g), ``milli-g`` or ``none`` (quantised).
    """

    physical_min_g: float
    physical_max_g: float
    digital_min: int
    digital_max: int
    grid: str

    @property
    def step_g(self) -> float:
        """One digital step, in g."""
        return (self.physical_max_g - self.physical_min_g) / (self.digital_max - self.digital_min)

    def to_digital(self, acc_g: np.ndarray) -> tuple[np.ndarray, int]:
        """Digital codes of ``acc_g`` (NaN -> 0) and the number of values clipped."""
        span = self.physical_max_g - self.physical_min_g
        dspan = self.digital_max - self.digital_min
        d = np.rint((acc_g.astype(np.float64) - self.physical_min_g) * dspan / span
                    + self.digital_min)
        finite = np.isfinite(d)
        clipped = int(np.count_nonzero(finite & ((d < self.digital_min) | (d > self.digital_max))))
        d = np.clip(np.where(finite, d, 0.0), self.digital_min, self.digital_max)
        return d.astype(np.int16), clipped


def _fits8(value: float) -> str | None:
    """``value`` as at most 8 characters that parse back to exactly it, else None."""
    text = np.format_float_positional(value, trim="-")
    return text if len(text) <= 8 and float(text) == value else None


def edf_scale(acc_g: np.ndarray) -> EdfScale:
    """Choose the int16 calibration of the accelerometer channels.

    Parameters
    ----------
    acc_g : ndarray, shape (n, 3)
        Acceleration in g; NaN rows (gaps) are ignored.

    Returns
    -------
    EdfScale
        ``binary``: every value is ``k * 2^-m`` g (m = 11 ... 14, an int16 sensor at 16 ... 2 g
        full scale) with ``-32768 <= k <= 32767``: digital -32768 is ``-32768 * 2^-m`` and the
        step is 2^-m, so the codes are kept exactly (the top 2^j - 1 codes, above the largest
        8-character physical maximum, are clipped). ``milli-g``: integer milli-g within +-32 g,
        step 0.001 g. ``none``: the smallest of 2, 4, 8, 16, ... g holding the data, step
        full scale / 32767.5.
    """
    v = np.asarray(acc_g, dtype=np.float32)
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (-1.0, 1.0)
    peak = max(-lo, hi)
    probe = v[:30000]
    for m in (11, 12, 13, 14):
        q = 2.0 ** -m
        if (lo < _DIGITAL_LO * q or hi > _DIGITAL_HI * q or not _on_grid_binary(probe, m)
                or not _on_grid_binary(v, m)):
            continue
        for j in range(0, 16):
            dmax = 32768 - 2 ** j
            if _fits8(dmax * q) and _fits8(-32768 * q):
                return EdfScale(-32768 * q, dmax * q, _DIGITAL_LO, dmax, "binary")
    if peak <= 32.0 and _on_grid_milli(probe) and _on_grid_milli(v):
        return EdfScale(-32.0, 32.0, -32000, 32000, "milli-g")
    full = 2.0
    while full < peak:
        full *= 2.0
    return EdfScale(-full, full, _DIGITAL_LO, _DIGITAL_HI, "none")


def _on_grid_binary(v: np.ndarray, m: int) -> bool:
    s = v.astype(np.float64) * 2.0 ** m
    return bool(np.all(s == np.rint(s)))


def _on_grid_milli(v: np.ndarray) -> bool:
    return bool(np.all((np.rint(v.astype(np.float64) * 1000.0) / 1000.0).astype(np.float32) == v))


def _record_layout(fs_hz: float, source: str) -> tuple[int, int]:
    """(data record duration in s, samples per record) with an integer sample count."""
    frac = Fraction(fs_hz).limit_denominator(_MAX_RECORD_S)
    if frac.numerator <= 0 or frac.numerator / frac.denominator != fs_hz:
        raise InputError(f"{source}: sampling rate {fs_hz!r} Hz has no data record of at most "
                         f"{_MAX_RECORD_S} s holding a whole number of samples; resample to a "
                         "common rate (analyze --fs)")
    return frac.denominator, frac.numerator


def write_edf(result: Any, path: str | Path) -> dict[str, Any]:
    """Write the recording and every event as an EDF+C file (mode 0600).

    Parameters
    ----------
    result : NightResult
        The analysed night (its ``recording``, ``events`` and ``series``).
    path : str or Path
        Output ``.edf`` file.

    Returns
    -------
    dict
        ``path``, ``n_annotations``, ``grid`` (see :func:`edf_scale`), ``step_g``,
        ``n_clipped`` (values outside the physical range), ``record_s``.

    Raises
    ------
    InputError
        When the file cannot be written or the rate fits no data record.
    """
    import edfio

    rec: Recording = result.recording
    path = Path(path)
    record_s, per_record = _record_layout(rec.fs_hz, rec.source)
    n = rec.n_samples
    n_records = max(1, math.ceil(n / per_record))
    scale = edf_scale(rec.acc_g)
    digital, clipped = scale.to_digital(rec.acc_g)
    digital[~rec.valid] = 0
    pad = n_records * per_record - n
    digital = np.concatenate([digital, np.zeros((pad, 3), np.int16)])
    table = annotation_table(result)
    annotations = [edfio.EdfAnnotation(float(o), float(d), str(t)) for o, d, t in
                   zip(table["onset_s"], table["duration_s"], table["annotation"])]
    if pad:
        annotations.append(edfio.EdfAnnotation(n / rec.fs_hz, pad / rec.fs_hz, PAD_TEXT))
    start = datetime.fromtimestamp(rec.t0_unix_s, tz=timezone.utc).replace(tzinfo=None)
    if not 1985 <= start.year <= 2084:
        raise InputError(f"{rec.source}: start {start.isoformat()} lies outside the years "
                         "1985-2084 an EDF header can hold")
    signals = [edfio.EdfSignal.from_digital(
        np.ascontiguousarray(digital[:, i]), rec.fs_hz, label=CHANNELS[i],
        transducer_type="MEMS accelerometer", physical_dimension="g",
        physical_range=(scale.physical_min_g, scale.physical_max_g),
        digital_range=(scale.digital_min, scale.digital_max)) for i in range(3)]
    leg = rec.leg if rec.leg in ("left", "right") else "unknown"
    recording = edfio.Recording(startdate=start.date(), equipment_code=MARKER,
                                additional=(f"t0={rec.t0_unix_s!r}", f"n={n}", f"leg={leg}"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        edf = edfio.Edf(signals, patient=edfio.Patient(), recording=recording,
                        starttime=start.time(), data_record_duration=record_s,
                        annotations=annotations)
        data = edf.to_bytes()
    _write(path, data)
    return {"path": path, "n_annotations": len(annotations), "grid": scale.grid,
            "step_g": scale.step_g, "n_clipped": clipped, "record_s": record_s}


# --------------------------------------------------------------------------------------------
# Reading EDF / EDF+
# --------------------------------------------------------------------------------------------

def _norm(label: str) -> str:
    return re.sub(r"[^a-z0-9]", "", label.lower())


def _axis_signals(signals: Any, path: Path) -> list[Any]:
    found = []
    for axis in "xyz":
        hits = [s for s in signals if _norm(s.label) in _AXIS_NAMES[axis]]
        if not hits:
            names = ", ".join(repr(s.label) for s in signals) or "none"
            raise InputError(f"{path}: no {axis.upper()} accelerometer channel; expected "
                             f"channels named like ACC_{axis.upper()}, acc{axis.upper()}, "
                             f"{axis.upper()} or Accelerometer {axis.upper()}, found {names}")
        found.append(hits[0])
    rates = {float(s.sampling_frequency) for s in found}
    if len(rates) != 1:
        raise InputError(f"{path}: accelerometer channels have different sampling rates "
                         f"({', '.join(f'{r:g}' for r in sorted(rates))} Hz); expected one rate")
    return found


def _to_g(signal: Any, path: Path) -> np.ndarray:
    """Physical values of a channel in g (float64), computed exactly from the header."""
    unit = signal.physical_dimension.strip()
    factor = _UNITS_TO_G.get(unit.lower().replace(" ", ""))
    if factor is None:
        raise InputError(f"{path}, channel {signal.label!r}: physical dimension {unit!r}; "
                         "expected g, mg or m/s^2")
    pmin, pmax = float(signal.physical_min), float(signal.physical_max)
    dmin, dmax = int(signal.digital_min), int(signal.digital_max)
    if pmax == pmin or dmax == dmin:
        raise InputError(f"{path}, channel {signal.label!r}: empty physical or digital range")
    span, dspan = pmax - pmin, dmax - dmin
    offset = pmax * dspan / span - dmax
    phys = (signal.digital.astype(np.float64) + offset) * span / dspan
    return phys * factor if factor != 1.0 else phys


def _record_onsets(edf: Any, n_records: int) -> np.ndarray | None:
    """Onsets (s) of the data records of an EDF+D file from its time-keeping annotations."""
    from edfio.edf import _get_data_record_onset  # time-keeping TAL parser

    sig = edf._timekeeping_signal
    records = sig.digital.reshape((-1, sig._bytes_per_data_record))
    if len(records) != n_records:
        return None
    return np.array([float(_get_data_record_onset(r)) for r in records])


def read_edf_recording(path: str | Path, *, leg: str = "unknown") -> Recording:
    """Read accelerometer channels and gaps from an EDF or EDF+ file.

    Parameters
    ----------
    path : str or Path
        An EDF/EDF+ file with three accelerometer channels named like ``ACC_X``, ``accX``,
        ``X`` or ``Accelerometer X`` in g, mg or m/s^2, at one rate. Annotations whose text
        starts with ``Gap`` or ``Padding`` mark samples without data; in an EDF+D file, time
        between data records is a gap too.
    leg : str
        ``left``, ``right`` or ``unknown``; ``unknown`` takes the leg a file written by
        :func:`write_edf` names.

    Returns
    -------
    Recording
        ``t0_unix_s`` is the exact start a file of :func:`write_edf` records, else the header
        start (read as UTC, to the microsecond); 0 when the start date is anonymised.
        ``info`` has ``file``, ``format`` (``edf``, ``edf+c``, ``edf+d``), ``units``
        ``g`` after conversion, ``fs_hz``, ``channels``, ``n_gaps``, ``gap_s``,
        ``start_known``, ``written_by_legtwitch``.

    Raises
    ------
    InputError
        On a missing or unreadable file, a file that is not EDF, missing channels, unknown
        units, channels at different rates, a sampling rate outside 5-2000 Hz, or a damaged
        header or time-keeping annotation (one line naming the file).
    """
    try:
        return _read_edf_recording(path, leg)
    except InputError:
        raise
    except (ValueError, IndexError, TypeError, OverflowError, ZeroDivisionError,
            MemoryError) as exc:
        raise InputError(f"{path}: damaged EDF file ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:160]})") from None


def _read_edf_recording(path: str | Path, leg: str) -> Recording:
    import edfio

    path = Path(path)
    source = str(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(256)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; expected an EDF+ recording") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; expected an EDF+ recording") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    if head[:8] != b"0       " or len(head) < 256:
        raise InputError(f"{path}: not an EDF file (its header does not start with version "
                         "'0'); expected an EDF+ recording")
    reserved = head[192:236].decode("latin-1").strip().upper()
    fmt = "edf+d" if reserved.startswith("EDF+D") else "edf+c" if reserved.startswith(
        "EDF+") else "edf"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            edf = edfio.read_edf(path, header_encoding="latin-1", lazy_load_data=False)
            annotations = edf.annotations if fmt != "edf" else ()
    except Exception as exc:  # edfio raises ValueError, IndexError ... on a damaged file
        raise InputError(f"{path}: not a readable EDF file ({exc})") from None
    axes = _axis_signals(edf.signals, path)
    fs = float(axes[0].sampling_frequency)
    if not MIN_FS_HZ <= fs <= MAX_FS_HZ:
        raise InputError(f"{path}: the header gives a sampling rate of {fs:.4g} Hz "
                         f"({axes[0].samples_per_data_record:g} samples per data record of "
                         f"{edf.data_record_duration:g} s); expected {MIN_FS_HZ:g}-"
                         f"{MAX_FS_HZ:g} Hz for an accelerometer: the header is damaged")
    acc = np.column_stack([_to_g(s, path) for s in axes]).astype(np.float32)
    n_file = acc.shape[0]
    ok = np.ones(n_file, bool)

    per_record = int(axes[0].samples_per_data_record)
    if fmt == "edf+d" and per_record > 0:
        onsets = _record_onsets(edf, n_file // per_record)
        if onsets is not None:
            first = np.rint(onsets * fs).astype(np.int64)
            first -= first[0]
            n_grid = int(first[-1]) + per_record
            if n_grid > 2 * n_file + int(48 * 3600 * fs) or (first < 0).any():
                raise InputError(f"{path}: the data records' time-keeping annotations span "
                                 f"{n_grid / fs / 3600:,.0f} h for {n_file / fs / 3600:.1f} h "
                                 "of samples, or go back in time: the file is damaged")
            grid = np.zeros((n_grid, 3), np.float32)
            filled = np.zeros(n_grid, bool)
            idx = (first[:, None] + np.arange(per_record)[None, :]).ravel()
            grid[idx] = acc
            filled[idx] = True
            acc, ok = grid, filled

    fields = edf.local_recording_identification.split()
    marker = {k: v for k, _, v in (f.partition("=") for f in fields[5:]) if _}
    ours = len(fields) > 4 and fields[4] == MARKER
    for a in annotations:
        if _NO_DATA.match(a.text) and a.duration:
            i0 = max(int(math.floor(a.onset * fs + 1e-6)), 0)
            i1 = min(int(math.ceil((a.onset + a.duration) * fs - 1e-6)), acc.shape[0])
            ok[i0:i1] = False
    start_known = True
    t0: float
    if ours and "t0" in marker:
        t0 = float(marker["t0"])
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = edf.startdatetime.replace(tzinfo=timezone.utc).timestamp()
        except Exception:  # an anonymised start date
            t0, start_known = 0.0, False
    if ours and "n" in marker and marker["n"].isdigit():
        n = min(int(marker["n"]), acc.shape[0])
        acc, ok = acc[:n], ok[:n]
    if leg == "unknown" and ours and marker.get("leg") in ("left", "right"):
        leg = marker["leg"]
    acc[~ok] = np.nan
    valid = ok & np.isfinite(acc).all(axis=1)
    rec = Recording(acc, fs, float(t0), valid, gap_table(~valid, fs), source, leg, {})
    try:
        header_records = int(head[236:244].decode("ascii").strip())
    except ValueError:
        header_records = -1
    per_rec = max(int(axes[0].samples_per_data_record), 1)
    held = n_file // per_rec
    if header_records > held:
        record_s = float(edf.data_record_duration)
        rec.info["warnings"] = [
            f"{path.name}: the header says {header_records:,} data records "
            f"({header_records * record_s / 3600:.2f} h) but the file holds {held:,} "
            f"({held * record_s / 3600:.2f} h): it is cut short, and only what it holds is "
            "analysed."]
        rec.info["edf_records_header"] = header_records
        rec.info["edf_records_read"] = held
    rec.info.update({"file": source, "format": fmt, "units": "g", "fs_hz": fs,
                     "fs_given": True, "channels": [s.label for s in axes],
                     "n_rows_read": n_file, "n_gaps": int(len(rec.gaps)), "gap_s": rec.gap_s,
                     "start_known": start_known, "written_by_legtwitch": ours})
    return rec


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

