"""The version of legtwitch (kept in one place: the package, the methods text and batch
folders name it)."""

__version__ = "0.1.0"
