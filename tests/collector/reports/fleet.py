"""A small county with a month of state intervals (causes included), exclusions and work orders,
on a real database; and ``camwatch`` run in-process for its ``--json`` tables."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner
from sqlalchemy import insert, select

from collector.cli import build_cli
from collector.cli.errors import run_main
from collector.reports.model import Kind, ReportPeriod
from collector.reports.periods import containing, previous
from collector.settings import Settings, load_settings
from inventory.db import create_engine
from inventory.models import Camera, Exclusion, Region, StateInterval, WorkOrder
from tests.inventory.helpers import do_import, migrated

SAMPLE = Path(__file__).resolve().parents[3] / "config" / "sample_inventory.csv"
TZ = "Asia/Shanghai"
CAUSES = ("unreachable", "timeout", "refused", "auth_failed", None)


def last_month(now: dt.datetime) -> ReportPeriod:
    """The month before the one holding *now* (over: its figures do not move with the clock)."""
    return previous(containing(Kind.MONTHLY, now, TZ))


def settings(url: str) -> Settings:
    return load_settings(None, db_url=url)


def timeline(rnd: random.Random, cid: int, lo: dt.datetime, hi: dt.datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    t = lo - dt.timedelta(hours=rnd.uniform(1, 30))
    while t < hi:
        r = rnd.random()
        state = "online" if r < 0.55 else "degraded" if r < 0.62 else "offline" if r < 0.95 else "unknown"
        length = dt.timedelta(hours=rnd.expovariate(1 / 20) if state == "online" else rnd.expovariate(1 / 6))
        end = t + length
        rows.append({"camera_id": cid, "state": state, "cause": rnd.choice(CAUSES) if state == "offline" else None,
                     "start": t, "end": end if end < hi else None})
        t = end + (dt.timedelta(hours=rnd.uniform(0.5, 5)) if rnd.random() < 0.05 else dt.timedelta(0))  # gaps: unknown
    return rows


def seed(url: str, month: ReportPeriod, *, seed_no: int = 5) -> dict[str, Any]:
    """Migrate, import the sample inventory and write two months of intervals, exclusions and work orders."""
    migrated(url)
    assert do_import(url, SAMPLE).written
    rnd = random.Random(seed_no)
    before = previous(month)

    async def go() -> dict[str, Any]:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                cams = list((await conn.execute(select(Camera.id).order_by(Camera.id))).scalars())
                towns = list((await conn.execute(select(Region.code).where(Region.level == "township"))).scalars())
                rows = [r for cid in cams for r in timeline(rnd, cid, before.start, month.end)]
                await conn.execute(insert(StateInterval), rows)
                mid = month.start + (month.end - month.start) / 2
                await conn.execute(insert(Exclusion), [
                    {"camera_id": cams[3], "region_code": None, "start": mid, "end": mid + dt.timedelta(hours=30),
                     "reason": "停电报备", "approver": "王科长", "status": "approved"},
                    {"camera_id": None, "region_code": towns[0], "start": month.start + dt.timedelta(days=3),
                     "end": month.start + dt.timedelta(days=3, hours=9), "reason": "线路检修", "approver": "李主任", "status": "approved"},
                    {"camera_id": cams[5], "region_code": None, "start": mid, "end": mid + dt.timedelta(hours=5),
                     "reason": "提议中", "approver": "", "status": "proposed"},
                ])
                orders = []
                for i, cid in enumerate(cams[:6]):
                    opened = month.start + dt.timedelta(days=2 + 3 * i, hours=i)
                    late = i % 3 == 0
                    orders.append({"incident_key": f"camera:{cid}:{i}", "camera_id": cid, "cause": "unreachable",
                                   "severity": "normal", "status": "resolved" if i < 5 else "open", "opened_at": opened,
                                   "deadline": opened + dt.timedelta(hours=24),
                                   "acknowledged_at": opened + dt.timedelta(minutes=20 + i),
                                   "resolved_at": (opened + dt.timedelta(hours=30 if late else 5)) if i < 5 else None,
                                   "title": f"摄像机 {cid} 离线", "cameras": 1})
                await conn.execute(insert(WorkOrder), orders)
            return {"cameras": cams, "townships": towns}
        finally:
            await engine.dispose()

    return asyncio.run(go())


def cli(url: str, *args: str, lang: str = "zh") -> tuple[int, str]:
    """``camwatch --db URL --lang LANG ARGS...`` in this process: (exit status, output)."""
    @click.command()
    def wrapper() -> None:
        run_main(build_cli(), ["--db", url, "--lang", lang, *args])

    res = CliRunner().invoke(wrapper, [], catch_exceptions=False)
    return res.exit_code, res.stdout if res.exit_code == 0 else res.output


def cli_json(url: str, *args: str) -> Any:
    code, out = cli(url, *args, "--json")
    assert code == 0, out
    return json.loads(out)
