"""Write a GENEActiv .bin file as GENEActiv documents the format: the header of a real file
(``tests/data/devices/skdh_gnactv_sample.bin``, its calibration kept) with the rate, start,
zone and page count changed, then pages of 300 samples: ``Recorded Data``, ``key:value``
lines, and 3600 hex digits (per sample x, y, z as 12-bit signed raw values, ``raw = (g x gain
+ offset) / 100``, then light, button and a reserved bit).

Only for the tests: the files are checked against scikit-digital-health's reader.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from repo import TESTS

SAMPLE = TESTS / "data" / "devices" / "skdh_gnactv_sample.bin"


def _header(fs_hz: float, start: datetime, n_pages: int) -> tuple[str, np.ndarray, np.ndarray]:
    text = SAMPLE.read_bytes().decode("latin-1")
    head = text[:text.index("Recorded Data")]
    head = re.sub(r"Measurement Frequency:[^\r\n]*", f"Measurement Frequency:{fs_hz:g} Hz", head)
    head = re.sub(r"Start Time:[^\r\n]*", f"Start Time:{_stamp(start)}", head)
    head = re.sub(r"Time Zone:[^\r\n]*", "Time Zone:GMT +00:00", head)
    head = re.sub(r"Number of Pages:[^\r\n]*", f"Number of Pages:{n_pages}", head)
    cal = dict(re.findall(r"([xyz] (?:gain|offset)):(-?\d+)", head))
    gain = np.array([float(cal[f"{a} gain"]) for a in "xyz"])
    offset = np.array([float(cal[f"{a} offset"]) for a in "xyz"])
    return head, gain, offset


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S:") + f"{t.microsecond // 1000:03d}"


def write_geneactiv(path: Path, t0_unix_s: float, fs_hz: float, xyz_g: np.ndarray) -> Path:
    """A .bin file of ``xyz_g`` (whole pages of 300; a remainder is dropped) from
    ``t0_unix_s`` (UTC; the file says GMT +00:00) at ``fs_hz``."""
    n = len(xyz_g) // 300
    start = datetime.fromtimestamp(t0_unix_s, timezone.utc).replace(tzinfo=None)
    head, gain, offset = _header(fs_hz, start, n)
    raw = np.round((np.asarray(xyz_g[:n * 300], np.float64) * gain + offset) / 100.0)
    raw = np.clip(raw, -2048, 2047).astype(np.int64) & 0xFFF
    word = raw[:, 0] << 36 | raw[:, 1] << 24 | raw[:, 2] << 12
    digits = word.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 2:].reshape(n, 1800)
    with Path(path).open("w", encoding="latin-1", newline="\n") as fh:
        fh.write(head)
        for k in range(n):
            when = start + timedelta(seconds=k * 300 / fs_hz)
            fh.write(f"Recorded Data\nDevice Unique Serial Code:051386\nSequence Number:{k}\n"
                     f"Page Time:{_stamp(when)}\nUnassigned:\nTemperature:25.0\n"
                     f"Battery voltage:4.1\nDevice Status:Recording\n"
                     f"Measurement Frequency:{fs_hz:.1f}\n{digits[k].tobytes().hex().upper()}\n")
    return Path(path)
