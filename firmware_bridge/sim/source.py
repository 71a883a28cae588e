"""What a virtual sensor measures (a recording or a synthetic night, quantised as the sensor would)
and the description of one virtual sensor to run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from firmware_bridge.protocols import legaccel, polar_pmd as pmd
from firmware_bridge.sim.faults import FaultPlan

__all__ = ["POLAR_SCALE_G", "quantise_g", "SensorSource", "VirtualSensorSpec"]

if TYPE_CHECKING:
    from detector.io.recording import Recording


#: Polar ACC counts are mG.
POLAR_SCALE_G = 0.001


def quantise_g(acc_g: np.ndarray, scale_g: float, range_g: float | None = None) -> np.ndarray:
    """Acceleration in g -> the int16 counts a sensor would send.

    Rows with a NaN (gaps) hold the last valid row (leading gaps take the first valid row; an
    all-NaN input gives zeros). Counts are ``round(g / scale_g)``, clipped to the sensor's full
    scale ``+-range_g`` (when given) and to int16.

    Parameters
    ----------
    acc_g : ndarray, shape (n, 3)
        Acceleration, g.
    scale_g : float
        g per count (LegAccel: ``range_g / 32768``; Polar: 0.001, counts being mG).
    range_g : float, optional
        Full scale, +-g.

    Returns
    -------
    ndarray, shape (n, 3), int16
    """
    acc = np.asarray(acc_g, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != 3:
        raise ValueError(f"acc_g must have shape (n, 3), got {acc.shape}")
    if not math.isfinite(scale_g) or scale_g <= 0:
        raise ValueError(f"scale_g must be a finite number > 0 (g per count), got {scale_g!r}")
    n = acc.shape[0]
    valid = np.isfinite(acc).all(axis=1)
    if n and not valid.all():
        if not valid.any():
            acc = np.zeros_like(acc)
        else:
            idx = np.where(valid, np.arange(n), -1)
            idx = np.maximum.accumulate(idx)
            idx[idx < 0] = int(np.argmax(valid))
            acc = acc[idx]
    hi, lo = 32767.0, -32768.0
    if range_g is not None:
        hi = min(hi, math.floor(range_g / scale_g + 1e-9))
        lo = max(lo, -math.floor(range_g / scale_g + 1e-9))
    return np.clip(np.rint(acc / scale_g), lo, hi).astype(np.int16)


@dataclass(frozen=True, eq=False)
class SensorSource:
    """What the virtual sensor measures: a night as the sensor's counts on its sample clock.

    Attributes
    ----------
    counts : ndarray, shape (n, 3), int16
        Raw x, y, z counts, one row per sample.
    fs_hz : float
        Sample rate, Hz (the only rate the virtual sensor offers).
    scale_g : float
        g per count (LegAccel: ``range_g / 32768``; Polar: 0.001).
    range_g : int
        Full scale, +-g (the only range the virtual sensor offers).
    t0_unix_s : float
        Unix time (s) that sample 0 stands for (the Polar sensor's real-time clock).
    """

    counts: np.ndarray
    fs_hz: float
    scale_g: float
    range_g: int
    t0_unix_s: float = 0.0

    def __post_init__(self) -> None:
        counts = np.asarray(self.counts)
        if counts.ndim != 2 or counts.shape[1] != 3:
            raise ValueError(f"SensorSource.counts must have shape (n, 3), got {counts.shape}")
        if counts.dtype != np.int16:
            raise ValueError(f"SensorSource.counts must be int16, got {counts.dtype}")
        if not math.isfinite(self.fs_hz) or self.fs_hz <= 0:
            raise ValueError(f"SensorSource.fs_hz must be > 0 Hz, got {self.fs_hz!r}")
        if not math.isfinite(self.scale_g) or self.scale_g <= 0:
            raise ValueError(f"SensorSource.scale_g must be > 0 g per count, got {self.scale_g!r}")

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.counts.shape[0])

    @property
    def duration_s(self) -> float:
        """Length of the source, seconds of source time."""
        return self.n_samples / self.fs_hz

    @classmethod
    def from_recording(cls, rec: "Recording", protocol: str, range_g: int = 8) -> "SensorSource":
        """Quantise a recording the way the sensor of ``protocol`` would.

        Parameters
        ----------
        rec : detector.io.recording.Recording
            Acceleration in g on a uniform grid (NaN gaps hold the last value).
        protocol : {"legaccel", "polar"}
            LegAccel: ``scale_g = range_g / 32768``. Polar: counts in mG (``scale_g = 0.001``).
        range_g : int
            Full scale, +-g (LegAccel: 2, 4, 8 or 16).
        """
        scale_g = _rules(protocol)[0](range_g)
        counts = quantise_g(rec.acc_g, scale_g, range_g)
        return cls(counts=counts, fs_hz=float(rec.fs_hz), scale_g=float(scale_g),
                   range_g=int(range_g), t0_unix_s=float(rec.t0_unix_s))


@dataclass(frozen=True)
class VirtualSensorSpec:
    """One virtual sensor to run.

    Attributes
    ----------
    protocol : {"legaccel", "polar"}
    source : SensorSource
    name : str
        Advertised local name, e.g. ``LegAccel-sim-1``, ``Polar Sense SIM00001``.
    address : str
        Random static BLE address, e.g. ``F0:F0:F0:F0:F0:01`` (top two bits set).
    faults : FaultPlan
    model : {"Sense", "H10"}
        Polar model to imitate: Verity Sense sends compressed 0x81 frames of up to 71 samples,
        H10 raw int16 0x01 frames. Ignored for LegAccel.
    """

    protocol: str
    source: SensorSource
    name: str
    address: str
    faults: FaultPlan = field(default_factory=FaultPlan)
    model: str = "Sense"

    def __post_init__(self) -> None:
        _rules(self.protocol)
        if self.model not in ("Sense", "H10"):
            raise ValueError(f"model must be 'Sense' or 'H10', got {self.model!r}")
        if not self.name or len(self.name.encode()) > 29:
            raise ValueError(f"name must be 1-29 bytes, got {self.name!r}")
        _rules(self.protocol)[1](self.source)


# --------------------------------------------------------------------------------------------
# What each protocol's sensor can measure
# --------------------------------------------------------------------------------------------

def _legaccel_scale_g(range_g: int) -> float:
    if range_g not in legaccel.VALID_RANGES_G:
        raise ValueError(f"LegAccel range_g must be one of {legaccel.VALID_RANGES_G}, "
                         f"got {range_g!r}")
    return range_g / 32768.0


def _check_legaccel_source(src: SensorSource) -> None:
    if src.range_g not in legaccel.VALID_RANGES_G:
        raise ValueError(f"LegAccel source range_g must be one of "
                         f"{legaccel.VALID_RANGES_G}, got {src.range_g!r}")
    if not 1 <= round(src.fs_hz * 100) <= 0xFFFF:
        raise ValueError(f"LegAccel sample rate must be 0.01-655.35 Hz, got {src.fs_hz}")


def _polar_scale_g(range_g: int) -> float:
    return POLAR_SCALE_G


def _check_polar_source(src: SensorSource) -> None:
    if abs(src.scale_g - POLAR_SCALE_G) > 1e-12:
        raise ValueError(f"a Polar source must be in mG (scale_g 0.001), got "
                         f"{src.scale_g!r}")
    if src.fs_hz != round(src.fs_hz):
        raise ValueError(f"Polar sample rates are whole Hz, got {src.fs_hz!r}")
    if src.t0_unix_s < pmd.PMD_EPOCH_UNIX_S:
        raise ValueError(f"Polar timestamps start in 2000: the source's t0_unix_s must be "
                         f">= {pmd.PMD_EPOCH_UNIX_S}, got {src.t0_unix_s!r}")


#: Per protocol: g per count for a range, and the check of a source.
_SOURCE_RULES = {"legaccel": (_legaccel_scale_g, _check_legaccel_source),
                 "polar": (_polar_scale_g, _check_polar_source)}


def _rules(protocol: str) -> tuple[Any, Any]:
    try:
        return _SOURCE_RULES[protocol]
    except (KeyError, TypeError):
        raise ValueError(f"unknown protocol {protocol!r}; expected one of "
                         f"{tuple(_SOURCE_RULES)}") from None
