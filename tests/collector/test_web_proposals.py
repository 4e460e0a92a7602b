"""Exclusion proposals (报备申请) over real HTTP (the simulated fleet on loopback, SQLite): a contractor
proposes for its own cameras (not another company's, not a region with another company's cameras),
the proposal changes nothing until an assessor approves it (or rejects it with a note), only a
waiting proposal can be decided, the bodies are validated by the typed models (400 naming the
field, a form shown again with the field named), every write leaves an audit row saying what was
done, and the pages show each step in Chinese (and English)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from collector.runtime.camera_state import State
from collector.web import accounts
from inventory.models import AuditEntry, Camera, Exclusion
from tests.collector.test_api_support import Live, http_fixture, live_fixture
from tests.collector.test_web_pages import page, slot, visible_text

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()
OTHER = "邻县运维公司"


async def bearer_of(live: Live, name: str, role: str, **kw: Any) -> dict[str, str]:
    now = live.app.clock()
    uid = await accounts.add_user(live.app.engine, name, role, password=None, now=now, **kw)
    return {"Authorization": f"Bearer {await accounts.create_token(live.app.engine, uid, 'test', now)}"}


def period(hours: float = 2.0) -> dict[str, str]:
    now = dt.datetime.now(dt.UTC)
    return {"start": (now - dt.timedelta(minutes=5)).isoformat(), "end": (now + dt.timedelta(hours=hours)).isoformat()}


async def post(http: aiohttp.ClientSession, live: Live, path: str, who: dict[str, str], body: Any,
               status: int) -> Any:
    async with http.post(live.u(path), json=body, headers=who) as r:
        text = await r.text()
        assert r.status == status, (path, body, r.status, text)
        return await r.json() if text else None


async def audit_details(live: Live, actor: str) -> list[str]:
    async with live.app.engine.connect() as c:
        return [f"{a} {d}" for a, d in (await c.execute(select(AuditEntry.action, AuditEntry.detail)
                                                        .where(AuditEntry.actor == actor).order_by(AuditEntry.id))).all()]


async def test_contractor_proposes_and_assessor_decides_over_the_api(live: Live, http: aiohttp.ClientSession) -> None:
    mine = slot(live, 0).cam
    theirs = next(s.cam for s in live.app.scheduler.slots.values() if s.cam.labels.township != mine.labels.township)
    async with live.app.engine.begin() as c:  # another company looks after the other village's cameras
        await c.execute(update(Camera).where(Camera.id == theirs.id).values(contractor=OTHER))
        company = (await c.execute(select(Camera.contractor).where(Camera.id == mine.id))).scalar_one()
    await live.app.reload()
    fixer = await bearer_of(live, "fix-api", "contractor", contractor=company)
    assessor = await bearer_of(live, "assess-api", "assessor")
    town = await bearer_of(live, "town-api", "township", regions=[mine.labels.township])

    # validation: typed bodies, the field named
    for body, field in (({**period(), "camera_id": mine.id, "reason": "停电", "approver": "x"}, "approver"),
                        ({**period(), "camera_id": str(mine.id), "reason": "停电"}, "camera_id"),
                        ({**period(), "reason": "停电"}, "camera_id"),
                        ({**period(), "camera_id": mine.id, "reason": " "}, "reason"),
                        ({**period(), "camera_id": mine.id, "reason": "停电", "start": "yesterday-ish"}, "start"),
                        ([1], "body")):
        err = await post(http, live, "/api/v1/exclusions/proposals", fixer, body, 400)
        assert err["error"]["message"].startswith(f"{field}: "), (body, err)
    # scope: not another company's camera, not a region holding one, not the township's to propose
    for body in ({**period(), "camera_id": theirs.id, "reason": "停电"},
                 {**period(), "region_code": theirs.labels.township, "reason": "停电"}):
        err = await post(http, live, "/api/v1/exclusions/proposals", fixer, body, 400)
        assert err["error"]["code"] == "unknown_reference"
    await post(http, live, "/api/v1/exclusions/proposals", town, {**period(), "camera_id": mine.id, "reason": "x"}, 403)

    made = await post(http, live, "/api/v1/exclusions/proposals", fixer,
                      {**period(), "camera_id": mine.id, "reason": "村里线路改造停电"}, 201)
    assert made["status"] == "proposed" and made["proposer"] == "fix-api" and made["decider"] is None
    await live.app.reload()
    assert live.app.scheduler.slots[mine.id].shown is not State.EXCLUDED  # a proposal changes nothing
    async with http.get(live.u("/api/v1/exclusions"), params={"status": "proposed", "active": "true"},
                        headers=assessor) as r:
        assert (await r.json())["total"] == 0  # not in force
    async with http.get(live.u("/api/v1/exclusions"), params={"status": "proposed"}, headers=fixer) as r:
        assert made["id"] in {i["id"] for i in (await r.json())["items"]}

    await post(http, live, f"/api/v1/exclusions/{made['id']}/approve", fixer, {}, 403)  # a contractor proposes only
    await post(http, live, f"/api/v1/exclusions/{made['id']}/approve", assessor, {"note": 1}, 400)
    done = await post(http, live, f"/api/v1/exclusions/{made['id']}/approve", assessor, {"note": "同意"}, 200)
    assert done["status"] == "approved" and done["decider"] == "assess-api" and done["decision_note"] == "同意"
    assert live.app.scheduler.slots[mine.id].shown is State.EXCLUDED  # in force at once
    await post(http, live, f"/api/v1/exclusions/{made['id']}/approve", assessor, {}, 409)
    await post(http, live, f"/api/v1/exclusions/{made['id']}/reject", assessor, {"note": "晚了"}, 409)

    second = await post(http, live, "/api/v1/exclusions/proposals", fixer,
                        {**period(), "region_code": mine.labels.village, "reason": "整村停电"}, 201)
    err = await post(http, live, f"/api/v1/exclusions/{second['id']}/reject", assessor, {}, 400)
    assert err["error"]["message"].startswith("note: ")
    gone = await post(http, live, f"/api/v1/exclusions/{second['id']}/reject", assessor, {"note": "未见停电通知"}, 200)
    assert gone["status"] == "rejected" and gone["decision_note"] == "未见停电通知"
    await post(http, live, "/api/v1/exclusions/999999/approve", assessor, {}, 404)
    scoped = await bearer_of(live, "assess-other", "assessor", regions=[theirs.labels.township])
    third = await post(http, live, "/api/v1/exclusions/proposals", fixer, {**period(), "camera_id": mine.id, "reason": "z"}, 201)
    await post(http, live, f"/api/v1/exclusions/{third['id']}/approve", scoped, {}, 404)  # not in its scope

    said = await audit_details(live, "fix-api")
    assert any(d.startswith("POST /api/v1/exclusions/proposals status 201; exclusion #"
                            f"{made['id']} proposed: camera {mine.id}") for d in said), said
    decided = await audit_details(live, "assess-api")
    assert any(f"exclusion #{made['id']} approved" in d and "note: 同意" in d for d in decided), decided
    assert any(f"exclusion #{second['id']} rejected" in d and "未见停电通知" in d for d in decided), decided
    async with live.app.engine.begin() as c:  # leave the fleet as it was for the next test
        await c.execute(update(Exclusion).where(Exclusion.id == made["id"]).values(end=dt.datetime.now(dt.UTC)))
        await c.execute(update(Camera).where(Camera.id == theirs.id).values(contractor=company))
    await live.app.reload()


async def test_proposal_pages_and_forms(live: Live, http: aiohttp.ClientSession) -> None:
    mine = slot(live, 2).cam
    async with live.app.engine.connect() as c:
        company = (await c.execute(select(Camera.contractor).where(Camera.id == mine.id))).scalar_one()
    fixer = await bearer_of(live, "fix-page", "contractor", contractor=company)
    assessor = await bearer_of(live, "assess-page", "assessor")
    form = await page(http, live, f"/exclusions/proposals?camera_id={mine.id}", headers=fixer)
    assert "报备申请" in form and 'action="/exclusions/proposals"' in form and f'value="{mine.id}"' in form
    assert "/approve" not in form  # a contractor proposes, it does not decide
    local = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    data = {"camera_id": str(mine.id), "region_code": "", "start": local.strftime("%Y-%m-%dT%H:%M"),
            "end": (local - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), "reason": "更换光纤"}
    async with http.post(live.u("/exclusions/proposals"), data=data, headers=fixer, allow_redirects=False) as r:
        again = await r.text()
        assert r.status == 400 and "请检查：结束" in visible_text(again) and "更换光纤" in again  # shown again, filled
    data["end"] = (local + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    async with http.post(live.u("/exclusions/proposals"), data=data, headers=fixer, allow_redirects=False) as r:
        assert r.status == 303 and r.headers["Location"] == "/exclusions/proposals"
    async with live.app.engine.connect() as c:
        row = (await c.execute(select(Exclusion).where(Exclusion.reason == "更换光纤"))).one()
    assert row.status == "proposed" and row.proposer == "fix-page" and row.camera_id == mine.id

    listed = await page(http, live, "/exclusions/proposals", headers=assessor)
    assert "更换光纤" in listed and "待审批" in listed and f'action="/exclusions/{row.id}/approve"' in listed
    camera = await page(http, live, f"/cameras/{mine.id}", headers=assessor)
    assert "更换光纤" in camera and "待审批" in camera
    overview = await page(http, live, "/exclusions", headers=assessor)
    assert 'href="/exclusions/proposals"' in overview and "待审批" in overview
    async with http.post(live.u(f"/exclusions/{row.id}/reject"), data={"note": ""}, headers=assessor,
                         allow_redirects=False) as r:
        assert r.status == 400 and "审批意见" in await r.text()
    async with http.post(live.u(f"/exclusions/{row.id}/approve"), data={"note": "同意，注意安全"}, headers=assessor,
                         allow_redirects=False) as r:
        assert r.status == 303
    async with http.post(live.u(f"/exclusions/{row.id}/approve"), data={}, headers=assessor, allow_redirects=False) as r:
        assert r.status == 409
    decided = await page(http, live, "/exclusions/proposals?status=all&lang=en", headers=fixer)
    assert "approved" in decided and "assess-page" in decided and "同意，注意安全" in decided
    assert live.app.scheduler.slots[mine.id].shown is State.EXCLUDED
    ends = await page(http, live, "/exclusions", headers=assessor)
    assert re.search(rf'action="/exclusions/{row.id}/end"', ends)
    async with http.post(live.u(f"/exclusions/{row.id}/end"), headers=assessor, allow_redirects=False) as r:
        assert r.status == 303
    async with live.app.engine.connect() as c:
        ended = (await c.execute(select(Exclusion).where(Exclusion.id == row.id))).one()
    assert ended.status == "ended" and ended.end <= dt.datetime.now(dt.UTC)
    other = await bearer_of(live, "town-page", "township",
                            regions=[next(s.cam.labels.township for s in live.app.scheduler.slots.values()
                                          if s.cam.labels.township != mine.labels.township)])
    assert "更换光纤" not in await page(http, live, "/exclusions/proposals?status=all", headers=other)
