"""A virtual Polar sensor (Verity Sense or H10): the PMD service, its control point (features,
settings, start, stop; replies by indication) and timestamped ACC frames."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from firmware_bridge.protocols import polar_control as ctl
from firmware_bridge.protocols import polar_pmd as pmd
from firmware_bridge.protocols.constants import PMD_CONTROL_UUID, PMD_DATA_UUID, PMD_SERVICE_UUID
from firmware_bridge.sim.virtual_sensor import POLAR_FRAME_SAMPLES, Session, VirtualSensor

__all__ = ["PolarSensor"]

log = logging.getLogger(__name__)


class PolarSensor(VirtualSensor):
    """A :class:`~firmware_bridge.sim.virtual_sensor.VirtualSensor` speaking Polar PMD; the
    spec's ``model`` says which (Verity Sense: compressed frames of up to 71 samples; H10: raw
    int16 frames as large as the MTU allows)."""

    @staticmethod
    def default_name(i: int, model: str) -> str:
        """The advertised name of the ``i``-th (from 0) virtual sensor of a model."""
        return f"Polar {'Sense' if model == 'Sense' else 'H10'} SIM0000{i + 1}"

    @staticmethod
    def default_fs_hz(model: str) -> float:
        """The sample rate a virtual sensor streams when none is given: a Verity Sense's 52 Hz,
        an H10's 50 Hz."""
        return 52.0 if model == "Sense" else 50.0

    def _gatt_chars(self, gatt: Any) -> tuple[str, list[Any]]:
        Char = gatt.Characteristic
        self._control_char = Char(
            PMD_CONTROL_UUID,
            Char.Properties.READ | Char.Properties.WRITE | Char.Properties.INDICATE,
            Char.READABLE | Char.WRITEABLE,
            gatt.CharacteristicValue(read=self._on_pmd_read, write=self._on_pmd_write))
        self._data_char = Char(PMD_DATA_UUID, Char.Properties.NOTIFY, Char.READABLE, b"")
        return PMD_SERVICE_UUID, [self._control_char, self._data_char]

    def _device_info(self) -> dict[str, str]:
        serial = self.name.split()[-1]
        model = "Polar Sense" if self.spec.model == "Sense" else "Polar H10"
        return {"manufacturer_name": "Polar Electro Oy", "model_number": f"{model} (virtual)",
                "serial_number": serial, "firmware_revision": "virtual-1.0"}

    def _encode(self, s: Session, first: int, k: int) -> tuple[bytes, int]:
        frame_type = (pmd.FRAME_COMPRESSED_TYPE1 if self.spec.model == "Sense"
                      else pmd.FRAME_RAW_INT16)
        limit = self._max_payload()
        while True:
            data = pmd.encode_acc_frame(self.source.counts[first:first + k],
                                        self._pmd_ns(first + k - 1), frame_type)
            if len(data) <= limit or k == 1:
                return data, k
            k = min(k - 1, max(1, k * limit // len(data)))

    def _send_reply(self, char: Any, value: bytes, then: Callable[[], None] | None) -> None:
        self._spawn(self._indicate(char, value, then))

    async def _indicate(self, char: Any, value: bytes, then: Callable[[], None] | None) -> None:
        conn = self.conn
        try:
            if conn is not None:
                await asyncio.wait_for(self.device.indicate_subscriber(conn, char, value), 5.0)
        except Exception as exc:  # noqa: BLE001
            # The link dropped or the central never confirmed: the stream goes on regardless.
            log.debug("%s: indication not confirmed: %s", self.name, exc)
        finally:
            if then is not None:
                then()

    def _pmd_settings(self) -> dict[int, list[int]]:
        settings: dict[int, list[int]] = {ctl.SETTING_SAMPLE_RATE: [int(self._fs)],
                                          ctl.SETTING_RESOLUTION: [16],
                                          ctl.SETTING_RANGE: [int(self.source.range_g)]}
        if self.spec.model == "Sense":
            settings[ctl.SETTING_CHANNELS] = [3]
        return settings

    def _on_pmd_read(self, _conn: Any) -> bytes:
        return ctl.encode_features([pmd.MEAS_ACC])

    def _on_pmd_write(self, conn: Any, value: bytes) -> None:
        if conn is not self.conn or self._dropping:
            return
        self._advance(time.monotonic())
        char = self._control_char
        try:
            req = ctl.decode_request(bytes(value))
        except ctl.PmdRequestError as exc:
            self._reply_later(char, ctl.encode_control_response(exc.op or 0, exc.meas_type or 0,
                                                                exc.error))
            return
        op, mtype = req.op, req.meas_type
        if mtype != pmd.MEAS_ACC:
            self._reply_later(char, ctl.encode_control_response(op, mtype,
                                                                ctl.ERR_NOT_SUPPORTED))
            return
        if op == ctl.OP_GET_SETTINGS:
            self._reply_later(char, ctl.encode_control_response(
                op, mtype, ctl.ERR_SUCCESS, settings=self._pmd_settings()))
        elif op == ctl.OP_STOP:
            if self.session is None:
                self._reply_later(char, ctl.encode_control_response(op, mtype,
                                                                    ctl.ERR_ALREADY_IN_STATE))
                return
            self._stop_session()
            self._reply_later(char, ctl.encode_control_response(op, mtype, ctl.ERR_SUCCESS))
            self._status("stopped")
        else:
            self._pmd_start(op, mtype, req.settings)

    def _pmd_start(self, op: int, mtype: int, settings: dict[int, list[Any]]) -> None:
        char = self._control_char
        offered = self._pmd_settings()

        def refuse(error: int) -> None:
            self._reply_later(char, ctl.encode_control_response(op, mtype, error))

        if self.session is not None:
            return refuse(ctl.ERR_ALREADY_IN_STATE)
        checks = ((ctl.SETTING_SAMPLE_RATE, ctl.ERR_INVALID_SAMPLE_RATE),
                  (ctl.SETTING_RESOLUTION, ctl.ERR_INVALID_RESOLUTION),
                  (ctl.SETTING_RANGE, ctl.ERR_INVALID_RANGE),
                  (ctl.SETTING_CHANNELS, ctl.ERR_INVALID_NUMBER_OF_CHANNELS))
        if ctl.SETTING_SAMPLE_RATE not in settings:
            return refuse(ctl.ERR_INVALID_PARAMETER)
        for stype, error in checks:
            if stype in settings and (stype not in offered
                                      or list(settings[stype]) != offered[stype]):
                return refuse(error)
        mtu = int(self.conn.att_mtu)
        if self.spec.model == "Sense":
            spp = POLAR_FRAME_SAMPLES
        else:
            spp = (mtu - 3 - pmd.HEADER_SIZE) // 6
        if spp < 1 or mtu - 3 < pmd.HEADER_SIZE + 6:
            return refuse(ctl.ERR_INVALID_MTU)
        s = self._begin_session(spp, None)
        self._reply_later(char, ctl.encode_control_response(op, mtype, ctl.ERR_SUCCESS),
                          then=lambda: self._start_reply_sent(s))
        self._status(f"streaming (ACC {int(self._fs)} Hz, +-{self.source.range_g} g)")
        return None

    def _max_payload(self) -> int:
        mtu = int(getattr(self.conn, "att_mtu", 23) or 23)
        return min(mtu - 3, 512)

    def _pmd_ns(self, sample: int) -> int:
        """Polar timestamp of source sample ``sample``, ns since 2000-01-01 UTC."""
        base = pmd.unix_s_to_pmd_ns(self.source.t0_unix_s)
        return base + int(round(sample * 1e9 / self._fs))
