"""The access platform's registry: one :class:`DeviceState` per device, its channels, and the
events it emits when a verdict (:mod:`collector.gb28181.verdict`) changes.

Subscribers get a :class:`DeviceEvent` or :class:`ChannelEvent` for listed devices only. A
device the inventory does not list (``listed(id)`` False, neither it nor any of its channels)
is kept apart in :meth:`Registry.unlisted` (bounded, oldest dropped) with its catalog, for
import; it never reaches a subscriber. Verdicts that change by time alone (a registration
expiring, keepalives stopping) are found by :meth:`Registry.tick`.

What changed since the last :meth:`Registry.take_dirty` is noted for the store (a set add per
message): a keepalive moves only the device's times, a registration or an answer the whole
row, a catalog its channels. :meth:`Registry.restore` reads back what the store kept.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import replace
from types import MappingProxyType

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.state import (
    ChannelEvent,
    ChannelState,
    DeviceEvent,
    DeviceInfoFields,
    DeviceState,
    GbEvent,
    GbVerdict,
)
from collector.gb28181.verdict import channel_verdict, device_verdict, offline_at
from probes.gb28181.manscdp import Catalog, CatalogItem, DeviceInfo
from probes.gb28181.transport import Peer

CATALOG_ASSEMBLY_S = 60.0  # parts of one catalog answer (same SN) are gathered this long


def _channel(item: CatalogItem, device_id: str, now: float, old: ChannelState | None) -> ChannelState:
    status = item.event if item.event in ("ON", "OFF") else item.status
    if not status and old is not None:
        status = old.status
    return ChannelState(item.device_id, device_id, item.name, item.manufacturer, item.model, item.civil_code,
                        item.address, item.parental, item.parent_id, status, now)


class Registry:
    def __init__(self, settings: Gb28181Settings, *, listed: Callable[[str], bool] | None = None) -> None:
        self.settings = settings
        self._listed = listed
        self._devices: dict[str, DeviceState] = {}
        self._unlisted: dict[str, DeviceState] = {}
        self._verdicts: dict[str, GbVerdict] = {}
        self._chan_verdicts: dict[str, dict[str, GbVerdict]] = {}  # device -> channel -> verdict
        self._assembly: dict[tuple[str, int], tuple[float, int, set[str]]] = {}
        self._subscribers: list[Callable[[GbEvent], None]] = []
        self._deadlines: list[tuple[float, str]] = []  # (offline_at, device) of online devices; stale ones skipped
        self._dirty_seen: set[str] = set()  # only the times moved (a keepalive)
        self._dirty_full: set[str] = set()  # the registration or an answer
        self._dirty_channels: set[str] = set()  # its catalog
        self._gone: set[str] = set()  # forgotten (an unlisted device past max_unlisted)
        self._owner: dict[str, str] = {}  # channel -> the listed device whose catalog lists it (last told)

    # -- reading --------------------------------------------------------------------------
    def subscribe(self, fn: Callable[[GbEvent], None]) -> None:
        self._subscribers.append(fn)

    def device(self, device_id: str) -> DeviceState | None:
        return self._devices.get(device_id) or self._unlisted.get(device_id)

    def devices(self) -> list[DeviceState]:
        """Listed devices (the ones counted)."""
        return list(self._devices.values())

    def unlisted(self) -> list[DeviceState]:
        """Devices that registered but the inventory does not list: never counted."""
        return list(self._unlisted.values())

    def verdict(self, device_id: str) -> GbVerdict | None:
        return self._verdicts.get(device_id)

    def channel_verdict(self, device_id: str, channel_id: str) -> GbVerdict | None:
        return self._chan_verdicts.get(device_id, {}).get(channel_id)

    def online_elsewhere(self, gb_id: str, source: str) -> bool:
        """Whether *gb_id* (a camera's GB ID) is online by another word than device *source*'s: its
        own registration when *source* lists it as a channel, or the catalog of the device listing
        it when *source* is itself (a camera that registers by itself and is behind an NVR too)."""
        if source != gb_id and self._verdicts.get(gb_id) is GbVerdict.ONLINE:
            return True
        owner = self._owner.get(gb_id)
        return owner is not None and owner != source and self.channel_verdict(owner, gb_id) is GbVerdict.ONLINE

    def _is_listed(self, device_id: str, channels: Iterable[str] = ()) -> bool:
        if self._listed is None:
            return True
        return self._listed(device_id) or any(self._listed(c) for c in channels)

    # -- writing --------------------------------------------------------------------------
    def take_dirty(self) -> tuple[set[str], set[str], set[str], set[str]]:
        """(times moved, rows changed, catalogs changed, forgotten) since the last call; cleared."""
        out = (self._dirty_seen - self._dirty_full, self._dirty_full, self._dirty_channels, self._gone)
        self._dirty_seen, self._dirty_full, self._dirty_channels, self._gone = set(), set(), set(), set()
        return out

    def mark_dirty(self, full: set[str], channels: set[str], seen: set[str] | None = None) -> None:
        """Rows whose write failed or was held back: taken again at the next take."""
        self._dirty_full |= full
        self._dirty_channels |= channels
        if seen:
            self._dirty_seen |= seen

    def restore(self, states: Iterable[DeviceState], now: float) -> int:
        """Devices read back at a start: their verdicts follow (events emitted), a registration in
        force keeps being honoured, and their silence counts from *now*. Returns how many."""
        n = 0
        for st in states:
            listed = self._is_listed(st.device_id, st.channels)
            self._put(replace(st, restored_at=now, listed=listed), now, channels_changed=True)
            n += 1
        self._dirty_seen, self._dirty_full, self._dirty_channels = set(), set(), set()
        return n

    def _put(self, dev: DeviceState, now: float, *, channels_changed: bool = False, full: bool = True) -> None:
        dev_id = dev.device_id
        (self._dirty_full if full else self._dirty_seen).add(dev_id)
        if channels_changed:
            self._dirty_channels.add(dev_id)
            if dev.listed:  # (an unlisted device's channels never reach a camera)
                for ch in dev.channels:
                    self._owner[ch] = dev_id
        if not dev.listed:
            self._unlisted[dev_id] = dev
            while len(self._unlisted) > self.settings.max_unlisted:
                gone = next(iter(self._unlisted))
                del self._unlisted[gone]
                self._gone.add(gone)
            return
        self._devices[dev.device_id] = dev
        self._evaluate(dev, now, channels_changed)

    def _evaluate(self, dev: DeviceState, now: float, channels_changed: bool) -> None:
        s = self.settings
        v = device_verdict(dev, now, s)
        if v is GbVerdict.ONLINE:
            heapq.heappush(self._deadlines, (offline_at(dev, s), dev.device_id))
        old = self._verdicts.get(dev.device_id)
        if v is not old:
            self._verdicts[dev.device_id] = v
            self._emit(DeviceEvent(dev.device_id, v, old, now, dev.last_seen))
        elif not channels_changed:
            return
        known = self._chan_verdicts.setdefault(dev.device_id, {})
        for ch in dev.channels:
            cv = channel_verdict(dev, ch, now, s)
            prev = known.get(ch)
            if cv is not None and cv is not prev:
                known[ch] = cv
                self._emit(ChannelEvent(dev.device_id, ch, cv, prev, now, dev.last_seen))
        for ch in [c for c in known if c not in dev.channels]:
            prev = known[ch]  # dropped from a complete catalog
            if prev is not GbVerdict.NOT_REGISTERED:
                known[ch] = GbVerdict.NOT_REGISTERED
                self._emit(ChannelEvent(dev.device_id, ch, GbVerdict.NOT_REGISTERED, prev, now, dev.last_seen))

    def _emit(self, ev: GbEvent) -> None:
        for fn in self._subscribers:
            fn(ev)

    def register(self, device_id: str, peer: Peer, expires_s: int, now: float) -> bool:
        """A successful REGISTER; True when it starts a registration (none in force before)."""
        old = self.device(device_id)
        fresh = old is None or not old.registered or now >= offline_at(old, self.settings)
        base = old if old is not None else DeviceState(device_id, listed=self._is_listed(device_id))
        dev = replace(base, peer=peer, registered=True, expires_at=now + expires_s, last_seen=now,
                      registered_at=now if fresh else base.registered_at,
                      catalog_asked_at=None if fresh else base.catalog_asked_at)
        self._put(dev, now)
        return fresh

    def unregister(self, device_id: str, now: float) -> None:
        """REGISTER with Expires: 0: the device leaves."""
        dev = self.device(device_id)
        if dev is not None:
            self._put(replace(dev, registered=False, expires_at=now), now)

    def seen(self, device_id: str, peer: Peer, now: float, *, keepalive_status: str | None = None) -> DeviceState | None:
        """A message from a registered device (a keepalive when *keepalive_status* is given).
        None when the device has no registration in force, or it came from another address
        than the registration's (the message is then not believed)."""
        dev = self._devices.get(device_id) or self._unlisted.get(device_id)
        if dev is None or not dev.registered or now >= dev.expires_at:
            return None
        old = dev.peer
        if old is not None and old.host != peer.host:
            return None
        dev = dev.alive(now, keepalive_status)
        if old is None or old.conn != peer.conn or old.port != peer.port:  # a new TCP connection, a NAT's new port
            dev = replace(dev, peer=peer)
            self._put(dev, now)
        else:
            self._put(dev, now, full=False)
        return dev

    def asked(self, device_id: str, now: float, *, catalog: bool = False, status: bool = False) -> None:
        dev = self.device(device_id)
        if dev is None:
            return
        if catalog:
            dev = replace(dev, catalog_asked_at=now)
        if status:
            dev = replace(dev, status_asked_at=now)
        if dev.listed:
            self._devices[device_id] = dev
        else:
            self._unlisted[device_id] = dev

    def apply_info(self, info: DeviceInfo, now: float) -> None:
        dev = self.device(info.device_id)
        if dev is not None:
            fields = DeviceInfoFields(info.device_name, info.manufacturer, info.model, info.firmware, info.channels)
            self._put(replace(dev, info=fields), now)

    def apply_catalog(self, cat: Catalog, device_id: str, now: float) -> None:
        """A catalog message from *device_id* (an answer part, or a notification of changes)."""
        dev = self.device(device_id)
        if dev is None:
            return
        channels = dict(dev.channels)
        for item in cat.items:
            if cat.notify and item.event == "DEL":
                channels.pop(item.device_id, None)
            else:
                channels[item.device_id] = _channel(item, device_id, now, channels.get(item.device_id))
        catalog_at = dev.catalog_at
        if not cat.notify:
            key = (device_id, cat.sn)
            first, _, ids = self._assembly.get(key, (now, cat.sum_num, set()))
            ids.update(i.device_id for i in cat.items)
            if len(ids) >= cat.sum_num:  # complete: channels it no longer lists are gone
                self._assembly.pop(key, None)
                channels = {k: v for k, v in channels.items() if k in ids}
                catalog_at = now
            else:
                self._assembly[key] = (first, cat.sum_num, ids)
        listed = dev.listed or self._is_listed(device_id, channels)
        if listed and not dev.listed:
            self._unlisted.pop(device_id, None)  # an NVR whose channels the inventory lists
        self._put(replace(dev, channels=MappingProxyType(channels), catalog_at=catalog_at, listed=listed), now,
                  channels_changed=True)

    def tick(self, now: float) -> None:
        """Emit the verdicts that changed by time alone (expiry, keepalive timeout). Only the
        devices whose deadline passed are looked at (a heap), not all of them."""
        s = self.settings
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            _, dev_id = heapq.heappop(heap)
            dev = self._devices.get(dev_id)
            if dev is not None and self._verdicts.get(dev_id) is GbVerdict.ONLINE and now >= offline_at(dev, s):
                self._evaluate(dev, now, False)
        for key in [k for k, (first, _, _) in self._assembly.items() if now - first > CATALOG_ASSEMBLY_S]:
            del self._assembly[key]
