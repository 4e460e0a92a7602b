"""Who may vouch for an inventory camera (``gb28181.trusted_devices``, opt-in).

NVRs and cascaded platforms register with the shared ``gb28181.password``, so anyone who knows it
(every installer) could register a made-up device ID and list inventory cameras ON. With the
allow-list set, only the devices in it (and a camera registering as itself, for itself) tell the
state of inventory cameras through their catalogs: any other device's entries for them are left
out (:meth:`collector.gb28181.registry.Registry.apply_catalog`), and logged once per sender
address every ``auth_block_s`` (a flood of made-up IDs: one line, the next one counting the rest).
Empty (the default): every registered device may, as before.
"""

from __future__ import annotations

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.refusals import Told, tell
from probes.gb28181.transport import Peer


class Trust:
    def __init__(self, settings: Gb28181Settings) -> None:
        self.devices = frozenset(settings.trusted_devices)
        self._told = Told(settings.auth_block_s)

    def trusted(self, device_id: str) -> bool:
        """Whether *device_id* may tell the state of inventory cameras it lists (no allow-list: any device)."""
        return not self.devices or device_id in self.devices

    def vouches(self, device_id: str, channel_id: str) -> bool:
        """Whether *device_id*'s catalog entry *channel_id* is taken (of an inventory camera)."""
        return channel_id == device_id or self.trusted(device_id)

    def ignored(self, device_id: str, peer: Peer | None, count: int, now: float) -> None:
        """*device_id* listed *count* inventory cameras and is not trusted: logged once a while per address."""
        host = peer.host if peer is not None else "-"
        tell(self._told, ("untrusted", host), now, "%s from %s lists %d inventory camera(s) but is not in "
             "gb28181.trusted_devices: its word on them is ignored (only the devices listed there, or a camera "
             "registering as itself, tell a camera's state; add the NVR's or platform's ID if it is yours)",
             device_id, host, count)
