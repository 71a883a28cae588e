"""Which columns of a table hold the time and the three axes, and in which units: aliases, unit
suffixes, and the units a recording's magnitude at rest (1 g) gives away."""

from __future__ import annotations

import re
import numpy as np
from detector.io.recording import InputError

__all__ = ["STANDARD_GRAVITY_MS2", "TIME_ALIASES", "POLAR_EPOCH_COLUMNS", "POLAR_EPOCH_UNIX_S",
           "AXIS_PREFIXES", "UNIT_SUFFIXES", "TO_G", "normalize_units", "norm_name", "find_columns",
           "looks_numeric", "numeric_times", "check_units_argument", "detect_units"]

#: Standard gravity (m/s^2), used to convert m/s^2 to g (CGPM 1901).
STANDARD_GRAVITY_MS2 = 9.80665

#: Time column names in order of preference, with the unit the name states (None: detect it).
TIME_ALIASES: tuple[tuple[str, float | None], ...] = (
    ("timestamp", None), ("time", None), ("t", None), ("ts", None), ("unix_time", None),
    ("datetime", None), ("time_s", None), ("timestamp_s", None), ("timestamp_ms", 1e-3),
    ("time_ms", 1e-3), ("timestamp_us", 1e-6), ("time_us", 1e-6), ("timestamp_ns", 1e-9),
    ("time_ns", 1e-9), ("sensor_timestamp_ns", 1e-9), ("phone_timestamp", None))

#: Time columns that count from the Polar epoch, 2000-01-01T00:00:00Z (Polar BLE SDK: PMD frame
#: timestamps are nanoseconds since then), as Polar Sensor Logger's ``sensor timestamp [ns]``.
POLAR_EPOCH_COLUMNS = ("sensor_timestamp_ns",)

POLAR_EPOCH_UNIX_S = 946_684_800.0

#: Axis column prefixes in order of preference: ``acc_x`` before a bare ``x``.
AXIS_PREFIXES: tuple[str, ...] = ("acc_", "acc", "accel_", "accel", "acceleration_", "a", "")

#: Unit suffixes of axis column names (``x_mg``, ``acc_x_g``) and the unit each states.
UNIT_SUFFIXES: tuple[tuple[str, str | None], ...] = (
    ("", None), ("_g", "g"), ("_mg", "mg"), ("_ms2", "m/s2"), ("_mps2", "m/s2"))

_UNITS = {"g": "g", "mg": "mg", "m/s2": "m/s2", "m/s^2": "m/s2", "ms2": "m/s2", "mps2": "m/s2",
          "m/s\u00b2": "m/s2", "ms-2": "m/s2"}

TO_G = {"g": 1.0, "mg": 1e-3, "m/s2": 1.0 / STANDARD_GRAVITY_MS2}

#: Median vector magnitude expected for each unit when the sensor mostly rests (1 g).
_MAGNITUDE_RANGES = (("g", 0.5, 2.0), ("m/s2", 5.0, 20.0), ("mg", 500.0, 2000.0))


def normalize_units(units: str) -> str:
    """Return the canonical unit name ``g``, ``mg`` or ``m/s2`` for a user-given unit.

    Raises
    ------
    InputError
        If ``units`` is not one of g, mg, m/s2 (also written m/s^2 or ms2).
    """
    key = str(units).strip().lower().replace(" ", "")
    if key not in _UNITS:
        raise InputError(f"units {units!r}: expected one of g, mg, m/s2 (or m/s^2, ms2)")
    return _UNITS[key]


def norm_name(name: str) -> str:
    """Lower-case a column name and spell units and separators one way: ``Acc X (m/s^2)`` ->
    ``acc_x_ms2``."""
    s = str(name).replace("\ufeff", "").strip().lower()
    for unit in ("m/s^2", "m/s\u00b2", "m/s2", "m s-2", "m*s-2"):
        s = s.replace(unit, "ms2")
    s = re.sub(r"[\s\[\]()/\-.]+", "_", s)
    return s.strip("_")


def find_columns(names: list[str], source: str = "<table>"
                 ) -> tuple[int, float | None, list[int], str | None]:
    """Find the time and x, y, z columns among column names.

    Names are compared case-insensitively with whitespace trimmed (``" Acc_X "`` matches
    ``acc_x``); see :data:`TIME_ALIASES`, :data:`AXIS_PREFIXES` and :data:`UNIT_SUFFIXES`.

    Parameters
    ----------
    names : list of str
        Column names as in the file.
    source : str
        File name used in the error message.

    Returns
    -------
    time_index : int
        Position of the time column.
    time_scale : float or None
        Seconds per unit stated by the time column's name (``time_ms``: 0.001), else None.
    axis_indices : list of int
        Positions of the x, y and z columns.
    units : str or None
        Units stated by the axis column names (``acc_x_mg``: ``mg``), else None.

    Raises
    ------
    InputError
        If no time column or no complete set of x, y, z columns is found; the message lists the
        columns found and the names expected.
    """
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        index.setdefault(norm_name(name), i)
    time_hit = next(((index[a], scale) for a, scale in TIME_ALIASES if a in index), None)
    axes_hit = None
    for prefix in AXIS_PREFIXES:
        for suffix, unit in UNIT_SUFFIXES:
            wanted = [f"{prefix}{axis}{suffix}" for axis in "xyz"]
            if all(w in index for w in wanted):
                axes_hit = ([index[w] for w in wanted], unit)
                break
        if axes_hit:
            break
    if time_hit is not None and axes_hit is not None:
        return time_hit[0], time_hit[1], axes_hit[0], axes_hit[1]
    missing = []
    if time_hit is None:
        missing.append("a time column (" + ", ".join(a for a, _ in TIME_ALIASES) + ")")
    if axes_hit is None:
        missing.append("x, y, z columns (x,y,z; ax,ay,az; acc_x,acc_y,acc_z; accx; accel_x; "
                       "optionally with a unit suffix _g, _mg or _ms2, e.g. acc_x_mg)")
    found = ", ".join(repr(str(n)) for n in names) or "none"
    raise InputError(f"{source}: missing {' and '.join(missing)}; columns found: {found}")


def looks_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def numeric_times(values: np.ndarray, scale: float | None) -> tuple[np.ndarray, str]:
    """Scale numeric timestamps to seconds: by the column name's unit, else by magnitude
    (unix seconds are about 1.7e9 now; > 1e11 is milliseconds, > 1e14 microseconds, > 1e17
    nanoseconds). Values below 1e8 (1973) are seconds since the start of the recording."""
    sub = values[::max(1, values.size // 10_000)]
    finite = sub[np.isfinite(sub)]
    if finite.size == 0:
        finite = values[np.isfinite(values)]
    if finite.size == 0:
        return values, "unknown"
    magnitude = float(np.median(np.abs(finite)))
    if scale is not None:
        return values * scale, "relative_s" if magnitude * scale < 1e8 else "unix_s"
    for limit, per_s, label in ((1e17, 1e9, "unix_ns"), (1e14, 1e6, "unix_us"),
                                (1e11, 1e3, "unix_ms")):
        if magnitude > limit:
            return values / per_s, label
    return values, "relative_s" if magnitude < 1e8 else "unix_s"


def check_units_argument(xyz: np.ndarray, unit: str, source: str) -> None:
    """Refuse ``--units`` that the data contradicts (its median magnitude says another unit)."""
    try:
        detected = detect_units(xyz, source)
    except InputError:
        return                               # no unit fits the magnitude: trust the user
    if detected is None or detected == unit:
        return
    mag = np.sqrt((xyz[::max(1, xyz.shape[0] // 100_000)].astype(np.float64) ** 2).sum(axis=1))
    median = float(np.nanmedian(mag))
    raise InputError(f"{source}: --units {unit} but the median magnitude of x, y, z is "
                     f"{median:.4g}, as for data in {detected} (a resting sensor reads about 1 "
                     f"in g, 1000 in mg, 9.81 in m/s2); use --units {detected}, leave --units out, or add --force to "
                     f"read the values as {unit} anyway")


def detect_units(xyz: np.ndarray, source: str) -> str | None:
    """Guess g, mg or m/s^2 from the median vector magnitude (about 1 g for a resting sensor);
    None when no row is complete."""
    mag = np.sqrt((xyz[::max(1, xyz.shape[0] // 100_000)] ** 2).sum(axis=1))
    mag = mag[np.isfinite(mag)]
    if mag.size == 0:
        mag = np.sqrt((xyz ** 2).sum(axis=1))
        mag = mag[np.isfinite(mag)]
        if mag.size == 0:
            return None
    median = float(np.median(mag))
    for unit, lo, hi in _MAGNITUDE_RANGES:
        if lo <= median <= hi:
            return unit
    raise InputError(f"{source}: cannot tell the units of x, y, z: the median magnitude is "
                     f"{median:.4g} (expected about 1 for g, 9.81 for m/s^2 or 1000 for mg); "
                     "give the units with --units g|mg|m/s2")
