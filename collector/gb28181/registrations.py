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

A REGISTER whose 200 was lost is sent again as it was (same Call-ID, CSeq and Digest answer; over
UDP after the platform's kept answers are gone, with a new Via branch, or over a new TCP
connection). Its answer was already taken (:attr:`~probes.gb28181.digest.AuthResult.REPEATED`),
yet a 401 there reads to some firmware as a wrong password (it backs off): :meth:`BootCycles.repeated`
tells it from the same address the same 200 again. From another address it is a replay: refused.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Accepted:
    """A device's last accepted REGISTER."""

    call_id: str
    cseq: int
    answer: tuple[str, str] | None = None  # its Digest answer's nonce and response (digest.answer_of)
    host: str = ""  # the address it came from
    expires: int = 0  # the registration time granted


class BootCycles:
    """The Call-ID and CSeq of each device's last accepted REGISTER (bounded), with its answer."""

    def __init__(self, max_devices: int = MAX_DEVICES) -> None:
        self.max_devices = max_devices
        self._last: OrderedDict[str, Accepted] = OrderedDict()

    def accepted(self, device_id: str, call_id: str, cseq: int, *, in_force: bool,
                 answer: tuple[str, str] | None = None, host: str = "", expires: int = 0) -> Registration:
        """An accepted REGISTER of *device_id* (Expires > 0); *in_force*: a registration was in
        force before it. Remembers its Call-ID and CSeq (and its answer, address and granted time)."""
        last = self._last.get(device_id)
        self._last[device_id] = Accepted(call_id, cseq, answer, host, expires)
        self._last.move_to_end(device_id)
        while len(self._last) > self.max_devices:
            self._last.popitem(last=False)
        if not in_force:
            return Registration.NEW
        if last is not None and (last.call_id != call_id or cseq <= last.cseq):  # (RFC 3261 §10.3: not higher
            # is not a refresh; a UDP retransmission is answered before, from the platform's kept answers)
            return Registration.RESTART
        return Registration.REFRESH

    def last(self, device_id: str) -> tuple[str, int] | None:
        """The Call-ID and CSeq of *device_id*'s last accepted REGISTER, if remembered."""
        got = self._last.get(device_id)
        return None if got is None else (got.call_id, got.cseq)

    def repeated(self, device_id: str, call_id: str, cseq: int, answer: tuple[str, str] | None,
                 host: str) -> int | None:
        """The time granted to *device_id*'s last accepted REGISTER when this one repeats it (same
        Call-ID, CSeq and answer) from the same address: its 200 was lost, the same 200 again.
        None otherwise (from another address: a replay)."""
        got = self._last.get(device_id)
        if got is None or answer is None or (got.call_id, got.cseq, got.answer, got.host) != (call_id, cseq, answer, host):
            return None
        return got.expires

    def forget(self, device_id: str) -> None:
        """The device unregistered: its next REGISTER is a new registration whatever its Call-ID."""
        self._last.pop(device_id, None)


def accepted_headers(req: SipRequest, expires: int, now: float) -> tuple[tuple[str, str], ...]:
    """A 200 to an accepted REGISTER: the granted Expires, the Date (devices set their clock from
    it) and the request's Contact."""
    contact = req.get("Contact")
    return (("Expires", str(expires)), ("Date", gb_date(now)), *((("Contact", contact),) if contact is not None else ()))


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
