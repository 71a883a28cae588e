"""Detection: from a cleaned recording to classified movement events.

The steps, one module each, in the order the data flows (the recipe that calls them is
:mod:`detector.detect.recipe`):

1. :mod:`~detector.detect.filters`: zero-phase band-pass of each axis.
2. :mod:`~detector.detect.envelope`: the resting posture and how far the leg moves from it.
3. :mod:`~detector.detect.thresholds`: adaptive noise floor, on/off thresholds, hysteresis.
4. :mod:`~detector.detect.events`: bursts merged into events and bouts, with their features.
5. :mod:`~detector.detect.classify`: twitch, leg movement or sustained; vibration dropped.

:mod:`~detector.detect.nonwear` finds when the sensor was off the leg.
"""

from detector.detect.recipe import (Detection, SignalCache, SignalTrace, find_events,
                                    find_movements, signal_trace)

__all__ = ["Detection", "SignalCache", "SignalTrace", "find_events", "find_movements",
           "signal_trace"]
