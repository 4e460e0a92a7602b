"""The automatic month close and the workbook's delivery by e-mail.

The rule (:func:`month_due`) on a table of instants in Asia/Shanghai and UTC; then on a real
SQLite county with a month of intervals: the job closes the previous month once (a second job,
as a restarted or second collector, finds it closed and sends nothing), and a real SMTP server on
loopback receives one message per recipient whose attachment opens with openpyxl — the county's
workbook for the county's recipients, one township's alone for that township's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import io
import logging
from email import policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import func, insert, select, update

from collector.reports.model import Kind
from collector.runtime.app import App
from collector.runtime.report_close import ReportCloser, month_due
from collector.settings import Settings, load_settings
from inventory.db import create_engine
from inventory.models import AuditEntry, Camera, Region, ReportSnapshot, StateInterval
from inventory.secrets import SecretBox
from tests.collector.notify_receivers import TinySMTP
from tests.collector.reports.fleet import last_month, seed
from tests.inventory.helpers import KEY, do_import, migrated
from tests.net import SAMPLE

SH, UTC = "Asia/Shanghai", "UTC"


def utc(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(("now", "tz", "day", "due"), [
    ("2026-12-02T15:59:59", SH, 3, None),  # 12-02 23:59:59 local: the 3rd not yet
    ("2026-12-02T16:00:00", SH, 3, "2026-11"),  # 12-03 00:00 local
    ("2026-12-02T16:00:00", UTC, 3, None),  # 12-02 16:00 UTC: not yet in UTC
    ("2026-12-03T00:00:00", UTC, 3, "2026-11"),
    ("2026-12-31T15:59:59", SH, 3, "2026-11"),  # still due (closing is idempotent)
    ("2026-12-31T16:00:00", SH, 3, None),  # 2027-01-01 local: December's day not reached
    ("2026-12-31T16:00:00", SH, 1, "2026-12"),  # close_day 1: at local midnight of the 1st
    ("2026-11-30T15:59:59", SH, 1, "2026-10"),  # 11-30 23:59:59 local: November still running, October due
    ("2027-01-02T16:00:00", SH, 3, "2026-12"),  # across the year
    ("2027-03-28T00:00:00", UTC, 28, "2027-02"),  # the largest close day, after a short month
    ("2027-03-27T23:59:59", UTC, 28, None),
])
def test_month_due(now: str, tz: str, day: int, due: str | None) -> None:
    got = month_due(utc(now), tz, day)
    assert (got.label if got else None) == due
    if got is not None:
        assert got.kind is Kind.MONTHLY and got.end <= utc(now)


@pytest.fixture
async def smtp() -> Any:
    s = TinySMTP("reports", "smtp-Pa55-word")
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


def _attachments(data: bytes) -> list[tuple[str, bytes]]:
    msg = email.message_from_bytes(data, policy=policy.default)
    return [(str(p.get_filename()), p.get_payload(decode=True)) for p in msg.iter_attachments()]


def _due_today(tmp_path: Path, url: str, smtp: TinySMTP, now: dt.datetime, recipients: str) -> Settings:
    """Settings with the e-mail channel to *smtp* and *recipients* (YAML list items), the close day
    today's local day or earlier: the month before this one is due at *now*."""
    local_day = now.astimezone(ZoneInfo(SH)).day
    cfg = tmp_path / "camwatch.yaml"
    cfg.write_text(f"""
notify:
  channels:
    - {{name: mail, kind: email, password: smtp-Pa55-word,
       url: "mailto://reports@127.0.0.1:{smtp.port}?from=camwatch@example.org&mode=insecure"}}
  retry: {{attempts: 2, initial_backoff_s: 0.05}}
reports:
  close_day: {min(local_day, 28)}
  recipients:{recipients}
""", encoding="utf-8")
    return load_settings(cfg, db_url=url, environ={})


async def test_close_once_then_deliver_county_and_township(tmp_path: Path, smtp: TinySMTP) -> None:
    url = f"sqlite:///{tmp_path / 'camwatch.db'}"
    now = dt.datetime.now(dt.UTC)
    month = last_month(now)
    await asyncio.to_thread(seed, url, month)
    engine = create_engine(url)
    try:
        async with engine.connect() as c:
            town, town_name = (await c.execute(select(Region.code, Region.name).where(Region.level == "township")
                                               .order_by(Region.code))).first()  # type: ignore[misc]
        settings = _due_today(tmp_path, url, smtp, now, f"""
    - {{to: [county@example.org, assessor@example.org]}}
    - {{to: [town@example.org], region: "{town}"}}
    - {{to: [en@example.org], region: "{town}", lang: en}}""")
        job = ReportCloser(engine, settings, clock=lambda: now)
        out = await job.tick()
        assert out is not None and out.month == month.label and out.closed_here and len(out.content_hash) == 64
        assert [d.ok for d in out.deliveries] == [True, True, True], out.deliveries
        assert await job.tick() is None  # done here: nothing twice
        again = await ReportCloser(engine, settings, clock=lambda: now).tick()  # a restart, or another collector
        assert again is not None and not again.closed_here and again.content_hash == out.content_hash
        async with engine.connect() as c:
            assert (await c.execute(select(func.count()).select_from(ReportSnapshot))).scalar_one() == 1
            audited = (await c.execute(select(AuditEntry.action, AuditEntry.object, AuditEntry.detail)
                                       .where(AuditEntry.actor == "camwatch"))).all()
        assert [a for a, _, _ in audited] == ["report.close"] + ["report.delivered"] * 3
        assert all(month.label in str(o) for _, o, _ in audited)
    finally:
        await engine.dispose()

    assert len(smtp.messages) == 4  # one each (apprise sends each address its own copy); no second delivery
    by_rcpt = {tuple(r): data for _, r, data in smtp.messages}
    county = _attachments(by_rcpt[("county@example.org",)])
    assert _attachments(by_rcpt[("assessor@example.org",)]) == county
    mine = _attachments(by_rcpt[("town@example.org",)])
    english = _attachments(by_rcpt[("en@example.org",)])
    assert len(county) == len(mine) == len(english) == 1
    (cname, cbytes), (tname, tbytes), (ename, ebytes) = county[0], mine[0], english[0]
    assert cname.endswith(f"在线率月报-{month.label}.xlsx") and town_name in tname and ename.endswith(f"{town}.xlsx")
    msg = email.message_from_bytes(by_rcpt[("town@example.org",)], policy=policy.default)
    assert town_name in str(msg["Subject"]) and "已结" in str(msg["Subject"]) and out.content_hash in msg.get_body().get_content()
    wb_county = openpyxl.load_workbook(io.BytesIO(cbytes))
    wb_town = openpyxl.load_workbook(io.BytesIO(tbytes))
    wb_en = openpyxl.load_workbook(io.BytesIO(ebytes))
    assert wb_county.sheetnames[0] == "汇总" and wb_en.sheetnames[0] == "Summary"
    county_names = _column_values(wb_county["汇总"])
    town_names = _column_values(wb_town["汇总"])
    assert town_name in town_names and len(town_names) < len(county_names)  # that township alone (and its county)


def _column_values(ws: Any) -> set[str]:
    return {str(c.value) for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


async def test_a_month_not_monitored_is_not_closed_automatically(tmp_path: Path, smtp: TinySMTP,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """camwatch installed after the month (an inventory, no state recorded in it): nothing is frozen
    nor e-mailed, the log names the command that closes it by hand; once a state is recorded in
    the month, the job closes it."""
    url = f"sqlite:///{tmp_path / 'camwatch.db'}"
    now = dt.datetime.now(dt.UTC)
    month = last_month(now)
    await asyncio.to_thread(migrated, url)
    assert (await asyncio.to_thread(do_import, url, SAMPLE)).written
    settings = _due_today(tmp_path, url, smtp, now, """
    - {to: [county@example.org]}""")
    engine = create_engine(url)
    try:
        # a state recorded in the month after (this month, since its start): not the month's
        async with engine.begin() as c:
            cid = (await c.execute(select(Camera.id).limit(1))).scalar_one()
            await c.execute(insert(StateInterval), [{"camera_id": cid, "state": "online", "start": month.end, "end": None}])
        with caplog.at_level(logging.INFO, logger="camwatch.reports"):
            out = await ReportCloser(engine, settings, clock=lambda: now).tick()
        assert out is not None and out.month == month.label and out.not_monitored and not out.closed_here
        assert f"camwatch report close --month {month.label}" in caplog.text
        async with engine.begin() as c:
            assert (await c.execute(select(func.count()).select_from(ReportSnapshot))).scalar_one() == 0
            # one interval that ends one second into the month is enough
            await c.execute(insert(StateInterval), [{"camera_id": cid, "state": "offline",
                                                     "start": month.start - dt.timedelta(days=1),
                                                     "end": month.start + dt.timedelta(seconds=1)}])
        out = await ReportCloser(engine, settings, clock=lambda: now).tick()  # (a restart)
        assert out is not None and out.closed_here and not out.not_monitored and len(out.content_hash) == 64
    finally:
        await engine.dispose()
    assert len(smtp.messages) == 1  # the month closed, not the one skipped


async def test_camwatch_run_closes_the_month_due(tmp_path: Path) -> None:
    """The App (``camwatch run``) starts the job: with today as the close day, last month is closed
    shortly after the start (a county monitored last month whose cameras are all retired now: none
    is probed)."""
    url = f"sqlite:///{tmp_path / 'camwatch.db'}"
    now = dt.datetime.now(dt.UTC)
    await asyncio.to_thread(seed, url, last_month(now))
    retire = create_engine(url)
    try:
        async with retire.begin() as c:
            await c.execute(update(Camera).values(lifecycle="retired"))
    finally:
        await retire.dispose()
    # today as the close day (close_day is at most 28: from the 29th on, the 28th is already past)
    close_day = min(now.astimezone(ZoneInfo(SH)).day, 28)
    settings = load_settings(None, db_url=url, environ={"CAMWATCH_REPORTS__CLOSE_DAY": str(close_day),
                                                        "CAMWATCH_COLLECTOR__VIDEO": "false"})
    engine = create_engine(url)
    app = App(settings, engine, SecretBox(KEY))
    try:
        await app.start()
        deadline = asyncio.get_running_loop().time() + 60
        while (app.closer is None or app.closer.last is None) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
        assert app.closer is not None and app.closer.last is not None, app.closer and app.closer.error
        assert app.closer.last.month == last_month(now).label and app.closer.last.closed_here
        async with engine.connect() as c:
            assert (await c.execute(select(ReportSnapshot.period))).scalars().all() == [last_month(now).label]
    finally:
        await app.stop()
        await engine.dispose()
