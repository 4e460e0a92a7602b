"""``camwatch exclusion remove|end`` does what the console's "end" does, on real SQLite and PostgreSQL:
an exclusion in force ends at that moment and its elapsed part stays excluded (it deleted the whole
row, so the elapsed window left the rates and the report's 报备 sheet without a word); one to come is
removed; one already over is kept unless ``--force``, and even forced not in a closed month."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from collector.reports.exclusion_end import Step, clock, months_of, step_for
from inventory.models import AuditEntry, Camera, StateInterval
from tests.collector.db_support import in_transaction

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "sample_inventory.csv"
TZ = ZoneInfo("Asia/Shanghai")  # accounting.timezone's default
VILLAGE = "130123101203"  # 城关镇/新新屯3
H = dt.timedelta(hours=1)


def camwatch(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env.update(CAMWATCH_DB=url, CAMWATCH_SECRET_KEY="test-key-material")
    return subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def ok(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 0 and "Traceback" not in r.stderr, (r.returncode, r.stdout, r.stderr)
    return r.stdout


def refused(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    return r.stderr.strip()


def local(t: dt.datetime) -> str:
    return t.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def setup(cwd: Path, url: str) -> None:
    ok(camwatch(cwd, url, "db", "upgrade"))
    ok(camwatch(cwd, url, "inventory", "import", str(SAMPLE)))


def add(cwd: Path, url: str, scope: tuple[str, str], lo: dt.datetime | str, hi: dt.datetime | str) -> None:
    ok(camwatch(cwd, url, "exclusion", "add", *scope, "--from", lo if isinstance(lo, str) else local(lo),
                "--to", hi if isinstance(hi, str) else local(hi), "--reason", "停电报备", "--approver", "张三"))


def listed(cwd: Path, url: str) -> dict[int, dict[str, str]]:
    return {x["id"]: x for x in json.loads(ok(camwatch(cwd, url, "exclusion", "list", "--json")))}


def test_the_rule() -> None:
    now = dt.datetime(2026, 12, 5, 12, 7, tzinfo=dt.UTC)
    assert step_for("approved", now - H, now + H, now) is Step.END
    assert step_for("approved", now + H, now + 2 * H, now) is Step.REMOVE
    assert step_for("approved", now, now + H, now) is Step.REMOVE  # nothing elapsed yet
    assert step_for("approved", now - 2 * H, now - H, now) is Step.PAST
    assert step_for("ended", now - 2 * H, now, now) is Step.PAST
    assert step_for("proposed", now - 2 * H, now - H, now) is Step.REMOVE  # never counted
    assert step_for("rejected", now - H, now + H, now) is Step.REMOVE
    tz = "Asia/Shanghai"  # local months: 2026-11-30 20:00 +08:00 is still November
    assert months_of(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC), dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC), tz) == ("2026-11",)
    assert months_of(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC), tz) == (
        "2026-11", "2026-12")


def test_one_in_force_ends_now_and_keeps_its_elapsed_part(tmp_path: Path, db_url: str) -> None:
    setup(tmp_path, db_url)
    t0 = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)

    async def states(conn):  # type: ignore[no-untyped-def]  # every camera up for an hour, then down
        cams = (await conn.execute(select(Camera.id))).scalars().all()
        await conn.execute(insert(StateInterval), [
            row for cid in cams for row in (
                {"camera_id": cid, "state": "online", "cause": None, "start": t0 - 3 * H, "end": t0 - 2 * H},
                {"camera_id": cid, "state": "offline", "cause": "refused", "start": t0 - 2 * H, "end": None})])

    in_transaction(db_url, states)
    add(tmp_path, db_url, ("--region", "城关镇/新新屯3"), t0 - 2 * H, t0 + H)  # in force since the outage began
    add(tmp_path, db_url, ("--camera", "1"), t0 - H, t0 + H)

    before = dt.datetime.now(dt.UTC)
    said = ok(camwatch(tmp_path, db_url, "exclusion", "remove", "1")).strip()
    after = dt.datetime.now(dt.UTC)
    assert said.startswith("报备 #1 已于 ") and " 结束（已生效的 " in said, said
    # (a time on the day it began is said alone, else with its date and zone: whatever the time of day the test runs)
    assert f"已生效的 {local(t0 - 2 * H)} +08:00 — " in said and f"原定至 {clock(t0 + H, 'Asia/Shanghai', before)}）" in said
    assert "已删除" not in said

    row = listed(tmp_path, db_url)[1]  # kept, ended at the moment of the command
    assert row["status"] == "ended" and row["from"] == (t0 - 2 * H).astimezone(TZ).isoformat()
    assert before <= dt.datetime.fromisoformat(row["to"]) <= after
    assert "\t已结束\t区划 130123101203\t" in ok(camwatch(tmp_path, db_url, "exclusion", "list"))

    rates = json.loads(ok(camwatch(tmp_path, db_url, "rates", "--level", "village", "--from", local(t0 - 3 * H),
                                   "--to", row["to"], "--json")))
    rows = {r["key"]: r for r in rates["rows"]}
    # the village's outage up to the removal is still excluded: 100% with exclusions, about 1/3 without
    assert rows[VILLAGE]["ratio"] == 1.0 and abs(rows[VILLAGE]["ratio_without_exclusions"] - 1 / 3) < 0.02
    other = next(r for k, r in rows.items() if k != VILLAGE and r["ratio"] is not None and k != "130123101201")
    assert other["ratio"] == other["ratio_without_exclusions"]

    en = ok(camwatch(tmp_path, db_url, "--lang", "en", "exclusion", "end", "2")).strip()
    assert en.startswith("exclusion #2 ended at ") and f"(the elapsed {local(t0 - H)} +08:00 — " in en, en
    assert listed(tmp_path, db_url)[2]["status"] == "ended"

    # ended, it is over now: a second remove keeps it
    again = refused(camwatch(tmp_path, db_url, "exclusion", "remove", "1"))
    assert again.startswith("camwatch: 报备 #1（区划 130123101203，") and "未删除" in again and "--force" in again
    assert listed(tmp_path, db_url)[1]["to"] == row["to"]


def test_one_to_come_is_removed_one_over_only_with_force(tmp_path: Path, db_url: str) -> None:
    setup(tmp_path, db_url)
    t0 = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    add(tmp_path, db_url, ("--camera", "1"), t0 + 24 * H, t0 + 26 * H)
    add(tmp_path, db_url, ("--camera", "2"), t0 - 5 * H, t0 - 4 * H)

    said = ok(camwatch(tmp_path, db_url, "exclusion", "remove", "1")).strip()
    assert said.startswith(f"已删除报备 #1（尚未开始：摄像机 1，{local(t0 + 24 * H)} +08:00 — ") and said.endswith(
        f"{clock(t0 + 26 * H, 'Asia/Shanghai', t0 + 24 * H)}，停电报备，批准人 张三）"), said
    assert 1 not in listed(tmp_path, db_url)

    span = f"{local(t0 - 5 * H)} +08:00 — "
    zh = refused(camwatch(tmp_path, db_url, "exclusion", "remove", "2"))
    assert zh.startswith(f"camwatch: 报备 #2（摄像机 2，{span}") and "已结束" in zh and "未删除。确需删除请加 --force" in zh
    en = refused(camwatch(tmp_path, db_url, "--lang", "en", "exclusion", "end", "2"))
    assert en.startswith(f"camwatch: exclusion #2 (camera 2, {span}") and "is over" in en and "add --force" in en
    assert listed(tmp_path, db_url)[2]["status"] == "approved"  # untouched

    gone = ok(camwatch(tmp_path, db_url, "exclusion", "remove", "2", "--force")).strip()
    assert gone.startswith(f"已删除已结束的报备 #2（摄像机 2，{span}") and "已记入审计日志" in gone, gone
    assert listed(tmp_path, db_url) == {}

    async def audit(conn):  # type: ignore[no-untyped-def]
        return (await conn.execute(select(AuditEntry.action, AuditEntry.object).order_by(AuditEntry.id))).all()

    rows = [tuple(r) for r in in_transaction(db_url, audit)]
    assert [r for r in rows if r[0] != "exclusion add"] == [("exclusion remove", "exclusion:1"),
                                                           ("exclusion remove --force", "exclusion:2")]
    assert ("exclusion add", "exclusion:1") in rows and ("exclusion add", "exclusion:2") in rows  # (audited too)
    assert refused(camwatch(tmp_path, db_url, "exclusion", "remove", "2")) == "camwatch: 没有报备 #2"
    assert refused(camwatch(tmp_path, db_url, "--lang", "en", "exclusion", "end", "9")) == "camwatch: no exclusion #9"


def test_not_in_a_closed_month_even_forced(tmp_path: Path, db_url: str) -> None:
    setup(tmp_path, db_url)
    add(tmp_path, db_url, ("--camera", "3"), "2025-11-10 08:00", "2025-11-10 12:00")
    ok(camwatch(tmp_path, db_url, "report", "close", "--month", "2025-11"))
    for extra in ((), ("--force",)):
        said = refused(camwatch(tmp_path, db_url, "exclusion", "remove", "1", *extra))
        assert "所在月份 2025-11 已结算" in said and "--force 也不行" in said
        assert 'camwatch report reopen --month 2025-11 --reason "…"' in said
    en = refused(camwatch(tmp_path, db_url, "--lang", "en", "exclusion", "remove", "1", "--force"))
    assert "lies in 2025-11, closed" in en and "not even with --force" in en
    assert 1 in listed(tmp_path, db_url)
    ok(camwatch(tmp_path, db_url, "report", "reopen", "--month", "2025-11", "--reason", "撤销误报的停电报备"))
    said = ok(camwatch(tmp_path, db_url, "exclusion", "remove", "1", "--force"))
    assert said.startswith("已删除已结束的报备 #1（摄像机 3，2025-11-10 08:00 +08:00 — 12:00，") and "2025-11 的在线率随之改变" in said
    assert listed(tmp_path, db_url) == {}
