"""The web console's pages, served by a real App probing the simulated fleet on SQLite: content in
Chinese and English, scoping by a township account's personal token, the work-order and exclusion
forms, alert links that open pages, and never a camera password."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import numpy as np
import pytest
from sqlalchemy import select

from collector.alerting import incident_store as store
from collector.alerting.messages import link_for
from collector.alerting.model import Incident as AlertIncident
from collector.alerting.model import IncidentChanged, IncidentKind, Member, OpenWorkOrder, Severity
from collector.settings import load_settings
from collector.web import accounts
from collector.web.pages import PAGE_ROUTES
from inventory.models import Camera, Exclusion, Point
from probes.causes import Cause
from probes.frame_grab import encode_jpeg
from tests.collector.test_api_support import DOWN, PASSWORD, USERINFO, Live, http_fixture, live_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()


async def page(http: aiohttp.ClientSession, live: Live, path: str, status: int = 200, **kw: Any) -> str:
    async with http.get(live.u(path), allow_redirects=False, **kw) as r:
        text = await r.text()
        assert r.status == status, (path, r.status, text[:500])
        if status == 200:
            assert r.content_type == "text/html" and r.charset == "utf-8"
        assert PASSWORD not in text and not USERINFO.search(text), path
        return text


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def slot(live: Live, i: int) -> Any:
    return live.app.scheduler.slots[live.cams[i]]


async def token_for(live: Live, name: str, role: str, **kw: Any) -> dict[str, str]:
    now = live.app.clock()
    uid = await accounts.add_user(live.app.engine, name, role, password=None, now=now, **kw)
    return {"Authorization": f"Bearer {await accounts.create_token(live.app.engine, uid, 'test', now)}"}


async def test_overview_in_chinese_then_english(live: Live, http: aiohttp.ClientSession) -> None:
    await live.app.refresh_figures()
    html = await page(http, live, "/")
    assert '<html lang="zh-CN">' in html and "总览" in html and "本月在线率" in html
    # what the month's rates are and as of when, to the second: they lag the live counts (a page
    # and the API may differ), and /reports, summed when opened, may say otherwise
    at = live.app.figures.computed_at
    assert at is not None and "本月在线率：本月 1 日 0 点至" in html and "按时长计算，报备时间不计" in html
    assert at.astimezone(ZoneInfo(live.app.settings.accounting.timezone)).strftime("%Y-%m-%d %H:%M:%S") in html
    assert "报表页在打开时另行计算" in html
    towns = {s.cam.labels.township_name for s in live.app.scheduler.slots.values()}
    assert len(towns) > 1 and all(t in html for t in towns)
    for i in DOWN:  # the offline list: name, cause in words (probes/causes.py), since
        s = slot(live, i)
        assert s.status.cause is Cause.REFUSED
        assert f'href="/cameras/{s.cam.id}"' in html and s.cam.name in html
    assert Cause.REFUSED.words("zh") in html and Cause.REFUSED.words("en") not in html
    assert 'src="/static/console.js"' in html and 'href="/static/console.css"' in html
    assert "http://" not in html and "https://" not in html  # no CDN, nothing outside camwatch

    async with http.get(live.u("/?lang=en")) as r:
        en = await r.text()
        assert r.cookies["camwatch_lang"].value == "en"
    assert '<html lang="en">' in en and "Overview" in en and Cause.REFUSED.words("en") in en
    assert "总览" not in visible_text(en)
    again = await page(http, live, "/", cookies={"camwatch_lang": "en"})  # remembered
    assert "Overview" in again


async def test_overview_filters_and_camera_list(live: Live, http: aiohttp.ClientSession) -> None:
    s0 = slot(live, DOWN[0])
    other = slot(live, DOWN[1])
    html = await page(http, live, f"/?village={s0.cam.labels.village}")
    assert f'href="/cameras/{s0.cam.id}"' in html
    assert (f'href="/cameras/{other.cam.id}"' in html) == (other.cam.labels.village == s0.cam.labels.village)
    none = await page(http, live, "/?cause=auth_failed")
    assert not re.search(r'href="/cameras/\d+"', none)
    listed = await page(http, live, "/cameras?state=online")
    ids = {int(x) for x in re.findall(r'href="/cameras/(\d+)"', listed)}
    assert ids and not ids & {live.cams[i] for i in DOWN}
    assert (await page(http, live, "/cameras?flapping=1")).count('href="/cameras/') == 0  # nothing flaps here
    assert 'method="post"' not in await page(http, live, "/exclusions")  # anonymous (no account yet): no forms


async def test_static_assets_served_here(live: Live, http: aiohttp.ClientSession) -> None:
    for name, kind in (("console.css", "text/css"), ("console.js", "javascript")):
        async with http.get(live.u(f"/static/{name}")) as r:
            assert r.status == 200 and kind in r.content_type
            assert len(await r.read()) > 200


async def test_region_pages(live: Live, http: aiohttp.ClientSession) -> None:
    s0 = slot(live, 0)
    lb = s0.cam.labels
    town = await page(http, live, f"/regions/{lb.township}")
    assert lb.township_name in town and "各村排名" in town and "规划点位" in town
    villages = {s.cam.labels.village_name for s in live.app.scheduler.slots.values() if s.cam.labels.township == lb.township}
    assert villages and all(v in town for v in villages)
    assert town.count("<svg") == 2 and "近 30 天" in town and "近 90 天" in town
    village = await page(http, live, f"/regions/{lb.village}")
    assert lb.village_name in village and s0.cam.name in village and s0.cam.point_name in village
    async with live.app.engine.connect() as c:
        planned = (await c.execute(select(Point.name).where(Point.village_code == lb.village))).scalars().all()
    assert planned and all(p in village for p in planned)
    county = await page(http, live, f"/regions/{lb.county}")
    assert lb.township_name in county and "各乡镇排名" in county
    await page(http, live, "/regions/999999999999", status=404)


async def test_camera_page(live: Live, http: aiohttp.ClientSession) -> None:
    s = slot(live, DOWN[0])
    html = await page(http, live, f"/cameras/{s.cam.id}")
    async with live.app.engine.connect() as c:
        gb_id, vendor = (await c.execute(select(Camera.gb_id, Camera.vendor).where(Camera.id == s.cam.id))).one()
    assert s.cam.name in html and gb_id and gb_id in html and (vendor or "—") in html
    assert "离线" in html and Cause.REFUSED.words("zh") in html
    assert html.count("<svg") == 3 and "24 小时" in html and "30 天" in html  # three timelines
    assert "reach" in html and " ms" in html  # the last ladder's stages with times
    assert "admin123" not in html and s.cam.target.password not in html
    en = await page(http, live, f"/cameras/{s.cam.id}?lang=en")
    assert "Identity" in en and Cause.REFUSED.words("en") in en
    await page(http, live, "/cameras/999999", status=404)
    await page(http, live, "/cameras/abc", status=404)


async def _incident(live: Live, idx: tuple[int, ...], key: str) -> AlertIncident:
    now = live.app.clock()
    first = slot(live, idx[0]).cam
    inc = AlertIncident(key, IncidentKind.OUTAGE, Severity.NORMAL, first.labels.village, None, now, now,
                        tuple(Member(live.cams[i], Cause.REFUSED, now) for i in idx), 4, 0)
    await store.apply_actions(live.app.engine, [
        IncidentChanged(inc),
        OpenWorkOrder(key, f"{first.labels.village_name} 摄像机离线", live.cams[idx[0]] if len(idx) == 1 else None,
                      None if len(idx) == 1 else first.labels.village, None, Cause.REFUSED, Severity.NORMAL, len(idx),
                      now, now + dt.timedelta(hours=24))], now)
    return inc


async def test_alert_links_open_pages_and_forms_act(live: Live, http: aiohttp.ClientSession) -> None:
    assert load_settings(environ={}).alerts.base_url == "http://127.0.0.1:9850"  # links default to the console
    base = live.u("")
    one = await _incident(live, (DOWN[0],), "o-test-one")
    many = await _incident(live, (0, 4), "o-test-many")
    link_one, link_many = link_for(one, base), link_for(many, base)
    assert link_one == f"{base}/cameras/{live.cams[DOWN[0]]}" and link_many == f"{base}/incidents/o-test-many"
    html = await page(http, live, link_one[len(base):])
    assert slot(live, DOWN[0]).cam.name in html and "摄像机离线" in html  # its work order listed
    inc = await page(http, live, link_many[len(base):])
    assert all(slot(live, i).cam.name in inc for i in (0, 4)) and "待处理" in inc
    # headed by where, what and when (local), the raw id beside it, small
    lb, start = slot(live, 0).cam.labels, many.start.astimezone(ZoneInfo(live.app.settings.accounting.timezone))
    assert f"<h1>{lb.village_name} · 2 台摄像机离线 · {start:%m-%d %H:%M}</h1>" in inc
    assert "<h1>事件" not in inc and "事件编号 <code>o-test-many</code>" in inc
    en = await page(http, live, link_many[len(base):] + "?lang=en")
    assert f"<h1>{lb.village_name} · 2 cameras offline · {start:%m-%d %H:%M}</h1>" in en
    assert 'action="/workorders/' not in inc  # anonymous: no forms
    await page(http, live, "/incidents/o-no-such", status=404)

    duty = await token_for(live, "duty1", "duty")
    orders = await page(http, live, "/workorders", headers=duty)
    oid = int(re.search(r'action="/workorders/(\d+)/ack', orders).group(1))  # type: ignore[union-attr]
    assert "close_note" not in orders and 'name="note"' not in orders  # duty may acknowledge, not close
    async with http.post(live.u(f"/workorders/{oid}/ack?next=/workorders"), headers=duty, allow_redirects=False) as r:
        assert r.status == 303 and r.headers["Location"] == "/workorders"
    assert (await store.list_work_orders(live.app.engine, open_only=True))[0].status.value in ("acknowledged", "open")
    acked = {o.id: o for o in await store.list_work_orders(live.app.engine)}[oid]
    assert acked.status.value == "acknowledged" and acked.acknowledged_at is not None
    async with http.post(live.u(f"/workorders/{oid}/close"), headers=duty, data={"note": "x"}, allow_redirects=False) as r:
        assert r.status == 403  # not duty's to close

    admin = await token_for(live, "admin1", "admin")
    async with http.post(live.u(f"/workorders/{oid}/close"), headers=admin, data={"note": "换了电源"},
                         allow_redirects=False) as r:
        assert r.status == 303
    closed = {o.id: o for o in await store.list_work_orders(live.app.engine)}[oid]
    assert closed.status.value == "resolved" and closed.note == "换了电源"
    everything = await page(http, live, "/workorders?open=false", headers=admin)
    assert "换了电源" in everything and "已完成" in everything
    red = await page(http, live, "/workorders?color=red&open=false", headers=admin)
    assert "换了电源" not in red


async def test_township_account_sees_only_its_township(live: Live, http: aiohttp.ClientSession) -> None:
    slots = list(live.app.scheduler.slots.values())
    mine_code = slot(live, 0).cam.labels.township
    theirs = next(s for s in slots if s.cam.labels.township != mine_code)
    mine = [s for s in slots if s.cam.labels.township == mine_code]
    leader = await token_for(live, "leader1", "township", regions=[mine_code])
    html = await page(http, live, "/", headers=leader)
    assert slot(live, 0).cam.labels.township_name in html and theirs.cam.labels.township_name not in html
    listed = await page(http, live, "/cameras", headers=leader)
    assert {int(x) for x in re.findall(r'href="/cameras/(\d+)"', listed)} == {s.cam.id for s in mine}
    await page(http, live, f"/regions/{mine_code}", headers=leader)
    await page(http, live, f"/regions/{theirs.cam.labels.township}", status=404, headers=leader)
    await page(http, live, f"/regions/{theirs.cam.labels.village}", status=404, headers=leader)
    await page(http, live, f"/cameras/{theirs.cam.id}", status=404, headers=leader)
    await page(http, live, f"/cameras/{mine[0].cam.id}", headers=leader)
    county = await page(http, live, f"/regions/{slot(live, 0).cam.labels.county}", headers=leader)
    assert "只显示您有权查看的部分" in county and theirs.cam.labels.township_name not in county
    async with http.post(live.u("/exclusions"), headers=leader, data={"region_code": mine_code}, allow_redirects=False) as r:
        assert r.status == 403  # read-only


async def test_exclusion_forms(live: Live, http: aiohttp.ClientSession) -> None:
    assessor = await token_for(live, "assessor1", "assessor")
    form = await page(http, live, "/exclusions", headers=assessor)
    assert 'action="/exclusions"' in form and 'name="csrf_token"' in form
    village = slot(live, 7).cam.labels.village
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    data = {"region_code": village, "start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "reason": "线路改造停电", "approver": ""}
    async with http.post(live.u("/exclusions"), headers=assessor, data=data, allow_redirects=False) as r:
        assert r.status == 303, visible_text(await r.text())
    async with live.app.engine.connect() as c:
        row = (await c.execute(select(Exclusion).where(Exclusion.reason == "线路改造停电"))).one()
    assert row.region_code == village and row.approver == "assessor1"
    listed = await page(http, live, "/exclusions", headers=assessor)
    assert "线路改造停电" in listed and f'action="/exclusions/{row.id}/end"' in listed
    bad = {**data, "end": data["start"], "reason": "坏的"}
    async with http.post(live.u("/exclusions"), headers=assessor, data=bad, allow_redirects=False) as r:
        assert r.status == 400 and "end" in await r.text()
    async with http.post(live.u(f"/exclusions/{row.id}/end"), headers=assessor, allow_redirects=False) as r:
        assert r.status == 303
    async with live.app.engine.connect() as c:
        assert (await c.execute(select(Exclusion).where(Exclusion.id == row.id))).first() is None  # to come: removed


async def test_every_page_route_answers_without_a_password(live: Live, http: aiohttp.ClientSession) -> None:
    admin = await token_for(live, "admin2", "admin")
    lb = slot(live, 0).cam.labels
    values = {"{id}": str(live.cams[DOWN[1]]), "{code}": lb.township}
    for method, path, _ in PAGE_ROUTES:
        if method != "GET":
            continue
        for k, v in values.items():
            path = path.replace(k, v)
        if path.startswith("/incidents/"):
            path = "/incidents/o-test-many"
        if path.endswith("/frame.jpg"):  # a picture, not a page (test_camera_picture_is_scoped): none kept yet
            await page(http, live, path, status=404, headers=admin)
            continue
        if path == "/reports/workbook":  # a download, not a page (tests/collector/test_web_reports.py)
            async with http.get(live.u(path), headers=admin) as r:
                assert r.status == 200 and r.content_type.endswith("spreadsheetml.sheet") and (await r.read())[:2] == b"PK"
            continue
        for lang in ("zh", "en"):
            html = await page(http, live, f"{path}?lang={lang}", headers=admin)
            assert html.startswith("<!doctype html>") and "</html>" in html


async def test_camera_picture_is_scoped(live: Live, http: aiohttp.ClientSession) -> None:
    """The video tier's last picture (collector.runtime.frames): kept on disk, served beside the
    picture checks, read only by who may read the camera."""
    store = live.app.frames
    assert store is not None
    slots = list(live.app.scheduler.slots.values())
    mine = slot(live, 0)
    theirs = next(s for s in slots if s.cam.labels.township != mine.cam.labels.township)
    # (accounts exist by now, made by the tests before: anonymous reads end once the console notices)
    admin = await token_for(live, "admin3", "admin")
    html = await page(http, live, f"/cameras/{mine.cam.id}", headers=admin)
    assert "暂无画面" in html and f"/cameras/{mine.cam.id}/frame.jpg" not in html
    picture = np.full((180, 320, 3), 90, np.uint8)
    jpeg = encode_jpeg(picture)
    assert jpeg is not None
    for s in (mine, theirs):
        await asyncio.to_thread(store.write, s.cam.id, jpeg)
    assert oct(store.path(mine.cam.id).stat().st_mode & 0o777) == "0o600"
    html = await page(http, live, f"/cameras/{mine.cam.id}", headers=admin)
    assert f'<img src="/cameras/{mine.cam.id}/frame.jpg" alt="最近一次画面" width="320" loading="lazy">' in html
    assert "暂无画面" not in html and "Last picture" in await page(http, live, f"/cameras/{mine.cam.id}?lang=en",
                                                                  headers=admin)
    leader = await token_for(live, "leader3", "township", regions=[mine.cam.labels.township])
    for who, s, status in ((admin, mine, 200), (admin, theirs, 200), (leader, mine, 200), (leader, theirs, 404)):
        async with http.get(live.u(f"/cameras/{s.cam.id}/frame.jpg"), headers=who, allow_redirects=False) as r:
            body = await r.read()
            assert r.status == status, (s.cam.id, r.status)
            if status == 200:
                assert r.content_type == "image/jpeg" and body == jpeg and body[:2] == b"\xff\xd8"
                assert r.headers["Cache-Control"] == "private, max-age=60"
            else:
                assert b"\xff\xd8" not in body[:2]
    await page(http, live, "/cameras/999999/frame.jpg", status=404, headers=admin)
    store.retire({theirs.cam.id})  # (the camera left the inventory)
    await store.drain()
    assert not store.path(theirs.cam.id).exists() and store.path(mine.cam.id).exists()
    await asyncio.to_thread(store.remove, mine.cam.id)


async def test_the_account_page_with_an_api_token_is_a_page_not_a_500(live: Live, http: aiohttp.ClientSession) -> None:
    """A user's API token (no session, no form token) may open /account: it answered 500."""
    headers = await token_for(live, "tokenreader", "admin")
    html = await page(http, live, "/account", headers=headers)
    assert "tokenreader" in html
