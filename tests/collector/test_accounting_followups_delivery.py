"""The workbooks a month's automatic close e-mails carry the closing they come from, as the
CLI's export and the console's download do: the snapshot's sha256 and its close time, in the
summary's first row and every sheet's footer — a township's cut too (before, only the county's
workbook had the hash: a cut computes none of its own). Real SQLite, a real SMTP server on
loopback (the helpers of test_report_close.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from sqlalchemy import select

from collector.runtime.report_close import ReportCloser
from inventory.db import create_engine
from inventory.models import Region, ReportSnapshot
from tests.collector.notify_receivers import TinySMTP
from tests.collector.reports.fleet import last_month, seed
from tests.collector.test_report_close import _attachments, _due_today, smtp  # noqa: F401 (the fixture)


def _seals(data: bytes) -> tuple[str, list[str]]:
    """(the summary's first row, every sheet's footer)."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    first = " ".join(str(c.value) for c in wb.worksheets[0][1] if c.value is not None)
    return first, [ws.oddFooter.right.text or "" for ws in wb.worksheets]


async def test_every_delivered_workbook_carries_the_snapshot_hash_and_close_time(tmp_path: Path,
                                                                                smtp: TinySMTP) -> None:  # noqa: F811
    url = f"sqlite:///{tmp_path / 'camwatch.db'}"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    month = last_month(now)
    await asyncio.to_thread(seed, url, month)
    engine = create_engine(url)
    try:
        async with engine.connect() as c:
            town = (await c.execute(select(Region.code).where(Region.level == "township").order_by(Region.code))).scalar()
        settings = _due_today(tmp_path, url, smtp, now, f"""
    - {{to: [county@example.org]}}
    - {{to: [town@example.org], region: "{town}"}}
    - {{to: [en@example.org], region: "{town}", lang: en}}""")
        out = await ReportCloser(engine, settings, clock=lambda: now).tick()
        assert out is not None and out.closed_here and [d.ok for d in out.deliveries] == [True] * 3
        async with engine.connect() as c:
            closed_at = (await c.execute(select(ReportSnapshot.created_at))).scalar_one()
    finally:
        await engine.dispose()
    at = now.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert closed_at.replace(tzinfo=dt.UTC) == now
    by_rcpt: dict[tuple[str, ...], Any] = {tuple(r): data for _, r, data in smtp.messages}
    for rcpt in ("county@example.org", "town@example.org", "en@example.org"):
        [(_, data)] = _attachments(by_rcpt[(rcpt,)])
        first, footers = _seals(data)
        assert out.content_hash in first and at in first, (rcpt, first)
        assert len(footers) == 8 and all(out.content_hash in f and at in f for f in footers), (rcpt, footers)
