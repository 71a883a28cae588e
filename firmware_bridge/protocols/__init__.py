"""Sensor packet protocols, pure encoding and decoding (no BLE stack here).

- :mod:`~firmware_bridge.protocols.base`: what every protocol decodes to (:class:`SampleBlock`)
  and its errors.
- :mod:`~firmware_bridge.protocols.legaccel` and :mod:`~firmware_bridge.protocols.legaccel_control`:
  LegAccel v1 data packets and control point (``firmware_bridge/PROTOCOL.md``).
- :mod:`~firmware_bridge.protocols.polar_pmd` and :mod:`~firmware_bridge.protocols.polar_control`:
  Polar PMD acceleration frames and control point (Verity Sense, H10).
- :mod:`~firmware_bridge.protocols.sensors`: one :class:`Protocol` object per kind of sensor
  (UUIDs, start and stop, decoder), picked once by name with ``protocol_named``.
- :mod:`~firmware_bridge.protocols.constants`: UUIDs and limits shared with the virtual sensor.
"""
