"""Reading and writing files. :mod:`detector.io.tables` holds what every reader of an event or
interval table shares (more of the readers move here as the house is rebuilt)."""
