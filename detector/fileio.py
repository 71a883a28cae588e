"""Writing files that hold health data: readable and writable by their owner only (0600)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

__all__ = ["open_private", "write_private", "make_private_dir"]


def open_private(path: str | Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open ``path`` for writing with permissions 0600 (created or truncated).

    Parameters
    ----------
    path : str or Path
        File to write.
    mode : str
        ``"w"``/``"wb"`` (truncate) or ``"a"``/``"ab"`` (append).
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:  # pragma: no cover - filesystems without POSIX modes
        pass
    return os.fdopen(fd, mode, **kwargs)


def write_private(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file + rename) with permissions 0600."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open_private(tmp, "wb" if isinstance(data, bytes) else "w",
                      **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def make_private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) if needed; every directory we create is 0700,
    whatever the umask (``mkdir -p`` would give the parents the umask's mode, 0755 or 0777).
    Existing directories are left as they are."""
    path = Path(path)
    if path.is_dir():
        return path
    if path.exists():
        raise NotADirectoryError(f"{path}: exists and is not a directory")
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            if not d.is_dir():
                raise NotADirectoryError(f"{d}: exists and is not a directory") from None
            continue
        os.chmod(d, 0o700)
    return path
