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

from .compare import compare_events
from .config import Config, ConfigError, load_config
from .events import find_movements
from .load import load_recording
from .pipeline import analyze
from .plm import merge_bilateral, score_plm
from .recording import InputError, Recording
from .reference import Reference, read_reference
from .simulate import simulate_night
from .tuning import MovementResults, detect_movements

__version__ = "0.1.0"

__all__ = ["Config", "ConfigError", "InputError", "MovementResults", "Recording", "analyze",
           "compare_events", "detect_movements", "find_movements", "load_config", "load_recording",
           "merge_bilateral", "read_reference", "Reference", "score_plm", "simulate_night",
           "__version__"]
