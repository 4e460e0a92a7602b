"""Who may tell an inventory camera's state in a catalog (README "Who speaks for a camera"): a
camera with its own inventory password that registered as itself is told by its own registration
only; with ``gb28181.trusted_devices`` set, only the devices named there vouch for inventory
cameras; and no device keeps more than ``max_channels_per_device`` channels. What is left out is
logged once per device (bounded), an untrusted device's once per address a while
(:class:`~collector.gb28181.trust.Trust`)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.state import ChannelState, DeviceState
from collector.gb28181.trust import Trust
from probes.gb28181.manscdp import CatalogItem

log = logging.getLogger("camwatch.gb28181")
IGNORED_KEPT = 10_000  # devices whose left-out catalog items were logged (once each)


class Vouching:
    def __init__(self, settings: Gb28181Settings, device: Callable[[str], DeviceState | None],
                 is_listed: Callable[[str], bool], sole: Callable[[str], bool] | None) -> None:
        self.settings = settings
        self._device = device
        self._is_listed = is_listed
        self._sole = sole
        self._ignored: OrderedDict[str, None] = OrderedDict()  # devices told about (vouching refused), bounded
        self.trust = Trust(settings)  # gb28181.trusted_devices: who may vouch for inventory cameras

    def speaks_for_itself(self, gb_id: str, selves: Collection[str] = ()) -> bool:
        """A camera with its own inventory password that registered as itself (a registration of its
        own, in force or read back; *selves*: those being read back): only its own word is taken.
        Until then the devices listing it tell it (an IPC behind an NVR never registers by itself)."""
        own = self._device(gb_id)
        if gb_id not in selves and (own is None or own.registered_at is None):
            return False
        return self._sole is not None and self._sole(gb_id)

    def may_tell(self, device_id: str, ch: str, selves: Collection[str] = ()) -> str | None:
        """Why *device_id*'s catalog entry *ch* is not taken ("own": a camera with its own inventory
        password that registered as itself, "untrusted": an inventory camera and *device_id* not in
        gb28181.trusted_devices), or None."""
        if ch == device_id:
            return None
        if self.speaks_for_itself(ch, selves):
            return "own"
        if not self.trust.vouches(device_id, ch) and self._is_listed(ch):
            return "untrusted"
        return None

    def vouched(self, items: Iterable[CatalogItem], dev: DeviceState, have: Mapping[str, ChannelState],
                now: float) -> list[CatalogItem]:
        """The catalog items *dev* may tell (:meth:`may_tell`), and no new channel beyond
        ``max_channels_per_device``; what is left out is logged."""
        device_id, cap = dev.device_id, self.settings.max_channels_per_device
        out: list[CatalogItem] = []
        n, over, own, untrusted = len(have), 0, 0, 0
        for item in items:
            ch = item.device_id
            why = self.may_tell(device_id, ch)
            if why == "own":
                own += 1
            elif why is not None:
                untrusted += 1
            elif ch in have or n < cap:
                n += ch not in have
                out.append(item)
            else:
                over += 1
        if untrusted:
            self.trust.ignored(device_id, dev.peer, untrusted, now)
        if (own or over) and device_id not in self._ignored:
            self._ignored[device_id] = None
            while len(self._ignored) > IGNORED_KEPT:
                self._ignored.popitem(last=False)
            if own:
                log.warning("gb28181: %s lists %d camera(s) that registered by themselves with their own inventory "
                            "password: ignored (only a camera's own registration tells its state)", device_id, own)
            if over:
                log.warning("gb28181: %s lists more channels than gb28181.max_channels_per_device (%d): %d more "
                            "ignored", device_id, cap, over)
        return out
