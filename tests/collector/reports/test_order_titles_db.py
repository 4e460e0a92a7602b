"""A report's work orders in English: the workbook's work-order sheet, the score sheet's red
orders, the printable page and ``report diff`` say an order's title in English (built from the
order's fields as the console's English pages say it); the Chinese report keeps the stored title.
A month frozen before those fields were recorded still reads and hashes as stored.

On real SQLite and PostgreSQL: a seeded month (camera orders) with a village's uplink order and a
picture order (its incident's failed checks) added.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import json
import re
from typing import Any

import aiohttp
import openpyxl
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, select

from collector.reports import model
from collector.reports.build import build_report
from collector.reports.diff_words import change_lines
from collector.reports.model import Report, content_hash, from_json, to_dict, to_json
from collector.reports.snapshots import Change, differences, load_snapshot
from collector.reports.workbook import workbook_bytes
from collector.runtime.app import App
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.models import Camera, Incident, Point, Region, ReportSnapshot, WorkOrder
from inventory.secrets import SecretBox
from tests.collector.reports.fleet import last_month, seed, settings
from tests.inventory.helpers import KEY

NOW = dt.datetime.now(dt.UTC)


def cells(wb: Any, sheet: str, column: str) -> list[Any]:
    ws = wb[sheet]
    head = [c.value for c in ws[2]]
    j = head.index(column)
    return [row[j].value for row in ws.iter_rows(min_row=3)]


def every_text(wb: Any, sheet: str) -> str:
    return "\n".join(str(c.value) for row in wb[sheet].iter_rows() for c in row if c.value is not None)


async def add_orders(url: str, month: model.ReportPeriod) -> dict[str, Any]:
    """A village's uplink order and a picture order (its incident's failed checks) in the month; the
    seeded camera orders' titles as the alert engine stores them. The names the titles say."""
    engine = create_engine(url)
    try:
        async with engine.begin() as c:
            cam_id, cam, village, vname = (await c.execute(
                select(Camera.id, Camera.name, Point.village_code, Region.name).join(Point, Camera.point_id == Point.id)
                .join(Region, Region.code == Point.village_code).order_by(Camera.id).limit(1))).one()
            town = (await c.execute(select(Region.parent_code).where(Region.code == village))).scalar_one()
            tname = (await c.execute(select(Region.name).where(Region.code == town))).scalar_one()
            seeded = {o.id: o for o in (await c.execute(select(WorkOrder))).all()}
            for o in seeded.values():  # (the seeded "摄像机 N 离线": as the engine stores a camera's)
                name = (await c.execute(select(Camera.name).where(Camera.id == o.camera_id))).scalar_one()
                await c.execute(WorkOrder.__table__.update().where(WorkOrder.id == o.id).values(
                    title=f"【一般】摄像机离线：{tname}{name}"))
            opened = month.start + dt.timedelta(days=20)
            members = [{"camera": cam_id, "cause": None, "start": opened.isoformat(), "up_at": None, "checks": ["black", "blur"]}]
            await c.execute(insert(Incident).values(
                id="p-month-pic", kind="picture", severity="low", village_code=village, device_id=None, cause=None,
                start=opened, opened_at=opened, resolved_at=None, members=members, down=2, total=4, silenced=False,
                escalation=0, updated_at=opened))
            titles = {"o-month-uplink": f"【严重】{tname}{vname} 4/4 台摄像机离线，疑似上联中断",
                      "p-month-pic": f"【提示】{tname}{vname} 2/4 台摄像机画面异常：黑屏、模糊"}
            for key, cause, severity, n in (("o-month-uplink", "upstream_down", "critical", 4), ("p-month-pic", None, "low", 2)):
                await c.execute(insert(WorkOrder).values(
                    incident_key=key, camera_id=None, region_code=village, cause=cause, severity=severity, status="open",
                    opened_at=opened, deadline=opened + dt.timedelta(hours=24), title=titles[key], cameras=n))
            stored = {o.id: (o.title, o.camera_id, o.incident_key) for o in (await c.execute(select(WorkOrder))).all()}
            names = {cid: n for cid, n in (await c.execute(select(Camera.id, Camera.name))).all()}
        return {"village": vname, "town": tname, "stored": stored, "names": names}
    finally:
        await engine.dispose()


def english_titles(seen: dict[str, Any]) -> dict[int, str]:
    """The English title of every order (the camera's names start with their village's, as the
    sample inventory's do: the township follows in brackets)."""
    v, t = seen["village"], seen["town"]
    out = {}
    for oid, (_, cid, key) in seen["stored"].items():
        if key == "o-month-uplink":
            out[oid] = f"[CRITICAL] {v}, {t}: 4 cameras offline, suspected uplink failure"
        elif key == "p-month-pic":
            out[oid] = f"[INFO] {v}, {t}: 2 cameras with picture problem (black, blurred)"
        else:
            out[oid] = f"[WARNING] camera offline: {seen['names'][cid]} ({t})"
    return out


async def _build(url: str, month: model.ReportPeriod) -> Report:
    engine = create_engine(url)
    try:
        return await build_report(engine, settings(url), month, NOW)
    finally:
        await engine.dispose()


async def test_english_report_says_work_orders_in_english(db_url: str) -> None:
    month = last_month(NOW)
    await asyncio.to_thread(seed, db_url, month)
    seen = await add_orders(db_url, month)
    report = await _build(db_url, month)
    want = english_titles(seen)
    chinese = {oid: title for oid, (title, _, _) in seen["stored"].items()}
    assert {o.id for o in report.work_orders} == set(want) and len(want) == 8
    pic = next(o for o in report.work_orders if o.incident_key == "p-month-pic")
    assert pic.checks == ("black", "blur") and pic.severity == "low" and pic.cameras == 2 and pic.parent_name == seen["town"]

    # the English workbook: every order by its English title, no stored (Chinese) title anywhere
    en = openpyxl.load_workbook(io.BytesIO(workbook_bytes(report, "en")))
    ids = cells(en, "Work orders", "order")
    assert dict(zip(ids, cells(en, "Work orders", "title"), strict=True)) == want
    sheet_text = every_text(en, "Work orders") + every_text(en, "Contract score")
    for title in chinese.values():
        assert title not in sheet_text, title
    reds = [o.id for o in report.work_orders if o.colour == "red"]
    assert reds and [d.subject for d in report.score.deductions if d.rule == "red_work_order"] == [str(i) for i in reds]
    assert {want[i] for i in reds} <= set(cells(en, "Contract score", "name"))
    # the Chinese workbook: the stored titles, as they were
    zh = openpyxl.load_workbook(io.BytesIO(workbook_bytes(report, "zh")))
    assert dict(zip(cells(zh, "工单", "工单号"), cells(zh, "工单", "内容"), strict=True)) == chinese
    assert {chinese[i] for i in reds} <= set(cells(zh, "考核得分", "名称"))

    # report diff names an order by its title in the reader's words
    change = (Change(f"work_orders/{reds[0]}", "colour", "red", "green"),)
    assert change_lines(change, report, report, "en")[0].startswith(f"work order {want[reds[0]]} ({reds[0]})")
    assert chinese[reds[0]] in change_lines(change, report, report, "zh")[0]

    # the facts are part of the frozen text (and its hash): read back equal
    assert from_json(to_json(report)) == report and '"incident_key":"p-month-pic"' in to_json(report)
    assert to_dict(report)["work_orders"][0]["checks"] == []  # the API's body has every field


async def test_a_month_frozen_before_the_order_facts_still_reads(db_url: str) -> None:
    """A snapshot stored before reports recorded the orders' facts (its text has no such keys)
    reads back with its hash intact; its English workbook says the stored title (nothing else
    says what the order was about); ``report diff`` shows the facts as no change."""
    month = last_month(NOW)
    await asyncio.to_thread(seed, db_url, month)
    fresh = await _build(db_url, month)
    later = model.later_defaults(model.WorkOrderRow)
    assert set(later) == {"severity", "incident_key", "cameras", "camera_name", "parent_name", "checks"}
    data = json.loads(to_json(fresh))
    for row in data["work_orders"]:
        for k in later:
            row.pop(k, None)
    old_text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    old = from_json(old_text)
    assert to_json(old) == old_text and old != fresh  # (what a month closed before looks like)
    assert all(o.incident_key == "" and o.cameras == 0 for o in old.work_orders)
    engine = create_engine(db_url)
    try:
        async with engine.begin() as c:
            await c.execute(insert(ReportSnapshot).values(period=month.label, kind=month.kind.value, created_at=NOW,
                                                          data={"schema": old.schema, "sha256": content_hash(old),
                                                                "report": old_text}))
        stored = await load_snapshot(engine, month)
    finally:
        await engine.dispose()
    assert stored is not None and stored.report == old and stored.sha256 == content_hash(old)
    en = openpyxl.load_workbook(io.BytesIO(workbook_bytes(old, "en")))
    assert cells(en, "Work orders", "title") == [o.title for o in fresh.work_orders]
    assert differences(old, fresh) == ()
    assert differences(old, dataclasses.replace(fresh, work_orders=fresh.work_orders[1:]))  # (a real change is one)


async def test_printable_page_in_english(db_url: str) -> None:
    """``/reports/print?lang=en``: the orders' English titles, not the stored Chinese ones; in
    Chinese the stored ones."""
    month = last_month(NOW)
    await asyncio.to_thread(seed, db_url, month)
    seen = await add_orders(db_url, month)
    want = english_titles(seen)
    engine = create_engine(db_url)
    app = App(settings(db_url), engine, SecretBox(KEY), http=build_application)  # not started: no probing
    server = TestServer(build_application(app), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
            pages = {}
            path = f"/reports/print?period={month.label}"
            for lang in ("en", "zh"):
                async with http.get(f"http://127.0.0.1:{server.port}{path}&lang={lang}") as r:
                    assert r.status == 200
                    pages[path, lang] = await r.text()
    finally:
        await server.close()
        await engine.dispose()
    for (path, lang), html in pages.items():
        table = re.search(r'<table class="report orders">(.*?)</table>', html, re.S)
        assert table is not None, path
        shown = dict(re.findall(r"</span>(\d+)</td><td[^>]*>([^<]*)<div", table[1]))
        titles = want if lang == "en" else {oid: t for oid, (t, _, _) in seen["stored"].items()}
        assert {int(k): v.replace("&amp;", "&") for k, v in shown.items()} == titles, (path, lang)
        if lang == "en":
            for title, _, _ in seen["stored"].values():
                assert title not in html, (path, title)
