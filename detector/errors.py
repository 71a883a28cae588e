"""Errors every part of legtwitch raises for bad input (kept free of heavy imports, so that the
command line can catch them without loading numpy or pandas)."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """A recording or event file cannot be used. The message names the file, the line or column,
    and what was expected."""
