"""Frozen months through ``camwatch report`` on real SQLite and PostgreSQL: the workbook's
figures equal ``rates --json``; a closed month's workbook is byte-for-byte the same after its
intervals and exclusions change; diff shows a late exclusion; reopen is audited; errors."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import insert, select, update

from collector.reports.model import Kind, from_json
from collector.reports.periods import containing
from inventory.models import AuditEntry, Exclusion, ReportSnapshot, StateInterval
from tests.collector.db_support import in_transaction
from tests.collector.reports.fleet import cli, cli_json, last_month, seed

NOW = dt.datetime.now(dt.UTC)


def test_close_freezes_the_workbook_and_diff_and_reopen(db_url: str, tmp_path: Path) -> None:
    month = last_month(NOW)
    seeded = seed(db_url, month)
    label = month.label
    code, out = cli(db_url, "report", "monthly", "--month", label, "--out", str(tmp_path / "live.xlsx"))
    assert code == 0, out
    # the workbook's figures are the rate table's
    ws = load_workbook(tmp_path / "live.xlsx")["汇总"]
    zone = ZoneInfo(month.timezone)
    lo = month.start.astimezone(zone).date().isoformat()
    hi = (month.end.astimezone(zone).date() - dt.timedelta(days=1)).isoformat()
    rates = {str(r["key"]): r for r in cli_json(db_url, "rates", "--level", "township", "--from", lo, "--to", hi)["rows"]}
    shown = {ws.cell(row=r, column=1).value: r for r in range(3, ws.max_row + 1)}
    for key, r in rates.items():
        if not key:
            continue
        row = shown[key]
        for col, field in ((5, "ratio"), (6, "ratio_without_exclusions")):
            cell = ws.cell(row=row, column=col)
            assert cell.number_format == "0.00%"
            assert (cell.value is None and r[field] is None) or abs(cell.value - r[field]) <= 0.0001

    code, out = cli(db_url, "report", "close", "--month", label)
    assert code == 0 and "sha256" in out, out
    code, _ = cli(db_url, "report", "monthly", "--month", label, "--out", str(tmp_path / "a.xlsx"))
    assert code == 0
    frozen = (tmp_path / "a.xlsx").read_bytes()

    # later: a late exclusion over a whole township and an edited interval
    town = seeded["townships"][1]

    async def change(conn):  # type: ignore[no-untyped-def]
        await conn.execute(insert(Exclusion).values(region_code=town, start=month.start, end=month.end,
                                                    reason="补录停电报备", approver="县综治办", status="approved"))
        first = (await conn.execute(select(StateInterval.id).order_by(StateInterval.id))).scalars().first()
        await conn.execute(update(StateInterval).where(StateInterval.id == first).values(state="offline"))

    in_transaction(db_url, change)
    code, _ = cli(db_url, "report", "monthly", "--month", label, "--out", str(tmp_path / "b.xlsx"))
    assert code == 0
    assert (tmp_path / "b.xlsx").read_bytes() == frozen  # byte for byte, from the snapshot
    code, out = cli(db_url, "report", "monthly", "--month", label, "--lang", "en", "--out", str(tmp_path / "en.xlsx"))
    assert code == 0 and load_workbook(tmp_path / "en.xlsx").sheetnames[0] == "Summary"
    assert out.startswith("wrote ") and "closed (its frozen snapshot)" in out, out  # an English workbook's words
    code, out = cli(db_url, "report", "monthly", "--month", "2026-13", "--lang", "en", "--out", str(tmp_path / "x.xlsx"))
    assert code == 2 and "--month" in out and not re.search(r"[\u4e00-\u9fff]", out), out

    diff = cli_json(db_url, "report", "diff", "--month", label)
    where = {(c["where"], c["field"]) for c in diff["changes"]}
    assert (f"townships/{town}", "rate") in where and any(w.startswith("exclusions/") for w, _ in where)
    code, text = cli(db_url, "report", "diff", "--month", label)
    assert code == 0 and town in text

    code, out = cli(db_url, "report", "reopen", "--month", label, "--reason", "补录停电报备")
    assert code == 0, out

    async def audit(conn):  # type: ignore[no-untyped-def]
        rows = (await conn.execute(select(AuditEntry.action, AuditEntry.object, AuditEntry.detail).order_by(AuditEntry.id))).all()
        snaps = (await conn.execute(select(ReportSnapshot.id))).all()
        return rows, snaps

    rows, snaps = in_transaction(db_url, audit)
    assert [r.action for r in rows] == ["report.close", "report.reopen"] and not snaps
    assert rows[1].object == f"report:monthly:{label}" and "补录停电报备" in rows[1].detail and "sha256=" in rows[1].detail
    # reopened: computed again, the late exclusion counted; closing again freezes the new figures
    code, _ = cli(db_url, "report", "close", "--month", label)
    assert code == 0

    async def stored(conn):  # type: ignore[no-untyped-def]
        return (await conn.execute(select(ReportSnapshot.data))).scalar_one()

    report = from_json(in_transaction(db_url, stored)["report"])
    assert any(e.reason == "补录停电报备" for e in report.exclusions)
    assert cli_json(db_url, "report", "diff", "--month", label)["changes"] == []


def test_errors_name_the_option(db_url: str, tmp_path: Path) -> None:
    seed(db_url, last_month(NOW))
    out = str(tmp_path / "x.xlsx")
    cases = [
        (("report", "monthly", "--month", "2026-13", "--out", out), 2, "--month"),
        (("report", "quarterly", "--quarter", "2026Q7", "--out", out), 2, "--quarter"),
        (("report", "monthly", "--month", "2999-01", "--out", out), 2, "--month"),
        (("report", "monthly", "--month", last_month(NOW).label, "--out", str(tmp_path / "no" / "x.xlsx")), 3, "no"),
        (("report", "monthly", "--month", last_month(NOW).label, "--region", "没有这个乡", "--out", out), 1, "没有这个乡"),
        (("report", "diff", "--month", last_month(NOW).label), 1, "not closed"),
        (("report", "reopen", "--month", last_month(NOW).label, "--reason", "x"), 1, "not closed"),
    ]
    for args, status, words in cases:
        code, text = cli(db_url, *args, lang="en")
        assert code == status, (args, text)
        assert words in text and "Traceback" not in text and len(text.strip().splitlines()) == 1, (args, text)


def test_month_to_date_and_township(db_url: str, tmp_path: Path) -> None:
    seed(db_url, last_month(NOW))
    this = containing(Kind.MONTHLY, NOW, "Asia/Shanghai")
    code, out = cli(db_url, "report", "monthly", "--month", this.label, "--out", str(tmp_path / "now.xlsx"))
    assert code == 0 and "未结" in out
    assert "未结" in load_workbook(tmp_path / "now.xlsx")["汇总"]["A1"].value
    code, out = cli(db_url, "report", "close", "--month", this.label)
    assert code == 1
    code, out = cli(db_url, "report", "monthly", "--month", last_month(NOW).label, "--region", "城关镇",
                    "--out", str(tmp_path / "town.xlsx"))
    assert code == 0, out
    # last month is over but not frozen: not closed, as the console says, in the CLI and the workbook
    assert "未结" in out and "report close --month" in out and "已结" not in out
    assert "未结" in load_workbook(tmp_path / "town.xlsx")["汇总"]["A1"].value
    ws = load_workbook(tmp_path / "town.xlsx")["汇总"]
    assert [ws.cell(row=r, column=2).value for r in range(3, ws.max_row + 1)] == ["城关镇"]
    villages = load_workbook(tmp_path / "town.xlsx")["村覆盖"]
    assert {villages.cell(row=r, column=1).value for r in range(3, villages.max_row + 1)} == {"城关镇"}
    code, out = cli(db_url, "report", "close", "--month", last_month(NOW).label)
    assert code == 0, out
    code, out = cli(db_url, "report", "monthly", "--month", last_month(NOW).label, "--out", str(tmp_path / "done.xlsx"))
    assert code == 0 and "已结" in out, out
    assert "已结" in load_workbook(tmp_path / "done.xlsx")["汇总"]["A1"].value
