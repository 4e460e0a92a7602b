"""A catalog part with one malformed item (no DeviceID) or a SumNum / SN that is not a number is
read for what it holds: the valid channels are known, the bad item is left out and logged once
per device and reason, and a listing of unknown total drops no channel (no not_registered from an
incomplete list). The platform on loopback against the project's device simulator."""

from __future__ import annotations

import logging

import pytest

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.registry import Registry
from collector.gb28181.state import GbVerdict
from probes.gb28181.manscdp import Catalog, CatalogItem, DeviceInfo, read
from probes.gb28181.transport import Peer
from tests.collector.test_gb28181_platform import CHANNELS, NVR, Rig, nvr, rig, until

__all__ = ["rig"]  # (the platform fixture of test_gb28181_platform)
HEAD = '<?xml version="1.0" encoding="GB2312"?>'


def _item(ch: str, status: str = "ON") -> str:
    return f"<Item><DeviceID>{ch}</DeviceID><Name>x</Name><Status>{status}</Status></Item>"


def _catalog(sn: str, sum_num: str, items: str, dev: str = NVR) -> bytes:
    return (f"{HEAD}<Response><CmdType>Catalog</CmdType><SN>{sn}</SN><DeviceID>{dev}</DeviceID>"
            f"<SumNum>{sum_num}</SumNum><DeviceList>{items}</DeviceList></Response>").encode()


def test_a_bad_item_is_left_out_and_the_rest_read() -> None:
    cat = read(_catalog("4", "3", "<Item><Name>noid</Name></Item>" + _item(CHANNELS[0]) + _item(CHANNELS[1], "OFF")))
    assert isinstance(cat, Catalog)
    assert [i.device_id for i in cat.items] == CHANNELS[:2] and cat.sum_num == 3
    assert cat.skipped == ("an item without DeviceID",)
    over = read(_catalog("4", "1", "<Item><DeviceID>" + "1" * 40 + "</DeviceID></Item>"))
    assert isinstance(over, Catalog) and over.items == () and over.skipped == ("an item whose DeviceID is not an ID",)


@pytest.mark.parametrize(("sn", "sum_num"), [("5", "99999999999999999999"), ("5", "-5"), ("5", "abc"),
                                              ("x1", "2"), ("1" * 20, "2")])
def test_a_bad_total_or_serial_number_reads_the_items_of_unknown_total(sn: str, sum_num: str) -> None:
    cat = read(_catalog(sn, sum_num, _item(CHANNELS[0])))
    assert isinstance(cat, Catalog) and [i.device_id for i in cat.items] == CHANNELS[:1] and cat.sum_num is None


def test_a_bad_channel_count_in_device_info_is_not_a_refusal() -> None:
    body = (f"{HEAD}<Response><CmdType>DeviceInfo</CmdType><SN>3</SN><DeviceID>{NVR}</DeviceID>"
            "<Result>OK</Result><Channel>eight</Channel></Response>").encode()
    info = read(body)
    assert isinstance(info, DeviceInfo) and info.channels is None


def test_a_listing_of_unknown_total_drops_no_channel() -> None:
    reg = Registry(Gb28181Settings())
    reg.register(NVR, Peer("udp", "10.0.0.1", 5060), 3600, 1000.0)
    reg.apply_catalog(Catalog(NVR, 1, 2, (CatalogItem(CHANNELS[0], status="ON"), CatalogItem(CHANNELS[1], status="ON"))),
                      NVR, 1001.0)
    assert reg.channel_verdict(NVR, CHANNELS[1]) is GbVerdict.ONLINE
    reg.apply_catalog(Catalog(NVR, 2, None, (CatalogItem(CHANNELS[0], status="OFF"),)), NVR, 1002.0)
    assert reg.channel_verdict(NVR, CHANNELS[0]) is GbVerdict.CHANNEL_OFF
    assert reg.channel_verdict(NVR, CHANNELS[1]) is GbVerdict.ONLINE  # not taken as gone
    # a complete answer with an item that could not be read: complete, but nothing is taken as gone
    reg.apply_catalog(Catalog(NVR, 3, 2, (CatalogItem(CHANNELS[0], status="ON"),), skipped=("an item without DeviceID",)),
                      NVR, 1003.0)
    assert reg.device(NVR).catalog_at == 1003.0  # type: ignore[union-attr]
    assert reg.channel_verdict(NVR, CHANNELS[1]) is GbVerdict.ONLINE


async def test_the_platform_reads_a_catalog_with_a_bad_item(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "camwatch.gb28181")
    rig.sim.add(nvr())
    assert await rig.sim.register(NVR) == 200
    dev = rig.sim.devices[NVR]
    await until(lambda: rig.platform.registry.device(NVR).catalog_at is not None)  # type: ignore[union-attr]
    rig.events.clear()
    body = _catalog("77", "3", "<Item><Name>noid</Name></Item>" + _item(CHANNELS[0], "OFF") + _item(CHANNELS[1]))
    for _ in range(3):
        assert (await rig.sim._transact(dev, rig.sim._request(dev, "MESSAGE", body))).status == 200
    assert rig.platform.registry.channel_verdict(NVR, CHANNELS[0]) is GbVerdict.CHANNEL_OFF
    # complete by its count (the bad item counted), but no channel taken as gone for it
    assert all(rig.platform.registry.channel_verdict(NVR, c) is not GbVerdict.NOT_REGISTERED for c in CHANNELS)
    lines = [r.getMessage() for r in caplog.records if "without DeviceID" in r.getMessage()]
    assert len(lines) == 1 and NVR in lines[0], lines
    # a SumNum that is not a number: read, of unknown total (told once)
    body = _catalog("78", "99999999999999999999", _item(CHANNELS[2], "OFF"))
    for _ in range(2):
        assert (await rig.sim._transact(dev, rig.sim._request(dev, "MESSAGE", body))).status == 200
    assert rig.platform.registry.channel_verdict(NVR, CHANNELS[2]) is GbVerdict.CHANNEL_OFF
    assert rig.platform.registry.channel_verdict(NVR, CHANNELS[3]) is GbVerdict.ONLINE
    assert len([r for r in caplog.records if "SumNum" in r.getMessage()]) == 1
