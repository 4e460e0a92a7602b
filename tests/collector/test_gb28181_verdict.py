"""The GB/T 28181 verdict rule (pure, table-tested), the registry's events, the password
throttle and the ``gb28181:`` settings."""

from __future__ import annotations

from types import MappingProxyType

import pytest
from pydantic import ValidationError

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.guard import AuthThrottle
from collector.gb28181.registry import Registry
from collector.gb28181.state import ChannelEvent, ChannelState, DeviceEvent, DeviceState, GbEvent, GbVerdict
from collector.gb28181.verdict import catalog_due, channel_verdict, device_verdict, status_query_due
from probes.causes import Cause, cause_words
from probes.gb28181.manscdp import Catalog, CatalogItem
from probes.gb28181.transport import Peer

S = Gb28181Settings(keepalive_timeout_s=75.0)  # keepalive 60 s, timeout 75 s, catalog every 600 s
DEV = "34020000001180000001"
CH1, CH2, CH3 = "34020000001310000001", "34020000001310000002", "34020000001310000003"
PEER = Peer("udp", "10.0.0.5", 5060)


def dev(*, registered: bool = True, at: float | None = 1000.0, expires_at: float = 4600.0, seen: float | None = 1000.0,
        channels: dict[str, str] | None = None, catalog_at: float | None = 1000.0, status_asked: float | None = None,
        catalog_asked: float | None = None) -> DeviceState:
    chans = {c: ChannelState(c, DEV, status=st) for c, st in (channels or {}).items()}
    return DeviceState(DEV, PEER, registered, at, expires_at, seen, seen, "OK", catalog_at, catalog_asked,
                       status_asked, MappingProxyType(chans))


@pytest.mark.parametrize(("state", "now", "want"), [
    (None, 1000.0, GbVerdict.NOT_REGISTERED),
    (dev(registered=False, at=None, seen=None), 1000.0, GbVerdict.NOT_REGISTERED),
    (dev(), 1000.0, GbVerdict.ONLINE),
    (dev(), 1074.9, GbVerdict.ONLINE),  # a keepalive 74.9 s ago
    (dev(), 1075.0, GbVerdict.PLATFORM_OFFLINE),  # keepalive_timeout_s, not the standard's 180 s
    (dev(seen=4590.0), 4600.0, GbVerdict.PLATFORM_OFFLINE),  # registration expired though keepalives come
    (dev(registered=False), 1001.0, GbVerdict.PLATFORM_OFFLINE),  # withdrawn (Expires: 0)
    (dev(seen=None), 1074.0, GbVerdict.ONLINE),  # registered, no keepalive yet: counted from the REGISTER
    (dev(seen=None), 1076.0, GbVerdict.PLATFORM_OFFLINE),
])
def test_device_verdict(state: DeviceState | None, now: float, want: GbVerdict) -> None:
    assert device_verdict(state, now, S) is want


@pytest.mark.parametrize(("state", "channel", "now", "want"), [
    (dev(channels={CH1: "ON"}), CH1, 1010.0, GbVerdict.ONLINE),
    (dev(channels={CH1: "OFF"}), CH1, 1010.0, GbVerdict.CHANNEL_OFF),
    (dev(channels={CH1: ""}), CH1, 1010.0, GbVerdict.ONLINE),  # an IPC that leaves Status out
    (dev(channels={CH1: "OFF"}), CH1, 1100.0, GbVerdict.PLATFORM_OFFLINE),  # the device's verdict first
    (dev(channels={CH1: "ON"}), CH2, 1010.0, GbVerdict.NOT_REGISTERED),  # not in a complete catalog
    (dev(channels={}, catalog_at=None), CH2, 1010.0, None),  # no catalog yet: unknown
    (dev(channels={}, catalog_at=None), DEV, 1010.0, GbVerdict.ONLINE),  # the device itself (an IPC)
    (None, CH1, 1010.0, GbVerdict.NOT_REGISTERED),
])
def test_channel_verdict(state: DeviceState | None, channel: str, now: float, want: GbVerdict | None) -> None:
    assert channel_verdict(state, channel, now, S) is want


@pytest.mark.parametrize(("state", "now", "want"), [
    (dev(), 1064.9, False),  # keepalive due at 1060, grace 5 s
    (dev(), 1065.0, True),
    (dev(status_asked=1065.0), 1067.0, False),  # asked 2 s ago
    (dev(status_asked=1065.0), 1070.0, True),  # asked again after a grace
    (dev(status_asked=990.0), 1065.0, True),  # asked before the last sign of life
    (dev(registered=False), 1065.0, False),
])
def test_status_query_due(state: DeviceState, now: float, want: bool) -> None:
    assert status_query_due(state, now, S) is want


@pytest.mark.parametrize(("state", "now", "want"), [
    (dev(catalog_at=None), 1001.0, True),
    (dev(catalog_at=None, catalog_asked=990.0), 1001.0, False),  # asked 11 s ago: wait
    (dev(catalog_at=None, catalog_asked=960.0), 1001.0, True),  # unanswered for 41 s: ask again
    (dev(catalog_at=1000.0, seen=1500.0), 1599.0, False),
    (dev(catalog_at=1000.0, seen=1550.0), 1600.0, True),  # catalog_interval_s
    (dev(catalog_at=None), 1100.0, False),  # offline devices are not asked
])
def test_catalog_due(state: DeviceState, now: float, want: bool) -> None:
    assert catalog_due(state, now, S) is want


def test_verdict_causes() -> None:
    assert [v.cause for v in GbVerdict] == [None, Cause.PLATFORM_OFFLINE, Cause.CHANNEL_OFF, Cause.NOT_REGISTERED]


@pytest.mark.parametrize(("state", "channel"), [
    (None, CH1),  # its device never registered
    (dev(channels={CH1: "ON"}), CH2),  # its device registered, but its complete catalog lacks the channel
])
def test_not_registered_words_are_true_of_both_ways_to_it(state: DeviceState | None, channel: str) -> None:
    """One cause code (metrics, dashboards and reports read it), words that fit both cases."""
    verdict = channel_verdict(state, channel, 1010.0, S)
    assert verdict is GbVerdict.NOT_REGISTERED and verdict.cause is Cause.NOT_REGISTERED
    assert Cause.NOT_REGISTERED.value == "not_registered"
    zh, en = cause_words(verdict.cause), cause_words(verdict.cause, "en")
    assert "从未注册" not in zh and "设备未注册" in zh and "不在其设备目录中" in zh, zh
    assert "device never registered" in en and "channel not in its device's catalog" in en, en


def test_registry_events_and_unlisted() -> None:
    events: list[GbEvent] = []
    reg = Registry(S, listed=lambda i: i in {DEV, CH1, CH2})
    reg.subscribe(events.append)
    assert reg.register(DEV, PEER, 3600, 1000.0) is True
    assert events == [DeviceEvent(DEV, GbVerdict.ONLINE, None, 1000.0, None)]  # told by a message: dated at it
    reg.apply_catalog(Catalog(DEV, 1, 3, (CatalogItem(CH1, status="ON"), CatalogItem(CH2, status="OFF"))), DEV, 1001.0)
    reg.apply_catalog(Catalog(DEV, 1, 3, (CatalogItem(CH3, status="ON"),)), DEV, 1002.0)  # the second part
    chans = [(e.channel_id, e.verdict) for e in events if isinstance(e, ChannelEvent)]
    assert chans == [(CH1, GbVerdict.ONLINE), (CH2, GbVerdict.CHANNEL_OFF), (CH3, GbVerdict.ONLINE)]
    assert reg.device(DEV).catalog_at == 1002.0  # type: ignore[union-attr]
    events.clear()
    assert reg.seen(DEV, Peer("udp", "10.9.9.9", 5060), 1050.0, keepalive_status="OK") is None  # spoofed address
    assert reg.seen(DEV, PEER, 1050.0, keepalive_status="OK") is not None and events == []
    reg.tick(1124.9)
    assert events == []
    reg.tick(1125.0)  # 75 s after the last keepalive
    assert [(type(e).__name__, getattr(e, "channel_id", ""), e.verdict) for e in events] == [
        ("DeviceEvent", "", GbVerdict.PLATFORM_OFFLINE), ("ChannelEvent", CH1, GbVerdict.PLATFORM_OFFLINE),
        ("ChannelEvent", CH2, GbVerdict.PLATFORM_OFFLINE), ("ChannelEvent", CH3, GbVerdict.PLATFORM_OFFLINE)]
    assert events[0].last_seen == 1050.0
    events.clear()
    # an unlisted device: kept apart, never an event
    other = "34020000001320000077"
    reg.register(other, Peer("udp", "10.0.0.6", 5060), 3600, 1200.0)
    reg.apply_catalog(Catalog(other, 1, 1, (CatalogItem("34020000001310000099", status="ON"),)), other, 1201.0)
    assert events == [] and [d.device_id for d in reg.unlisted()] == [other] and reg.devices()[0].device_id == DEV


def test_an_unlisted_nvr_whose_channel_is_listed_is_counted() -> None:
    events: list[GbEvent] = []
    reg = Registry(S, listed=lambda i: i == CH1)
    reg.subscribe(events.append)
    reg.register(DEV, PEER, 3600, 1000.0)
    assert events == [] and len(reg.unlisted()) == 1
    reg.apply_catalog(Catalog(DEV, 1, 1, (CatalogItem(CH1, status="ON"),)), DEV, 1001.0)
    assert reg.unlisted() == [] and [e.verdict for e in events] == [GbVerdict.ONLINE, GbVerdict.ONLINE]


def test_throttle() -> None:
    t = AuthThrottle(3, 300.0)  # one try back every 100 s
    for i in range(3):
        assert t.retry_after("a", float(i)) == 0.0
        t.failed("a", float(i))
    assert t.retry_after("a", 3.0) == pytest.approx(97.0)  # 0.03 tries earned since
    assert t.retry_after("b", 3.0) == 0.0  # another address is not affected
    assert t.retry_after("a", 102.0) == 0.0
    t.succeeded("a")
    assert t.retry_after("a", 102.0) == 0.0
    small = AuthThrottle(1, 10.0, max_sources=2)
    for h in ("x", "y", "z"):
        small.failed(h, 0.0)
    assert small.retry_after("x", 0.0) == 0.0 and small.retry_after("z", 0.0) > 0  # bounded: oldest forgotten


def test_settings() -> None:
    s = Gb28181Settings.model_validate({"enabled": True, "port": 15060, "transports": ["tcp"],
                                        "password": "env:GB_PW", "keepalive_timeout_s": 90})
    assert s.transports == ["tcp"] and s.password is not None and "env:GB_PW" not in repr(s)
    for bad in ({"server_id": "3402000000200000000"}, {"server_id": "3402000000200000000x"},
                {"domain": "bad domain"}, {"keepalive_timeout_s": 60}, {"min_expires_s": 100, "max_expires_s": 50},
                {"transports": []}, {"transports": ["udp", "udp"]}, {"transports": ["sctp"]}, {"unknown": 1}):
        with pytest.raises(ValidationError):
            Gb28181Settings.model_validate(bad)


def test_alive_agrees_with_replace() -> None:
    from dataclasses import replace

    from collector.gb28181.state import DeviceInfoFields

    d = replace(dev(channels={CH1: "ON"}, status_asked=1.0, catalog_asked=2.0), info=DeviceInfoFields("n"), listed=False)
    assert d.alive(5.0, "ERROR") == replace(d, last_seen=5.0, last_keepalive=5.0, keepalive_status="ERROR")
    assert d.alive(6.0) == replace(d, last_seen=6.0)
