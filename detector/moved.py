"""Module paths of legtwitch 0.1 before its modules moved into folders: still importable, with a
DeprecationWarning naming the new path, so that notebooks and scripts written against them keep
working (``from detector.pipeline import analyze`` gives :func:`detector.analysis.analyze`).

New code imports from the new paths (README "The house") or from :mod:`detector` itself.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

__all__ = ["MOVED", "install", "moved_attribute"]

#: Old module -> the module(s) its public names live in now (searched in this order).
MOVED: dict[str, tuple[str, ...]] = {
    "detector.localtime": ("detector.io.localtime",),
    "detector.recording": ("detector.io.recording",),
    "detector.clean": ("detector.io.clean",),
    "detector.load": ("detector.io.load", "detector.io.columns"),
    "detector.inputs": ("detector.io.inputs",),
    "detector.export_edf": ("detector.io.edf", "detector.io.edf_read"),
    "detector.reference": ("detector.score.reference", "detector.io.tables"),
    "detector.reference_csv": ("detector.io.tables", "detector.io.localtime"),
    "detector.diary": ("detector.io.diary",),
    "detector.output": ("detector.analysis", "detector.io.outputs"),
    "detector.filters": ("detector.detect.filters",),
    "detector.envelope": ("detector.detect.envelope",),
    "detector.thresholds": ("detector.detect.thresholds",),
    "detector.events": ("detector.detect.recipe", "detector.detect.events"),
    "detector.classify": ("detector.detect.classify",),
    "detector.nonwear": ("detector.detect.nonwear",),
    "detector.plm": ("detector.score.plm", "detector.kinds", "detector.io.tables"),
    "detector.metrics": ("detector.score.metrics",),
    "detector.category": ("detector.score.category",),
    "detector.restwindow": ("detector.score.restwindow",),
    "detector.pipeline": ("detector.analysis", "detector.score.night"),
    "detector.stream": ("detector.live.detector", "detector.live.events"),
    "detector.report": ("detector.report.night", "detector.report.page"),
    "detector.plots": ("detector.report.plots", "detector.report.event_plots"),
    "detector.plot_average": ("detector.report.plot_average",),
    "detector.describe": ("detector.report.methods",),
    "detector.batch": ("detector.cohort.batch", "detector.cohort.nights"),
    "detector.trends": ("detector.cohort.trends", "detector.cohort.trends_page"),
    "detector.results": ("detector.tuning.results", "detector.score.night"),
    "detector.tuning": ("detector.tuning.results", "detector.detect.recipe", "detector.config"),
    "detector.tuning_views": ("detector.tuning.views",),
    "detector.explore": ("detector.tuning.explore",),
    "detector.sweep": ("detector.tuning.sweep",),
    "detector.sweep_plots": ("detector.tuning.sweep_plots",),
    "detector.compare": ("detector.tuning.compare",),
    "detector.evaluate": ("detector.tuning.evaluate", "detector.io.tables"),
    "detector.quality": ("detector.tuning.quality",),
    "detector.simulate": ("detector.sim.night", "detector.sim.scenarios"),
}


def _lookup(old: str, name: str) -> tuple[str, Any]:
    """The new module that holds ``name`` of the old module ``old``, and the object."""
    for target in MOVED[old]:
        module = importlib.import_module(target)
        if hasattr(module, name):
            return target, getattr(module, name)
    raise AttributeError(f"module {old!r} (now {', '.join(MOVED[old])}) has no attribute "
                         f"{name!r}")


class _Alias(types.ModuleType):
    """An old module path: every public name resolves in the new module(s)."""

    def __getattr__(self, name: str) -> Any:
        return _lookup(self.__name__, name)[1]


class _MovedFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old module paths; a package that still exists under an old name (detector.report,
    detector.tuning) is found first by the normal finders, which this one runs after."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: Any) -> types.ModuleType:
        warnings.warn(f"{spec.name} moved to {' and '.join(MOVED[spec.name])}; import from "
                      "there or from detector", DeprecationWarning, stacklevel=3)
        return _Alias(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def moved_attribute(old: str, name: str) -> Any:
    """A name of an old module that is a package now (``detector.report``, ``detector.tuning``),
    with a DeprecationWarning; for the package's ``__getattr__``."""
    if name.startswith("__"):
        raise AttributeError(name)
    target, value = _lookup(old, name)
    warnings.warn(f"{old}.{name} moved to {target}.{name}; import it from there",
                  DeprecationWarning, stacklevel=3)
    return value


def install() -> None:
    """Make the old module paths importable (once)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
