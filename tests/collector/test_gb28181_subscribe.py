"""Catalog subscriptions against the project's device simulator on loopback (UDP and TCP): the
platform SUBSCRIBEs at registration, refreshes before expiry, turns the device's NOTIFYs (ON/OFF,
ADD, DEL) into channel verdicts, subscribes again after a terminated or forgotten dialog, and
falls back to periodic Catalog queries for a device that answers 405."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from collector.gb28181.state import GbVerdict
from collector.gb28181.subscribe import SubState
from probes.sim.gb28181_sim import SimChannel, SimDevice
from tests.collector.test_gb28181_platform import CHANNELS, NVR, PASSWORD, Rig, make_rig, until

NEW = "34020000001310000077"


async def _rig(**over: object) -> Rig:
    return await make_rig(catalog_scan_s=0.2, **{"keepalive_interval_s": 5, "keepalive_timeout_s": 30,
                                                 "catalog_interval_s": 10, **over})


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    r = await _rig(subscribe_expires_s=2)
    yield r
    await r.sim.close()
    await r.platform.close()


def _nvr(transport: str = "udp", **kw: object) -> SimDevice:
    chans = [SimChannel(c, name=f"通道{i}") for i, c in enumerate(CHANNELS[:3], 1)]
    return SimDevice(NVR, PASSWORD, chans, transport=transport, keepalive_s=1.0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_subscription_notifies_and_refresh(rig: Rig, transport: str) -> None:
    dev = rig.sim.add(_nvr(transport))
    assert await rig.sim.register(NVR) == 200
    rig.sim.start_keepalives(NVR, first_after=0.0)
    subs = rig.platform.subscriptions
    await until(lambda: (s := subs.get(NVR)) is not None and s.state is SubState.ACTIVE)
    await until(lambda: len(rig.channel_verdicts(CHANNELS[2])) == 1)
    assert dev.subscription is not None and dev.queries["SUBSCRIBE"] == 1
    call_id = dev.subscription.call_id
    # a channel OFF, told in the dialog (not by the periodic query: it is 10 s away)
    assert rig.sim.notify_catalog(NVR, []) is True  # an empty notification changes nothing
    rig.sim.set_status(NVR, CHANNELS[0], "OFF", notify=True)
    await until(lambda: rig.channel_verdicts(CHANNELS[0])[-1:] == [GbVerdict.CHANNEL_OFF], 5)
    rig.sim.set_status(NVR, CHANNELS[0], "ON", notify=True)
    await until(lambda: rig.channel_verdicts(CHANNELS[0])[-1:] == [GbVerdict.ONLINE], 5)
    # a channel added, one removed
    rig.sim.add_channel(NVR, SimChannel(NEW, name="新增"))
    await until(lambda: rig.channel_verdicts(NEW) == [GbVerdict.ONLINE], 5)
    state = rig.platform.registry.device(NVR)
    assert state is not None and state.channels[NEW].name == "新增"
    rig.sim.remove_channel(NVR, CHANNELS[1])
    await until(lambda: rig.channel_verdicts(CHANNELS[1])[-1:] == [GbVerdict.NOT_REGISTERED], 5)
    state = rig.platform.registry.device(NVR)
    assert state is not None and CHANNELS[1] not in state.channels
    assert subs.notifies >= 4
    # refreshed in the same dialog before its 2 s run out, twice
    await until(lambda: dev.subscription is not None and dev.subscription.refreshes >= 2, 8)
    assert dev.subscription is not None and dev.subscription.call_id == call_id
    assert dev.queries["SUBSCRIBE"] >= 3 and subs.get(NVR).state is SubState.ACTIVE  # type: ignore[union-attr]
    assert rig.channel_verdicts(CHANNELS[2]) == [GbVerdict.ONLINE]  # untouched throughout


async def test_terminated_or_forgotten_subscription_is_made_anew(rig: Rig) -> None:
    dev = rig.sim.add(_nvr())
    assert await rig.sim.register(NVR) == 200
    rig.sim.start_keepalives(NVR, first_after=0.0)
    subs = rig.platform.subscriptions
    await until(lambda: (s := subs.get(NVR)) is not None and s.state is SubState.ACTIVE)
    first = subs.get(NVR).call_id  # type: ignore[union-attr]
    # the device ends it (NOTIFY with Subscription-State: terminated)
    assert rig.sim.notify_catalog(NVR, [], terminated=True)
    await until(lambda: (s := subs.get(NVR)) is not None and s.call_id != first and s.state is SubState.ACTIVE, 5)
    second = subs.get(NVR).call_id  # type: ignore[union-attr]
    # the device forgets the dialog (a restart): the refresh gets 481, a new subscription follows
    dev.subscription = None
    await until(lambda: (s := subs.get(NVR)) is not None and s.call_id not in (first, second)
                and s.state is SubState.ACTIVE, 8)
    assert dev.subscription is not None and dev.subscription.call_id == subs.get(NVR).call_id  # type: ignore[union-attr]


async def test_a_device_refusing_subscriptions_keeps_the_periodic_catalog() -> None:
    rig = await _rig(subscribe_expires_s=2)
    try:
        dev = rig.sim.add(_nvr(subscribe_status=405))
        assert await rig.sim.register(NVR) == 200
        rig.sim.start_keepalives(NVR, first_after=0.0)
        subs = rig.platform.subscriptions
        await until(lambda: (s := subs.get(NVR)) is not None and s.state is SubState.REFUSED)
        assert subs.get(NVR).status == 405  # type: ignore[union-attr]
        await until(lambda: len(rig.channel_verdicts(CHANNELS[0])) == 1)
        rig.sim.set_status(NVR, CHANNELS[0], "OFF")  # not told: learnt from the next periodic query
        await until(lambda: rig.channel_verdicts(CHANNELS[0])[-1:] == [GbVerdict.CHANNEL_OFF], 20)
        assert dev.queries["Catalog"] >= 2
        assert dev.queries["SUBSCRIBE"] == 1  # not asked again during this registration
        # a new registration asks again (the device may have been updated meanwhile)
        dev.subscribe_status = 200
        assert await rig.sim.unregister(NVR) == 200 and subs.get(NVR) is None
        assert await rig.sim.register(NVR) == 200
        await until(lambda: (s := subs.get(NVR)) is not None and s.state is SubState.ACTIVE)
        assert dev.queries["SUBSCRIBE"] == 2
    finally:
        await rig.sim.close()
        await rig.platform.close()


async def test_subscriptions_can_be_turned_off() -> None:
    rig = await _rig(subscribe_catalog=False)
    try:
        dev = rig.sim.add(_nvr())
        assert await rig.sim.register(NVR) == 200
        await until(lambda: len(rig.channel_verdicts(CHANNELS[0])) == 1)
        await asyncio.sleep(0.5)
        assert dev.queries["SUBSCRIBE"] == 0 and rig.platform.subscriptions.get(NVR) is None
    finally:
        await rig.sim.close()
        await rig.platform.close()
