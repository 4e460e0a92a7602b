"""A device the inventory does not know, whose catalog lists only inventory cameras it may not speak
for (a camera that registered as itself with its own password, or any inventory camera when
gb28181.trusted_devices does not name it), stays with the unlisted devices (``camwatch gb28181
devices --unlisted``, the API's ``unlisted=true``): it was shown as listed with no channel, and in
neither view as a device to add."""

from __future__ import annotations

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.registry import Registry
from collector.gb28181.state import ChannelEvent, GbEvent, GbVerdict
from probes.gb28181.manscdp import Catalog, CatalogItem
from probes.gb28181.transport import Peer

STRANGER = "34020000001180000077"  # not in the inventory
NVR = "34020000001180000001"  # trusted
OWN = "34020000001320000004"  # an inventory camera with its own password (registers as itself)
CAM = "34020000001310000002"  # an inventory camera without one
INVENTORY = {OWN, CAM}
PEER = Peer("udp", "10.0.0.7", 5060)


def _ids(devs: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(d.device_id for d in devs)


def test_a_device_whose_camera_registered_as_itself_goes_back_to_the_unlisted() -> None:
    events: list[GbEvent] = []
    reg = Registry(Gb28181Settings(), listed=INVENTORY.__contains__, sole=lambda i: i == OWN)
    reg.subscribe(events.append)
    reg.register(STRANGER, PEER, 3600, 1000.0)
    assert _ids(reg.unlisted()) == [STRANGER]
    reg.apply_catalog(Catalog(STRANGER, 1, 1, (CatalogItem(OWN, status="ON"),)), STRANGER, 1001.0)
    assert _ids(reg.devices()) == [STRANGER]  # it lists an inventory camera (which has not registered yet)
    reg.register(OWN, Peer("udp", "10.0.0.8", 5060), 3600, 1002.0)  # the camera registers as itself
    assert _ids(reg.devices()) == [OWN] and _ids(reg.unlisted()) == [STRANGER]
    assert reg.verdict(STRANGER) is None and reg.channel_verdict(STRANGER, OWN) is None
    assert reg.online_elsewhere(OWN, "")  # only by its own word
    # its next catalogs keep it there: the camera is not its to tell
    reg.apply_catalog(Catalog(STRANGER, 2, 1, (CatalogItem(OWN, status="OFF"),)), STRANGER, 1003.0)
    assert _ids(reg.unlisted()) == [STRANGER] and STRANGER not in _ids(reg.devices())
    assert not [e for e in events if isinstance(e, ChannelEvent) and e.verdict is GbVerdict.CHANNEL_OFF]


def test_an_untrusted_device_listing_only_inventory_cameras_is_unlisted() -> None:
    reg = Registry(Gb28181Settings(trusted_devices=[NVR]), listed=INVENTORY.__contains__)
    reg.register(STRANGER, PEER, 3600, 1000.0)
    reg.apply_catalog(Catalog(STRANGER, 1, 1, (CatalogItem(CAM, status="ON"),)), STRANGER, 1001.0)
    assert _ids(reg.unlisted()) == [STRANGER] and reg.devices() == []
    assert not reg.trust.trusted(STRANGER)


def test_a_device_that_loses_one_of_two_inventory_cameras_stays_listed() -> None:
    reg = Registry(Gb28181Settings(), listed=INVENTORY.__contains__, sole=lambda i: i == OWN)
    reg.register(STRANGER, PEER, 3600, 1000.0)
    reg.apply_catalog(Catalog(STRANGER, 1, 2, (CatalogItem(OWN, status="ON"), CatalogItem(CAM, status="ON"))),
                      STRANGER, 1001.0)
    reg.register(OWN, Peer("udp", "10.0.0.8", 5060), 3600, 1002.0)
    assert _ids(reg.devices()) == sorted([OWN, STRANGER]) and reg.unlisted() == []
    assert reg.channel_verdict(STRANGER, CAM) is GbVerdict.ONLINE
