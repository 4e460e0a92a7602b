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
from collections.abc import Callable, Collection, Iterable
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
from collector.gb28181.vouching import Vouching
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
    def __init__(self, settings: Gb28181Settings, *, listed: Callable[[str], bool] | None = None,
                 sole: Callable[[str], bool] | None = None) -> None:
        self.settings = settings
        self._listed = listed
        self._devices: dict[str, DeviceState] = {}
        self._unlisted: dict[str, DeviceState] = {}
        self._verdicts: dict[str, GbVerdict] = {}
        self._chan_verdicts: dict[str, dict[str, GbVerdict]] = {}  # device -> channel -> verdict
        self._assembly: dict[tuple[str, int], tuple[float, int, set[str]]] = {}  # (first, unreadable, IDs)
        self._subscribers: list[Callable[[GbEvent], None]] = []
        self._deadlines: list[tuple[float, str]] = []  # (offline_at, device) of online devices; stale ones skipped
        self._dirty_seen: set[str] = set()  # only the times moved (a keepalive)
        self._dirty_full: set[str] = set()  # the registration or an answer
        self._dirty_channels: set[str] = set()  # its catalog
        self._gone: set[str] = set()  # forgotten (an unlisted device past max_unlisted)
        self._listers: dict[str, set[str]] = {}  # channel -> every listed device whose catalog lists it
        self._combined: dict[str, bool] = {}  # camera GB ID -> online by any word (its own, or a lister's)
        self.vouching = Vouching(settings, self.device, self._is_listed, sole)
        self.trust = self.vouching.trust  # gb28181.trusted_devices: who may vouch for inventory cameras

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
        own registration, or the catalog of any other device listing it (an NVR and a cascaded
        platform both listing it; a camera that registers by itself and is behind an NVR too)."""
        return any(d != source for d in self._online_by(gb_id))

    def _online_by(self, gb_id: str) -> Iterable[str]:
        """The devices whose word has *gb_id* online now (itself, or a device listing it ON)."""
        if self._verdicts.get(gb_id) is GbVerdict.ONLINE:
            yield gb_id
        for dev_id in self._listers.get(gb_id, ()):
            if self._chan_verdicts.get(dev_id, {}).get(gb_id) is GbVerdict.ONLINE:
                yield dev_id

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
        force keeps being honoured, and the silence of a device alive at the stop counts from *now*;
        one already silent for ``keepalive_timeout_s`` when its row was last written (a clean stop
        writes the dead ones' rows: ``kept_at``) stays offline until it speaks. Returns how many."""
        n, states, timeout = 0, list(states), self.settings.keepalive_timeout_s
        selves = {st.device_id for st in states if st.registered_at is not None}  # (whatever the order read)
        for st in states:  # (kept before the allow-list was set, or the camera registered as itself: not taken now)
            kept = {k: c for k, c in st.channels.items() if self.vouching.may_tell(st.device_id, k, selves) is None}
            chans = st.channels if len(kept) == len(st.channels) else MappingProxyType(kept)
            listed = self._is_listed(st.device_id, chans)
            heard = st.last_seen if st.last_seen is not None else st.registered_at
            dead = st.kept_at is not None and heard is not None and heard + timeout <= st.kept_at
            self._put(replace(st, restored_at=None if dead else now, listed=listed, channels=chans), now,
                      channels_changed=True)
            n += 1
        self._dirty_seen, self._dirty_full, self._dirty_channels = set(), set(), set()
        return n

    def _put(self, dev: DeviceState, now: float, *, channels_changed: bool = False, full: bool = True,
             changed: Collection[str] | None = None) -> None:
        """Keep *dev* and emit what changed; *changed*: the only channels that may have (None: any)."""
        dev_id = dev.device_id
        (self._dirty_full if full else self._dirty_seen).add(dev_id)
        lost = False  # a listed device lost channels: it may list nothing of the inventory any more
        if channels_changed:
            self._dirty_channels.add(dev_id)
            if dev.listed:  # (an unlisted device's channels never reach a camera)
                old = self._devices.get(dev_id)
                for ch in (() if old is None else old.channels) if changed is None else changed:
                    if ch not in dev.channels:
                        self._unlist(ch, dev_id)
                        lost = True
                for ch in dev.channels if changed is None else changed:
                    if ch in dev.channels:
                        self._listers.setdefault(ch, set()).add(dev_id)
        if not dev.listed:
            self._unlisted[dev_id] = dev
            while len(self._unlisted) > self.settings.max_unlisted:
                gone = next(iter(self._unlisted))
                del self._unlisted[gone]
                self._gone.add(gone)
            return
        self._devices[dev.device_id] = dev
        self._evaluate(dev, now, channels_changed, changed)
        if lost and not self._is_listed(dev_id, dev.channels):  # (its inventory cameras left out: not its to tell)
            for table in (self._devices, self._verdicts, self._chan_verdicts):
                table.pop(dev_id, None)
            for ch in dev.channels:
                self._unlist(ch, dev_id)
            self._put(replace(dev, listed=False), now)  # with the unlisted devices again (`--unlisted`)

    def _unlist(self, ch: str, dev_id: str) -> None:
        listers = self._listers.get(ch)
        if listers is not None:
            listers.discard(dev_id)
            if not listers:
                del self._listers[ch]

    def _evaluate(self, dev: DeviceState, now: float, channels_changed: bool, changed: Collection[str] | None = None,
                  dating: tuple[float, float | None] | None = None) -> None:
        """*dating*: (at, last sign of life) of a verdict changed by time (an expiry, a keepalive
        timeout); None: told by a message at *now* (its events dated at *now*, see DeviceEvent)."""
        told: dict[str, bool] = {}  # GB ID -> an online event was emitted for it (this evaluation)
        self._evaluate_device(dev, now, channels_changed, told, changed, dating or (now, None))
        for gb_id, online_told in told.items():  # the combined word: online while any device says so
            by = next(iter(self._online_by(gb_id)), None)
            was = self._combined.get(gb_id, False)
            self._combined[gb_id] = by is not None
            if by is not None and not was and not online_told:  # back online by a word that did not change
                self._emit(ChannelEvent(by, gb_id, GbVerdict.ONLINE, None, now, None))
        if len(self._combined) > 4 * (len(self._listers) + len(self._devices)) + 1000:
            for gb_id in [k for k in self._combined if k not in self._listers and k not in self._devices]:
                del self._combined[gb_id]

    def _evaluate_device(self, dev: DeviceState, now: float, channels_changed: bool, told: dict[str, bool],
                         changed: Collection[str] | None, dating: tuple[float, float | None]) -> None:
        s = self.settings
        at, last = dating
        v = device_verdict(dev, now, s)
        if v is GbVerdict.ONLINE:
            heapq.heappush(self._deadlines, (offline_at(dev, s), dev.device_id))
        old = self._verdicts.get(dev.device_id)
        if v is not old:
            self._verdicts[dev.device_id] = v
            told[dev.device_id] = told.get(dev.device_id, False) or v is GbVerdict.ONLINE
            self._emit(DeviceEvent(dev.device_id, v, old, at, last))
        elif not channels_changed:
            return
        if v is not old:
            changed = None  # every channel shares the device's new verdict
        known = self._chan_verdicts.setdefault(dev.device_id, {})
        for ch in dev.channels if changed is None else [c for c in changed if c in dev.channels]:
            cv = channel_verdict(dev, ch, now, s)
            prev = known.get(ch)
            if cv is not None and cv is not prev:
                known[ch] = cv
                told[ch] = told.get(ch, False) or cv is GbVerdict.ONLINE
                self._emit(ChannelEvent(dev.device_id, ch, cv, prev, at, last))
        for ch in [c for c in (known if changed is None else changed) if c in known and c not in dev.channels]:
            prev = known[ch]  # dropped from a complete catalog (or deleted by a notification)
            if prev is not GbVerdict.NOT_REGISTERED:
                known[ch] = GbVerdict.NOT_REGISTERED
                told.setdefault(ch, False)
                self._emit(ChannelEvent(dev.device_id, ch, GbVerdict.NOT_REGISTERED, prev, at, last))

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
        listers = [d for d in self._listers.get(device_id, ()) if d != device_id]
        if listers and self.vouching.speaks_for_itself(device_id):  # listed before it registered as itself: no longer
            for d in listers:
                other = self._devices.get(d)
                if other is not None:
                    chans = MappingProxyType({k: c for k, c in other.channels.items() if k != device_id})
                    self._put(replace(other, channels=chans), now, channels_changed=True, changed=(device_id,))
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

    def apply_info(self, info: DeviceInfo, device_id: str, now: float) -> None:
        """*device_id*'s DeviceInfo answer: about the device itself (GB/T 28181-2016 A.2.6.5), so
        one naming another device is not taken."""
        dev = self.device(device_id)
        if dev is not None and info.device_id == device_id:
            fields = DeviceInfoFields(info.device_name, info.manufacturer, info.model, info.firmware, info.channels)
            self._put(replace(dev, info=fields), now)

    def apply_catalog(self, cat: Catalog, device_id: str, now: float) -> None:
        """A catalog message from *device_id* (an answer part, or a notification of changes).
        Only the part's channels are evaluated (a complete catalog looks at them all once)."""
        dev = self.device(device_id)
        if dev is None:
            return
        channels = dict(dev.channels)
        items = self.vouching.vouched(cat.items, dev, channels, now)
        told: dict[str, None] = {}  # (ordered: events in the catalog's order)
        for item in items:
            told[item.device_id] = None
            if cat.notify and item.event == "DEL":
                channels.pop(item.device_id, None)
            else:
                channels[item.device_id] = _channel(item, device_id, now, channels.get(item.device_id))
        catalog_at = dev.catalog_at
        changed: Collection[str] | None = told
        if not cat.notify and cat.sum_num is not None:  # (a total not told: no channel is taken as gone)
            key = (device_id, cat.sn)
            first, bad, ids = self._assembly.get(key, (now, 0, set()))
            bad += len(cat.skipped)  # items it listed that could not be read (no DeviceID ...)
            cap = self.settings.max_channels_per_device
            ids.update(i.device_id for i in cat.items if len(ids) <= cap)
            if len(ids) + bad >= min(cat.sum_num, cap):  # complete: channels it no longer lists are gone
                self._assembly.pop(key, None)
                if not bad:  # (else one it no longer lists may be an item that could not be read: kept)
                    channels = {k: v for k, v in channels.items() if k in ids}
                catalog_at = now
                changed = None
            else:
                self._assembly[key] = (first, bad, ids)
        listed = dev.listed or self._is_listed(device_id, channels if changed is None else changed)
        if listed and not dev.listed:
            self._unlisted.pop(device_id, None)  # an NVR whose channels the inventory lists
            changed = None
        self._put(replace(dev, channels=MappingProxyType(channels), catalog_at=catalog_at, listed=listed), now,
                  channels_changed=True, changed=changed)

    def tick(self, now: float) -> None:
        """Emit the verdicts that changed by time alone (expiry, keepalive timeout). Only the
        devices whose deadline passed are looked at (a heap), not all of them."""
        s = self.settings
        heap = self._deadlines
        while heap and heap[0][0] <= now:
            _, dev_id = heapq.heappop(heap)
            dev = self._devices.get(dev_id)
            if dev is not None and self._verdicts.get(dev_id) is GbVerdict.ONLINE and now >= (at := offline_at(dev, s)):
                # dated at the deadline: an expiry exactly, a keepalive timeout between the last sign of life and it
                timeout = dev.registered and at < dev.expires_at
                self._evaluate(dev, now, False, dating=(at, dev.heard_at if timeout else None))
        for key in [k for k, (first, _, _) in self._assembly.items() if now - first > CATALOG_ASSEMBLY_S]:
            del self._assembly[key]
