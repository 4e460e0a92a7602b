"""``camwatch alerts silence|silences|unsilence`` and ``camwatch workorders list|ack|close`` on a real SQLite file."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from collector.alerting import incident_store as store
from collector.alerting.engine import AlertEngine
from collector.alerting.model import Outage
from collector.alerting.policy import AlertPolicy
from collector.cli import alerts_cmds, cli
from inventory.db import create_engine
from inventory.models import utcnow
from probes.causes import Cause
from tests.inventory.helpers import do_import, migrated

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "sample_inventory.csv"


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[click.Group, str]:
    monkeypatch.chdir(tmp_path)
    url = migrated(f"sqlite:///{tmp_path / 'camwatch.db'}")
    do_import(url, SAMPLE)
    group = click.Group("camwatch", params=cli.params, callback=cli.callback)
    alerts_cmds.register(group)
    return group, url


def _invoke(group: click.Group, url: str, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(group, ["--db", url, *args], catch_exceptions=False)
    return r.exit_code, r.output


def _open_order(url: str) -> int:
    async def go() -> int:
        eng = create_engine(url)
        try:
            inv = await store.load_inventory(eng)
            e = AlertEngine(AlertPolicy(), inv)
            now = utcnow()
            cam = min(inv.cameras)
            acts = list(e.feed(Outage(cam, Cause.REFUSED, now - dt.timedelta(hours=1), now - dt.timedelta(hours=1))))
            acts += e.tick(now)
            await store.apply_actions(eng, acts, now)
            return (await store.list_work_orders(eng))[0].id
        finally:
            await eng.dispose()

    return asyncio.run(go())


def test_silence_lifecycle(app: tuple[click.Group, str]) -> None:
    group, url = app
    code, out = _invoke(group, url, "alerts", "silence", "--region", "130123101201", "--until", "2h", "--reason", "施工")
    assert code == 0 and out.startswith("已静默 #1，至 ")
    code, out = _invoke(group, url, "--lang", "en", "alerts", "silence", "--camera", "1", "--until", "2999-01-01 08:00")
    assert code == 0 and out.strip() == "silence #2 until 2999-01-01 08:00 +08:00"
    code, out = _invoke(group, url, "alerts", "silences", "--json")
    items = json.loads(out)
    assert [(i["id"], i["region"], i["camera"], i["reason"]) for i in items] == [(1, "130123101201", None, "施工"), (2, None, 1, "")]
    code, out = _invoke(group, url, "alerts", "unsilence", "1")
    assert (code, out.strip()) == (0, "已解除静默 #1")
    code, out = _invoke(group, url, "alerts", "silences")
    assert out.splitlines() == ["#2\t摄像机 1\t至 2999-01-01 08:00 +08:00\t"]
    code, out = _invoke(group, url, "alerts", "unsilence", "99")
    assert code == 1
    code, out = _invoke(group, url, "alerts", "silence", "--region", "000000000000", "--until", "1h")
    assert code == 1
    code, out = _invoke(group, url, "alerts", "silence", "--camera", "1", "--region", "x", "--until", "1h")
    assert code == 2


def test_workorders_list_ack_close(app: tuple[click.Group, str]) -> None:
    group, url = app
    oid = _open_order(url)
    code, out = _invoke(group, url, "workorders", "list", "--json")
    [item] = json.loads(out)
    assert (item["id"], item["color"], item["status"], item["cause"]) == (oid, "yellow", "open", "refused")
    deadline = item["deadline"]  # local, ISO: the list prints it as the other CLI times, with its zone
    code, out = _invoke(group, url, "workorders", "list", "--color", "red", "--json")
    assert json.loads(out) == []
    code, out = _invoke(group, url, "workorders", "ack", str(oid))
    assert code == 0 and out.startswith(f"已接单 #{oid}（响应 1.00h）")

    async def taken_by() -> str | None:
        eng = create_engine(url)
        try:
            return next(o.acknowledged_by for o in await store.list_work_orders(eng) if o.id == oid)
        finally:
            await eng.dispose()

    assert (asyncio.run(taken_by()) or "").startswith("cli")  # who took it: an overdue escalation says so
    code, out = _invoke(group, url, "workorders", "close", str(oid), "--note", " ")
    assert code == 2
    code, out = _invoke(group, url, "--lang", "en", "workorders", "close", str(oid), "--note", "port re-opened")
    assert code == 0 and out.strip() == f"work order #{oid} closed (repair 1.00h)"
    code, out = _invoke(group, url, "workorders", "close", str(oid), "--note", "again")
    assert code == 1
    code, out = _invoke(group, url, "workorders", "list")
    lines = out.splitlines()
    assert lines[0] == "编号\t颜色\t状态\t期限\t响应\t修复\t内容"
    assert lines[1].startswith(f"{oid}\t绿\t已完成\t") and "摄像机离线" in lines[1]
    assert lines[1].split("\t")[3] == f"{deadline[:10]} {deadline[11:16]} {deadline[-6:]}"  # 2026-… 12:00 +08:00
    assert deadline.endswith("+08:00")
    code, out = _invoke(group, url, "workorders", "ack", "999")
    assert code == 1
