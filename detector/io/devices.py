"""Research accelerometer files: Axivity AX3/AX6 ``.cwa``, GENEActiv ``.bin`` and ActiGraph
``.gt3x``.

``.cwa`` is read block by block by :mod:`detector.io.cwa` (the samples and times
scikit-digital-health gives, without holding more than a few thousand blocks while reading),
``.bin`` with scikit-digital-health (MIT; ``pip install "legtwitch[devices]"``; page by page
by :mod:`detector.io.geneactiv`, with the same samples and times, for a recording of several
days or a file the library refuses), ``.gt3x`` with
ActiGraph's pygt3x when it is installed (GPL-3.0, so not a dependency of legtwitch: ``pip
install "legtwitch[gt3x]"``). The samples are put on a uniform grid by
:func:`detector.io.clean.clean`, as every other input.

The devices keep their clock in local time without a zone: their times are read in the zone given
(``--tz``; default the computer's), as the device was set up, unless the file names its zone (a
GENEActiv's ``Time Zone``, a ``.gt3x``'s ``TimeZone``). What the file says beyond the
acceleration (device, sample rate, temperature) is kept in ``Recording.info`` and so in
``summary.json`` under ``cleaning``.

A ``.cwa`` block that fails its checksum (each 512-byte block's 16-bit words sum to zero) or
header is skipped and counted (``n_bad_blocks``, named in ``bad_blocks``): its 1.2 s are a gap,
and the rest of the file is analysed.
"""

from __future__ import annotations

import re
import warnings
from datetime import tzinfo
from pathlib import Path
from typing import Any

import numpy as np

from detector.config import CleanConfig
from detector.errors import InputError
from detector.io.clean import clean
from detector.io.localtime import device_clock_offset_s
from detector.io.recording import Recording

__all__ = ["DEVICE_SUFFIXES", "is_device_file", "read_device_file", "cwa_details",
           "read_geneactiv_pages", "geneactiv_details"]

#: File suffix -> the device family it comes from.
DEVICE_SUFFIXES = {".cwa": "Axivity", ".bin": "GENEActiv", ".gt3x": "ActiGraph"}


def is_device_file(path: str | Path) -> bool:
    """Whether a path names a research device file (by its suffix)."""
    return Path(path).suffix.lower() in DEVICE_SUFFIXES


def _ranges(values: list[int]) -> str:
    out, start = [], None
    for k, v in enumerate(values):
        if start is None:
            start = v
        if k + 1 == len(values) or values[k + 1] != v + 1:
            out.append(str(start) if start == v else f"{start}-{v}")
            start = None
    return ", ".join(out)


def _zone_name(tz: tzinfo | None) -> str | None:
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else None


def read_device_file(path: str | Path, *, fs_hz: float | None = None, leg: str = "unknown",
                     config: CleanConfig = CleanConfig(), tz: tzinfo | None = None,
                     force: bool = False) -> Recording:
    """Read a research accelerometer file onto a uniform grid.

    Parameters
    ----------
    path : str or Path
        ``.cwa`` (Axivity AX3/AX6), ``.bin`` (GENEActiv) or ``.gt3x`` (ActiGraph).
    fs_hz : float, optional
        Grid rate (Hz); default the device's.
    leg : str
    config : CleanConfig
    tz : tzinfo, optional
        Zone of the device clock (default: the computer's).
    force : bool
        As :func:`detector.io.clean.clean`.

    Raises
    ------
    InputError
        A missing reader library (naming the pip command), a damaged file (naming the blocks),
        or a file the reader refuses (its reason).
    """
    from detector.io.localtime import local_zone

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    zone = tz or local_zone()
    if suffix == ".gt3x":
        t, acc, info = _read_gt3x(path, zone)
    elif suffix == ".cwa":
        t, acc, info = _read_cwa(path, zone)
    else:
        t, acc, info = _read_bin(path, zone)
    info.update({"format": f"{DEVICE_SUFFIXES[suffix]} {suffix}", "units": "g",
                 "n_rows_read": int(len(t)), "fs_given": fs_hz is not None})
    rate = fs_hz if fs_hz is not None else info.get("device_fs_hz")
    return clean(t, np.asarray(acc, dtype=np.float32), fs_hz=rate, config=config,
                 source=str(path), leg=leg, info=info, force=force)


def cwa_details(info: Any) -> dict[str, Any]:
    """What a ``.cwa`` file's reading leaves in ``Recording.info`` (``info``: its
    :class:`detector.io.cwa.CwaInfo` after reading), the same for a whole file and a stream."""
    out: dict[str, Any] = {"device_fs_hz": info.fs_hz, "device": "Axivity",
                           "format": "Axivity .cwa", "units": "g",
                           "n_bad_blocks": info.n_bad_blocks}
    if info.n_bad_blocks:
        out["bad_blocks"] = _ranges(info.bad_blocks[:50]) + (
            " ..." if len(info.bad_blocks) > 50 else "")
        out["warnings"] = [f"{info.n_bad_blocks} of {info.n_blocks} .cwa data blocks were "
                           f"damaged (checksum or header wrong: blocks {out['bad_blocks']}, "
                           "counted from 0) and are left out; their time is a gap."]
    if info.temperature_c:
        temp = np.asarray(info.temperature_c)
        out["temperature_c"] = {"min": round(float(temp.min()), 2),
                                "median": round(float(np.median(temp)), 2),
                                "max": round(float(temp.max()), 2)}
    if info.n_axes > 3:
        out["also_recorded"] = ["gyroscope (not used)"]
    return out


def _read_cwa(path: Path, zone: tzinfo) -> tuple[np.ndarray, np.ndarray, dict]:
    from detector.io.cwa import cwa_info, iter_cwa

    info = cwa_info(path)
    parts = list(iter_cwa(path, zone, info))
    if not parts:
        raise InputError(f"{path}: no readable data block ({info.n_bad_blocks} of "
                         f"{info.n_blocks} damaged or empty)")
    t = np.concatenate([p[0] for p in parts])
    acc = np.concatenate([p[1] for p in parts])
    return t, acc, cwa_details(info)


def _read_bin(path: Path, zone: tzinfo) -> tuple[np.ndarray, np.ndarray, dict]:
    """A GENEActiv ``.bin`` file, with scikit-digital-health."""
    try:
        import skdh.io
    except ImportError:
        raise InputError(f"{path}: reading GENEActiv .bin files needs scikit-digital-health: "
                         "pip install \"legtwitch[devices]\"") from None
    with path.open("rb") as fh:
        head = fh.read(64)
    if not head.lstrip().startswith(b"Device Identity"):
        raise InputError(f"{path}: not a GENEActiv .bin file (it starts with no 'Device "
                         "Identity' section)")
    from detector.io.geneactiv import geneactiv_zone

    zone = geneactiv_zone(path) or zone
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out: dict[str, Any] = skdh.io.ReadBin().predict(file=str(path),
                                                            tz_name=_zone_name(zone))
    except Exception as exc:  # noqa: BLE001 - the reader's own errors, named in one line
        # A GENEActiv file is text: its complete pages can be read without the library (it
        # refuses a file whose last page was cut short, as a copy stopped early).
        return read_geneactiv_pages(path, zone, reason=str(exc))
    t = np.asarray(out["time"], dtype=float)
    if _zone_name(zone) is None:
        # naive device clock read as if UTC (the library shifted it when it had a zone name)
        t = t - device_clock_offset_s(float(t[0]), zone)
    info: dict[str, Any] = {"device_fs_hz": float(out.get("fs") or 0.0) or None,
                            "device": "GENEActiv"}
    temp = out.get("temperature")
    if temp is not None and len(temp):
        temp = np.asarray(temp, dtype=float)
        info["temperature_c"] = {"min": round(float(np.nanmin(temp)), 2),
                                 "median": round(float(np.nanmedian(temp)), 2),
                                 "max": round(float(np.nanmax(temp)), 2)}
    return t, np.asarray(out["accel"]), info


def _read_gt3x(path: Path, zone: tzinfo) -> tuple[np.ndarray, np.ndarray, dict]:
    """An ActiGraph ``.gt3x`` through pygt3x (GPL-3, installed by the user). Its times are the
    device's local clock; the file's ``TimeZone`` (``-05:00:00``) puts them on UTC, else
    ``zone``."""
    try:
        from pygt3x.reader import FileReader
    except ImportError:
        raise InputError(f"{path}: ActiGraph .gt3x files are read with ActiGraph's pygt3x, which "
                         "is GPL-3 licensed and so not installed with legtwitch: pip install "
                         "\"legtwitch[gt3x]\" (or pip install pygt3x), or export the file to "
                         "CSV with ActiLife") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with FileReader(str(path)) as reader:
                df = reader.to_pandas()
                rate = float(getattr(reader.info, "sample_rate", 0) or 0) or None
                file_zone = _gt3x_zone(getattr(reader.info, "timezone", None))
                idle = df["IdleSleepMode"].to_numpy(dtype=bool) if "IdleSleepMode" in df else None
    except Exception as exc:  # noqa: BLE001 - the reader's own errors, named in one line
        raise InputError(f"{path}: pygt3x refused the file: {exc}") from None
    if len(df) == 0:
        raise InputError(f"{path}: the .gt3x file holds no acceleration samples")
    t = np.asarray(df.index, dtype=float)
    offset_s = device_clock_offset_s(float(t[0]), file_zone or zone)
    t = t - offset_s
    acc = df[["X", "Y", "Z"]].to_numpy(dtype=float)
    info: dict[str, Any] = {"device_fs_hz": rate, "device": "ActiGraph"}
    if file_zone is not None:
        info["device_utc_offset_h"] = round(offset_s / 3600.0, 2)
    if idle is not None and idle.any() and rate:
        # idle sleep mode: the device stopped sampling while still; pygt3x repeats the last
        # sample over that time
        info["idle_sleep_mode_s"] = round(float(idle.sum()) / rate, 1)
    return t, acc, info


def _gt3x_zone(text: str | None) -> tzinfo | None:
    """``-05:00:00`` (a .gt3x info.txt ``TimeZone``) as a fixed-offset zone; None otherwise."""
    from datetime import timedelta, timezone

    m = re.fullmatch(r"\s*([+-]?)(\d{1,2}):(\d{2})(?::\d{2})?\s*", text or "")
    if m is None:
        return None
    sign = -1 if m.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))


def read_geneactiv_pages(path: Path, zone: tzinfo, reason: str = ""
                         ) -> tuple[np.ndarray, np.ndarray, dict]:
    """The complete pages of a GENEActiv ``.bin`` file, read by :mod:`detector.io.geneactiv`
    (without the library): a page whose data line is cut short is left out and said in
    ``info["warnings"]`` (``reason``: what the library said about the file)."""
    from detector.io.geneactiv import geneactiv_info, iter_geneactiv

    info = geneactiv_info(path, reason)
    parts = list(iter_geneactiv(path, zone, info))
    if not parts:
        raise InputError(f"{path}: no complete data page in the GENEActiv file"
                         f"{' (the reader said: ' + reason + ')' if reason else ''}")
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            geneactiv_details(info))


def geneactiv_details(info: Any) -> dict[str, Any]:
    """What a GENEActiv file's page reading leaves in ``Recording.info`` (``info``: its
    :class:`detector.io.geneactiv.GeneactivInfo` after reading)."""
    out: dict[str, Any] = {"device_fs_hz": info.fs_hz, "device": "GENEActiv",
                           "format": "GENEActiv .bin", "units": "g",
                           "calibration": {"gain": info.gain.tolist(),
                                           "offset": info.offset.tolist()}}
    if info.temperature_c:
        out["temperature_c"] = {"min": min(info.temperature_c),
                                "median": float(np.median(info.temperature_c)),
                                "max": max(info.temperature_c)}
    if info.n_cut:
        out["warnings"] = [f"{info.n_cut} GENEActiv data page(s) of {info.n_pages + info.n_cut} "
                           "were cut short or unreadable and are left out (the file was "
                           "probably copied before the device finished writing it)."]
    return out
