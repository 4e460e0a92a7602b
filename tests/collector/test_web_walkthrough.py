"""What a walk through the console as its users found missing, served by a real App probing the
simulated fleet: the work-order list says *why* (each order's cause in words, also on the camera
and incident pages) and lists what to fix first (overdue, then the nearest deadline; the done ones
last); an incident of a suspected uplink failure says so and names the upstream device even when
its cameras' last probes read "timeout"; an English camera page says why there is no picture
without Chinese brackets."""

from __future__ import annotations

import datetime as dt
import re

import aiohttp
import pytest
from sqlalchemy import insert, select

from collector.alerting import incident_store as store
from collector.alerting.model import Incident as AlertIncident
from collector.alerting.model import IncidentChanged, IncidentKind, Member, OpenWorkOrder, Severity
from inventory.models import Camera, Device, WorkOrder
from probes.causes import Cause
from tests.collector.test_api_support import DOWN, TOKEN, Live, http_fixture, live_fixture
from tests.collector.test_web_pages import page, slot, visible_text

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def main_text(html: str) -> str:
    """The page's visible text below the header, each run of white space one space."""
    return re.sub(r"\s+", " ", visible_text(html[html.index("<main>"):]))


async def test_work_orders_say_why_and_list_the_most_urgent_first(live: Live, http: aiohttp.ClientSession) -> None:
    cams = [slot(live, i).cam for i in (DOWN[0], DOWN[1], 0)]
    now = live.app.clock()
    rows = [  # (key, camera, cause, deadline, status): opened in this order, newest last
        ("o-walk-later", cams[0], "refused", now + dt.timedelta(hours=20), "open"),
        ("o-walk-overdue", cams[1], "auth_failed", now - dt.timedelta(hours=1), "acknowledged"),
        ("o-walk-soon", cams[2], "no_video", now + dt.timedelta(hours=2), "open"),
        ("o-walk-done", cams[2], "timeout", now - dt.timedelta(hours=3), "resolved"),
    ]
    async with live.app.engine.begin() as c:
        for n, (key, cam, cause, deadline, status) in enumerate(rows):
            await c.execute(insert(WorkOrder).values(
                incident_key=key, camera_id=cam.id, region_code=cam.labels.village, cause=cause, severity="normal",
                status=status, opened_at=now - dt.timedelta(hours=5 - n), deadline=deadline, title=f"摄像机离线：{cam.name}",
                cameras=1, resolved_at=now - dt.timedelta(hours=4) if status == "resolved" else None))

    html = await page(http, live, "/workorders?open=false", headers=ADMIN)
    listed = re.findall(r'href="/incidents/(o-walk-[a-z]+)"', html)
    assert listed == ["o-walk-overdue", "o-walk-soon", "o-walk-later", "o-walk-done"], listed
    text = main_text(html)
    for cause in ("refused", "auth_failed", "no_video", "timeout"):
        assert f"原因： {Cause(cause).words('zh')}" in text, (cause, text)
    assert "refused" not in text and "auth_failed" not in text  # words, never the enum
    en = main_text(await page(http, live, "/workorders?open=false&lang=en", headers=ADMIN))
    assert f"Cause: {Cause.AUTH_FAILED.words('en')}" in en and Cause.AUTH_FAILED.words("zh") not in en
    camera = main_text(await page(http, live, f"/cameras/{cams[1].id}", headers=ADMIN))
    assert f"原因： {Cause.AUTH_FAILED.words('zh')}" in camera  # the camera page's order table too


async def test_uplink_incident_names_the_uplink_and_its_device(live: Live, http: aiohttp.ClientSession) -> None:
    cams = [slot(live, i).cam for i in (0, 2)]
    async with live.app.engine.connect() as c:
        dev_id, dev_name = (await c.execute(select(Device.id, Device.name).join(Camera, Camera.parent_device_id == Device.id)
                                            .where(Camera.id == cams[0].id))).one()
    now = live.app.clock()
    key = "o-walk-uplink"
    # the members' last probes read "timeout"; the outage was judged an uplink failure when opened
    inc = AlertIncident(key, IncidentKind.OUTAGE, Severity.CRITICAL, cams[0].labels.village, dev_id, now, now,
                        tuple(Member(c.id, Cause.TIMEOUT, now) for c in cams), 4, 0)
    await store.apply_actions(live.app.engine, [
        IncidentChanged(inc),
        OpenWorkOrder(key, f"【严重】{cams[0].labels.village_name} 2/4 台摄像机离线，疑似上联中断", None, cams[0].labels.village,
                      dev_id, Cause.UPSTREAM_DOWN, Severity.CRITICAL, 2, now, now + dt.timedelta(hours=2))], now)
    text = main_text(await page(http, live, f"/incidents/{key}", headers=ADMIN))
    facts = text[:text.index("涉及摄像机")]
    assert Cause.UPSTREAM_DOWN.words("zh") in facts and "疑似上联中断" in facts, facts
    assert "上联设备" in facts and dev_name in facts
    assert Cause.TIMEOUT.words("zh") not in facts  # the members' own causes stay in their table
    en = main_text(await page(http, live, f"/incidents/{key}?lang=en", headers=ADMIN))
    assert Cause.UPSTREAM_DOWN.words("en") in en and "suspected uplink failure" in en and dev_name in en

    single = await page(http, live, f"/incidents/{await _single(live)}", headers=ADMIN)  # a camera's own outage
    assert "疑似上联中断" not in main_text(single)[:main_text(single).index("涉及摄像机")]


async def _single(live: Live) -> str:
    cam = slot(live, DOWN[0]).cam
    now = live.app.clock()
    key = "o-walk-single"
    inc = AlertIncident(key, IncidentKind.OUTAGE, Severity.NORMAL, cam.labels.village, None, now, now,
                        (Member(cam.id, Cause.REFUSED, now),), 4, 0)
    await store.apply_actions(live.app.engine, [
        IncidentChanged(inc),
        OpenWorkOrder(key, f"【一般】摄像机离线：{cam.name}", cam.id, cam.labels.village, None, Cause.REFUSED,
                      Severity.NORMAL, 1, now, now + dt.timedelta(hours=24))], now)
    return key


async def test_english_camera_page_has_no_chinese_punctuation(live: Live, http: aiohttp.ClientSession) -> None:
    busy = {slot(live, i).cam.labels.village for i in (0, 2, *DOWN)}  # villages with (Chinese) work order titles
    quiet = next(s.cam for s in live.app.scheduler.slots.values() if s.cam.labels.village not in busy)
    en = main_text(await page(http, live, f"/cameras/{quiet.id}?lang=en", headers=ADMIN))
    assert "no picture yet (video checks are off)" in en and "（video" not in en
