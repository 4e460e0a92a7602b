"""What a contractor may see, and what the audit log says of exclusion writes, over real HTTP (the
simulated fleet on loopback, SQLite): a contractor reads the region-wide exclusions and silences of
the regions holding one of its cameras only (another company's, their reasons and proposers, stay
hidden), and no region it has no camera in; the API and the console's pages list the same
exclusions for every role; request bodies refuse ids beyond 64 bits, absurd dates and control
characters (400 naming the field; a form shown again with the words); every exclusion write is
audited with its id, scope, period and reason; one added over a closed month is kept with a warning."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from typing import Any

import aiohttp
import pytest
from sqlalchemy import insert, select, update

from collector.alerting import incident_store as store
from collector.reports.snapshots import close_month
from inventory.models import AuditEntry, Camera, Exclusion, ExclusionStatus
from tests.collector.test_api_support import TZ, Live, error_param, get, http_fixture, live_fixture
from tests.collector.test_web_pages import page, token_for

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()

COUNTY, TOWN1, TOWN2 = "130123000000", "130123101000", "130123102000"  # 示范县, 城关镇, 东风镇
VILLAGE1, VILLAGE2 = "130123101201", "130123102201"  # 大前村1 (城关镇), 刘后村1 (东风镇)
C2 = "东风运维公司"
LOCAL = "%Y-%m-%dT%H:%M"


def errors(html: str) -> list[str]:
    return [htmllib.unescape(re.sub(r"<[^>]+>", "", e)) for e in re.findall(r'class="form-error"[^>]*>(.*?)</p>', html, re.S)]


async def _exclusion(live: Live, token: str, *, camera_id: int | None = None, region_code: str | None = None,
                     status: str = ExclusionStatus.APPROVED.value, proposer: str | None = None) -> int:
    now = dt.datetime.now(dt.UTC)
    async with live.app.engine.begin() as c:
        res = await c.execute(insert(Exclusion).values(
            camera_id=camera_id, region_code=region_code, start=now - dt.timedelta(hours=1),
            end=now + dt.timedelta(hours=5), reason=token, approver="" if proposer else "审批人", created_at=now,
            status=status, proposer=proposer))
        return int(res.inserted_primary_key[0])  # type: ignore[index]


async def _api_tokens(http: aiohttp.ClientSession, live: Live, who: dict[str, str], tokens: set[str]) -> set[str]:
    body = await get(http, live, "/api/v1/exclusions?limit=1000", headers=who)
    return {i["reason"] for i in body["items"]} & tokens


async def _page_tokens(http: aiohttp.ClientSession, live: Live, who: dict[str, str], tokens: set[str]) -> set[str]:
    html = await page(http, live, "/exclusions?active=false", headers=who)
    html += await page(http, live, "/exclusions/proposals?status=all", headers=who)
    return {t for t in tokens if t in html}


async def test_a_contractor_reads_only_what_concerns_its_cameras_and_pages_agree(
        live: Live, http: aiohttp.ClientSession) -> None:
    async with live.app.engine.begin() as c:  # another company looks after 东风镇
        await c.execute(update(Camera).where(Camera.name.like("刘后村1%") | Camera.name.like("陈大营2%")
                                             | Camera.name.like("杨老屯3%")).values(contractor=C2))
        first = (await c.execute(select(Camera.contractor).where(Camera.name.like("大前村1%")))).scalars().first()
        town1_cam = (await c.execute(select(Camera.id).where(Camera.name.like("大前村1%")))).scalars().first()
        town2_cam = (await c.execute(select(Camera.id).where(Camera.name.like("刘后村1%")))).scalars().first()
    await live.app.reload()
    c1 = await token_for(live, "scope-c1", "contractor", contractor=first)
    c2 = await token_for(live, "scope-c2", "contractor", contractor=C2)
    t2 = await token_for(live, "scope-t2", "township", regions=[TOWN2])
    others = {role: await token_for(live, f"scope-{role}", role) for role in ("admin", "assessor", "duty")}

    ids = {"R-county": await _exclusion(live, "R-county", region_code=COUNTY),
           "R-town1": await _exclusion(live, "R-town1", region_code=TOWN1, status="proposed", proposer="scope-c1"),
           "R-village1": await _exclusion(live, "R-village1", region_code=VILLAGE1),
           "R-village2": await _exclusion(live, "R-village2", region_code=VILLAGE2),
           "R-cam1": await _exclusion(live, "R-cam1", camera_id=town1_cam),
           "R-cam2": await _exclusion(live, "R-cam2", camera_id=town2_cam)}
    tokens = set(ids)

    # the reviewer's case: c2 (东风镇 only) no longer reads 城关镇's exclusions, nor their reasons
    assert await _api_tokens(http, live, c2, tokens) == {"R-county", "R-village2", "R-cam2"}
    assert await _api_tokens(http, live, c1, tokens) == {"R-county", "R-town1", "R-village1", "R-cam1"}
    assert await _api_tokens(http, live, t2, tokens) == {"R-county", "R-village2", "R-cam2"}
    assert (await get(http, live, f"/api/v1/exclusions?region_code={TOWN1}", headers=c2))["total"] == 0
    for who in (c1, c2, t2, *others.values()):  # the API and the pages agree, for every role
        assert await _api_tokens(http, live, who, tokens) == await _page_tokens(http, live, who, tokens)
    assert await _api_tokens(http, live, others["admin"], tokens) == tokens
    assert "scope-c1" not in await page(http, live, "/exclusions/proposals?status=all", headers=c2)

    # silences: another company's region-wide silence is not c2's to read
    now = live.app.clock()
    until = now + dt.timedelta(hours=3)
    s_town1 = await store.add_silence(live.app.engine, until=until, camera_id=None, region_code=TOWN1,
                                      reason="S-town1", now=now)
    s_village2 = await store.add_silence(live.app.engine, until=until, camera_id=None, region_code=VILLAGE2,
                                         reason="S-village2", now=now)
    s_county = await store.add_silence(live.app.engine, until=until, camera_id=None, region_code=COUNTY,
                                       reason="S-county", now=now)
    seen = {i["id"] for i in (await get(http, live, "/api/v1/silences", headers=c2))["items"]}
    assert s_town1 not in seen and {s_village2, s_county} <= seen
    seen = {i["id"] for i in (await get(http, live, "/api/v1/silences", headers=t2))["items"]}
    assert s_town1 not in seen and {s_village2, s_county} <= seen
    seen = {i["id"] for i in (await get(http, live, "/api/v1/silences", headers=c1))["items"]}
    assert s_town1 in seen and s_village2 not in seen

    # regions: none without one of its cameras; its own without coverage, its children only
    await get(http, live, f"/api/v1/regions/{TOWN1}", 404, headers=c2)
    await get(http, live, f"/api/v1/regions/{VILLAGE1}", 404, headers=c2)
    await page(http, live, f"/regions/{TOWN1}", 404, headers=c2)
    county = await get(http, live, f"/api/v1/regions/{COUNTY}", headers=c2)
    assert [k["code"] for k in county["children"]] == [TOWN2] and county["coverage"] is None
    assert all(k["coverage"] is None for k in county["children"])
    town = await get(http, live, f"/api/v1/regions/{TOWN2}", headers=c2)
    assert town["coverage"] is None and all(k["coverage"] is None for k in town["children"])
    assert town["cameras"]["total"] == 11  # 东风镇's eleven cameras, all c2's
    assert (await get(http, live, f"/api/v1/regions/{TOWN1}", headers=others["admin"]))["coverage"] is not None
    county_page = await page(http, live, f"/regions/{COUNTY}", headers=c2)
    assert "东风镇" in county_page and "城关镇" not in county_page
    village = await page(http, live, "/regions/130123102202", headers=c2)  # 陈大营2: 十字路口 has no camera
    assert "陈大营2村口" in village and "十字路口" not in village
    assert "十字路口" in await page(http, live, "/regions/130123102202", headers=t2)
    # the overview's township ranking: c2's township alone (not every township, with empty counts)
    overview = await page(http, live, "/", headers=c2)
    assert f'href="/regions/{TOWN2}"' in overview and f'href="/regions/{TOWN1}"' not in overview


async def test_bodies_refuse_huge_ids_absurd_dates_and_control_characters(live: Live, http: aiohttp.ClientSession) -> None:
    admin = await token_for(live, "bounds-admin", "admin")
    cam = live.cams[3]
    now = dt.datetime.now(TZ)
    good = {"camera_id": cam, "start": now.strftime("%Y-%m-%d %H:%M"),
            "end": (now + dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"), "reason": "检修", "approver": "张三"}
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/api/v1/exclusions", {**good, "camera_id": 9223372036854775808}, "camera_id"),
        ("/api/v1/exclusions", {**good, "camera_id": -1}, "camera_id"),
        ("/api/v1/exclusions", {**good, "end": "9999-12-31 23:59"}, "end"),
        ("/api/v1/exclusions", {**good, "start": "1900-01-01"}, "start"),
        ("/api/v1/exclusions", {**good, "reason": "a\u0000b"}, "reason"),
        ("/api/v1/exclusions", {**good, "reason": "a\u007fb"}, "reason"),
        ("/api/v1/exclusions", {**good, "approver": "张\n三"}, "approver"),
        ("/api/v1/exclusions/proposals", {k: v for k, v in good.items() if k != "approver"} | {"reason": "\u001b[31m"},
         "reason"),
        ("/api/v1/exclusions/1/approve", {"note": "ok\u0007"}, "note"),
        ("/api/v1/exclusions/1/reject", {"note": "no\u0000"}, "note"),
        ("/api/v1/workorders/1/close", {"note": "修好\u0000"}, "note"),
        ("/api/v1/silences", {"camera_id": cam, "until": "9999-12-31 23:59"}, "until"),
        ("/api/v1/silences", {"camera_id": cam, "until": (now + dt.timedelta(hours=1)).isoformat(),
                              "reason": "x\u0001"}, "reason"),
    ]
    for path, body, field in cases:
        async with http.post(live.u(path), json=body, headers=admin) as r:
            assert r.status == 400, (path, body, r.status, await r.text())
            error_param(await r.json(), field)
    for query in ("camera_id=9223372036854775808", "camera_id=0"):
        error_param(await get(http, live, f"/api/v1/exclusions?{query}", 400, headers=admin), "camera_id")
    ok = {**good, "reason": "第一行\r\n第二行\t备注"}  # tab and newline are text
    async with http.post(live.u("/api/v1/exclusions"), json=ok, headers=admin) as r:
        made = await r.json()
        assert r.status == 201 and made["reason"] == "第一行\n第二行\t备注", made
    async with http.delete(live.u(f"/api/v1/exclusions/{made['id']}"), headers=admin) as r:
        assert r.status in (200, 204)

    # the console's forms: shown again with the field named and the words, in Chinese or English
    start = dt.datetime.now(TZ) + dt.timedelta(hours=1)
    form = {"camera_id": str(cam), "region_code": "", "start": start.strftime(LOCAL),
            "end": (start + dt.timedelta(hours=2)).strftime(LOCAL), "reason": "a\u0000b", "approver": ""}
    for data, lang, said in ((form, "zh", "不能含控制字符"), (form, "en", "must not contain control characters"),
                             ({**form, "reason": "ok", "end": "9999-12-31T23:59"}, "zh", "应在 2000-01-01 至 2099-12-31 之间"),
                             ({**form, "reason": "ok", "camera_id": "9223372036854775808"}, "zh", "应不大于")):
        async with http.post(live.u(f"/exclusions?lang={lang}"), data=data, headers=admin, allow_redirects=False) as r:
            html = await r.text()
            assert r.status == 400, (data, r.status, html[:300])
        assert errors(html) and all(said in e for e in errors(html)), (data, errors(html))
    async with live.app.engine.connect() as c:
        assert (await c.execute(select(Exclusion.id).where(Exclusion.reason.like("a%b")))).first() is None


async def _details(live: Live, actor: str, since: int) -> list[str]:
    async with live.app.engine.connect() as c:
        rows = (await c.execute(select(AuditEntry.action, AuditEntry.detail)
                                .where(AuditEntry.actor == actor, AuditEntry.id > since).order_by(AuditEntry.id))).all()
    return [f"{a} | {d}" for a, d in rows]


async def test_every_exclusion_write_is_audited_with_what_was_done(live: Live, http: aiohttp.ClientSession) -> None:
    admin = await token_for(live, "audit-admin", "admin")
    async with live.app.engine.connect() as c:
        since = (await c.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()))).scalars().first() or 0
    cam = live.cams[4]
    now = dt.datetime.now(TZ)
    body = {"camera_id": cam, "start": (now + dt.timedelta(hours=1)).isoformat(),
            "end": (now + dt.timedelta(hours=3)).isoformat(), "reason": "API加的报备", "approver": "王五"}
    async with http.post(live.u("/api/v1/exclusions"), json=body, headers=admin) as r:
        made = await r.json()
        assert r.status == 201 and "warning" not in made
    async with http.delete(live.u(f"/api/v1/exclusions/{made['id']}"), headers=admin) as r:
        assert r.status == 204
    start = now + dt.timedelta(hours=2)
    form = {"camera_id": "", "region_code": VILLAGE1, "start": start.strftime(LOCAL),
            "end": (start + dt.timedelta(hours=2)).strftime(LOCAL), "reason": "表单加的报备", "approver": ""}
    async with http.post(live.u("/exclusions"), data=form, headers=admin, allow_redirects=False) as r:
        assert r.status == 303, await r.text()
    async with live.app.engine.connect() as c:
        formed = (await c.execute(select(Exclusion.id).where(Exclusion.reason == "表单加的报备"))).scalar_one()
    async with http.post(live.u(f"/exclusions/{formed}/end"), headers=admin, allow_redirects=False) as r:
        assert r.status == 303
    proposal = {k: v for k, v in body.items() if k != "approver"} | {"reason": "申请的报备"}
    async with http.post(live.u("/api/v1/exclusions/proposals"), json=proposal, headers=admin) as r:
        proposed = await r.json()
    async with http.post(live.u(f"/api/v1/exclusions/{proposed['id']}/reject"), json={"note": "不同意"},
                         headers=admin) as r:
        assert r.status == 200

    said = await _details(live, "audit-admin", since)
    xid = made["id"]
    assert any(d.startswith("POST /api/v1/exclusions | status 201; ") and f"exclusion #{xid} added: camera {cam}, "
               in d and "reason: API加的报备" in d and "approver: 王五" in d for d in said), said
    assert any(d.startswith("DELETE /api/v1/exclusions/{id} | status 204; remove;") and f"exclusion #{xid} removed"
               in d and "reason=API加的报备" in d for d in said), said
    assert any(d.startswith("POST /exclusions | status 303; ") and f"exclusion #{formed} added: region {VILLAGE1}, "
               in d and "reason: 表单加的报备" in d for d in said), said
    assert any(d.startswith("POST /exclusions/{id}/end | status 303; ") and f"exclusion #{formed} removed" in d
               and "reason=表单加的报备" in d for d in said), said
    assert any(f"exclusion #{proposed['id']} rejected: camera {cam}" in d and "reason: 申请的报备" in d
               and "note: 不同意" in d for d in said), said


async def test_adding_over_a_closed_month_is_kept_and_said(live: Live, http: aiohttp.ClientSession) -> None:
    admin = await token_for(live, "closed-admin", "admin")
    await close_month(live.app.engine, live.app.settings, "2025-10", live.app.clock())
    cam = live.cams[6]
    body = {"camera_id": cam, "start": "2025-10-31 20:00", "end": "2025-11-01 02:00", "reason": "补报停电", "approver": "赵六"}
    async with http.post(live.u("/api/v1/exclusions"), json=body, headers=admin) as r:
        made = await r.json()
        assert r.status == 201, made
    warning = made["warning"]
    assert warning["code"] == "closed_month" and warning["months"] == ["2025-10"]
    assert "2025-10 is closed" in warning["en"] and "camwatch report reopen --month 2025-10" in warning["en"]
    assert "2025-10 已结算" in warning["zh"] and "不会因此改变" in warning["zh"]
    async with http.post(live.u("/api/v1/exclusions"), json={**body, "start": "2025-09-10", "end": "2025-09-11"},
                         headers=admin) as r:
        assert r.status == 201 and "warning" not in await r.json()

    form = {"camera_id": str(cam), "region_code": "", "start": "2025-10-20T08:00", "end": "2025-10-20T12:00",
            "reason": "表单补报停电", "approver": ""}
    async with http.post(live.u("/exclusions"), data=form, headers=admin, allow_redirects=False) as r:
        assert r.status == 303
        where = r.headers["Location"]
    async with live.app.engine.connect() as c:
        xid = (await c.execute(select(Exclusion.id).where(Exclusion.reason == "表单补报停电"))).scalar_one()
    assert where == f"/exclusions?added={xid}&active=false"
    shown = await page(http, live, where, headers=admin)
    note = re.search(r'<p class="notice" role="status"[^>]*>(.*?)</p>', shown, re.S)
    assert note and f"报备 #{xid} 已添加，但 2025-10 已结算" in htmllib.unescape(note.group(1))
    assert re.search(rf'<tr id="x{xid}" class="added">.*?表单补报停电', shown, re.S)
    english = await page(http, live, where + "&lang=en", headers=admin)
    assert f"exclusion #{xid} was added, but 2025-10 is closed" in htmllib.unescape(english)
    async with live.app.engine.connect() as c:
        audited = (await c.execute(select(AuditEntry.detail).where(AuditEntry.actor == "closed-admin",
                                                                   AuditEntry.action == "POST /exclusions"))).scalar_one()
    assert f"exclusion #{xid} added" in audited and "closed months: 2025-10" in audited
