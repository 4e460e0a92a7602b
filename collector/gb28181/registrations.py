"""What a REGISTER tells beyond its Digest answer: its Expires, and whether the device restarted.

A device keeps one Call-ID for all its REGISTERs during a boot cycle and raises the CSeq at each
(RFC 3261 §10.2.4 and §10.2.6; GB/T 28181-2016 §9.1.2.1 follows it, and platforms such as
WVP-GB28181-pro tell a renewal (注册续订) from a new registration by the Call-ID): a refresh
re-uses the Call-ID with a higher CSeq. A device that restarted starts a new Call-ID (or, for
the few that derive it from their ID, the same Call-ID with the CSeq back at its start: not
higher than the last one accepted). An NVR
that reboots and registers again within ``keepalive_timeout_s`` still has a registration in
force, yet it may come back with another channel list: :class:`BootCycles` tells such a
**restart** from a **refresh**, so that the platform asks its catalog (and subscribes to it)
again at once instead of after ``catalog_interval_s``.

A device whose last Call-ID is not known (camwatch restarted since, or more than
:data:`MAX_DEVICES` devices registered since) is taken as refreshing: its catalog stays on its
periodic schedule.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from enum import StrEnum

from probes.gb28181.fields import parse_address, parse_cseq, required
from probes.gb28181.sip import SipError, SipRequest

MAX_DEVICES = 100_000  # boot cycles remembered (the least recently registered forgotten first)
DEFAULT_EXPIRES_S = 3600  # a REGISTER without Expires (RFC 3261 leaves it to the registrar)


class Registration(StrEnum):
    """The kind of an accepted REGISTER (the ``kind`` label of ``camwatch_gb28181_registrations_total``)."""

    NEW = "new"  # no registration in force before (first, or after an unregister, expiry or silence)
    REFRESH = "refresh"  # renewed in the same boot cycle: same Call-ID, higher CSeq
    RESTART = "restart"  # registered anew while its registration was in force: the device restarted
    UNREGISTER = "unregister"  # Expires: 0


class BootCycles:
    """The Call-ID and CSeq of each device's last accepted REGISTER (bounded)."""

    def __init__(self, max_devices: int = MAX_DEVICES) -> None:
        self.max_devices = max_devices
        self._last: OrderedDict[str, tuple[str, int]] = OrderedDict()  # device -> (Call-ID, CSeq)

    def accepted(self, device_id: str, call_id: str, cseq: int, *, in_force: bool) -> Registration:
        """An accepted REGISTER of *device_id* (Expires > 0); *in_force*: a registration was in
        force before it. Remembers its Call-ID and CSeq."""
        last = self._last.get(device_id)
        self._last[device_id] = (call_id, cseq)
        self._last.move_to_end(device_id)
        while len(self._last) > self.max_devices:
            self._last.popitem(last=False)
        if not in_force:
            return Registration.NEW
        if last is not None and (last[0] != call_id or cseq <= last[1]):  # (RFC 3261 §10.3: not higher is
            # not a refresh; a UDP retransmission is answered before, from the platform's kept answers)
            return Registration.RESTART
        return Registration.REFRESH

    def last(self, device_id: str) -> tuple[str, int] | None:
        """The Call-ID and CSeq of *device_id*'s last accepted REGISTER, if remembered."""
        return self._last.get(device_id)

    def forget(self, device_id: str) -> None:
        """The device unregistered: its next REGISTER is a new registration whatever its Call-ID."""
        self._last.pop(device_id, None)


def call_of(req: SipRequest) -> tuple[str, int]:
    """A request's Call-ID and CSeq number (SipError when either is missing or malformed)."""
    return required(req, "Call-ID"), parse_cseq(required(req, "CSeq"))[0]


def expires_of(req: SipRequest) -> int:
    """The registration time a REGISTER asks for: its Expires, else its Contact's ``expires``."""
    raw = req.get("Expires")
    if raw is None:
        contact = req.get("Contact")
        raw = parse_address(contact).params.get("expires") if contact else None
    if raw is None:
        return DEFAULT_EXPIRES_S
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 10:
        raise SipError("bad Expires")
    return int(raw)


def is_gb_id(v: str) -> bool:
    return len(v) == 20 and v.isascii() and v.isdigit()


def gb_date(now: float) -> str:
    """GB/T 28181's Date in a REGISTER answer: local time, ``YYYY-MM-DDTHH:MM:SS.mmm``."""
    t = time.localtime(now)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(now * 1000) % 1000:03d}"
