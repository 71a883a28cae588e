"""BLE side of legtwitch: sensor packet protocols, the recorder and a virtual sensor.

Not yet implemented: offline analysis (``detector``) works on recorded CSV or Parquet files.
"""
