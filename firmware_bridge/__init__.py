"""BLE side of legtwitch: sensor packet protocols, the overnight recorder and a virtual sensor.

- ``legaccel``, ``polar_pmd``, ``packets``: pure encoders and decoders of the LegAccel v1 protocol
  (``PROTOCOL.md``) and of Polar's PMD accelerometer stream (Verity Sense, H10).
- ``client``: one sensor's bleak link, kept alive all night (reconnect, watchdog).
- ``rawlog``, ``assembler``, ``store``: the crash-safe raw packet log, exact loss accounting and
  clock mapping, the Parquet recording, ``recover``.
- ``recorder``: the night (live status, live detection, the report when it ends).
- ``virtual_sensor``, ``faults``, ``bumble_backend``: a virtual sensor on the bumble BLE stack and
  a bleak backend over it, so the whole path runs with no radio.
"""
