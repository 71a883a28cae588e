"""Fixtures of the end-to-end tests (sensor-sim and record as separate processes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from test_record_e2e import Sim


class Procs:
    """Kill whatever is still running when a test ends (pass or fail)."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def add(self, p: Any) -> Any:
        self.items.append(p)
        return p

    def cleanup(self) -> None:
        for p in reversed(self.items):
            if isinstance(p, Sim):
                p.stop()
            elif p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait(10)


@pytest.fixture
def procs() -> Iterator[Procs]:
    keep = Procs()
    yield keep
    keep.cleanup()
