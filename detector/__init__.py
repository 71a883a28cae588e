"""legtwitch detector: leg twitches, leg movements and PLM series from a leg-worn accelerometer.

Steps, each callable on its own::

    from detector import load_recording, analyze, load_config
    rec = load_recording("night.csv")                  # clean: uniform grid, gaps
    result = analyze(rec, load_config("default"))      # band-pass, envelope, thresholds, rules
    result.summary(); result.events; result.plot_night()

Lower-level steps: :func:`detector.filters.bandpass`, :func:`detector.envelope.movement_envelope`,
:func:`detector.thresholds.noise_floor`, :func:`detector.thresholds.hysteresis`,
:func:`detector.events.find_movements`, :func:`detector.plm.score_plm`.

In a notebook, one call gives a results object that re-detects in a fraction of a second::

    res = detect_movements("night.csv")            # or a DataFrame, an array with fs=...
    res2 = res.rethreshold(on_factor=6)            # cached filtered signal and envelope
    res2.config.to_toml("tuned.toml")              # legtwitch analyze --config tuned.toml

Not a diagnosis: see the README for what an accelerometer cannot see.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it. The modules are imported on first use, so that
#: ``import detector`` (and the ``legtwitch`` command line, whose ``--help`` needs none of them)
#: does not load numpy, pandas, scipy and matplotlib up front.
_PUBLIC = {
    "compare_events": "compare", "Config": "config", "ConfigError": "config",
    "load_config": "config", "find_movements": "events", "load_recording": "load",
    "analyze": "pipeline", "merge_bilateral": "plm", "score_plm": "plm",
    "InputError": "errors", "Recording": "recording", "Reference": "reference",
    "read_reference": "reference", "simulate_night": "simulate",
    "MovementResults": "tuning", "detect_movements": "tuning",
}

__all__ = ["Config", "ConfigError", "InputError", "MovementResults", "Recording", "analyze",
           "compare_events", "detect_movements", "find_movements", "load_config", "load_recording",
           "merge_bilateral", "read_reference", "Reference", "score_plm", "simulate_night",
           "__version__"]

if TYPE_CHECKING:
    from .compare import compare_events
    from .config import Config, ConfigError, load_config
    from .errors import InputError
    from .events import find_movements
    from .load import load_recording
    from .pipeline import analyze
    from .plm import merge_bilateral, score_plm
    from .recording import Recording
    from .reference import Reference, read_reference
    from .simulate import simulate_night
    from .tuning import MovementResults, detect_movements


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'detector' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
