"""Exclusions over HTTP (fleet in a free loopback range, SQLite): bearer tokens, validation naming the field,
the shown state following at once, and the read/write policy of the settings. DELETE follows the rule of
``camwatch exclusion end``: one in force ends now (200), one to come is removed (204), one already over is
kept (409) unless ``force=true``, and never removed while a month it touches is closed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, select

from collector.reports.snapshots import close_month
from collector.runtime.app import App
from collector.web.openapi import document
from collector.web.server import build_application
from inventory.models import AuditEntry, Exclusion, ExclusionStatus
from inventory.secrets import SecretBox
from tests.collector.test_api_support import (
    TOKEN,
    TZ,
    Live,
    api_settings,
    bearer,
    error_param,
    get,
    http_fixture,
    live_fixture,
    response_schema,
    validate,
)
from tests.inventory.helpers import KEY

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()


async def test_exclusions_write_needs_the_token_and_excludes_now(live: Live, http: aiohttp.ClientSession) -> None:
    doc = document()
    cid = live.cams[7]
    now = dt.datetime.now(TZ).replace(microsecond=0)
    new = {"camera_id": cid, "start": (now - dt.timedelta(minutes=5)).isoformat(),
           "end": (now + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat(), "reason": "更换摄像机", "approver": "张三"}
    for headers in ({}, bearer("wrong"), {"Authorization": TOKEN}):
        async with http.post(live.u("/api/v1/exclusions"), json=new, headers=headers) as r:
            assert r.status == 401 and "Bearer" in r.headers["WWW-Authenticate"]
            assert (await r.json())["error"]["code"] == "unauthorized"
    async with http.post(live.u("/api/v1/exclusions"), json=new, headers=bearer()) as r:
        created = await r.json()
        assert r.status == 201, created
        assert r.headers["Location"] == f"/api/v1/exclusions/{created['id']}"
    validate(created, response_schema(doc, "/api/v1/exclusions", "post", 201), doc)
    assert created["camera_id"] == cid and created["region_code"] is None and created["reason"] == "更换摄像机"
    # a local time without an offset is in accounting.timezone
    assert dt.datetime.fromisoformat(created["end"]) == now + dt.timedelta(hours=1)
    shown = await get(http, live, f"/api/v1/cameras/{cid}")
    assert shown["state"] == "excluded" and shown["probed_state"] == "online"
    assert (await get(http, live, "/api/v1/cameras?state=excluded"))["total"] == 1

    listed = await get(http, live, "/api/v1/exclusions?active=true")
    validate(listed, response_schema(doc, "/api/v1/exclusions", "get", 200), doc)
    assert [x["id"] for x in listed["items"]] == [created["id"]] and listed["total"] == 1
    everything = await get(http, live, "/api/v1/exclusions?limit=1")
    assert everything["total"] == 2 and len(everything["items"]) == 1  # yesterday's and this one
    assert (await get(http, live, f"/api/v1/exclusions?camera_id={cid}"))["total"] == 1
    error_param(await get(http, live, "/api/v1/exclusions?active=maybe", 400), "active")

    async with http.delete(live.u(f"/api/v1/exclusions/{created['id']}")) as r:
        assert r.status == 401
    before = dt.datetime.now(dt.UTC)
    async with http.delete(live.u(f"/api/v1/exclusions/{created['id']}"), headers=bearer()) as r:
        ended = await r.json()
        assert r.status == 200, ended  # in force: ended now, its elapsed part kept
    validate(ended, response_schema(doc, "/api/v1/exclusions/{id}", "delete", 200), doc)
    assert ended["id"] == created["id"] and ended["status"] == "ended" and ended["start"] == created["start"]
    assert before <= dt.datetime.fromisoformat(ended["end"]) <= dt.datetime.now(dt.UTC)
    assert (await get(http, live, f"/api/v1/cameras/{cid}"))["state"] == "online"
    assert (await get(http, live, "/api/v1/exclusions?active=true"))["total"] == 0
    assert [(x["id"], x["status"], x["end"]) for x in (await get(http, live, f"/api/v1/exclusions?camera_id={cid}"))[
        "items"]] == [(created["id"], "ended", ended["end"])]
    async with live.app.engine.connect() as c:
        audited = (await c.execute(select(AuditEntry.action, AuditEntry.object, AuditEntry.detail)
                                   .order_by(AuditEntry.id.desc()).limit(1))).one()
    assert audited.action == "DELETE /api/v1/exclusions/{id}" and f'"{created["id"]}"' in (audited.object or "")
    assert (audited.detail or "").startswith("status 200; end end->") and "reason=更换摄像机" in (audited.detail or "")
    # ended, it is over now: part of the counted figures, kept unless forced
    async with http.delete(live.u(f"/api/v1/exclusions/{created['id']}"), headers=bearer()) as r:
        refused = await r.json()
        assert r.status == 409 and refused["error"]["code"] == "conflict", refused
    assert refused["error"]["message"].startswith(f"exclusion #{created['id']} (camera {cid}, ")
    assert "is over" in refused["error"]["message"] and "add force=true" in refused["error"]["message"]
    async with http.delete(live.u(f"/api/v1/exclusions/{created['id']}?force=true"), headers=bearer()) as r:
        assert r.status == 204
    async with http.delete(live.u(f"/api/v1/exclusions/{created['id']}"), headers=bearer()) as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"


async def test_exclusion_validation_names_the_field(live: Live, http: aiohttp.ClientSession) -> None:
    good = {"region_code": (await get(http, live, "/api/v1/cameras?limit=1"))["items"][0]["village"],
            "start": "2026-01-01T08:00:00+08:00", "end": "2026-01-01T12:00:00+08:00", "reason": "停电报备", "approver": "李四"}
    cases: list[tuple[Any, str]] = [
        ({**good, "camera_id": live.cams[0]}, "camera_id"),
        ({k: v for k, v in good.items() if k != "region_code"}, "camera_id"),
        ({**good, "region_code": None, "camera_id": "7"}, "camera_id"),
        ({**good, "region_code": "999999999999"}, "region_code"),
        ({**{k: v for k, v in good.items() if k != "region_code"}, "camera_id": 999999}, "camera_id"),
        ({**good, "start": "next tuesday"}, "start"),
        ({k: v for k, v in good.items() if k != "end"}, "end"),
        ({**good, "end": "2026-01-01T07:00:00+08:00"}, "end"),
        ({**good, "reason": "  "}, "reason"),
        ({**good, "approver": "x" * 129}, "approver"),
        ({**good, "colour": "red"}, "colour"),
        ([good], "body"),
    ]
    for body, field in cases:
        async with http.post(live.u("/api/v1/exclusions"), json=body, headers=bearer()) as r:
            assert r.status == 400, (body, await r.text())
            error_param(await r.json(), field)
    async with http.post(live.u("/api/v1/exclusions"), data=b"{not json", headers=bearer()) as r:
        assert r.status == 400
        error_param(await r.json(), "body")
    async with http.post(live.u("/api/v1/exclusions"), json=good, headers=bearer()) as r:
        made = await r.json()
        assert r.status == 201 and made["region_code"] == good["region_code"]
        assert made["start"] == "2026-01-01T00:00:00+00:00"
    async with http.delete(live.u(f"/api/v1/exclusions/{made['id']}"), headers=bearer()) as r:
        assert r.status == 409  # over and counted (January)
    async with http.delete(live.u(f"/api/v1/exclusions/{made['id']}?force=true"), headers=bearer()) as r:
        assert r.status == 204


async def test_without_a_token_writes_are_refused_and_reads_can_be_closed(live: Live, http: aiohttp.ClientSession) -> None:
    for extra, read_status in (({"CAMWATCH_HTTP__API_TOKEN": ""}, 200),
                               ({"CAMWATCH_HTTP__API_TOKEN": "", "CAMWATCH_HTTP__OPEN_READS": "false"}, 403),
                               ({"CAMWATCH_HTTP__OPEN_READS": "false"}, 401)):
        other = App(api_settings(live.db_url, **extra), live.app.engine, SecretBox(KEY), http=build_application)
        async with TestServer(build_application(other), host="127.0.0.1", port=0) as server:
            base = f"http://127.0.0.1:{server.port}"
            async with http.post(base + "/api/v1/exclusions", json={}, headers=bearer()) as r:
                body = await r.json()
                if "CAMWATCH_HTTP__API_TOKEN" in extra:
                    assert r.status == 403 and "CAMWATCH_HTTP__API_TOKEN" in body["error"]["message"], body
                else:
                    assert r.status == 400  # authorised, then validated
            async with http.get(base + "/api/v1/exclusions") as r:
                assert r.status == read_status, extra
            async with http.get(base + "/api/v1/openapi.json") as r:
                assert r.status == 200
            if read_status == 401:
                async with http.get(base + "/api/v1/exclusions", headers=bearer()) as r:
                    assert r.status == 200 and (await r.json())["total"] >= 1


async def _stored(live: Live, cid: int, start: dt.datetime, end: dt.datetime, status: str = "approved") -> int:
    async with live.app.engine.begin() as c:
        res = await c.execute(insert(Exclusion).values(camera_id=cid, start=start, end=end, reason="线路检修",
                                                       approver="张三", created_at=start, status=status))
        return int(res.inserted_primary_key[0])  # type: ignore[index]


async def _row(live: Live, xid: int) -> Any:
    async with live.app.engine.connect() as c:
        return (await c.execute(select(Exclusion).where(Exclusion.id == xid))).first()


async def test_delete_removes_one_to_come_and_keeps_one_over_unless_forced(live: Live, http: aiohttp.ClientSession) -> None:
    cid = live.cams[9]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    future = await _stored(live, cid, now + dt.timedelta(hours=2), now + dt.timedelta(hours=3))
    proposed = await _stored(live, cid, now - dt.timedelta(hours=5), now - dt.timedelta(hours=4),
                             ExclusionStatus.PROPOSED.value)
    for xid in (future, proposed):  # not begun, or never counted: removed
        async with http.delete(live.u(f"/api/v1/exclusions/{xid}"), headers=bearer()) as r:
            assert r.status == 204 and await r.read() == b""
        assert await _row(live, xid) is None

    past = await _stored(live, cid, now - dt.timedelta(hours=5), now - dt.timedelta(hours=4))
    async with http.delete(live.u(f"/api/v1/exclusions/{past}"), headers=bearer()) as r:
        body = await r.json()
        assert r.status == 409 and set(body) == {"error"} and body["error"]["code"] == "conflict", body
    month = (now - dt.timedelta(hours=5)).astimezone(TZ).strftime("%Y-%m")
    message = body["error"]["message"]
    assert message.startswith(f"exclusion #{past} (camera {cid}, ") and "approved by 张三" in message
    assert f"is over: its time is already excluded from the rates of {month}" in message
    assert message.endswith("not removed. To delete it anyway, add force=true"), message
    kept = await _row(live, past)
    assert kept is not None and kept.status == "approved" and kept.end == now - dt.timedelta(hours=4)
    for bad in ("yes", "1"):
        async with http.delete(live.u(f"/api/v1/exclusions/{past}?force={bad}"), headers=bearer()) as r:
            error_param(await r.json(), "force")
            assert r.status == 400
    async with http.delete(live.u(f"/api/v1/exclusions/{past}?force=true"), headers=bearer()) as r:
        assert r.status == 204
    assert await _row(live, past) is None
    async with live.app.engine.connect() as c:
        audited = (await c.execute(select(AuditEntry.detail).where(
            AuditEntry.at >= now, AuditEntry.action == "DELETE /api/v1/exclusions/{id}").order_by(AuditEntry.id))).all()
    # what became of each, as `camwatch exclusion end` audits it; the refusals wrote nothing
    assert [(d or "").split(" camera=")[0] for (d,) in audited if f" camera={cid} " in (d or "")] == [
        "status 204; remove;", "status 204; remove;", "status 204; past;"], audited


async def test_delete_never_removes_one_in_a_closed_month(live: Live, http: aiohttp.ClientSession) -> None:
    cid = live.cams[10]
    start = dt.datetime(2025, 11, 30, 20, tzinfo=TZ)  # across the end of November, local time
    xid = await _stored(live, cid, start, start + dt.timedelta(hours=6))
    await close_month(live.app.engine, live.app.settings, "2025-11", live.app.clock())
    for query in ("", "?force=true"):
        async with http.delete(live.u(f"/api/v1/exclusions/{xid}{query}"), headers=bearer()) as r:
            body = await r.json()
            assert r.status == 409 and body["error"]["code"] == "conflict", body
        message = body["error"]["message"]
        assert f"exclusion #{xid} (camera {cid}, 2025-11-30 20:00 +08:00 — 2025-12-01 02:00 +08:00, " in message
        assert "lies in 2025-11, closed (its figures are frozen): not removed, not even with force=true" in message
        assert 'camwatch report reopen --month 2025-11 --reason "…"' in message and "2025-12" not in message.split(
            "lies in")[1]
    assert await _row(live, xid) is not None
