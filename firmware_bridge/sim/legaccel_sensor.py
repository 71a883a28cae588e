"""A virtual LegAccel v1 sensor: its GATT service, control point (GET_INFO, START, STOP) and
self-describing, indexed data packets (``firmware_bridge/PROTOCOL.md``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from firmware_bridge.protocols import legaccel
from firmware_bridge.protocols import legaccel_control as ctl
from firmware_bridge.protocols.base import FLAG_CLIPPING, FLAG_FIRST
from firmware_bridge.protocols.constants import (LEGACCEL_CONTROL_UUID, LEGACCEL_DATA_UUID,
                                                 LEGACCEL_SERVICE_UUID)
from firmware_bridge.sim.virtual_sensor import Session, VirtualSensor

__all__ = ["LegAccelSensor"]


class LegAccelSensor(VirtualSensor):
    """A :class:`~firmware_bridge.sim.virtual_sensor.VirtualSensor` speaking LegAccel v1."""

    @staticmethod
    def default_name(i: int, model: str) -> str:
        """The advertised name of the ``i``-th (from 0) virtual sensor."""
        return f"LegAccel-sim-{i + 1}"

    @staticmethod
    def default_fs_hz(model: str) -> float:
        """The sample rate a virtual sensor streams when none is given (Hz)."""
        return 100.0

    def _gatt_chars(self, gatt: Any) -> tuple[str, list[Any]]:
        Char = gatt.Characteristic
        self._data_char = Char(LEGACCEL_DATA_UUID, Char.Properties.NOTIFY, Char.READABLE, b"")
        self._control_char = Char(
            LEGACCEL_CONTROL_UUID, Char.Properties.WRITE | Char.Properties.NOTIFY,
            Char.WRITEABLE, gatt.CharacteristicValue(write=self._on_legaccel_write))
        return LEGACCEL_SERVICE_UUID, [self._data_char, self._control_char]

    def _device_info(self) -> dict[str, str]:
        serial = "LA" + self.address.replace(":", "")[-6:]
        return {"manufacturer_name": "legtwitch", "model_number": "LegAccel v1 (virtual)",
                "serial_number": serial, "firmware_revision": "virtual-1.0"}

    def _encode(self, s: Session, first: int, k: int) -> tuple[bytes, int]:
        counts = self.source.counts[first:first + k]
        lim = self._clip_limits()
        flags = FLAG_FIRST if s.seq == 0 else 0
        if counts.size and (counts.max() >= lim[1] or counts.min() <= lim[0]):
            flags |= FLAG_CLIPPING
        packet = legaccel.LegAccelPacket(
            seq=s.seq & 0xFFFF_FFFF, session_id=s.session_id or 0,
            first_index=(first - s.first_sample) & 0xFFFF_FFFF,
            device_time_us=self._device_time_us(first), fs_centihz=self._fs_centihz,
            range_g=int(self.source.range_g), scale_g=self.source.scale_g, counts=counts,
            flags=flags)
        return legaccel.encode_packet(packet), k

    def _packet_info(self, seq: int) -> dict[str, Any]:
        return {"seq": seq}

    def _reorder_info(self, held_seq: int, seq: int) -> dict[str, Any]:
        return {"seq": [held_seq, seq]}

    def _send_reply(self, char: Any, value: bytes, then: Callable[[], None] | None) -> None:
        self._notify(char, value)
        if then is not None:
            then()

    def _on_legaccel_write(self, conn: Any, value: bytes) -> None:
        if conn is not self.conn or self._dropping:
            return
        now = time.monotonic()
        self._advance(now)
        try:
            cmd = ctl.decode_command(bytes(value))
        except ctl.CommandError as exc:
            self._reply_later(self._control_char,
                              ctl.encode_status(exc.op or 0, exc.status))
            return
        op = cmd.op
        if op == ctl.OP_GET_INFO:
            info = ctl.DeviceInfo(version=legaccel.VERSION, rates_hz=(self._fs,),
                                       ranges_g=(int(self.source.range_g),),
                                       streaming=self.session is not None)
            self._reply_later(self._control_char,
                              ctl.encode_status(op, ctl.STATUS_OK, info.encode()))
        elif op == ctl.OP_STOP:
            if self.session is None:
                self._reply_later(self._control_char,
                                  ctl.encode_status(op, ctl.STATUS_ALREADY))
                return
            self._stop_session()
            self._reply_later(self._control_char, ctl.encode_status(op, ctl.STATUS_OK))
            self._status("stopped")
        elif op == ctl.OP_START:
            self._legaccel_start(cmd.params)

    def _legaccel_start(self, params: dict[str, Any]) -> None:
        op = ctl.OP_START
        char = self._control_char
        if self.session is not None:
            self._reply_later(char, ctl.encode_status(op, ctl.STATUS_ALREADY))
            return
        if (params["fs_centihz"] != self._fs_centihz
                or params["range_g"] != int(self.source.range_g)):
            self._reply_later(char, ctl.encode_status(op, ctl.STATUS_INVALID_PARAMETER))
            return
        try:
            spp = legaccel.max_samples_per_packet(self.conn.att_mtu)
        except ValueError:
            # The ATT MTU is below the 64 bytes LegAccel needs (PROTOCOL.md).
            self._reply_later(char, ctl.encode_status(op, ctl.STATUS_INTERNAL_ERROR))
            return
        if params["samples_per_packet"]:
            spp = min(spp, int(params["samples_per_packet"]))
        sid = self._rng_sid.getrandbits(32)
        while sid == self.session_id:
            sid = self._rng_sid.getrandbits(32)
        self.session_id = sid
        s = self._begin_session(spp, sid)
        reply = ctl.StartReply(session_id=sid,
                                    device_time_us=self._device_time_us(s.first_sample),
                                    fs_hz=self._fs, range_g=int(self.source.range_g),
                                    scale_g=self.source.scale_g)
        self._reply_later(char, ctl.encode_status(op, ctl.STATUS_OK, reply.encode()),
                          then=lambda: self._start_reply_sent(s))
        self._status(f"streaming (session 0x{sid:08X}, {spp} samples per packet)")

    def _clip_limits(self) -> tuple[int, int]:
        hi = min(32767, math.floor(self.source.range_g / self.source.scale_g + 1e-9))
        lo = max(-32768, -math.floor(self.source.range_g / self.source.scale_g + 1e-9))
        return lo, hi

    def _device_time_us(self, sample: int) -> int:
        """LegAccel device clock of source sample ``sample``, us since the virtual boot."""
        return int(round((sample - self.boot_sample) * 1e6 / self._fs))
