"""Live detection during a recording: the offline detection steps made causal, and live PLM
series."""
