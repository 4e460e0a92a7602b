"""Incidents, work orders and silences stored on SQLite and PostgreSQL, from the sample inventory."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from collector.alerting import incident_store as store
from collector.alerting.engine import AlertEngine
from collector.alerting.model import Outage, Recovery, Severity, inventory_of
from collector.alerting.policy import AlertPolicy
from collector.alerting.workorders import Color, OrderStatus, Resolution, WorkOrderError, color, work_order_counts
from inventory import models as m
from inventory.db import create_engine
from inventory.lookup import load_monitored
from inventory.secrets import SecretBox
from probes.causes import Cause
from tests.collector.alerts_fixtures import at, sample_db


@pytest.fixture
def url(db_url: str) -> str:
    return sample_db(db_url)


def test_village_outage_to_work_order_and_back(url: str) -> None:
    async def go() -> None:
        eng = create_engine(url)
        try:
            inv = await store.load_inventory(eng)
            village = next(c.village for c in inv.cameras.values() if c.parent_device_id is not None)
            cams = sorted(c.id for c in inv.cameras.values() if c.village == village)
            assert len(cams) >= 2 and inv.village_counts[village] == len(cams)
            first = inv.cameras[cams[0]]
            assert first.village_name and first.township_name and first.county_name and first.point_name
            e = AlertEngine(AlertPolicy(), inv)
            acts = []
            for c in cams:
                acts += e.feed(Outage(c, Cause.UPSTREAM_DOWN, at(0), at(15)))
            acts += e.tick(at(45))
            await store.apply_actions(eng, acts, at(45))
            await store.apply_actions(eng, acts, at(46))  # applying twice makes no second order
            [o] = await store.list_work_orders(eng)
            assert (o.status, o.severity, o.cameras, o.deadline) == (OrderStatus.OPEN, "critical", len(cams), at(15) + dt.timedelta(hours=2))
            assert o.title and "疑似上联中断" in o.title and o.region_code == village
            assert color(o, at(3600)) is Color.YELLOW and color(o, at(15 + 7201)) is Color.RED
            acked = await store.acknowledge_order(eng, o.id, at(600))
            assert acked.response_s == 585
            acts = []
            for c in cams:
                acts += e.feed(Recovery(c, at(5000)))
            await store.apply_actions(eng, acts, at(5000))
            [o] = await store.list_work_orders(eng)
            assert (o.status, o.resolution, o.repair_s, o.response_s) == (OrderStatus.RESOLVED, Resolution.RECOVERED, 4985, 585)
            assert work_order_counts([o], at(99999)) == {Color.GREEN: 1, Color.YELLOW: 0, Color.RED: 0}
            async with eng.connect() as conn:
                row = (await conn.execute(select(m.Incident))).one()
            assert (row.severity, sorted(x["camera"] for x in row.members), row.down, row.resolved_at) == ("critical", cams, 0, at(5000))
            with pytest.raises(WorkOrderError):
                await store.close_order(eng, o.id, at(6000), "done")
            assert await store.list_work_orders(eng, open_only=True) == []
            assert len(await store.list_work_orders(eng, since=at(4000))) == 1
            assert await store.list_work_orders(eng, since=at(6000)) == []
        finally:
            await eng.dispose()

    asyncio.run(go())


def test_close_by_hand_and_growth_update(url: str) -> None:
    async def go() -> None:
        eng = create_engine(url)
        try:
            inv = await store.load_inventory(eng)
            cam = min(inv.cameras)
            e = AlertEngine(AlertPolicy(), inv)
            acts = list(e.feed(Outage(cam, Cause.AUTH_FAILED, at(0), at(15)))) + list(e.tick(at(45)))
            await store.apply_actions(eng, acts, at(45))
            [o] = await store.list_work_orders(eng)
            assert (o.camera_id, o.severity, o.deadline) == (cam, Severity.NORMAL.value, at(15) + dt.timedelta(hours=24))
            # another camera of the village joins: behind the same router, so critical and a 2 h deadline
            other = next(c.id for c in inv.cameras.values() if c.village == inv.cameras[cam].village and c.id != cam)
            acts = list(e.feed(Outage(other, Cause.UPSTREAM_DOWN, at(100), at(115)))) + list(e.tick(at(115)))
            await store.apply_actions(eng, acts, at(115))
            [o] = await store.list_work_orders(eng)
            assert (o.severity, o.cameras, o.deadline) == ("critical", 2, at(15) + dt.timedelta(hours=2))
            assert o.title and "【严重】" in o.title and "2/" in o.title  # the order's title follows the incident
            with pytest.raises(store.NotFound):
                await store.close_order(eng, 999, at(200), "x")
            closed = await store.close_order(eng, o.id, at(3 * 3600), "密码已重置")
            assert (closed.resolution, closed.note, color(closed, at(10 ** 6))) == (Resolution.CLOSED, "密码已重置", Color.RED)
        finally:
            await eng.dispose()

    asyncio.run(go())


def test_silences(url: str) -> None:
    async def go() -> None:
        eng = create_engine(url)
        try:
            inv = await store.load_inventory(eng)
            cam = next(iter(inv.cameras.values()))
            sid = await store.add_silence(eng, region_code=cam.village, until=at(3600), reason="施工", now=at(0))
            sid2 = await store.add_silence(eng, camera_id=cam.id, until=at(60), now=at(0))
            with pytest.raises(store.NotFound):
                await store.add_silence(eng, region_code="999999999999", until=at(60), now=at(0))
            with pytest.raises(ValueError):
                await store.add_silence(eng, camera_id=cam.id, until=at(-1), now=at(0))
            active = await store.list_silences(eng, at(100))
            assert [s.id for s in active] == [sid] and active[0].matches(cam, at(100))
            assert len(await store.list_silences(eng, at(100), include_expired=True)) == 2
            assert await store.remove_silence(eng, sid2) and not await store.remove_silence(eng, sid2)
            assert await store.end_silence(eng, sid, at(200))
            assert await store.list_silences(eng, at(200)) == ()
        finally:
            await eng.dispose()

    asyncio.run(go())


def test_restart_restores_open_incident_and_resolves_it_once(url: str) -> None:
    from collector.alerting.model import Notify, NotifyKind, ResolveWorkOrder
    from collector.runtime.camera_state import Changed, State

    async def go() -> None:
        eng = create_engine(url)
        try:
            inv = await store.load_inventory(eng)
            village = next(c.village for c in inv.cameras.values() if c.parent_device_id is not None)
            cams = sorted(c.id for c in inv.cameras.values() if c.village == village)
            e = AlertEngine(AlertPolicy(), inv)
            acts = []
            for c in cams:
                acts += e.feed(Outage(c, Cause.UPSTREAM_DOWN, at(0), at(15)))
            await store.apply_actions(eng, acts + list(e.tick(at(45))), at(45))
            # a new process: the stored incident is taken over; cameras are first seen again after restart
            e2 = AlertEngine(AlertPolicy(), inv)
            e2.restore(await store.load_open_incidents(eng))
            assert [len(i.down) for i in e2.open_incidents()] == [len(cams)]
            acts = []
            for c in cams[:-1]:
                acts += e2.on_event(c, Changed(State.UNKNOWN, State.ONLINE, None, at(900), at(900)))
            acts += e2.on_event(cams[-1], Changed(State.UNKNOWN, State.OFFLINE, Cause.UPSTREAM_DOWN, at(900), at(915)))
            assert [a for a in acts if isinstance(a, Notify)] == []
            acts = list(e2.on_event(cams[-1], Changed(State.OFFLINE, State.ONLINE, None, at(1000), at(1000))))
            assert [a.kind for a in acts if isinstance(a, Notify)] == [NotifyKind.RESOLVE]
            assert [a for a in acts if isinstance(a, ResolveWorkOrder)] != []
            await store.apply_actions(eng, acts, at(1000))
            assert await store.load_open_incidents(eng) == ()
            [o] = await store.list_work_orders(eng)
            assert o.resolved_at == at(1000)
        finally:
            await eng.dispose()

    asyncio.run(go())


def test_the_collectors_own_inventory_is_the_stores(url: str) -> None:
    """``camwatch run`` (no replicas) gives the alert engine its own cameras (no second copy of
    every camera's names): the same inventory as the store reads, a retired camera left out."""
    async def go() -> None:
        eng = create_engine(url)
        try:
            async with eng.begin() as conn:
                retired = (await conn.execute(select(m.Camera.id).order_by(m.Camera.id.desc()).limit(1))).scalar_one()
                await conn.execute(m.Camera.__table__.update().where(m.Camera.id == retired).values(lifecycle="retired"))
            stored = await store.load_inventory(eng)
            cams, devices = await load_monitored(eng, SecretBox(None))
            own = inventory_of(cams, devices)
            assert own == stored and retired not in own.cameras and len(own.cameras) >= 2
            assert any(c.parent_device_name for c in own.cameras.values())  # (the sample has cameras behind a device)
            assert all(c.point_name and c.village_name and c.county_name for c in own.cameras.values())
            by_id = {c.id: c for c in cams}
            assert all(i.name is by_id[i.id].name for i in own.cameras.values())  # the collector's objects, not copies
        finally:
            await eng.dispose()

    asyncio.run(go())
