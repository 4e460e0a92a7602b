"""The camera page lists the work orders that concern the camera: its own and its village's (a
village outage, a suspected uplink), each with its link, colour and state, scoped by the reader's
role like every other route (a contractor sees a region-wide one when a camera of its incident is
the contractor's; another township's account sees neither page)."""

from __future__ import annotations

import datetime as dt
import re

import aiohttp
import pytest
from sqlalchemy import insert, select

from collector.web import accounts
from inventory.models import Camera, Incident, WorkOrder
from tests.collector.test_api_support import Live, http_fixture, live_fixture
from tests.collector.test_web_pages import page, slot

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()


async def bearer_of(live: Live, name: str, role: str, **kw: object) -> dict[str, str]:
    now = live.app.clock()
    uid = await accounts.add_user(live.app.engine, name, role, password=None, now=now, **kw)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {await accounts.create_token(live.app.engine, uid, 'test', now)}"}


def order_ids(html: str) -> set[str]:
    return set(re.findall(r'<a href="/incidents/(o-[a-z-]+)">', html))


async def test_camera_page_shows_its_own_and_its_village_orders(live: Live, http: aiohttp.ClientSession) -> None:
    me = slot(live, 0).cam
    slots = list(live.app.scheduler.slots.values())
    neighbour = next(s.cam for s in slots if s.cam.labels.village == me.labels.village and s.cam.id != me.id)
    elsewhere = next(s.cam for s in slots if s.cam.labels.township != me.labels.township)
    now = dt.datetime.now(dt.UTC)
    rows = [("o-own", me.id, None, "本机离线", now + dt.timedelta(hours=20), "open"),
            ("o-village", None, me.labels.village, "全村离线（疑似上联中断）", now - dt.timedelta(hours=1), "acknowledged"),
            ("o-neighbour", neighbour.id, None, "邻机离线", now + dt.timedelta(hours=20), "open"),
            ("o-other", None, elsewhere.labels.village, "他村离线", now + dt.timedelta(hours=20), "open")]
    async with live.app.engine.begin() as c:
        for key, cid, region, title, deadline, status in rows:
            await c.execute(insert(WorkOrder).values(
                incident_key=key, camera_id=cid, region_code=region, cause="unreachable", severity="normal", status=status,
                opened_at=now - dt.timedelta(hours=2), deadline=deadline, title=title, cameras=1 if cid else 4))
        # the village outage's incident: its cameras (members), what a contractor's scope reads
        await c.execute(insert(Incident).values(
            id="o-village", kind="outage", severity="critical", village_code=me.labels.village, device_id=None,
            cause="unreachable", start=now - dt.timedelta(hours=2), opened_at=now - dt.timedelta(hours=2), resolved_at=None,
            members=[{"camera": cid, "cause": "unreachable", "start": (now - dt.timedelta(hours=2)).isoformat(), "up_at": None,
                      "checks": []} for cid in (me.id, neighbour.id)],
            down=2, total=4, silenced=False, escalation=0, updated_at=now))
        contractor = (await c.execute(select(Camera.contractor).where(Camera.id == me.id))).scalar_one()

    html = await page(http, live, f"/cameras/{me.id}")
    assert order_ids(html) == {"o-own", "o-village"}  # not the neighbour's own, not another village's
    assert "全村离线（疑似上联中断）" in html and f'<a href="/regions/{me.labels.village}">' in html
    assert me.labels.village_name in html and "4 台" in html
    assert 'class="dot red"' in html and 'class="dot yellow"' in html  # overdue village order, own within deadline
    assert "处理中" in html and "待处理" in html
    en = await page(http, live, f"/cameras/{me.id}?lang=en")
    assert "whole area: " + me.labels.village_name in en and "this camera" in en

    town = await bearer_of(live, "cam-orders-town", "township", regions=[me.labels.township])
    assert order_ids(await page(http, live, f"/cameras/{me.id}", headers=town)) == {"o-own", "o-village"}
    other = await bearer_of(live, "cam-orders-other", "township", regions=[elsewhere.labels.township])
    await page(http, live, f"/cameras/{me.id}", status=404, headers=other)
    assert order_ids(await page(http, live, f"/cameras/{elsewhere.id}", headers=other)) == {"o-other"}
    fixer = await bearer_of(live, "cam-orders-fix", "contractor", contractor=contractor)
    mine = await page(http, live, f"/cameras/{me.id}", headers=fixer)
    assert order_ids(mine) == {"o-own", "o-village"}  # the village's: its cameras are the contractor's (the API's rule)
    assert "申请报备" in mine  # it may propose, and act on both orders (the village's all of its own cameras)
    assert len(set(re.findall(r'action="/workorders/(\d+)/close', mine))) == 2
