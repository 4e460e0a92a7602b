"""Catalog subscriptions (GB/T 28181-2016 §9.11, RFC 6665): the platform SUBSCRIBEs to each
registered device's catalog changes, so a channel switched OFF, added or removed is known when
the device NOTIFYs it, not at the next periodic Catalog query.

- At each new registration (and for a registered device without one, e.g. after a restart):
  ``SUBSCRIBE`` with ``Event: Catalog``, ``Expires: subscribe_expires_s`` and a MANSCDP
  Catalog query body.
- 2xx: the subscription is active for the Expires the device granted; it is refreshed in the
  same dialog at 80 % of it (RFC 6665 leaves the margin to the subscriber). A refresh answered
  481 (the device forgot the dialog, e.g. it restarted) starts a new subscription.
- 4xx-6xx to a new SUBSCRIBE (405 Method Not Allowed, 489 Bad Event, 501 ...): the device does
  not take subscriptions; it is not asked again during this registration and the periodic
  Catalog queries (``catalog_interval_s``) remain its only catalog source.
- No answer within :data:`ANSWER_S`: asked again at a later scan.
- ``NOTIFY`` with ``Subscription-State: terminated``: the subscription is gone; a new one is
  sent at the next tick (the catalog it carried is applied as any notification).

The NOTIFY bodies themselves are read by the platform (a catalog notification, whether or not
subscribed); this module keeps the dialogs.
"""

from __future__ import annotations

import heapq
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.state import DeviceState
from collector.gb28181.verdict import offline_at
from probes.gb28181 import bodies
from probes.gb28181.fields import new_tag, parse_address, parse_cseq
from probes.gb28181.sip import SipError, SipRequest, SipResponse

log = logging.getLogger("camwatch.gb28181")

ANSWER_S = 32.0  # RFC 3261 Timer F (64 x T1): a SUBSCRIBE unanswered this long is given up
REFRESH_AT = 0.8  # of the granted Expires


class SubState(StrEnum):
    PENDING = "pending"  # sent, not answered yet
    ACTIVE = "active"
    REFUSED = "refused"  # the device does not take catalog subscriptions (this registration)


@dataclass(slots=True)
class Subscription:
    device_id: str
    call_id: str
    from_tag: str
    cseq: int
    state: SubState
    sent_at: float
    to_tag: str | None = None
    expires_at: float = 0.0
    status: int | None = None  # the device's last final answer


# (device, method, body, extra headers, call-id, from tag, to tag, cseq) -> the request, sent or not
Send = Callable[[DeviceState, str, bytes, tuple[tuple[str, str], ...], str, str, str | None, int], bool]


def _event_is_catalog(value: str | None) -> bool:
    return value is not None and value.partition(";")[0].strip().lower() == "catalog"


class CatalogSubscriptions:
    def __init__(self, settings: Gb28181Settings, send: Send, next_sn: Callable[[], int], host: str) -> None:
        self.settings = settings
        self._send = send
        self._next_sn = next_sn
        self._host = host
        self._subs: dict[str, Subscription] = {}
        self._by_call: dict[str, str] = {}  # Call-ID -> device
        self._refresh: list[tuple[float, str, str]] = []  # (when, device, call-id); stale ones skipped
        self._anew: list[str] = []  # terminated or lost: subscribed anew at the next tick
        self.sent = 0
        self.notifies = 0

    def get(self, device_id: str) -> Subscription | None:
        return self._subs.get(device_id)

    def forget(self, device_id: str) -> None:
        """The device registered anew or left: its subscription (or refusal) is forgotten."""
        sub = self._subs.pop(device_id, None)
        if sub is not None:
            self._by_call.pop(sub.call_id, None)

    def _request(self, dev: DeviceState, sub: Subscription) -> bool:
        body = bodies.query("Catalog", self._next_sn(), dev.device_id)
        extra = (("Event", "Catalog"), ("Expires", str(self.settings.subscribe_expires_s)))
        sent = self._send(dev, "SUBSCRIBE", body, extra, sub.call_id, sub.from_tag, sub.to_tag, sub.cseq)
        if sent:
            self.sent += 1
        return sent

    def start(self, dev: DeviceState, now: float) -> Subscription | None:
        """A new subscription to *dev*'s catalog (any old one forgotten)."""
        if not self.settings.subscribe_catalog:
            return None
        self.forget(dev.device_id)
        sub = Subscription(dev.device_id, f"{secrets.token_hex(8)}@{self._host}", new_tag(), 1, SubState.PENDING, now)
        self._subs[dev.device_id] = sub
        self._by_call[sub.call_id] = dev.device_id
        self._request(dev, sub)
        return sub

    def due(self, dev: DeviceState, now: float) -> bool:
        """A registered device that should be sent a new SUBSCRIBE: none yet, or the last one
        went unanswered (a refused one is not asked again this registration)."""
        if not self.settings.subscribe_catalog or not dev.registered or now >= offline_at(dev, self.settings):
            return False
        sub = self._subs.get(dev.device_id)
        return sub is None or (sub.state is SubState.PENDING and now - sub.sent_at >= ANSWER_S)

    def on_response(self, resp: SipResponse, now: float) -> bool:
        """An answer to one of our SUBSCRIBEs; False when it is not one."""
        device_id = self._by_call.get(resp.get("Call-ID") or "")
        if device_id is None:
            return False
        sub = self._subs[device_id]
        try:
            cseq, method = parse_cseq(resp.get("CSeq") or "")
        except SipError:
            return True
        if method != "SUBSCRIBE" or cseq != sub.cseq or resp.status < 200:
            return True
        sub.status = resp.status
        refresh = sub.to_tag is not None
        if 200 <= resp.status < 300:
            try:
                sub.to_tag = parse_address(resp.get("To") or "").tag or sub.to_tag
            except SipError:
                pass
            raw = (resp.get("Expires") or "").strip()
            granted = int(raw) if raw.isdigit() and len(raw) < 10 else self.settings.subscribe_expires_s
            granted = min(granted, self.settings.subscribe_expires_s)
            if granted <= 0:
                self.forget(device_id)
                return True
            if sub.state is not SubState.ACTIVE:
                log.info("gb28181: %s catalog subscription active for %d s", device_id, granted)
            sub.state, sub.expires_at = SubState.ACTIVE, now + granted
            heapq.heappush(self._refresh, (now + granted * REFRESH_AT, device_id, sub.call_id))
        elif refresh:  # a refresh refused (481: the device lost the dialog, e.g. restarted): a new one
            sub.state = SubState.PENDING
            self._anew.append(device_id)
        else:
            sub.state = SubState.REFUSED
            log.info("gb28181: %s refused the catalog subscription (%d); its catalog is asked every %g s",
                     device_id, resp.status, self.settings.catalog_interval_s)
        return True

    def on_notify(self, req: SipRequest, device_id: str, now: float) -> None:
        """A NOTIFY from *device_id* (its body is read by the platform)."""
        if not _event_is_catalog(req.get("Event")):
            return
        self.notifies += 1
        sub = self._subs.get(device_id)
        state = (req.get("Subscription-State") or "").partition(";")[0].strip().lower()
        if sub is not None and state == "terminated" and req.get("Call-ID") == sub.call_id:
            sub.state = SubState.PENDING
            self._anew.append(device_id)  # a new subscription at the next tick

    def tick(self, now: float, device: Callable[[str], DeviceState | None]) -> list[str]:
        """Refresh the subscriptions due (a heap: only those are looked at); devices gone offline
        are dropped. Returns the devices whose subscription must be started anew (terminated,
        lost, or a refresh that could not be sent)."""
        heap = self._refresh
        anew: list[str] = []
        while heap and heap[0][0] <= now:
            _, device_id, call_id = heapq.heappop(heap)
            sub = self._subs.get(device_id)
            if sub is None or sub.call_id != call_id or sub.state is not SubState.ACTIVE:
                continue
            dev = device(device_id)
            if dev is None or not dev.registered or now >= offline_at(dev, self.settings):
                self.forget(device_id)
                continue
            sub.cseq += 1
            if not self._request(dev, sub):
                anew.append(device_id)
        anew.extend(self._anew)
        self._anew.clear()
        return anew
