"""``/reports``, its workbook and its printable page, and ``/api/v1/reports/{period}``, served by a
real App (not probing: the figures are a seeded month on SQLite) over HTTP.

The month before this one is shown 未结 until it is closed, then 已结 from its snapshot with its
hash; the workbook download opens with openpyxl and carries a UTF-8 file name; the printable page
is A4 landscape with a page break between sections; a township leader is offered and served only
their township (another township is 404, by page, download, print and API); a contractor reads
no report; words in Chinese by default and English with ``?lang=en``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import openpyxl
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, select

from collector.reports import model
from collector.reports.periods import containing, previous
from collector.reports.snapshots import close_month
from collector.runtime.app import App
from collector.web import accounts, report_bodies
from collector.web.openapi import document
from collector.web.pages.report_view import period_options
from collector.web.pages.reports import content_disposition
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.models import Camera, Exclusion, Region, StateInterval
from inventory.secrets import SecretBox
from tests.collector.reports.fleet import last_month, seed, settings
from tests.collector.test_api_support import response_schema, validate
from tests.inventory.helpers import KEY

ON_LOOP = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Site:
    app: App
    server: TestServer
    month: model.ReportPeriod
    towns: list[tuple[str, str]]  # (code, name)
    county: tuple[str, str]
    tokens: dict[str, dict[str, str]]

    def u(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    tmp: Path = tmp_path_factory.mktemp("reports-web")
    url = f"sqlite:///{tmp / 'camwatch.db'}"
    now = dt.datetime.now(dt.UTC)
    month = last_month(now)
    import asyncio

    await asyncio.to_thread(seed, url, month)
    engine = create_engine(url)
    async with engine.begin() as c:  # one exclusion across the month's end: 72 h, 20 h of them in the month
        cam = (await c.execute(select(Camera.id).order_by(Camera.id.desc()).limit(1))).scalar_one()
        await c.execute(insert(Exclusion).values(camera_id=cam, start=month.end - dt.timedelta(hours=20),
                                                 end=month.end + dt.timedelta(hours=52), reason="线路迁改",
                                                 approver="赵主任", status="approved"))
    app = App(settings(url), engine, SecretBox(KEY), http=build_application)  # not started: no probing
    server = TestServer(build_application(app), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with engine.connect() as c:
            towns = [(c_, n) for c_, n in (await c.execute(select(Region.code, Region.name)
                                                           .where(Region.level == "township").order_by(Region.code))).all()]
            county = (await c.execute(select(Region.code, Region.name).where(Region.level == "county"))).one()
        yield Site(app, server, month, towns, (county[0], county[1]), {})
    finally:
        await server.close()
        await engine.dispose()


async def token(site: Site, name: str, role: str, **kw: Any) -> dict[str, str]:
    if name not in site.tokens:
        now = site.app.clock()
        uid = await accounts.add_user(site.app.engine, name, role, password=None, now=now, **kw)
        site.tokens[name] = {"Authorization": f"Bearer {await accounts.create_token(site.app.engine, uid, 'test', now)}"}
    return site.tokens[name]


async def fetch(http: aiohttp.ClientSession, site: Site, path: str, status: int = 200, **kw: Any) -> tuple[str, Any]:
    async with http.get(site.u(path), allow_redirects=False, **kw) as r:
        body = await r.read()
        assert r.status == status, (path, r.status, body[:400])
        return r.headers.get("Content-Type", ""), (body if "sheet" in r.headers.get("Content-Type", "") else body.decode())


@pytest_asyncio.fixture(loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as s:
        yield s


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_content_disposition_has_an_ascii_and_a_utf8_name() -> None:
    cd = content_disposition("示范县在线率月报-2026-11.xlsx")
    assert cd.startswith('attachment; filename="') and cd.isascii()
    utf8 = cd.split("filename*=UTF-8''", 1)[1]
    assert unquote(utf8) == "示范县在线率月报-2026-11.xlsx"
    assert 'filename="________-2026-11.xlsx"' in cd
    assert content_disposition('a"b;c.xlsx').count('"') == 2


def test_api_body_types_follow_the_model() -> None:
    """Each TypedDict of the API's report body has exactly its dataclass's fields."""
    pairs = {report_bodies.ReportBody: model.Report, report_bodies.ReportRegionRow: model.RegionRow,
             report_bodies.ReportVillageRow: model.VillageRow, report_bodies.ReportFaultRow: model.FaultRow,
             report_bodies.ReportCauseTime: model.CauseTime, report_bodies.ReportWorkOrderRow: model.WorkOrderRow,
             report_bodies.ReportExclusionRow: model.ExclusionRow,
             report_bodies.ReportCompletenessRow: model.CompletenessRow, report_bodies.ReportDeduction: model.Deduction,
             report_bodies.ReportScore: model.Score, report_bodies.ReportPeriodBody: model.ReportPeriod}
    for td, dc in pairs.items():
        assert list(typing.get_type_hints(td)) == [f.name for f in dataclasses.fields(dc)], td.__name__


@ON_LOOP
async def test_open_month_then_closed_from_its_snapshot(site: Site, http: aiohttp.ClientSession) -> None:
    now = site.app.clock()
    current = containing(model.Kind.MONTHLY, now, "Asia/Shanghai")
    _, html = await fetch(http, site, "/reports")  # nothing closed yet: this month to date
    assert '<html lang="zh-CN">' in html and "报表" in html and "未结" in html
    assert f'<option value="{current.label}" selected>' in html
    assert f'value="{site.month.label}"' in html and "（截至目前）" in html
    _, last = await fetch(http, site, f"/reports?period={site.month.label}")
    body = text(last)
    assert "未结" in body and "快照校验码" not in body and site.towns[0][1] in body and "汇总" in body
    # the selector shows the month on display; the note says it is over, not "so far"
    assert f'<option value="{site.month.label}" selected>' in last and "未结：本期已结束，尚未结账" in body
    assert "本期至今" not in body
    # the same figures as the report built for the month
    assert f'/reports/workbook?kind=monthly&amp;period={site.month.label}' in last
    # its workbook says so too: the month is over, not frozen (it said 已结 from the month's end on)
    async with http.get(site.u(f"/reports/workbook?period={site.month.label}")) as r:
        assert "未结" in openpyxl.load_workbook(io.BytesIO(await r.read()))["汇总"]["A1"].value

    closed = await close_month(site.app.engine, site.app.settings, site.month, now)
    async with http.get(site.u(f"/reports/workbook?period={site.month.label}")) as r:
        assert "已结" in openpyxl.load_workbook(io.BytesIO(await r.read()))["汇总"]["A1"].value
    _, html = await fetch(http, site, "/reports")  # default: the latest closed month
    assert f'<option value="{site.month.label}" selected>' in html
    assert "已结" in html and closed.sha256 in html and "未结：按当前数据计算" not in html
    _, en = await fetch(http, site, f"/reports?period={site.month.label}&lang=en")
    assert '<html lang="en">' in en and "closed" in en and "Summary" in en and "汇总" not in text(en)


@ON_LOOP
async def test_workbook_download(site: Site, http: aiohttp.ClientSession) -> None:
    async with http.get(site.u(f"/reports/workbook?period={site.month.label}&region={site.towns[0][0]}")) as r:
        assert r.status == 200 and r.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        cd = r.headers["Content-Disposition"]
        data = await r.read()
    name = unquote(cd.split("filename*=UTF-8''", 1)[1])
    assert name.endswith(f"在线率月报-{site.month.label}.xlsx") and site.towns[0][1] in name
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["汇总", "乡镇排名", "村覆盖", "故障明细", "工单", "报备", "监测完整性", "考核得分"]
    cells = {str(c.value) for row in wb["汇总"].iter_rows() for c in row if isinstance(c.value, str)}
    assert site.towns[0][1] in cells and not any(n in cells for _, n in site.towns[1:])
    async with http.get(site.u(f"/reports/workbook?period={site.month.label}&lang=en")) as r:
        assert r.status == 200
        en = openpyxl.load_workbook(io.BytesIO(await r.read()))
        assert en.sheetnames[0] == "Summary" and "camwatch-monthly-" in r.headers["Content-Disposition"]


@ON_LOOP
async def test_printable_page(site: Site, http: aiohttp.ClientSession) -> None:
    _, html = await fetch(http, site, f"/reports/print?period={site.month.label}")
    assert 'href="/static/report.css"' in html and "<nav" in html and 'data-print' in html
    for section in ("汇总", "乡镇排名", "村覆盖", "故障明细", "工单", "报备", "监测完整性", "考核得分"):
        assert f"<h2>{section}</h2>" in html
    assert html.count('<section class="sheet">') == 8
    _, css = await fetch(http, site, "/static/report.css")
    assert "@page" in css and "size:A4 landscape" in css and "break-before:page" in css
    assert "已结" in html and re.search(r"[0-9a-f]{64}", html)
    # 报备: each exclusion's hours in all and of them in the period (其中本期), as the workbook's columns
    table = re.search(r'<table class="report exclusions">(.*?)</table>', html, re.S)
    assert table is not None and '<th class="num">时长</th>' in table[1] and '<th class="num">其中本期</th>' in table[1]
    body = table[1].split("<tbody>", 1)[1]
    shown = [re.findall(r'<td class="num"[^>]*>([^<]*)</td>', tr) for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    async with http.get(site.u(f"/reports/workbook?period={site.month.label}")) as r:
        sheet = openpyxl.load_workbook(io.BytesIO(await r.read()))["报备"]
    head = [c.value for c in sheet[2]]
    book = [dict(zip(head, [c.value for c in row], strict=True)) for row in sheet.iter_rows(min_row=3)]
    assert shown == [[f"{b['时长（小时）']:.2f} 小时", f"{b['其中本期（小时）']:.2f} 小时"] for b in book]
    # the seeded two inside the month (a third, proposed, not shown) and the one across its end
    assert sorted(shown) == [["30.00 小时", "30.00 小时"], ["72.00 小时", "20.00 小时"], ["9.00 小时", "9.00 小时"]]
    _, en = await fetch(http, site, f"/reports/print?period={site.month.label}&lang=en")
    assert '<th class="num">Hours</th>' in en and '<th class="num">Of which in period</th>' in en and "30.00 h" in en


@ON_LOOP
async def test_township_leader_gets_their_township_only(site: Site, http: aiohttp.ClientSession) -> None:
    (mine, mine_name), (theirs, theirs_name) = site.towns[0], site.towns[1]
    leader = await token(site, "leader", "township", regions=[mine])
    _, html = await fetch(http, site, f"/reports?period={site.month.label}", headers=leader)
    options = re.findall(r'<select name="region">(.*?)</select>', html, re.S)[0]
    assert mine_name in options and theirs_name not in options and site.county[1] not in options
    assert theirs_name not in text(html)
    for path in ("/reports", "/reports/print", "/reports/workbook"):
        await fetch(http, site, f"{path}?period={site.month.label}&region={theirs}", 404, headers=leader)
        await fetch(http, site, f"{path}?period={site.month.label}&region={site.county[0]}", 404, headers=leader)
    _, printed = await fetch(http, site, f"/reports/print?period={site.month.label}", headers=leader)
    assert mine_name in printed and theirs_name not in printed
    fixer = await token(site, "fixer", "contractor", contractor="任意运维公司")
    _, none = await fetch(http, site, "/reports", headers=fixer)
    assert "没有可查看的乡镇或全县报表" in none
    await fetch(http, site, f"/reports/workbook?period={site.month.label}", 404, headers=fixer)


@ON_LOOP
async def test_api_serves_closed_months_scoped(site: Site, http: aiohttp.ClientSession) -> None:
    admin = await token(site, "boss", "admin")
    (mine, _), (theirs, _) = site.towns[0], site.towns[1]
    leader = await token(site, "leader", "township", regions=[mine])
    doc = document()
    schema = response_schema(doc, "/api/v1/reports/{period}", "get", 200)
    async with http.get(site.u(f"/api/v1/reports/{site.month.label}"), headers=admin) as r:
        assert r.status == 200, await r.text()
        whole = await r.json()
    validate(whole, schema, doc)
    assert whole["period"] == site.month.label and len(whole["content_hash"]) == 64
    assert {t["code"] for t in whole["report"]["townships"]} == {c for c, _ in site.towns}
    async with http.get(site.u(f"/api/v1/reports/{site.month.label}"), headers=leader) as r:
        part = await r.json()
    validate(part, schema, doc)
    assert part["region"] == mine and [t["code"] for t in part["report"]["townships"]] == [mine]
    assert part["content_hash"] == whole["content_hash"]
    for path, status in ((f"/api/v1/reports/{site.month.label}?region={theirs}", 404),
                         (f"/api/v1/reports/{containing(model.Kind.MONTHLY, site.app.clock(), 'Asia/Shanghai').label}", 404),
                         ("/api/v1/reports/2026-13", 400)):
        async with http.get(site.u(path), headers=leader) as r:
            assert r.status == status, (path, await r.text())


@ON_LOOP
async def test_quarterly_and_bad_periods(site: Site, http: aiohttp.ClientSession) -> None:
    admin = await token(site, "boss", "admin")
    quarter = containing(model.Kind.QUARTERLY, site.app.clock(), "Asia/Shanghai")
    _, html = await fetch(http, site, "/reports?kind=quarterly", headers=admin)
    assert f'<option value="{quarter.label}" selected>' in html and "季度在线率考核报表" in html and "未结" in html
    _, printed = await fetch(http, site, f"/reports/print?kind=quarterly&period={quarter.label}&lang=en", headers=admin)
    assert "quarterly online-rate report" in printed and "not closed" in printed
    async with http.get(site.u(f"/reports/workbook?kind=quarterly&period={quarter.label}"), headers=admin) as r:
        assert r.status == 200 and openpyxl.load_workbook(io.BytesIO(await r.read())).sheetnames[0] == "汇总"
    future = f"{quarter.start.year + 1}-01"
    for bad in (future, "2026-13", "nonsense"):
        _, page = await fetch(http, site, f"/reports?period={bad}", 400, headers=admin)
        assert "月份" in page or "期间尚未开始" in page


@ON_LOOP
async def test_months_before_monitoring_are_not_offered_and_get_no_score(site: Site, http: aiohttp.ClientSession) -> None:
    """No month before the first one watched in the list, and one typed in by hand is reported as
    unwatched with no score (not 100 points for a month nobody watched)."""
    async with site.app.engine.connect() as c:
        first = (await c.execute(select(StateInterval.start).order_by(StateInterval.id).limit(1))).scalar_one()
    first_month = containing(model.Kind.MONTHLY, first, "Asia/Shanghai")
    before = previous(first_month)
    admin = await token(site, "boss", "admin")  # (anonymous reads end once an earlier test made accounts)
    _, html = await fetch(http, site, "/reports", headers=admin)
    assert f'value="{first_month.label}"' in html and f'value="{before.label}"' not in html
    _, page = await fetch(http, site, f"/reports?period={before.label}", headers=admin)
    body = text(page)
    assert "本期无监测数据" in body and "基础分" not in body and "得分 100" not in body
    assert f'<option value="{before.label}" selected>' in page  # typed in: shown as chosen, not the list's first
    _, watched = await fetch(http, site, f"/reports?period={site.month.label}", headers=admin)
    assert "基础分" in text(watched) and "本期无监测数据" not in text(watched)
    async with http.get(site.u(f"/reports/workbook?period={before.label}"), headers=admin) as r:
        ws = openpyxl.load_workbook(io.BytesIO(await r.read()))["考核得分"]
    cells = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert "—" in cells and any("本期无监测数据" in str(c) for c in cells), cells


@pytest.mark.parametrize(("since", "closed", "labels"), [
    (None, set(), 13),  # no bound: the whole list (this month and 12 before)
    (dt.datetime(2026, 11, 20, tzinfo=dt.UTC), set(), ["2026-12", "2026-11"]),
    (dt.datetime(2026, 11, 20, tzinfo=dt.UTC), {"2026-09"}, ["2026-12", "2026-11", "2026-09"]),  # closed: offered
    (dt.datetime(2026, 12, 5, tzinfo=dt.UTC), set(), ["2026-12"]),  # nothing watched yet: this month only
])
def test_the_period_list_starts_at_the_first_month_watched(since: dt.datetime | None, closed: set[str],
                                                            labels: list[str] | int) -> None:
    got = [o.label for o in period_options(model.Kind.MONTHLY, dt.datetime(2026, 12, 5, 4, tzinfo=dt.UTC),
                                           "Asia/Shanghai", closed, since)]
    assert (len(got) if isinstance(labels, int) else got) == labels
