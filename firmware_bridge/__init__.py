"""BLE side of legtwitch: sensor packet protocols, the overnight recorder and a virtual sensor.

In the order a notification travels:

- ``protocols/``: pure encoders and decoders of the LegAccel v1 protocol (``PROTOCOL.md``) and of
  Polar's PMD accelerometer stream (Verity Sense, H10), one ``Protocol`` object each
  (``protocols.sensors``).
- ``client``: one sensor's bleak link, kept alive all night (reconnect, watchdog).
- ``rawlog``: the crash-safe raw packet log.
- ``assembler/``: exact loss accounting and clock mapping, samples onto one grid per night.
- ``store/``: a sensor's recording folder: Parquet parts, ``finalize``, ``recover``.
- ``recorder``: the night (live status, live detection, the report when it ends).
- ``sim/``: virtual sensors on the bumble BLE stack with the faults of a real night, and a bleak
  backend over it, so the whole path runs with no radio.
"""
