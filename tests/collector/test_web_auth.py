"""Accounts, sessions and scoping over real HTTP (the simulated fleet on loopback, SQLite).

A township account reads only its township on every /api/v1 route (the test walks the route
table: a new route without a scoping check here fails it), every write needs a token or a
session with the right role, a form or cookie-authenticated write without its CSRF token is
refused, logins are throttled, and every write leaves an audit row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import func, insert, select

from collector.reports.model import Kind
from collector.reports.periods import containing, previous
from collector.reports.snapshots import close_month
from collector.web import ROUTES, WRITE_ACTIONS
from collector.web import accounts as acc
from collector.web.openapi import OPENAPI_PATH
from collector.web.principal import ALLOWED, Role
from inventory.models import ApiToken, AuditEntry, Camera, Point, Region, Silence, WorkOrder
from tests.collector.test_api_support import PASSWORD, TOKEN, Live, http_fixture, live_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()
PW = "correct-horse-9"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclasses.dataclass
class World:
    live: Live
    a: str  # the township account's township
    b: str  # another township
    county: str
    cams_a: set[int]
    cams_b: set[int]
    tokens: dict[str, str]  # account name -> personal token
    contractor: str

    def u(self, path: str) -> str:
        return self.live.u(path)


async def _paths(live: Live) -> dict[int, tuple[str, str, str]]:
    async with live.app.engine.connect() as c:
        rows = (await c.execute(select(Camera.id, Point.village_code).join(Point, Point.id == Camera.point_id))).all()
        parents = dict((await c.execute(select(Region.code, Region.parent_code))).all())
    return {cid: (parents[parents[v]], parents[v], v) for cid, v in rows}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(live: Live) -> AsyncIterator[World]:
    paths = await _paths(live)
    townships = sorted({p[1] for p in paths.values()})
    assert len(townships) >= 2
    a, b = townships[0], townships[1]
    county = next(iter(paths.values()))[0]
    engine, now = live.app.engine, dt.datetime.now(dt.UTC)
    async with engine.begin() as c:
        contractor = (await c.execute(select(Camera.contractor).where(Camera.id == live.cams[0]))).scalar_one()
    accounts_ = {"town": ("township", [a], None), "duty": ("duty", [], None), "assess": ("assessor", [], None),
                 "fix": ("contractor", [], contractor or "x"), "boss": ("admin", [], None), "duty_a": ("duty", [a], None)}
    tokens = {}
    for name, (role, regions, contractor_name) in accounts_.items():
        uid = await acc.add_user(engine, name, role, password=PW, regions=regions, contractor=contractor_name, now=now)
        tokens[name] = await acc.create_token(engine, uid, "test", now)
    cams_a = {cid for cid, p in paths.items() if p[1] == a}
    cams_b = {cid for cid, p in paths.items() if p[1] == b}
    ca, cb = min(cams_a), min(cams_b)
    async with engine.begin() as c:
        for cid, key in ((ca, "a"), (cb, "b")):
            await c.execute(insert(WorkOrder).values(
                incident_key=f"inc-{key}", camera_id=cid, cause="refused", severity="normal", status="open",
                opened_at=now - dt.timedelta(hours=1), deadline=now + dt.timedelta(hours=23), title=key, cameras=1))
            await c.execute(insert(Silence).values(camera_id=cid, until=now + dt.timedelta(days=1), reason=key))
    yield World(live, a, b, county, cams_a, cams_b, tokens, contractor or "x")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def jget(http: aiohttp.ClientSession, w: World, path: str, who: str, status: int = 200, **params: Any) -> Any:
    async with http.get(w.u(path), headers=bearer(w.tokens[who]), params=params) as r:
        text = await r.text()
        assert r.status == status, (path, who, r.status, text)
        assert PASSWORD not in text
        return await r.json()


# -- reads: one check per GET route of the table -----------------------------------------------------


async def _cameras(http: aiohttp.ClientSession, w: World) -> None:
    body = await jget(http, w, "/api/v1/cameras", "town", limit=1000)
    assert {i["id"] for i in body["items"]} == w.cams_a and body["total"] == len(w.cams_a)
    assert (await jget(http, w, "/api/v1/cameras", "town", township=w.b))["total"] == 0
    assert (await jget(http, w, "/api/v1/cameras", "duty", limit=1000))["total"] == len(w.live.cams)


async def _camera(http: aiohttp.ClientSession, w: World) -> None:
    await jget(http, w, f"/api/v1/cameras/{min(w.cams_b)}", "town", 404)
    assert (await jget(http, w, f"/api/v1/cameras/{min(w.cams_a)}", "town"))["township"] == w.a


async def _region(http: aiohttp.ClientSession, w: World) -> None:
    await jget(http, w, f"/api/v1/regions/{w.b}", "town", 404)
    await jget(http, w, "/api/v1/regions/no-such-code", "town", 404)
    mine = await jget(http, w, f"/api/v1/regions/{w.a}", "town")
    assert mine["cameras"]["total"] == len(w.cams_a)
    county = await jget(http, w, f"/api/v1/regions/{w.county}", "town")  # above the scope: its scoped part
    assert [c["code"] for c in county["children"]] == [w.a] and county["cameras"]["total"] == len(w.cams_a)
    full = await jget(http, w, f"/api/v1/regions/{w.county}", "duty")
    assert len(full["children"]) >= 2 and full["cameras"]["total"] == len(w.live.cams)


async def _rates(http: aiohttp.ClientSession, w: World) -> None:
    day = w.live.yesterday.isoformat()
    rows = (await jget(http, w, "/api/v1/rates", "town", **{"from": day, "to": day}))["rows"]
    assert [r["key"] for r in rows] == [w.a]
    assert (await jget(http, w, "/api/v1/rates", "town", level="county", **{"from": day}))["rows"] == []
    cams = (await jget(http, w, "/api/v1/rates", "town", level="camera", **{"from": day, "to": day}))["rows"]
    assert {r["key"] for r in cams} == w.cams_a
    everyone = (await jget(http, w, "/api/v1/rates", "duty", **{"from": day, "to": day}))["rows"]
    assert {w.a, w.b} <= {r["key"] for r in everyone}
    contractor = (await jget(http, w, "/api/v1/rates", "fix", level="township", **{"from": day, "to": day}))["rows"]
    assert contractor == []  # region rows count other contractors' cameras


async def _coverage(http: aiohttp.ClientSession, w: World) -> None:
    assert [r["code"] for r in (await jget(http, w, "/api/v1/coverage", "town"))["rows"]] == [w.a]
    villages = (await jget(http, w, "/api/v1/coverage", "town", level="village"))["rows"]
    async with w.live.app.engine.connect() as c:
        in_a = {v for (v,) in (await c.execute(select(Region.code).where(Region.parent_code == w.a))).all()}
    assert villages and {r["code"] for r in villages} <= in_a


async def _exclusions(http: aiohttp.ClientSession, w: World) -> None:
    now = dt.datetime.now(dt.UTC)
    body = {"region_code": w.b, "start": now.isoformat(), "end": (now + dt.timedelta(hours=1)).isoformat(),
            "reason": "停电", "approver": "县局"}
    async with http.post(w.u("/api/v1/exclusions"), json=body, headers=bearer(w.tokens["assess"])) as r:
        assert r.status == 201, await r.text()
        made = await r.json()
    seen = await jget(http, w, "/api/v1/exclusions", "town", limit=1000)
    assert made["id"] not in {i["id"] for i in seen["items"]} and seen["total"] == len(seen["items"])
    assert made["id"] in {i["id"] for i in (await jget(http, w, "/api/v1/exclusions", "duty", limit=1000))["items"]}
    async with http.delete(w.u(f"/api/v1/exclusions/{made['id']}"), headers=bearer(TOKEN)) as r:
        assert r.status == 200 and (await r.json())["status"] == "ended"  # (in force: ended now, its elapsed part kept)


async def _orders(http: aiohttp.ClientSession, w: World) -> None:
    titles = {i["title"] for i in (await jget(http, w, "/api/v1/workorders", "town"))["items"]}
    assert titles == {"a"}
    assert {"a", "b"} <= {i["title"] for i in (await jget(http, w, "/api/v1/workorders", "duty"))["items"]}


async def _silences(http: aiohttp.ClientSession, w: World) -> None:
    assert {i["reason"] for i in (await jget(http, w, "/api/v1/silences", "town"))["items"]} == {"a"}


async def _openapi(http: aiohttp.ClientSession, w: World) -> None:
    async with http.get(w.u(OPENAPI_PATH)) as r:  # public: the description of the API, no data
        assert r.status == 200


async def _report(http: aiohttp.ClientSession, w: World) -> None:
    tz = w.live.app.settings.accounting.timezone
    month = previous(containing(Kind.MONTHLY, w.live.app.clock(), tz))
    await close_month(w.live.app.engine, w.live.app.settings, month, w.live.app.clock())  # done already on the 3rd
    path = f"/api/v1/reports/{month.label}"
    mine = await jget(http, w, path, "town")
    assert mine["region"] == w.a and [t["code"] for t in mine["report"]["townships"]] == [w.a]
    await jget(http, w, path, "town", 404, region=w.b)
    await jget(http, w, path, "town", 404, region=w.county)
    await jget(http, w, path, "fix", 404)  # a contractor: region figures count other contractors' cameras
    assert {w.a, w.b} <= {t["code"] for t in (await jget(http, w, path, "duty"))["report"]["townships"]}


async def _gb28181(http: aiohttp.ClientSession, w: World) -> None:
    """Devices registering to the platform are county-wide inventory work: admin and assessor only."""
    for who in ("town", "duty", "fix"):
        await jget(http, w, "/api/v1/gb28181/devices", who, 403)
    body = await jget(http, w, "/api/v1/gb28181/devices", "assess")
    assert body["enabled"] is False and body["devices"] == []


READ_CHECKS = {
    OPENAPI_PATH: _openapi, "/api/v1/cameras": _cameras, "/api/v1/cameras/{id}": _camera,
    "/api/v1/regions/{code}": _region, "/api/v1/rates": _rates, "/api/v1/coverage": _coverage,
    "/api/v1/exclusions": _exclusions, "/api/v1/workorders": _orders, "/api/v1/silences": _silences,
    "/api/v1/reports/{period}": _report, "/api/v1/gb28181/devices": _gb28181,
}


async def test_every_read_route_is_scoped_for_a_township_account(world: World, http: aiohttp.ClientSession) -> None:
    reads = [path for method, path, _ in ROUTES if method == "GET"]
    assert sorted(reads) == sorted(READ_CHECKS), "a read route without a scoping check"
    for path in reads:
        await READ_CHECKS[path](http, world)
    for path in reads:  # no anonymous reads once accounts exist
        if path != OPENAPI_PATH:
            async with http.get(world.u(path.replace("{id}", "1").replace("{code}", world.a))) as r:
                assert r.status == 401, path
    async with http.get(world.u("/api/v1/cameras"), headers=bearer("cwt_not-a-token")) as r:
        assert r.status == 401


async def test_every_write_needs_the_right_role(world: World, http: aiohttp.ClientSession) -> None:
    writes = [(m, p) for m, p, _ in ROUTES if m != "GET"]
    assert sorted(writes) == sorted(WRITE_ACTIONS), "a write route without its action"
    for method, path in writes:
        url = world.u(path.replace("{id}", "999999"))
        action = WRITE_ACTIONS[(method, path)]
        async with http.request(method, url, json={}) as r:
            assert r.status == 401, (method, path)
        for name, role in (("town", Role.TOWNSHIP), ("duty", Role.DUTY), ("assess", Role.ASSESSOR),
                           ("fix", Role.CONTRACTOR), ("boss", Role.ADMIN)):
            async with http.request(method, url, json={}, headers=bearer(world.tokens[name])) as r:
                allowed = action in ALLOWED[role]
                assert (r.status == 403) is not allowed, (method, path, name, r.status, await r.text())
                if allowed:
                    assert r.status in (400, 404), (method, path, name, r.status)  # authorised, then validated
    # a scoped writer cannot touch another township's order: as if it did not exist
    async with world.live.app.engine.connect() as c:
        ids = dict((await c.execute(select(WorkOrder.incident_key, WorkOrder.id))).all())
        theirs = {i for (i,) in (await c.execute(select(Camera.id).where(Camera.contractor == world.contractor))).all()}
    async with http.post(world.u(f"/api/v1/workorders/{ids['inc-b']}/ack"), headers=bearer(world.tokens["duty_a"])) as r:
        assert r.status == 404
    async with http.post(world.u(f"/api/v1/workorders/{ids['inc-b']}/ack"), headers=bearer(world.tokens["duty"])) as r:
        assert r.status == 200
    # a contractor reads exactly its cameras
    assert {i["id"] for i in (await jget(http, world, "/api/v1/cameras", "fix", limit=1000))["items"]} == theirs


async def _login_page(http: aiohttp.ClientSession, w: World) -> str:
    async with http.get(w.u("/login")) as r:
        assert r.status == 200
        found = CSRF.search(await r.text())
        assert found
        return found.group(1)


async def test_session_login_csrf_tokens_and_audit(world: World) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=30)) as s:
        csrf = await _login_page(s, world)
        form = {"name": "town", "password": PW, "next": "/account"}
        async with s.post(world.u("/login"), data=form, allow_redirects=False) as r:
            assert r.status == 403  # no CSRF token
        async with s.post(world.u("/login"), data={**form, "csrf_token": csrf, "password": "wrong-one"}) as r:
            assert r.status == 401 and "camwatch_session" not in r.cookies
        async with s.post(world.u("/login"), data={**form, "csrf_token": csrf}, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/account"
            cookie = r.headers.getall("Set-Cookie")
            assert any("camwatch_session=" in c and "HttpOnly" in c and "SameSite=Lax" in c for c in cookie), cookie
            assert not any("Secure" in c for c in cookie)  # plain http here
        async with s.get(world.u("/api/v1/cameras"), params={"limit": "1000"}) as r:
            assert {i["id"] for i in (await r.json())["items"]} == world.cams_a
        async with s.get(world.u("/account")) as r:
            page = await r.text()
            assert r.status == 200 and "town" in page
            csrf = CSRF.search(page).group(1)  # type: ignore[union-attr]
        async with s.post(world.u("/account/tokens"), data={"label": "phone"}) as r:
            assert r.status == 403  # the form without its token
        async with s.post(world.u("/account/tokens"), data={"label": "phone", "csrf_token": csrf}) as r:
            assert r.status == 400 and "当前密码" in await r.text()  # a new token asks for the password again
        async with s.post(world.u("/account/tokens"), data={"label": "phone", "csrf_token": csrf, "password": PW}) as r:
            token = re.search(r'id="new-token">(cwt_[^<]+)<', await r.text())
            assert r.status == 200 and token
        new = token.group(1)
        async with world.live.app.engine.connect() as c:
            hashes = {h for (h,) in (await c.execute(select(ApiToken.token_hash))).all()}
        assert new not in hashes and acc.token_hash(new) in hashes  # hashed, never stored in clear
        async with s.post(world.u("/logout"), data={"csrf_token": csrf}, allow_redirects=False) as r:
            assert r.status == 303
        async with s.get(world.u("/api/v1/cameras")) as r:
            assert r.status == 401
    async with aiohttp.ClientSession() as s:
        async with s.get(world.u(f"/api/v1/cameras/{min(world.cams_b)}"), headers=bearer(new)) as r:
            assert r.status == 404
        async with world.live.app.engine.connect() as c:
            actions = [a for (a,) in (await c.execute(select(AuditEntry.action).where(AuditEntry.actor.in_(("town", "duty"))))).all()]
        assert "login" in actions and "login failed" in actions and "POST /account/tokens" in actions
        assert "POST /api/v1/workorders/{id}/ack" in actions and "POST /logout" in actions


OFF_SITE = ["//127.0.0.2:9999/phish", "/\t/127.0.0.2:9999/phish", "/\n/127.0.0.2:9999/phish", "/\r/127.0.0.2/x",
            "/\\127.0.0.2/x", "/ /127.0.0.2/x", "/\x7f/127.0.0.2/x", "http://127.0.0.2/x", "127.0.0.2/x", ""]


@pytest.mark.parametrize("bad", OFF_SITE)
def test_a_return_path_that_a_browser_would_read_as_another_site_becomes_the_home_page(bad: str) -> None:
    from collector.web.account_pages import safe_next  # lazy: a table of one function's cases

    assert safe_next(bad) == "/"
    assert safe_next("/cameras?state=offline&page=2") == "/cameras?state=offline&page=2"


@pytest.mark.parametrize(("password", "refused"), [
    ("short-7", True), (" " * 8, True), ("\t" * 12, True), ("a" * 9, True), ("ab" * 4, False),
    ("correct-horse-9", False), ("  spaced pass  ", False), ("密码安全的很长一句话", False)])
def test_password_rules(password: str, refused: bool) -> None:
    assert (acc.password_problem(password) is not None) is refused


async def test_the_account_page_refuses_a_blank_new_password(world: World) -> None:
    """The reviewer's eight spaces: accepted as a new password, and it logged in."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        csrf = await _login_page(s, world)
        form = {"name": "town", "password": PW, "csrf_token": csrf}
        async with s.post(world.u("/login"), data=form, allow_redirects=False) as r:
            assert r.status == 303
        async with s.get(world.u("/account")) as r:
            csrf = CSRF.search(await r.text()).group(1)  # type: ignore[union-attr]
        change = {"csrf_token": csrf, "current": PW, "new": " " * 8, "again": " " * 8}
        async with s.post(world.u("/account/password"), data=change) as r:
            page = await r.text()
            assert r.status == 400 and "新密码不可用：密码不能只由空格或同一个字符组成" in page
        async with s.post(world.u("/account/password"), data={**change, "new": "short", "again": "short"}) as r:
            assert r.status == 400 and "新密码不可用：密码至少 8 个字符" in await r.text()
    assert await acc.check_login(world.live.app.engine, "town", PW) is not None  # unchanged


async def test_login_never_sends_a_user_to_another_site(world: World) -> None:
    """The reviewer's open redirect: ``/login?next=/%09/host/path`` answered ``Location: //host/path``
    (a browser drops the tab) once logged in, and after the login form was posted."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        async with s.get(world.u("/login"), params={"next": OFF_SITE[1]}) as r:
            page = await r.text()
            assert r.status == 200 and '<input type="hidden" name="next" value="/">' in page
        csrf = await _login_page(s, world)
        form = {"name": "town", "password": PW, "csrf_token": csrf, "next": OFF_SITE[1]}
        async with s.post(world.u("/login"), data=form, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/"
        for bad in OFF_SITE[:3]:
            async with s.get(world.u("/login"), params={"next": bad}, allow_redirects=False) as r:
                assert r.status in (302, 303) and r.headers["Location"] == "/", (bad, r.headers.get("Location"))


async def test_cookie_writes_need_the_csrf_header_and_logins_are_throttled(world: World) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        csrf = await _login_page(s, world)
        async with s.post(world.u("/login"), data={"name": "duty", "password": PW, "csrf_token": csrf}) as r:
            assert r.status == 200
        async with s.get(world.u("/account")) as r:
            csrf = CSRF.search(await r.text()).group(1)  # type: ignore[union-attr]
        async with world.live.app.engine.connect() as c:
            a_order = (await c.execute(select(WorkOrder.id).where(WorkOrder.incident_key == "inc-a"))).scalar_one()
        async with s.post(world.u(f"/api/v1/workorders/{a_order}/ack")) as r:
            assert r.status == 403 and "CSRF" in (await r.json())["error"]["message"]
        async with s.post(world.u(f"/api/v1/workorders/{a_order}/ack"), headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200, await r.text()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        csrf = await _login_page(s, world)
        for _ in range(5):
            async with s.post(world.u("/login"), data={"name": "assess", "password": "bad-guess", "csrf_token": csrf}) as r:
                assert r.status == 401
        async with s.post(world.u("/login"), data={"name": "assess", "password": PW, "csrf_token": csrf}) as r:
            assert r.status == 429  # locked out even with the right password
        async with s.get(world.u("/api/v1/cameras")) as r:
            assert r.status == 401  # not logged in
    async with world.live.app.engine.connect() as c:
        audited = (await c.execute(select(func.count()).select_from(AuditEntry)
                                   .where(AuditEntry.action == "login refused", AuditEntry.actor == "assess"))).scalar_one()
    assert audited == 1


async def test_a_contractor_sees_no_fully_covered_count_of_townships_it_cannot_see_whole(
        world: World, http: aiohttp.ClientSession) -> None:
    """Coverage is withheld from a contractor (a dash): the fully covered villages were shown 0/0."""
    pages = {}
    for who in ("fix", "boss"):
        async with http.get(world.u("/"), headers=bearer(world.tokens[who])) as r:
            assert r.status == 200
            body = await r.text()
        pages[who] = body[body.index('<table class="regions">'):body.index("</table>")]
    assert re.search(r"全覆盖村 \d+/\d+", pages["boss"]), pages["boss"]
    assert "全覆盖村 —" in pages["fix"] and not re.search(r"\d+/\d+</td>\s*<td class=\"opt\">", pages["fix"]), pages["fix"]
    assert "0/0" not in pages["fix"]
