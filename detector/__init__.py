"""legtwitch detector: leg twitches, leg movements and PLM series from a leg-worn accelerometer.

Steps, each callable on its own::

    from detector import load_recording, analyze, load_config
    rec = load_recording("night.csv")                  # clean: uniform grid, gaps
    result = analyze(rec, load_config("default"))      # band-pass, envelope, thresholds, rules
    result.summary(); result.events; result.plot_night()

Lower-level steps: :func:`detector.filters.bandpass`, :func:`detector.envelope.movement_envelope`,
:func:`detector.thresholds.noise_floor`, :func:`detector.thresholds.hysteresis`,
:func:`detector.events.detect_movements`, :func:`detector.plm.score_plm`.

Not a diagnosis: see the README for what an accelerometer cannot see.
"""

from .config import Config, ConfigError, load_config
from .events import detect_movements
from .load import load_recording
from .pipeline import analyze
from .plm import merge_bilateral, score_plm
from .recording import InputError, Recording

__version__ = "0.1.0"

__all__ = ["Config", "ConfigError", "InputError", "Recording", "analyze", "detect_movements",
           "load_config", "load_recording", "merge_bilateral", "score_plm", "__version__"]
