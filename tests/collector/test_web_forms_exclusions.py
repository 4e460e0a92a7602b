"""The console's forms when what was sent does not validate, through the real web app probing the
simulated fleet: ``/exclusions`` comes back with what was typed and the field named, with what is
wrong in the reader's language (Chinese by default, English with ``?lang=en``) — pydantic's own
words and the time reader's translated, never mixed; the same on ``/exclusions/proposals`` and its
decisions and on closing a work order; the API keeps its English answers. The full work-order list
says when each done order was resolved. "End now" follows ``camwatch exclusion end``: one in force ends
at that moment; one already over is kept and the reader told why (no silent redirect)."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from typing import Any

import aiohttp
import pytest
from sqlalchemy import insert, select

from collector.alerting import incident_store as store
from collector.reports.snapshots import close_month
from inventory.models import AuditEntry, Camera, Exclusion
from tests.collector.test_api_support import Live, http_fixture, live_fixture
from tests.collector.test_web_pages import _incident, page, slot, token_for

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()
LOCAL = dt.timezone(dt.timedelta(hours=8))
ENGLISH_PYDANTIC = ("Field required", "Input should be", "String should", "is not a time camwatch reads")


def errors(html: str) -> list[str]:
    """The form errors shown on a page, as text."""
    return [htmllib.unescape(re.sub(r"<[^>]+>", "", e)) for e in re.findall(r'class="form-error"[^>]*>(.*?)</p>', html, re.S)]


def form(**values: str) -> dict[str, str]:
    start = dt.datetime.now(LOCAL) + dt.timedelta(hours=1)
    return {"camera_id": "", "region_code": "", "start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "reason": "村委会线路检修", "approver": "",
            **values}


async def posted(http: aiohttp.ClientSession, live: Live, path: str, who: dict[str, str], data: dict[str, str],
                 status: int = 400) -> str:
    async with http.post(live.u(path), data=data, headers=who, allow_redirects=False) as r:
        html = await r.text()
        assert r.status == status, (path, data, r.status, html[:400])
        return html


async def test_exclusion_form_comes_back_with_its_values_and_the_error_in_chinese(
        live: Live, http: aiohttp.ClientSession) -> None:
    assessor = await token_for(live, "forms-assessor", "assessor")
    cam = slot(live, 3).cam.id
    html = await posted(http, live, "/exclusions", assessor, form(camera_id=str(cam), start="yesterday"))
    said = errors(html)
    assert said and all(e.startswith("请检查：开始（“yesterday”无法识别；可用格式：") for e in said), said
    assert not any(w in e for e in said for w in ENGLISH_PYDANTIC + ("start:",)), said
    assert "<h1>报备" in html and "出错" not in html  # the page itself, not a separate error page
    assert "村委会线路检修</textarea>" in html and f'name="camera_id" min="1" inputmode="numeric" value="{cam}"' in html
    assert 'value="yesterday"' in html and 'name="csrf_token"' in html
    for values, expected in ((form(camera_id="abc"), "请检查：摄像机编号（应为整数）"),
                             (form(camera_id=str(cam), reason=""), "请检查：原因（必填）"),
                             (form(camera_id=str(cam), end=form()["start"]), "请检查：结束（应晚于开始时间）"),
                             (form(), "请检查：摄像机编号（摄像机编号和区划代码须填写其中一项"),
                             (form(camera_id="999999"), "请检查：摄像机编号（没有编号为 999999 的摄像机"),
                             (form(region_code="999999999"), "请检查：区划代码（没有区划代码为 999999999 的区域"),
                             (form(camera_id=str(cam), approver="x" * 200), "请检查：审批人（太长（至多 128 个字符））")):
        said = errors(await posted(http, live, "/exclusions", assessor, values))
        assert said and said[-1].startswith(expected), (values, said)
        assert not any(w in said[-1] for w in ENGLISH_PYDANTIC), said
    async with live.app.engine.connect() as c:
        assert not (await c.execute(select(Exclusion).where(Exclusion.reason == "村委会线路检修"))).first()


async def test_exclusion_form_errors_in_english_and_the_api_unchanged(live: Live, http: aiohttp.ClientSession) -> None:
    assessor = await token_for(live, "forms-assessor-en", "assessor")
    cam = slot(live, 3).cam.id
    html = await posted(http, live, "/exclusions?lang=en", assessor, form(camera_id=str(cam), start="yesterday"))
    said = errors(html)
    assert said[-1].startswith("Please check: Start ('yesterday' is not a time camwatch reads; accepted: YYYY-MM-DD"), said
    assert not re.search(r"[\u4e00-\u9fff]", said[-1]), said
    assert "村委会线路检修</textarea>" in html
    said = errors(await posted(http, live, "/exclusions?lang=en", assessor, form(camera_id="abc")))
    assert said[-1] == "Please check: Camera ID (Input should be a valid integer, unable to parse string as an integer)"
    body = {"camera_id": cam, "start": "yesterday", "end": "2026-12-06 10:00", "reason": "x", "approver": "y"}
    async with http.post(live.u("/api/v1/exclusions"), json=body, headers=assessor) as r:
        err = (await r.json())["error"]
        assert r.status == 400 and err["code"] == "invalid_parameter"
        assert err["message"].startswith("start: 'yesterday' is not a time camwatch reads"), err
    async with http.post(live.u("/api/v1/exclusions"), json={**body, "start": "2026-12-05 10:00", "camera_id": "7"},
                         headers=assessor) as r:
        assert (await r.json())["error"]["message"] == "camera_id: Input should be a valid integer"


async def test_proposal_forms_and_decisions_speak_chinese(live: Live, http: aiohttp.ClientSession) -> None:
    mine = slot(live, 2).cam
    async with live.app.engine.connect() as c:
        company = (await c.execute(select(Camera.contractor).where(Camera.id == mine.id))).scalar_one()
    fixer = await token_for(live, "forms-fixer", "contractor", contractor=company)
    assessor = await token_for(live, "forms-decider", "assessor")
    values = {k: v for k, v in form(camera_id=str(mine.id), reason="更换光纤").items() if k != "approver"}
    html = await posted(http, live, "/exclusions/proposals", fixer, {**values, "end": values["start"]})
    said = errors(html)
    assert said == ["请检查：结束（应晚于开始时间）"] and "更换光纤</textarea>" in html
    said = errors(await posted(http, live, "/exclusions/proposals?lang=en", fixer, {**values, "end": values["start"]}))
    assert said == ["Please check: End (must be after start)"], said
    await posted(http, live, "/exclusions/proposals?lang=zh", fixer, values, 303)
    async with live.app.engine.connect() as c:
        xid = (await c.execute(select(Exclusion.id).where(Exclusion.reason == "更换光纤"))).scalar_one()
    html = await posted(http, live, f"/exclusions/{xid}/reject", assessor, {"note": ""})
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", html))
    assert "请检查：审批意见（必填）" in text and "Field required" not in text and "note:" not in text
    html = await posted(http, live, f"/exclusions/{xid}/reject?lang=en", assessor, {"note": ""})
    assert "Please check: Decision note (Field required)" in html
    await posted(http, live, f"/exclusions/{xid}/reject?lang=zh", assessor, {"note": "没有停电通知"}, 303)
    html = await posted(http, live, f"/exclusions/{xid}/approve", assessor, {}, 409)
    assert "这条申请已经处理过" in html and "not waiting" not in html


async def test_closing_a_work_order_and_the_resolved_column(live: Live, http: aiohttp.ClientSession) -> None:
    await _incident(live, (0,), "o-forms-close")
    admin = await token_for(live, "forms-admin", "admin")
    oid = next(o.id for o in await store.list_work_orders(live.app.engine) if o.incident_key == "o-forms-close")
    html = await posted(http, live, f"/workorders/{oid}/close?lang=zh", admin, {"note": "  "})
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", html))
    assert "请检查：处理说明（必填）" in text and 'href="/workorders"' in html
    duty = await token_for(live, "forms-duty", "duty")
    refused = await posted(http, live, f"/workorders/{oid}/close", duty, {"note": ""}, 403)  # the role before the note
    assert "无权关闭工单" in refused
    open_list = await page(http, live, "/workorders", headers=admin)
    assert "完成时间" not in open_list
    await posted(http, live, f"/workorders/{oid}/close", admin, {"note": "重启了交换机"}, 303)
    done = {o.id: o for o in await store.list_work_orders(live.app.engine)}[oid]
    assert done.resolved_at is not None
    everything = await page(http, live, "/workorders?open=false", headers=admin)
    assert "<th>完成时间</th>" in everything
    row = next(r for r in everything.split("<tr>") if "重启了交换机" in r)
    resolved = done.resolved_at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    assert f"<td>{resolved}</td>" in row, row
    assert "<th>Resolved at</th>" in await page(http, live, "/workorders?open=false&lang=en", headers=admin)


def text_of(html: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def _stored(live: Live, cid: int, start: dt.datetime, end: dt.datetime) -> int:
    async with live.app.engine.begin() as c:
        res = await c.execute(insert(Exclusion).values(camera_id=cid, start=start, end=end, reason="光缆抢修",
                                                       approver="张三", created_at=start, status="approved"))
        return int(res.inserted_primary_key[0])  # type: ignore[index]


async def _row(live: Live, xid: int) -> Any:
    async with live.app.engine.connect() as c:
        return (await c.execute(select(Exclusion).where(Exclusion.id == xid))).one()


async def _audited(live: Live, xid: int) -> list[str]:
    async with live.app.engine.connect() as c:
        return [d or "" for (d,) in (await c.execute(select(AuditEntry.detail).where(
            AuditEntry.object == f'{{"id": "{xid}"}}').order_by(AuditEntry.id))).all()]


async def test_ending_one_already_over_says_why_and_changes_nothing(live: Live, http: aiohttp.ClientSession) -> None:
    assessor = await token_for(live, "forms-ender", "assessor")
    cam = slot(live, 4).cam.id
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    past = await _stored(live, cam, now - dt.timedelta(hours=5), now - dt.timedelta(hours=4))
    month = (now - dt.timedelta(hours=5)).astimezone(LOCAL).strftime("%Y-%m")

    said = text_of(await posted(http, live, f"/exclusions/{past}/end", assessor, {}, 409))
    assert f"报备 #{past}（摄像机 {cam}，" in said and "光缆抢修，批准人 张三）已结束" in said, said
    assert f"已在 {month} 的在线率中扣除，是考核数字的一部分：不能在此结束或删除" in said
    assert f"确需删除请在命令行执行 camwatch exclusion end {past} --force（记入审计日志）" in said
    assert "出错" in said and "返回" in said and "Error" not in said
    en = text_of(await posted(http, live, f"/exclusions/{past}/end?lang=en", assessor, {}, 409))
    assert f"exclusion #{past} (camera {cam}, " in en and f"is over: its time is already excluded from the rates of {month}" in en
    assert f"it cannot be ended or removed here. To delete it anyway: camwatch exclusion end {past} --force" in en
    row = await _row(live, past)
    assert row.status == "approved" and row.end == now - dt.timedelta(hours=4)
    assert await _audited(live, past) == []  # nothing done, nothing audited

    live_one = await _stored(live, cam, now - dt.timedelta(hours=1), now + dt.timedelta(hours=1))
    before = dt.datetime.now(dt.UTC)
    await posted(http, live, f"/exclusions/{live_one}/end", assessor, {}, 303)
    row = await _row(live, live_one)
    assert row.status == "ended" and row.start == now - dt.timedelta(hours=1)
    assert before <= row.end <= dt.datetime.now(dt.UTC)  # the elapsed hour kept
    audited = await _audited(live, live_one)
    assert len(audited) == 1 and audited[0].startswith("status 303; end end->") and f"camera={cam} " in audited[0]
    # ended, it is over: ending it again is refused the same way
    again = text_of(await posted(http, live, f"/exclusions/{live_one}/end", assessor, {}, 409))
    assert "是考核数字的一部分" in again and (await _row(live, live_one)).end == row.end


async def test_ending_one_in_a_closed_month_names_the_month(live: Live, http: aiohttp.ClientSession) -> None:
    assessor = await token_for(live, "forms-ender-closed", "assessor")
    cam = slot(live, 5).cam.id
    start = dt.datetime(2025, 10, 8, 9, tzinfo=LOCAL)
    xid = await _stored(live, cam, start, start + dt.timedelta(hours=3))
    await close_month(live.app.engine, live.app.settings, "2025-10", live.app.clock())
    said = text_of(await posted(http, live, f"/exclusions/{xid}/end", assessor, {}, 409))
    assert f"报备 #{xid}（摄像机 {cam}，2025-10-08 09:00 +08:00 — 12:00，光缆抢修，批准人 张三）所在月份 2025-10 已结算" in said
    assert 'camwatch report reopen --month 2025-10 --reason "…"' in said and f"camwatch exclusion end {xid} --force" in said
    assert (await _row(live, xid)).end == start + dt.timedelta(hours=3)
