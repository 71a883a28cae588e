"""GENEActiv ``.bin`` files read page by page, as GENEActiv documents the format.

A ``.bin`` file is text: a header of ``key:value`` lines (with the calibration, ``x gain``,
``x offset`` ..., and the device's ``Time Zone``), then pages, each a ``Recorded Data`` line,
``key:value`` lines (``Page Time``, ``Measurement Frequency``, ``Temperature`` ...) and one line
of 3600 hex digits: 300 samples of 12 digits (x, y, z: 12-bit signed; light; button). The
acceleration is ``(raw x 100 - offset) / gain`` g; a page's samples are timed from its ``Page
Time`` at its ``Measurement Frequency``. The times and values are those scikit-digital-health
gives (tested on a real file).

:func:`iter_geneactiv` reads a few hundred pages at a time, so that a week (about 200,000 pages
at 100 Hz) is analysed night by night in bounded memory; a page whose data line is cut short
(a file copied before the device finished) is left out and counted, and the rest is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Iterator

import numpy as np

from detector.errors import InputError
from detector.io.localtime import device_clock_offset_s

__all__ = ["GeneactivInfo", "geneactiv_info", "iter_geneactiv", "geneactiv_span",
           "geneactiv_zone", "PAGE_DIGITS"]

#: Hex digits of one page: 300 samples of 12 digits.
PAGE_DIGITS = 3600
#: Samples of one page.
PAGE_SAMPLES = 300
#: Pages parsed at once (90,000 samples).
PAGES_PER_BATCH = 300


@dataclass
class GeneactivInfo:
    """A GENEActiv file's calibration and zone, and what reading it found.

    Attributes
    ----------
    gain, offset : ndarray, shape (3,)
        Calibration of x, y, z (the header's).
    zone : tzinfo or None
        The header's ``Time Zone`` (None when it has none).
    fs_hz : float or None
        ``Measurement Frequency`` of the pages read.
    n_pages, n_cut : int
        Complete pages read, and pages left out (cut short or unreadable).
    temperature_c : list of float
        Each page's temperature.
    """

    gain: np.ndarray
    offset: np.ndarray
    zone: tzinfo | None
    fs_hz: float | None = None
    n_pages: int = 0
    n_cut: int = 0
    temperature_c: list = field(default_factory=list)


def _gmt_zone(text: str) -> tzinfo | None:
    """``GMT +01:00`` as a fixed-offset zone (None for anything else)."""
    m = re.match(r"\s*GMT\s*([+-])(\d{1,2}):(\d{2})", text)
    if m is None:
        return None
    sign = 1 if m.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))


#: A header longer than this many lines is not a GENEActiv header (a real one has about 60).
_MAX_HEADER_LINES = 500


def _header(path: Path) -> dict[str, str]:
    """The ``key:value`` lines before the first page, keys in lower case (lines of at most 4096
    characters, at most :data:`_MAX_HEADER_LINES` of them: another kind of file is not read
    to its end)."""
    header: dict[str, str] = {}
    with path.open("r", encoding="latin-1") as fh:
        for _ in range(_MAX_HEADER_LINES):
            line = fh.readline(4096)
            if not line or line.strip() == "Recorded Data":
                break
            key, sep, value = line.partition(":")
            if sep:
                header[key.strip().lower()] = value.strip()
    return header


def geneactiv_zone(path: Path) -> tzinfo | None:
    """The zone a GENEActiv device was set up in (its header's ``Time Zone:GMT +01:00``)."""
    return _gmt_zone(_header(Path(path)).get("time zone", ""))


def geneactiv_info(path: str | Path, reason: str = "") -> GeneactivInfo:
    """Read a GENEActiv file's header; :class:`InputError` without its calibration (``reason``:
    what another reader said about the file, added to that message)."""
    path = Path(path)
    header = _header(path)
    try:
        gain = np.array([float(header[f"{a} gain"]) for a in "xyz"])
        offset = np.array([float(header[f"{a} offset"]) for a in "xyz"])
    except (KeyError, ValueError):
        raise InputError(f"{path}: a GENEActiv file without its calibration (x/y/z gain and "
                         f"offset){'; the reader said: ' + reason if reason else ''}") from None
    return GeneactivInfo(gain, offset, _gmt_zone(header.get("time zone", "")))


def _pages(path: Path) -> Iterator[tuple[dict[str, str], str]]:
    """Each page's ``key:value`` lines and its data line, in file order."""
    with path.open("r", encoding="latin-1") as fh:
        line = next(fh, None)
        while line is not None:
            if line.strip() != "Recorded Data":
                line = next(fh, None)
                continue
            page: dict[str, str] = {}
            line = next(fh, None)
            while line is not None and ":" in line and len(line) < 200:
                key, _, value = line.partition(":")
                page[key.strip().lower()] = value.strip()
                line = next(fh, None)
            yield page, (line or "").strip()
            line = next(fh, None)


def _page_time(text: str) -> datetime:
    """``2019-05-21 16:16:43:500`` (the device clock, zone-less)."""
    return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S") + timedelta(
        milliseconds=int(text[20:] or 0))


def _decode(data: list[bytes], info: GeneactivInfo) -> np.ndarray:
    """Pages' bytes (their hex digits decoded) -> (pages x 300, 3) g."""
    raw = np.frombuffer(b"".join(data), np.uint8).reshape(-1, 6).astype(np.int64)
    word = np.zeros(len(raw), np.int64)
    for b in range(6):
        word = (word << 8) | raw[:, b]
    xyz = np.stack([(word >> 36) & 0xFFF, (word >> 24) & 0xFFF, (word >> 12) & 0xFFF], 1)
    xyz = np.where(xyz >= 2048, xyz - 4096, xyz)
    return (xyz * 100.0 - info.offset) / info.gain


def iter_geneactiv(path: str | Path, zone: tzinfo, info: GeneactivInfo | None = None,
                   pages_per_batch: int = PAGES_PER_BATCH
                   ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The samples of a GENEActiv ``.bin`` file, a few hundred pages at a time.

    Parameters
    ----------
    path : str or Path
    zone : tzinfo
        Zone of the device clock when the file names none (its ``Time Zone`` wins). Its offset
        at the first page puts every time on UTC (a device clock does not change with daylight
        saving time).
    info : GeneactivInfo, optional
        From :func:`geneactiv_info`; counts the pages read and left out.
    pages_per_batch : int

    Yields
    ------
    t_s, xyz_g : ndarray
        Times (unix s) and acceleration (n x 3 g) of the complete pages read.
    """
    path = Path(path)
    info = info or geneactiv_info(path)
    zone = info.zone or zone
    offset_s: float | None = None
    starts: list[float] = []
    rates: list[float] = []
    data: list[bytes] = []

    def batch() -> tuple[np.ndarray, np.ndarray]:
        t = (np.asarray(starts)[:, None] - offset_s
             + np.arange(PAGE_SAMPLES)[None, :] / np.asarray(rates)[:, None]).ravel()
        xyz = _decode(data, info)
        starts.clear(), rates.clear(), data.clear()
        return t, xyz

    for page, hexdigits in _pages(path):
        try:
            if len(hexdigits) != PAGE_DIGITS:
                raise ValueError("cut short")
            page_bytes = bytes.fromhex(hexdigits)
            fs = float(page["measurement frequency"].split()[0])
            local = _page_time(page["page time"])
        except (KeyError, ValueError, IndexError):
            info.n_cut += 1
            continue
        local_s = local.replace(tzinfo=timezone.utc).timestamp()
        if offset_s is None:
            offset_s = device_clock_offset_s(local_s, zone)
        info.fs_hz = fs
        info.n_pages += 1
        starts.append(local_s)
        rates.append(fs)
        data.append(page_bytes)
        if "temperature" in page:
            try:
                info.temperature_c.append(float(page["temperature"]))
            except ValueError:
                pass
        if len(data) >= pages_per_batch:
            yield batch()
    if data:
        yield batch()


_PAGE_TIME = re.compile(r"Page Time:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d+)")
_RATE = re.compile(r"Measurement Frequency:([\d.]+)")


def geneactiv_span(path: str | Path, zone: tzinfo, end_bytes: int = 1 << 16
                   ) -> tuple[float, float] | None:
    """First and last sample time (unix s) of a GENEActiv file, from the page times in its
    first and last ``end_bytes`` only; None when they hold none."""
    path = Path(path)
    info = geneactiv_info(path)
    with path.open("rb") as fh:
        head = fh.read(end_bytes).decode("latin-1")
        fh.seek(max(path.stat().st_size - end_bytes, 0))
        tail = fh.read().decode("latin-1")
    first, last, rates = _PAGE_TIME.findall(head), _PAGE_TIME.findall(tail), _RATE.findall(tail)
    if not (first and last and rates):
        return None
    t0, t1 = (_page_time(t).replace(tzinfo=timezone.utc).timestamp()
              for t in (first[0], last[-1]))
    offset_s = device_clock_offset_s(t0, info.zone or zone)
    return t0 - offset_s, t1 - offset_s + (PAGE_SAMPLES - 1) / float(rates[-1])
