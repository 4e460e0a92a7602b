"""A contractor (运维单位) and the work orders of a village outage or a suspected uplink failure
(``camera_id`` null): it sees one when a camera of its incident is its own, and acknowledges and
closes it when every camera of it is; one shared with another contractor it sees but the duty
officer and an administrator act on (the page and the API say why); one with none of its cameras it
does not see. The same rule on the list, its counts, the API, the camera page, the incident page and
the overview.

The defect a reviewer reproduced on the demo: the contractor saw none of these orders (the rule said
"a region-wide order is no contractor's"), and its acknowledge or close answered 404. A real App on
SQLite (not probing: the orders are the test's own), served on loopback, with accounts per role.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import insert, select, update

from collector.alerting import incident_store as store
from collector.web import accounts
from inventory.models import Camera, Incident, Point, Region, WorkOrder
from tests.collector.test_api_support import PASSWORD, USERINFO, Clock, Served, still_app

pytestmark = pytest.mark.asyncio(loop_scope="module")
OURS, OTHER = "示范县运维公司", "邻县运维公司"  # (the synthetic county's cameras are all the first's)
CASES = ("ours", "shared", "theirs")  # the village's cameras: all ours, one of them the other's, all the other's
PW = "contractor-orders-pw-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SHARED_ZH = "该工单还涉及其他运维单位的摄像机，本单位不能确认或关闭：由值班人员确认、管理员关闭"
SHARED_EN = "This work order also concerns another contractor's cameras, so your company cannot acknowledge or close it"


@dataclass
class Site(Served):
    cams: dict[str, list[int]]  # by case: the village's cameras
    orders: dict[str, int]  # by case: its work order's id (its incident: f"o-{case}")
    tokens: dict[str, dict[str, str]]  # by account: its bearer header


async def script_orders(engine: Any) -> tuple[dict[str, list[int]], dict[str, int]]:
    """Three villages of two cameras or more, each with an open village order of its incident's
    cameras (members): the shared one's overdue (red), the others' within their deadline."""
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as c:
        rows = (await c.execute(select(Camera.id, Point.village_code).join(Point, Camera.point_id == Point.id)
                                .order_by(Camera.id))).all()
        by_village: dict[str, list[int]] = {}
        for cid, village in rows:
            by_village.setdefault(str(village), []).append(cid)
        villages = [v for v in sorted(by_village) if len(by_village[v]) >= 2][:3]
        assert len(villages) == 3, by_village
        cams = dict(zip(CASES, (by_village[v] for v in villages), strict=True))
        await c.execute(update(Camera).where(Camera.id.in_([cams["shared"][-1], *cams["theirs"]])).values(contractor=OTHER))
        names = dict((await c.execute(select(Region.code, Region.name))).all())
        orders = {}
        for case, village in zip(CASES, villages, strict=True):
            n, key = len(cams[case]), f"o-{case}"
            members = [{"camera": cid, "cause": "timeout", "start": (now - dt.timedelta(hours=3)).isoformat(), "up_at": None,
                        "checks": []} for cid in cams[case]]
            await c.execute(insert(Incident).values(
                id=key, kind="outage", severity="critical", village_code=village, device_id=None, cause="timeout",
                start=now - dt.timedelta(hours=3), opened_at=now - dt.timedelta(hours=3), resolved_at=None, members=members,
                down=n, total=n, silenced=False, escalation=0, updated_at=now))
            deadline = now + dt.timedelta(hours=-1 if case == "shared" else 1)
            orders[case] = (await c.execute(insert(WorkOrder).values(
                incident_key=key, camera_id=None, region_code=village, cause="timeout", severity="critical", status="open",
                opened_at=now - dt.timedelta(hours=3), deadline=deadline, cameras=n,
                title=f"【严重】{names[village]} {n}/{n} 台摄像机离线，疑似上联中断").returning(WorkOrder.id))).scalar_one()
    return cams, orders


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    clock = Clock(dt.datetime.now(dt.UTC))
    async with still_app(tmp_path_factory.mktemp("contractor-orders"), 24, clock, script_orders) as (served, _, scripted):
        app = served.app
        await app.reload()  # the cameras (the scheduler's slots: what scoping reads), no probing
        await app.refresh_figures()
        tokens = {}
        for name, role, contractor in (("fix", "contractor", OURS), ("fix2", "contractor", OTHER), ("duty", "duty", None),
                                       ("admin", "admin", None)):
            uid = await accounts.add_user(app.engine, name, role, password=PW, contractor=contractor, now=clock.now)
            tokens[name] = {"Authorization": f"Bearer {await accounts.create_token(app.engine, uid, 'test', clock.now)}"}
        yield Site(app, served.server, *scripted, tokens)


async def text(site: Site, path: str, who: str, status: int = 200) -> str:
    async with aiohttp.ClientSession() as http, http.get(site.u(path), headers=site.tokens[who]) as r:
        body = await r.text()
        assert r.status == status, (path, who, r.status, body[:300])
        assert PASSWORD not in body and not USERINFO.search(body)
        return body


async def listed(site: Site, who: str) -> set[int]:
    async with aiohttp.ClientSession() as http, http.get(site.u("/api/v1/workorders"), headers=site.tokens[who]) as r:
        assert r.status == 200
        return {i["id"] for i in (await r.json())["items"]}


def incidents(html: str) -> set[str]:
    return set(re.findall(r'<a href="/incidents/(o-[a-z]+)">', html))


def forms(html: str) -> set[int]:
    return {int(x) for x in re.findall(r'action="/workorders/(\d+)/(?:ack|close)', html)}


def colours(html: str) -> tuple[int, int]:
    found = re.search(r'<span class="dot red"></span>(\d+) <span class="dot yellow"></span>(\d+)', html)
    assert found, html[:500]
    return int(found[1]), int(found[2])


async def test_a_contractor_sees_the_village_orders_with_one_of_its_cameras(site: Site) -> None:
    o = site.orders
    assert await listed(site, "admin") == set(o.values())
    assert await listed(site, "fix") == {o["ours"], o["shared"]}  # not the one with none of its cameras
    assert await listed(site, "fix2") == {o["shared"], o["theirs"]}
    for who, shown in (("fix", {"o-ours", "o-shared"}), ("fix2", {"o-shared", "o-theirs"}), ("admin", {f"o-{c}" for c in CASES})):
        page = await text(site, "/workorders", who)
        assert incidents(page) == shown, who
    mine = await text(site, "/workorders", "fix")
    assert forms(mine) == {o["ours"]} and SHARED_ZH in mine  # the shared one: why, instead of its forms
    assert forms(await text(site, "/workorders", "admin")) == set(o.values())
    # the overview's open orders by colour: (red, yellow); the shared one is overdue
    assert colours(await text(site, "/", "admin")) == (1, 2)
    assert colours(await text(site, "/", "fix")) == (1, 1)
    assert colours(await text(site, "/", "fix2")) == (1, 1)

    # the camera page lists its village's order, with the forms the contractor may use
    page = await text(site, f"/cameras/{site.cams['ours'][0]}", "fix")
    assert incidents(page) == {"o-ours"} and forms(page) == {o["ours"]}
    page = await text(site, f"/cameras/{site.cams['shared'][0]}", "fix")
    assert incidents(page) == {"o-shared"} and forms(page) == set() and SHARED_ZH in page
    page = await text(site, f"/cameras/{site.cams['shared'][-1]}?lang=en", "fix2")
    assert incidents(page) == {"o-shared"} and forms(page) == set() and SHARED_EN in unescape(page)
    await text(site, f"/cameras/{site.cams['theirs'][0]}", "fix", status=404)
    # the incident page: its order and forms; a shared one's without forms, saying why
    page = await text(site, "/incidents/o-ours", "fix")
    assert forms(page) == {o["ours"]} and f">{o['ours']}</a>" in page
    page = await text(site, "/incidents/o-shared?lang=en", "fix")
    assert f">{o['shared']}</a>" in page and forms(page) == set() and SHARED_EN in unescape(page)
    assert f"/cameras/{site.cams['shared'][-1]}" not in page  # the other contractor's camera is not listed
    await text(site, "/incidents/o-theirs", "fix", status=404)


async def login(http: aiohttp.ClientSession, site: Site, name: str) -> str:
    """A session for *name* (its CSRF token)."""
    async with http.get(site.u("/login")) as r:
        token = CSRF.search(await r.text())
        assert token
    async with http.post(site.u("/login"), data={"name": name, "password": PW, "csrf_token": token[1], "next": "/workorders"},
                         allow_redirects=False) as r:
        assert r.status == 303
    async with http.get(site.u("/account")) as r:  # (a page with a form whatever orders there are)
        token = CSRF.search(await r.text())
        assert token
        return token[1]


async def stored(site: Site, case: str) -> Any:
    return {x.id: x for x in await store.list_work_orders(site.app.engine)}[site.orders[case]]


async def test_a_contractor_acknowledges_and_closes_a_village_order_of_its_own(site: Site) -> None:
    oid = site.orders["ours"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await login(http, site, "fix")
        async with http.post(site.u(f"/workorders/{oid}/ack?next=/incidents/o-ours"), data={"csrf_token": csrf},
                             allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/incidents/o-ours"
        assert (await stored(site, "ours")).status.value == "acknowledged"
        async with http.post(site.u(f"/workorders/{oid}/close"), data={"csrf_token": csrf, "note": "更换了交换机"},
                             allow_redirects=False) as r:
            assert r.status == 303
    done = await stored(site, "ours")
    assert (done.status.value, done.note) == ("resolved", "更换了交换机")
    # the API the same way, on a second order of the village opened for it
    async with site.app.engine.begin() as c:
        again = (await c.execute(insert(WorkOrder).values(
            incident_key="o-ours", camera_id=None, region_code=done.region_code, cause="timeout", severity="critical",
            status="open", opened_at=done.opened_at, deadline=done.deadline, cameras=done.cameras, title=done.title)
            .returning(WorkOrder.id))).scalar_one()
    async with aiohttp.ClientSession(headers=site.tokens["fix"]) as http:
        async with http.post(site.u(f"/api/v1/workorders/{again}/ack")) as r:
            assert r.status == 200 and (await r.json())["status"] == "acknowledged"
        async with http.post(site.u(f"/api/v1/workorders/{again}/close"), json={"note": "恢复供电"}) as r:
            assert r.status == 200 and (await r.json())["status"] == "resolved"


async def test_a_shared_order_is_seen_but_not_acted_on_and_the_refusal_says_why(site: Site) -> None:
    oid = site.orders["shared"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await login(http, site, "fix")
        async with http.post(site.u(f"/workorders/{oid}/ack"), data={"csrf_token": csrf}, allow_redirects=False) as r:
            assert r.status == 403 and SHARED_ZH in await r.text()
        async with http.post(site.u(f"/workorders/{oid}/close?lang=en"), data={"csrf_token": csrf, "note": "x"},
                             allow_redirects=False) as r:
            assert r.status == 403 and SHARED_EN in unescape(await r.text())
    for path, body in ((f"/api/v1/workorders/{oid}/ack", None), (f"/api/v1/workorders/{oid}/close", {"note": "x"})):
        for who in ("fix", "fix2"):
            async with aiohttp.ClientSession(headers=site.tokens[who]) as http, http.post(site.u(path), json=body) as r:
                message = (await r.json())["error"]["message"]
                assert r.status == 403 and SHARED_EN in message and SHARED_ZH in message, (who, path)
    assert (await stored(site, "shared")).status.value == "open"
    # the duty officer acknowledges it, an administrator closes it
    async with aiohttp.ClientSession(headers=site.tokens["duty"]) as http, \
            http.post(site.u(f"/api/v1/workorders/{oid}/ack")) as r:
        assert r.status == 200
    async with aiohttp.ClientSession(headers=site.tokens["admin"]) as http, \
            http.post(site.u(f"/api/v1/workorders/{oid}/close"), json={"note": "两家共同处理"}) as r:
        assert r.status == 200 and (await r.json())["status"] == "resolved"


async def test_an_order_with_none_of_its_cameras_stays_hidden(site: Site) -> None:
    oid = site.orders["theirs"]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await login(http, site, "fix")
        for action, data in (("ack", {}), ("close", {"note": "x"})):
            async with http.post(site.u(f"/workorders/{oid}/{action}"), data={"csrf_token": csrf, **data},
                                 allow_redirects=False) as r:
                assert r.status == 404, action
    async with aiohttp.ClientSession(headers=site.tokens["fix"]) as http:
        async with http.post(site.u(f"/api/v1/workorders/{oid}/ack")) as r:
            assert r.status == 404
        async with http.post(site.u(f"/api/v1/workorders/{oid}/close"), json={"note": "x"}) as r:
            assert r.status == 404
    assert oid not in await listed(site, "fix")
    assert (await stored(site, "theirs")).status.value == "open"
    # its own contractor closes it
    async with aiohttp.ClientSession(headers=site.tokens["fix2"]) as http, \
            http.post(site.u(f"/api/v1/workorders/{oid}/close"), json={"note": "已修复"}) as r:
        assert r.status == 200
