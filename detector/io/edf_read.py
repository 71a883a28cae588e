"""Reading EDF+ and BDF+ files: a night's accelerometer channels (as written by ``legtwitch export``
or by PSG software) and a PSG scoring's annotations."""

from __future__ import annotations

import math
import re
import warnings
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any
import numpy as np
import pandas as pd
from detector.io.clean import MAX_FS_HZ, MIN_FS_HZ
from detector.io.localtime import unix_s
from detector.io.recording import InputError, Recording, gap_table
from detector.io.columns import STANDARD_GRAVITY_MS2
from detector.io.edf import MARKER

__all__ = ["read_edf_recording", "file_head", "edf_kind", "read_edf_annotations"]


_UNITS_TO_G = {"g": 1.0, "mg": 1e-3, "m/s^2": 1.0 / STANDARD_GRAVITY_MS2,
               "m/s2": 1.0 / STANDARD_GRAVITY_MS2, "m/s\u00b2": 1.0 / STANDARD_GRAVITY_MS2,
               "ms-2": 1.0 / STANDARD_GRAVITY_MS2, "ms^-2": 1.0 / STANDARD_GRAVITY_MS2,
               "m/s/s": 1.0 / STANDARD_GRAVITY_MS2}

_AXIS_NAMES = {a: {f"acc{a}", f"accel{a}", f"accelerometer{a}", f"acceleration{a}", f"a{a}", a}
               for a in "xyz"}

_NO_DATA = re.compile(r"^\s*(gap|padding)\b", re.IGNORECASE)


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


def file_head(path: Path) -> bytes:
    """First 256 bytes of a file (an EDF header's fixed part)."""
    expected = "expected EDF+ annotations or a CSV of leg movements"
    try:
        with path.open("rb") as fh:
            return fh.read(256)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found; {expected}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; {expected}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None


def edf_kind(head: bytes, path: Path) -> str | None:
    """``edf+``/``bdf+`` for an EDF+/BDF+ header, None for anything else; plain EDF refused."""
    if head[:8] == b"0       ":
        name = "EDF"
    elif head[:8] == b"\xffBIOSEMI":
        name = "BDF"
    else:
        return None
    if len(head) < 256:
        raise InputError(f"{path}: truncated {name} header ({len(head)} of 256 bytes)")
    reserved = head[192:236].decode("latin-1").strip()
    if not reserved.upper().startswith(f"{name}+"):
        raise InputError(f"{path}: a plain {name} file (reserved field {reserved!r}, not "
                         f"{name}+C or {name}+D) holds signals but no annotations; export the "
                         "scoring as EDF+ annotations or as a CSV of leg movements")
    return f"{name.lower()}+"


def read_edf_annotations(path: Path, fmt: str, tz: tzinfo
                          ) -> tuple[pd.DataFrame, float | None]:
    """Annotations of an EDF+/BDF+ file as a raw table, and the header start in unix seconds
    (read in ``tz``; None when anonymised)."""
    import edfio

    reader = edfio.read_edf if fmt == "edf+" else edfio.read_bdf
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            edf = reader(path, header_encoding="latin-1")
            annotations = edf.annotations
    except UnicodeDecodeError:
        raise InputError(f"{path}: annotation text is not UTF-8 (EDF+ requires UTF-8); export "
                         "the annotations again or as a CSV") from None
    except Exception as exc:  # edfio raises ValueError, IndexError ... on a damaged file
        raise InputError(f"{path}: not a readable {fmt.upper()} file ({exc})") from None
    if not annotations:
        raise InputError(f"{path}: the {fmt.upper()} file has no annotations; expected the "
                         "scored leg movements as annotations (export the scoring with its "
                         "events from the PSG software, or give a CSV)")
    start: datetime | None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = edf.startdatetime
    except Exception:  # AnonymizedDateError, or a date the header cannot hold
        start = None
    raw = pd.DataFrame({
        "start_s": [float(a.onset) for a in annotations],
        "duration_s": [np.nan if a.duration is None else float(a.duration)
                       for a in annotations],
        "label": [a.text for a in annotations],
        "annotation_index": np.arange(len(annotations)),
    })
    return raw, (None if start is None else unix_s(start, tz))
