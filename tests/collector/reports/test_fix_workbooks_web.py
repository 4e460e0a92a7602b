"""The console's workbook download and printable page of a real App over HTTP (SQLite, a seeded month).

- an old exclusion whose reason holds a control character made the download answer 500
  (openpyxl's IllegalCharacterError); a reason typed as a formula was a live formula;
- a closed month's workbook now carries the snapshot's sha256 and close time the page shows
  (the county's and a township's alike);
- the printable page says what its numbers are: 报备 #N (the workbook's 报备编号) and 摄像机 #N.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import aiohttp
import openpyxl
from sqlalchemy import insert, select

from collector.reports.snapshots import close_month
from inventory.models import Camera, Exclusion
from tests.collector.test_web_reports import ON_LOOP, Site, fetch, http, site  # noqa: F401  (the fixtures)


@ON_LOOP
async def test_download_survives_old_rows_and_says_its_closing(site: Site, http: aiohttp.ClientSession) -> None:  # noqa: F811
    month = site.month
    async with site.app.engine.begin() as c:  # rows stored before the API refused such text
        cam = (await c.execute(select(Camera.id).order_by(Camera.id).limit(1))).scalar_one()
        start = month.start + dt.timedelta(days=3)
        await c.execute(insert(Exclusion).values(camera_id=cam, start=start, end=start + dt.timedelta(hours=2),
                                                 reason="线路改造\u0007停电", approver="=1+1", status="approved"))
    for lang in ("zh", "en"):  # not closed: computed now
        async with http.get(site.u(f"/reports/workbook?period={month.label}&lang={lang}")) as r:
            assert r.status == 200, await r.text()
    closed = await close_month(site.app.engine, site.app.settings, month, site.app.clock())
    for region in (site.county[0], site.towns[0][0]):
        async with http.get(site.u(f"/reports/workbook?period={month.label}&region={region}")) as r:
            assert r.status == 200, await r.text()
            wb = openpyxl.load_workbook(io.BytesIO(await r.read()))
        line = wb["汇总"]["F1"].value
        assert line.startswith("已结：") and line.endswith(f"快照校验码（sha256）{closed.sha256}"), line
        assert wb["汇总"].oddFooter.right.text == line
        excl = wb["报备"]
        if region == site.county[0]:
            rows = {excl.cell(row=r, column=8).value: excl.cell(row=r, column=9) for r in range(3, excl.max_row + 1)}
            assert rows["线路改造\ufffd停电"].value == "=1+1" and rows["线路改造\ufffd停电"].data_type == "s"
    _, page = await fetch(http, site, f"/reports?period={month.label}")
    assert closed.sha256 in page  # (the page's hash is the workbook's)

    _, html = await fetch(http, site, f"/reports/print?period={month.label}")
    table = re.search(r'<table class="report exclusions">(.*?)</table>', html, re.S)
    assert table is not None
    subs = re.findall(r'<div class="sub">([^<]*)</div>', table[1])
    assert subs and all(s.startswith("报备 #") for s in subs), subs
    assert any(f" · 摄像机 #{cam}" in s for s in subs), subs
    faults = re.search(r'<table class="report faults">(.*?)</table>', html, re.S)
    assert faults is not None and not re.search(r'<span class="sub">#\d', faults[1])
