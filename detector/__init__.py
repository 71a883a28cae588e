"""legtwitch detector: leg twitches, leg movements and PLM series from a leg-worn accelerometer.

Steps, each callable on its own::

    from detector import load_recording, analyze, load_config
    rec = load_recording("night.csv")                  # clean: uniform grid, gaps
    result = analyze(rec, load_config("default"))      # band-pass, envelope, thresholds, rules
    result.summary(); result.events; result.plot_night()

Lower-level steps: :func:`detector.detect.filters.bandpass`,
:func:`detector.detect.envelope.movement_envelope`,
:func:`detector.detect.thresholds.noise_floor`, :func:`detector.detect.thresholds.hysteresis`,
:func:`detector.detect.recipe.find_movements`, :func:`detector.score.plm.score_plm`.

In a notebook, one call gives a results object that re-detects in a fraction of a second::

    res = detect_movements("night.csv")            # or a DataFrame, an array with fs=...
    res2 = res.rethreshold(on_factor=6)            # cached filtered signal and envelope
    res2.config.to_toml("tuned.toml")              # legtwitch analyze --config tuned.toml

Not a diagnosis: see the README for what an accelerometer cannot see.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from detector.moved import install as _install_moved_paths
from detector.version import __version__

_install_moved_paths()

#: Public name -> the module that defines it. The modules are imported on first use, so that
#: ``import detector`` (and the ``legtwitch`` command line, whose ``--help`` needs none of them)
#: does not load numpy, pandas, scipy and matplotlib up front.
_PUBLIC = {
    "compare_events": "tuning.compare", "Config": "config", "ConfigError": "config",
    "load_config": "config", "find_movements": "detect", "load_recording": "io.load",
    "analyze": "analysis", "analyze_file": "analysis", "merge_bilateral": "score.plm",
    "score_plm": "score.plm", "InputError": "errors", "Recording": "io.recording",
    "Reference": "score.reference", "read_reference": "score.reference", "simulate_night": "sim",
    "NightResult": "tuning.results", "MovementResults": "tuning.results",
    "detect_movements": "tuning.results", "sweep": "tuning.sweep", "best_params": "tuning.sweep",
    "summarize_sweep": "tuning.sweep", "write_outputs": "analysis",
}

__all__ = ["Config", "ConfigError", "InputError", "MovementResults", "Recording", "analyze",
           "compare_events", "detect_movements", "find_movements", "load_config", "load_recording",
           "merge_bilateral", "read_reference", "Reference", "score_plm", "simulate_night",
           "NightResult", "analyze_file", "best_params", "summarize_sweep", "sweep",
           "write_outputs", "__version__"]

if TYPE_CHECKING:
    from detector.tuning.compare import compare_events
    from detector.config import Config, ConfigError, load_config
    from detector.errors import InputError
    from detector.detect.recipe import find_movements
    from detector.io.load import load_recording
    from detector.analysis import analyze
    from detector.score.plm import merge_bilateral, score_plm
    from detector.io.recording import Recording
    from detector.score.reference import Reference, read_reference
    from detector.sim.night import simulate_night
    from detector.tuning.results import MovementResults, NightResult, detect_movements
    from detector.tuning.sweep import best_params, summarize_sweep, sweep
    from detector.analysis import analyze_file, write_outputs


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'detector' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
