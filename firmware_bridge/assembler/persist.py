"""The assembler's state as JSON, so that a recording resumed after a crash places its packets
exactly as one uninterrupted run would."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from firmware_bridge.assembler.parts import Chain, Counters, Gap, Last, Pending, pending_state

__all__ = ["Persistence"]


class Persistence:
    """The assembler's state as JSON, so that a recording resumed after a crash places its packets
    (a base of :class:`Assembler`, whose state the methods use)."""

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly where this assembler is, JSON-safe, except
        :attr:`gaps` and :attr:`clock_points` (given back separately to :meth:`restore`)."""
        st: dict[str, Any] = {name: getattr(self, name) for name in self._SCALARS}
        st.update({
            "protocol": self.protocol,
            "counters": self.counters.as_dict(),
            "bad_packet_errors": list(self.bad_packet_errors),
            "causes": [list(c) for c in self._causes],
            "last": list(self._last) if self._last is not None else None,
            "s_lost": [list(r) for r in self._s_lost],
            "old_sids": sorted(self._old_sids),
            "buffer": [pending_state(p) for _, p in sorted(self._buffer.items())],
            "s_scale": list(self._s_scale) if self._s_scale is not None else None,
            "chains": [{"why": c.why, "backed": c.backed, "outvoted": c.outvoted,
                        "packets": [pending_state(p) for p in c.packets]}
                       for c in self._chains],
        })
        return st

    @classmethod
    def restore(cls, state: Mapping[str, Any], gaps: list[Gap], clock_k: list[int],
                clock_h: list[float], label: str = "sensor") -> Any:
        """Rebuild an assembler from :meth:`state`, its gaps and clock points."""
        asm = cls(state["protocol"], label)
        for name in cls._SCALARS:  # a state written by an older version lacks the newer names
            setattr(asm, name, state.get(name, getattr(asm, name)))
        if asm._stream is not None and not asm.proto.self_describing:
            try:
                asm._decoder = asm.proto.decoder(asm._stream)
            except ValueError:
                asm._decoder = None
        names = {f.name for f in fields(Counters)}
        asm.counters = Counters(**{k: v for k, v in state["counters"].items() if k in names})
        asm.bad_packet_errors.extend(state["bad_packet_errors"])
        asm._causes = [(int(a), str(c)) for a, c in state["causes"]]
        asm._last = Last(*state["last"]) if state["last"] is not None else None
        asm._s_lost = [(int(a), int(b)) for a, b in state["s_lost"]]
        asm._old_sids = set(state["old_sids"])
        for item in state["buffer"]:
            p = asm._pending_from_state(item)
            key = (int(p.block.first_index) if asm.proto.indexed  # type: ignore[arg-type]
                   else float(p.block.device_time_end_s))
            asm._buffer[key] = p
        scale = state.get("s_scale")
        asm._s_scale = (float(scale[0]), float(scale[1])) if scale else None
        asm._chains = [Chain(str(c["why"]), [asm._pending_from_state(x) for x in c["packets"]],
                              bool(c["backed"]), int(c["outvoted"]))
                       for c in state.get("chains", [])]
        asm.gaps = list(gaps)
        asm._clock_k = [int(k) for k in clock_k]
        asm._clock_h = [float(h) for h in clock_h]
        return asm

    def _pending_from_state(self, item: list[Any]) -> Pending:
        payload64, host_s, arrival = item
        payload = base64.b64decode(payload64)
        block = self._decoder(payload)  # type: ignore[misc]
        return Pending(block, float(host_s), int(arrival), payload)
