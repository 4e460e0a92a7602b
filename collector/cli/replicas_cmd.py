"""``camwatch replicas``: the collectors running on this database now (DESIGN §8), from
PostgreSQL's lock table: each replica's shards, the leader, its last heartbeat; or the collector
running alone; and how many shards nobody holds (their cameras are not watched)."""

from __future__ import annotations

import datetime as dt
import json

import click
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting.timeparse import show
from collector.cli.context import CliContext
from collector.cli.exitcodes import USAGE
from collector.cli.runtime import fail
from collector.runtime.replica_list import LiveCollector, LiveCollectors, live_collectors
from inventory.db import BadDatabaseUrl, normalize_url
from inventory.models import utcnow


def _item(r: LiveCollector, tz: str) -> dict[str, object]:
    def loc(t: dt.datetime | None) -> str | None:
        return None if t is None else show(t, tz, seconds=True)

    return {"replica": r.name or None, "shards": r.shards, "leader": r.leader, "heartbeat_at": loc(r.heartbeat_at),
            "client": r.client, "connected_at": loc(r.connected_at), "backend_pid": r.pid}


def _age(ctx: CliContext, t: dt.datetime | None, now: dt.datetime) -> str:
    if t is None:
        return "—"
    s = f"{max(0.0, (now - t).total_seconds()):.0f}"
    return ctx.t(f"{s} 秒前", f"{s} s ago")


def register(group: click.Group) -> None:
    @group.command("replicas")
    @click.option("--json", "as_json", is_flag=True, help="print JSON")
    @click.pass_obj
    def replicas_cmd(ctx: CliContext, as_json: bool) -> None:
        """Collectors running on this database now: replicas, their shards, the leader (PostgreSQL)."""
        s = ctx.settings
        try:
            backend = make_url(normalize_url(s.database.url)).get_backend_name()
        except BadDatabaseUrl as exc:  # (not a URL, or neither SQLite nor PostgreSQL: as every command says it)
            fail(str(exc) if ctx.lang == "en" else exc.zh, USAGE)
        if backend == "sqlite":
            # (not an error: SQLite runs one collector, and `camwatch run` refuses a second one)
            if as_json:  # (a script reads JSON: the same keys, no replica; whether one runs alone is not read)
                click.echo(json.dumps({"replicas": [], "alone": None, "shards": None, "shards_held": 0,
                                       "backend": "sqlite"}, indent=2))
                return
            click.echo(ctx.t("SQLite 数据库只运行一个采集器，没有副本（副本需要 PostgreSQL，见 README「Beyond one machine」）",
                             "a SQLite database runs one collector and no replicas (replicas need PostgreSQL:"
                             " README, \"Beyond one machine\")"))
            return

        async def go(engine: AsyncEngine) -> LiveCollectors:
            return await live_collectors(engine)

        live = ctx.run_db(go)
        total = s.collector.shards
        tz = s.accounting.timezone
        if len(live.shard_counts) == 1 and live.shard_counts[0] != total:  # (what the replicas run with)
            theirs = live.shard_counts[0]
            click.echo(ctx.t(f"注意：副本运行时 collector.shards 为 {theirs}，而此处为 {total}：以下按副本的 {theirs} 计",
                             f"note: the replicas run with collector.shards = {theirs}, but collector.shards is {total}"
                             f" here: counted with theirs below"), err=True)
            total = theirs
        elif live.highest_shard is not None and live.highest_shard >= total:  # (replicas of a version without the count lock)
            click.echo(ctx.t(f"注意：副本持有编号 {live.highest_shard} 的分片，而此处 collector.shards 为 {total}："
                             "请用副本的配置文件运行本命令（--config）",
                             f"note: the replicas hold shard {live.highest_shard}, but collector.shards is {total} here:"
                             " run this with the replicas' configuration (--config)"), err=True)
            total = live.highest_shard + 1  # (at least)
        if as_json:
            click.echo(json.dumps({"replicas": [_item(r, tz) for r in live.replicas],
                                   "alone": None if live.alone is None else _item(live.alone, tz),
                                   "shards": total, "shards_held": live.shards_held}, ensure_ascii=False, indent=2))
            return
        now = utcnow()
        if live.alone is not None:
            a = live.alone
            name = f"：{a.name}" if a.name else ""
            click.echo(ctx.t(f"一个采集器单独运行（未启用副本）{name}，来自 {a.client or '本机'}，连接于 "
                             f"{show(a.connected_at or now, tz)}，最近心跳 {_age(ctx, a.heartbeat_at, now)}",
                             f"one collector runs alone (replicas off){': ' + a.name if a.name else ''}, from"
                             f" {a.client or 'this host'}, connected {show(a.connected_at or now, tz)},"
                             f" heartbeat {_age(ctx, a.heartbeat_at, now)}"))
            return
        if not live.replicas:
            click.echo(ctx.t("没有采集器在运行：所有摄像机都无人监测", "no collector is running: no camera is watched"))
            return
        unheld = max(0, total - live.shards_held)
        click.echo(ctx.t(f"副本 {len(live.replicas)} 个；分片 {total} 个，已持有 {live.shards_held} 个",
                         f"{len(live.replicas)} replica(s); {live.shards_held} of {total} shards held"))
        head = ctx.t("副本\t分片\t领导者\t最近心跳\t来自\t连接于", "replica\tshards\tleader\theartbeat\tfrom\tconnected")
        click.echo(head)
        for r in live.replicas:
            lead = ctx.t("是", "yes") if r.leader else ""
            click.echo(f"{r.name or '?'}\t{r.shards}\t{lead}\t{_age(ctx, r.heartbeat_at, now)}\t{r.client or '-'}\t"
                       f"{show(r.connected_at, tz) if r.connected_at else '—'}")
        if not any(r.leader for r in live.replicas):
            click.echo(ctx.t("没有领导者：告警、工单和日汇总暂停，直到某个副本取得领导权（takeover_s 内）",
                             "no leader: alerts, work orders and rollups wait until a replica takes the lead (within takeover_s)"))
        if unheld:
            click.echo(ctx.t(f"{unheld} 个分片无人持有：其摄像机暂未监测（副本接管中，或副本太少）",
                             f"{unheld} shard(s) held by nobody: their cameras are not watched now (a takeover under way)"))
