"""Which files of a batch are recordings, and the folder each night's results go to (safe names,
never outside the output folder)."""

from __future__ import annotations

import glob
import hashlib
from pathlib import Path
from typing import Sequence

from detector.io.recording import InputError

__all__ = ["expand_inputs", "stem", "safe_name", "night_names", "night_folder"]

#: Suffixes of recordings, longest first (stripped to name a night's folder).
_SUFFIXES = (".csv.gz", ".csv", ".parquet", ".pq", ".gz", ".cwa", ".bin", ".gt3x")
#: Files written by ``legtwitch simulate`` beside a night: not recordings.
_TRUTH_SUFFIX = ".truth.csv"
#: Names a night folder may not take: the batch's own files in ``--out``.
_RESERVED_NAMES = {"nights.csv", "nights.parquet", "failures.csv", "trends.html", "done.json",
                   "batch.json", "diary.csv"}
#: Longest night folder name (characters).
_MAX_NAME_CHARS = 100


def _has_magic(text: str) -> bool:
    return any(c in text for c in "*?[")


def _is_recording_name(name: str) -> bool:
    low = name.lower()
    return low.endswith(_SUFFIXES) and not low.endswith(_TRUTH_SUFFIX)


def expand_inputs(items: Sequence[str | Path]) -> list[Path]:
    """Expand glob patterns (``nights/*.csv``, ``**`` recursive), folders and plain file names.

    A pattern is expanded here, so quote it on the command line. Files ending ``.truth.csv``
    (written by ``legtwitch simulate`` beside a night) are left out of patterns and folders; a
    folder gives its ``.csv``, ``.csv.gz`` and ``.parquet`` files. A file named twice is
    analysed once. Order: as given, each pattern's matches sorted.

    Raises
    ------
    InputError
        When a pattern or folder matches no recording, or a named file does not exist.
    """
    if isinstance(items, (str, Path)):
        items = [items]
    found: list[Path] = []
    for item in items:
        text = str(item)
        if _has_magic(text):
            matches = [Path(m) for m in sorted(glob.glob(text, recursive=True))
                       if Path(m).is_file() and not m.lower().endswith(_TRUTH_SUFFIX)]
            if not matches:
                raise InputError(f"{text!r}: the pattern matched no recording file")
            found.extend(matches)
        elif Path(text).is_dir():
            matches = sorted(p for p in Path(text).iterdir()
                             if p.is_file() and _is_recording_name(p.name))
            if not matches:
                raise InputError(f"{text}: the folder holds no .csv, .csv.gz or .parquet "
                                 "recording")
            found.extend(matches)
        elif Path(text).is_file():
            found.append(Path(text))
        else:
            raise InputError(f"{text}: file not found")
    if not found:
        raise InputError("no recording given: name files, folders or quoted patterns "
                         "such as \"nights/*.csv\"")
    seen: set[Path] = set()
    unique = []
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def stem(path: Path) -> str:
    name = path.name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return path.stem or name


def safe_name(stem: str) -> str:
    """A folder name made from a file name that cannot leave, or take the place of, ``--out``'s
    own files.

    Separators, control characters and characters that Windows refuses become ``_``; leading
    dots and spaces and trailing dots and spaces are removed (no ``.``, ``..`` or hidden
    folder); an empty result becomes ``night``; a name of the batch's own files gets ``night-``
    in front; at most 100 characters.

    >>> safe_name("..")
    'night'
    >>> safe_name("../../etc/passwd")
    'etc_passwd'
    >>> safe_name("nights.csv")
    'night-nights.csv'
    """
    out = []
    for ch in stem:
        if ch in '/\\:*?"<>|' or ord(ch) < 32 or ord(ch) == 127:
            out.append("_")
        else:
            out.append(ch)
    name = "".join(out).strip(" .")
    while "__" in name:
        name = name.replace("__", "_")
    name = name.strip("_ .") or "night"
    if name.lower() in _RESERVED_NAMES:
        name = f"night-{name}"
    return name[:_MAX_NAME_CHARS]


def night_names(paths: Sequence[str | Path]) -> list[str]:
    """Folder name of each night: the file name without its suffix, made safe (:func:`safe_name`).

    Files whose names come out the same (``a/night1.csv``, ``b/night1.csv``; also names that
    differ only in letter case or in the characters :func:`safe_name` replaces) get ``-`` and
    the first 8 hex digits of the SHA-256 of their absolute path appended, so a name does not
    depend on the order or on the other files of the batch.
    """
    stems = [safe_name(stem(Path(p))) for p in paths]
    counts: dict[str, int] = {}
    for s in stems:
        counts[s.lower()] = counts.get(s.lower(), 0) + 1
    names = []
    for p, s in zip(paths, stems):
        if counts[s.lower()] > 1:
            tag = hashlib.sha256(str(Path(p).resolve()).encode("utf-8")).hexdigest()[:8]
            s = f"{s}-{tag}"
        names.append(s)
    return names


def night_folder(out: Path, name: str) -> Path:
    """``out / name``, checked to resolve to a folder directly inside ``out`` (not through a
    link to elsewhere)."""
    folder = out / name
    inside = folder.resolve().parent == out.resolve() and not folder.is_symlink()
    if not inside or name in ("", ".", ".."):
        raise InputError(f"{folder}: a night folder must lie inside {out}; rename the file "
                         "or remove the link")
    return folder
