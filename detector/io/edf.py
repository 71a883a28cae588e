"""EDF+ interchange: a night's accelerometer channels and events for PSG viewers, and back.

:func:`write_edf` writes an **EDF+C** file (``edfio``): channels ``ACC_X``, ``ACC_Y``, ``ACC_Z``
in ``g`` at the recording's rate, every event, PLM series and gap as an EDF+ annotation.
:func:`read_edf_recording` reads such a file (or another EDF/EDF+ with three accelerometer
channels) back into a :class:`~detector.io.recording.Recording`.

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
* **Labels** are read by :func:`detector.score.reference.read_reference` into the same classes:
  ``Leg Movement (Left)`` (an LM), ``PLM (Left)`` (an LM in a PLM series),
  ``Sustained Leg Movement (Left)`` (an LM-class text; longer than the rules' LM maximum, so
  ``sustained``), ``Twitch (Left)`` and ``PLM series N``, ``Gap (no data)`` (``other``: a twitch
  is not a scored leg movement, and EDF+ carries no kind, so a twitch of 0.5 s or more would
  otherwise come back as an LM). Without a known leg the ``(Left)`` is left out.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.fileio import write_private
from detector.io.localtime import has_clock, zone_or_utc
from detector.io.recording import InputError, Recording

__all__ = ["event_label", "annotation_table", "write_edf", "write_annotations", "edf_scale",
           "EdfScale", "CHANNELS", "GAP_TEXT", "PAD_TEXT"]

#: Channel labels, in x, y, z order.
CHANNELS = ("ACC_X", "ACC_Y", "ACC_Z")
#: Annotation text of a gap in the data (any text starting "Gap" is read as one).
GAP_TEXT = "Gap (no data)"
#: Annotation text of the samples that fill the last data record.
PAD_TEXT = "Padding (no data)"
#: Marker subfield of the EDF+ recording identification written by :func:`write_edf`.
MARKER = "legtwitch"

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


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


