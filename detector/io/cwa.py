"""Axivity ``.cwa`` files read block by block, for recordings of several days.

An AX3 records a week at 100 Hz in about 5 million 512-byte blocks of 120 samples, about 1.2 GB
of samples once read. :func:`iter_cwa` reads a few thousand blocks at a time, so that the
night-by-night analysis (:mod:`detector.cohort.multiday`) holds one night;
:func:`detector.io.devices.read_device_file` joins its batches for a file read whole.

The format is Open Movement's (``cwa.h``, ``ax3-technical.md`` in the openmovement
repository): a ``MD`` header of 1024 bytes, then data blocks: ``AX``, packet length 508,
timestamp (packed local date-time, seconds), sample-rate code (``3200 / 2**(15 - code & 15)``
Hz), axes and packing (3 axes packed in 32 bits: three 10-bit values and a 2-bit exponent; or
16-bit values, gyroscope before accelerometer on an AX6), the index of the sample the timestamp
belongs to, the sample count, the samples, and a checksum (the block's 16-bit words sum to 0).

The samples and their times are those scikit-digital-health gives for the same file (tested on
real AX3 and AX6 files): accelerometer units of ``2**(8 + scale)`` per g (``scale`` in the top
3 bits of the light word; 256 per g on an AX3), a block's first sample at its timestamp less
``offset / rate``, or at the end of the block before when that is less than 1 s earlier, and
its samples evenly spread to the block's end. A block that fails its checksum or header is
skipped and counted, as that library does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Iterator

import numpy as np

from detector.errors import InputError
from detector.io.localtime import device_clock_offset_s

__all__ = ["CwaInfo", "cwa_info", "iter_cwa", "cwa_span"]

#: Bytes of a data block.
BLOCK = 512
#: Blocks read at once (about 1 MB of file, 245,760 samples of an AX3).
BLOCKS_PER_READ = 2048
#: Damaged blocks listed by number (all are counted).
MAX_LISTED = 1000
#: Blocks looked at for the file's packing (the first good one says it).
PROBE_BLOCKS = 64


@dataclass
class CwaInfo:
    """What a ``.cwa`` file's header and first good data block say.

    Attributes
    ----------
    header_bytes : int
        Where the data blocks start.
    n_blocks : int
        Data blocks in the file.
    fs_hz : float
        The configured sample rate.
    n_axes : int
        Axes per sample (3 accelerometer; 6 with a gyroscope; 9 with a magnetometer).
    device_id, session_id : int
    packing : int
        0: three 10-bit values and an exponent in 32 bits; 2: 16-bit values (from the first
        good data block).
    n_bad_blocks : int
        Blocks skipped so far (bad checksum or header, or another packing than the first).
    bad_blocks : list of int
        The first :data:`MAX_LISTED` of them (0-based after the header).
    temperature_c : list of float
        Temperature of every 16th good block read (degrees C).
    """

    header_bytes: int
    n_blocks: int
    fs_hz: float
    n_axes: int
    device_id: int
    session_id: int
    packing: int
    n_bad_blocks: int = 0
    bad_blocks: list = field(default_factory=list)
    temperature_c: list = field(default_factory=list)


def _rate_hz(code: np.ndarray | int) -> np.ndarray | float:
    return 3200.0 / np.left_shift(1, 15 - (np.asarray(code) & 15))


def cwa_info(path: str | Path) -> CwaInfo:
    """Read a ``.cwa`` file's header; :class:`InputError` when it is not one."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(1024 + PROBE_BLOCKS * BLOCK)
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(head) < 1024 or head[:2] != b"MD":
        raise InputError(f"{path}: not an Axivity .cwa file (no 'MD' header block)")
    header = int.from_bytes(head[2:4], "little") + 4
    device = int.from_bytes(head[5:7], "little")
    upper = int.from_bytes(head[11:13], "little")
    if upper != 0xFFFF:
        device |= upper << 16
    config = head[35]
    axes = 3 if config in (0, 0xFF) else (9 if config >> 4 else 6)
    packing = _first_packing(head[header:])
    if packing is None:
        raise InputError(f"{path}: no readable data block among the first {PROBE_BLOCKS} (a "
                         "damaged or empty .cwa file)")
    if packing not in (0, 2) or (packing == 0 and axes != 3):
        raise InputError(f"{path}: a .cwa packing this reader does not know (code {packing} "
                         f"with {axes} axes)")
    return CwaInfo(header_bytes=header, n_blocks=max(size - header, 0) // BLOCK,
                   fs_hz=float(_rate_hz(head[36])), n_axes=axes, device_id=device,
                   session_id=int.from_bytes(head[7:11], "little"), packing=int(packing))


def _blocks(data: bytes) -> np.ndarray:
    """The whole blocks in ``data``: (n, 512) uint8."""
    n = len(data) // BLOCK
    return np.frombuffer(data[:n * BLOCK], np.uint8).reshape(n, BLOCK)


def _intact(blocks: np.ndarray) -> np.ndarray:
    """Blocks whose 16-bit words sum to 0 and that start ``AX`` with a packet length of 508."""
    words = blocks.view("<u2")
    good = (words.astype(np.uint32).sum(axis=1) & 0xFFFF) == 0
    return good & (blocks[:, 0] == ord("A")) & (blocks[:, 1] == ord("X")) & (words[:, 1] == 508)


def _first_packing(data: bytes) -> int | None:
    """The packing code of the first intact block in ``data``."""
    blocks = _blocks(data)
    first = np.flatnonzero(_intact(blocks))
    return int(blocks[first[0], 25] & 0x0F) if first.size else None


def _local_seconds(stamp: np.ndarray) -> np.ndarray:
    """Packed ``YYYYYYMM MMDDDDDh hhhhmmmm mmssssss`` date-times as seconds since 1970 of the
    device's (zone-less) clock."""
    s = stamp.astype(np.int64)
    year = ((s >> 26) & 0x3F) + 2000
    month = (s >> 22) & 0x0F
    day = (s >> 17) & 0x1F
    # days from the civil date (H. Hinnant's algorithm, proleptic Gregorian)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return (days * 86400 + ((s >> 12) & 0x1F) * 3600 + ((s >> 6) & 0x3F) * 60
            + (s & 0x3F)).astype(np.float64)


def _decode(data: bytes, info: CwaInfo, t_last: float, first_block: int
            ) -> tuple[np.ndarray, np.ndarray, float]:
    """Times (device clock, s) and acceleration (n x 3 g) of the good blocks in ``data`` (whose
    first block is block ``first_block`` of the file), and the end of its last good block
    (``t_last``: that of the block before, -1 for none)."""
    blocks = _blocks(data)
    words = blocks.view("<u2")
    # intact, and of the file's axes and packing
    good = _intact(blocks) & ((blocks[:, 25] >> 4) == info.n_axes)
    good &= (blocks[:, 25] & 0x0F) == info.packing
    # packed: 3 axes in 32 bits, 120 a block; unpacked: 16-bit values, 240 // axes a block
    count = 120 if info.packing == 0 else 240 // info.n_axes
    bad = np.flatnonzero(~good)
    info.n_bad_blocks += len(bad)
    room = MAX_LISTED - len(info.bad_blocks)
    if len(bad) and room > 0:
        info.bad_blocks.extend((bad[:room] + first_block).tolist())
    blocks, words = blocks[good], words[good]
    if len(blocks) == 0:
        return np.zeros(0), np.zeros((0, 3), np.float32), t_last
    stamp = blocks[:, 14:18].copy().view("<u4")[:, 0]
    rate = _rate_hz(blocks[:, 24]).astype(np.float64)
    ts_offset = blocks[:, 26:28].copy().view("<i2")[:, 0].astype(np.float64)
    n_samples = np.maximum(words[:, 14].astype(np.int64), 1)
    scale = np.left_shift(1, 8 + ((words[:, 9] >> 13) & 0x07)).astype(np.float32)
    t0 = _local_seconds(stamp) - ts_offset / rate
    t1 = t0 + n_samples / rate
    before = np.concatenate(([t_last], t1[:-1]))
    t0 = np.where((before > 0) & (t0 - before < 1.0), before, t0)
    step = (t1 - t0) / n_samples
    t = (t0[:, None] + np.arange(count)[None, :] * step[:, None]).ravel()
    if info.packing == 0:
        v = blocks[:, 30:30 + 4 * count].copy().view("<u4")
        e = (v >> 30).astype(np.int16)
        xyz = np.empty((len(blocks), count, 3), np.float32)
        for axis, word in enumerate((v << 6, v >> 4, v >> 14)):
            raw = (word & 0xFFC0).astype(np.uint16).view(np.int16) >> (6 - e)
            xyz[:, :, axis] = raw / scale[:, None]
    else:
        raw = blocks[:, 30:30 + 2 * info.n_axes * count].copy().view("<i2")
        raw = raw.reshape(len(blocks), count, info.n_axes)
        acc = raw[:, :, :3] if info.n_axes == 3 else raw[:, :, 3:6]
        xyz = (acc / scale[:, None, None]).astype(np.float32)
    info.temperature_c.extend((((words[::16, 10] & 0x3FF) - 171.0) / 3.142).tolist())
    xyz = xyz.reshape(-1, 3)
    short = n_samples < count                # a block not full (the last one): its samples only
    if short.any():
        keep = (np.arange(count)[None, :] < n_samples[:, None]).ravel()
        t, xyz = t[keep], xyz[keep]
    return t, xyz, float(t1[-1])


def iter_cwa(path: str | Path, zone: tzinfo, info: CwaInfo | None = None,
             blocks_per_read: int = BLOCKS_PER_READ
             ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The samples of a ``.cwa`` file, a few thousand blocks at a time.

    Parameters
    ----------
    path : str or Path
    zone : tzinfo
        Zone of the device clock; its offset at the first sample puts every time on UTC.
    info : CwaInfo, optional
        From :func:`cwa_info`; its ``n_bad_blocks`` counts the blocks skipped.
    blocks_per_read : int

    Yields
    ------
    t_s, xyz_g : ndarray
        Times (unix s, float64) and acceleration (n x 3 g, float32) of the good blocks read.
    """
    info = info or cwa_info(path)
    offset_s: float | None = None
    t_last = -1.0
    block = 0
    with Path(path).open("rb") as fh:
        fh.seek(info.header_bytes)
        while data := fh.read(BLOCK * blocks_per_read):
            t, xyz, t_last = _decode(data, info, t_last, block)
            block += len(data) // BLOCK
            if len(t) == 0:
                continue
            if offset_s is None:
                offset_s = device_clock_offset_s(float(t[0]), zone)
            yield t - offset_s, xyz


def cwa_span(path: str | Path, zone: tzinfo, probe_blocks: int = PROBE_BLOCKS
             ) -> tuple[float, float] | None:
    """First and last sample time (unix s) of a ``.cwa`` file, from its first and last
    ``probe_blocks`` blocks only; None when they hold no good block."""
    info = cwa_info(path)
    ends = []
    with Path(path).open("rb") as fh:
        for lo in (0, max(info.n_blocks - probe_blocks, 0)):
            fh.seek(info.header_bytes + lo * BLOCK)
            t = _decode(fh.read(probe_blocks * BLOCK), info, -1.0, lo)[0]
            if len(t) == 0:
                return None
            ends.append(t)
    offset_s = device_clock_offset_s(float(ends[0][0]), zone)
    return float(ends[0][0]) - offset_s, float(ends[1][-1]) - offset_s
