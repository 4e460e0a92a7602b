"""THE RULE FOR A GB/T 28181 DEVICE'S AND CHANNEL'S STATE, pure: from what its signalling
told (:class:`DeviceState`), the time and the settings.

- A device never registered: ``not_registered``.
- Registered, but the registration expired or was withdrawn (Expires: 0), or nothing came
  from it for ``keepalive_timeout_s`` (default 75 s, against the standard's 3 x 60 s):
  ``platform_offline``. Any message counts as a sign of life (a keepalive, or its answer to
  the DeviceStatus query camwatch sends when a keepalive is late), so a lost UDP keepalive
  does not take a device down. A registration read back at camwatch's start counts its
  silence from that start (``DeviceState.heard_at``): camwatch's own downtime is not the
  device's, and a device that died meanwhile is found ``keepalive_timeout_s`` after the start.
- A channel shares its device's verdict when that is not online; else ``channel_off`` when its
  catalog says OFF, ``not_registered`` when a complete catalog lacks it, online when ON (or
  when the catalog does not tell: many IPCs leave Status out), and unknown (None) before
  the first catalog.
"""

from __future__ import annotations

from collections.abc import Iterable

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.state import DeviceState, GbVerdict


def offline_at(dev: DeviceState, s: Gb28181Settings) -> float:
    """When a registered device turns offline if nothing more arrives from it."""
    return min(dev.expires_at, dev.heard_at + s.keepalive_timeout_s)


def device_verdict(dev: DeviceState | None, now: float, s: Gb28181Settings) -> GbVerdict:
    if dev is None or dev.registered_at is None:
        return GbVerdict.NOT_REGISTERED
    if not dev.registered or now >= offline_at(dev, s):
        return GbVerdict.PLATFORM_OFFLINE
    return GbVerdict.ONLINE


def registered_now(devices: Iterable[DeviceState], now: float, s: Gb28181Settings) -> int:
    """How many of *devices* are registered and alive at *now* (``online``): not those whose
    registration expired or was withdrawn, nor those whose keepalives stopped."""
    return sum(1 for d in devices if device_verdict(d, now, s) is GbVerdict.ONLINE)


def channel_verdict(dev: DeviceState | None, channel_id: str, now: float, s: Gb28181Settings) -> GbVerdict | None:
    """A channel's verdict (the device's own ID is the device's); None: not known yet."""
    v = device_verdict(dev, now, s)
    if v is not GbVerdict.ONLINE or dev is None:
        return v
    if channel_id == dev.device_id:
        return v
    ch = dev.channels.get(channel_id)
    if ch is None:
        return GbVerdict.NOT_REGISTERED if dev.catalog_at is not None else None
    return GbVerdict.CHANNEL_OFF if ch.off else GbVerdict.ONLINE


def status_query_due(dev: DeviceState, now: float, s: Gb28181Settings) -> bool:
    """A registered device whose keepalive is late (interval + grace) and that was not asked
    since its last sign of life, nor in the last ``status_grace_s`` (at most one query a grace)."""
    if not dev.registered or dev.last_seen is None:
        return False
    if now < dev.heard_at + s.keepalive_interval_s + s.status_grace_s:
        return False
    asked = dev.status_asked_at
    return asked is None or asked < dev.last_seen or now - asked >= max(s.status_grace_s, 1.0)


def catalog_due(dev: DeviceState, now: float, s: Gb28181Settings) -> bool:
    """A registered device whose catalog is older than ``catalog_interval_s`` (or missing), not
    asked within the last 30 s (an unanswered ask is repeated, not stormed)."""
    if not dev.registered or now >= offline_at(dev, s):
        return False
    if dev.catalog_asked_at is not None and now - dev.catalog_asked_at < min(30.0, s.catalog_interval_s):
        return False
    return dev.catalog_at is None or now - dev.catalog_at >= s.catalog_interval_s
