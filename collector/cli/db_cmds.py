"""``camwatch init`` and ``camwatch db ...``."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting.sql.rollups import RollupReport, build_rollups, invalidate
from collector.alerting.delivery.config import SecretError, resolve_secret
from collector.cli.config_doc import render_example
from collector.cli.context import CliContext
from collector.cli.errors import unwritable
from collector.cli.exitcodes import ENVIRONMENT, USAGE
from collector.cli.runtime import database_problem, fail, missing_database, secret_box, sqlite_file, unusable_database
from collector.settings import DEFAULT_CONFIG_FILE, alert_routing_warning
from inventory.db import BadDatabaseUrl, current_revision, display_url, head_revision, normalize_url, upgrade
from inventory.lookup import unresolved_credentials
from inventory.secrets import write_key_file
from probes.causes import Cause


def _database_url(ctx: CliContext) -> str:
    """The configured database URL, or exit 2 in the user's words when it is not one."""
    url = ctx.settings.database.url
    try:
        normalize_url(url)
    except BadDatabaseUrl as exc:  # (a mistake of the command line or config: not the machine's)
        fail(unusable_database(url, exc, ctx.lang), USAGE)
    return url


def _upgrade(ctx: CliContext) -> str:
    url = _database_url(ctx)
    path = sqlite_file(url)
    problem = unwritable(path, ctx.lang) if path is not None and not os.path.exists(path) else None
    if problem is not None:
        fail(problem, ENVIRONMENT)
    try:
        upgrade(url)
        rev = current_revision(url)
    except Exception as exc:  # noqa: BLE001 - driver errors: one line in words, not the driver's repr
        fail(unusable_database(url, exc, ctx.lang), ENVIRONMENT)
    return rev or "?"


def register(group: click.Group) -> None:
    @group.command("init")
    @click.pass_obj
    def init_cmd(ctx: CliContext) -> None:
        """Create the config file (if missing), the key file and the database."""
        en = ctx.lang == "en"
        cfg = Path(ctx.config_file or DEFAULT_CONFIG_FILE)
        if not cfg.exists():
            cfg.write_text(render_example(), encoding="utf-8")
            click.echo(f"wrote config {cfg}" if en else f"已生成配置文件 {cfg}")
            ctx._settings = None  # re-read with the new file
            ctx.config_file = str(cfg)
        else:
            click.echo(f"config {cfg} exists, kept" if en else f"配置文件 {cfg} 已存在，保留")
        key_file = ctx.settings.secrets.key_file
        if key_file and write_key_file(key_file):
            click.echo(f"wrote credential key {key_file} (keep it safe; mode 0600)" if en else f"已生成密码加密密钥 {key_file}（请妥善保管，权限 0600）")
        rev = _upgrade(ctx)
        url = display_url(ctx.settings.database.url)
        click.echo(f"database {url} ready (schema {rev})" if en else f"数据库 {url} 已就绪（结构版本 {rev}）")

    @group.group("db")
    def db() -> None:
        """Database schema: migrations."""

    @db.command("upgrade")
    @click.pass_obj
    def db_upgrade(ctx: CliContext) -> None:
        """Migrate the database to the newest schema (SQLite or PostgreSQL)."""
        rev = _upgrade(ctx)
        url = display_url(ctx.settings.database.url)
        click.echo(ctx.t(f"数据库 {url}：结构版本 {rev}", f"{url}: schema {rev}"))

    @db.command("current")
    @click.pass_obj
    def db_current(ctx: CliContext) -> None:
        """Print the database's schema revision and the newest one."""
        url = _database_url(ctx)
        problem = missing_database(url, ctx.lang)  # (not made here: a mistyped path leaves no empty file)
        if problem is not None:
            fail(problem, ENVIRONMENT)
        try:
            rev = current_revision(url)
        except Exception as exc:  # noqa: BLE001 - driver errors: one line in words
            fail(unusable_database(url, exc, ctx.lang), ENVIRONMENT)
        head = head_revision()
        click.echo(ctx.t(f"结构版本：当前 {rev or '（空）'}，最新 {head}", f"current: {rev or '(empty)'}  head: {head}"))

    @db.command("rollup")
    @click.option("--rebuild", is_flag=True, help="delete every rollup row first, then build them all again")
    @click.pass_obj
    def db_rollup(ctx: CliContext, rebuild: bool) -> None:
        """Bring the daily rollups up to date now (the collector does it every rollup_interval_s).

        Rollups hold each camera's accounted time at every UTC midnight; long-period rates read
        them instead of every state interval. They are a cache: --rebuild is always safe.
        """
        s = ctx.settings
        en = ctx.lang == "en"

        def progress(day: dt.datetime, rows: int) -> None:
            d = day.date().isoformat()
            click.echo(f"  {d}: {rows} camera row(s)" if en else f"  {d}：{rows} 个摄像机汇总行", err=True)

        async def go(eng: AsyncEngine) -> RollupReport:
            if rebuild:
                async with eng.begin() as conn:
                    await invalidate(conn, everything_from=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
            return await build_rollups(eng, dt.datetime.now(dt.UTC), progress=progress)

        try:
            report = ctx.run_db(go)
        except Exception as exc:  # noqa: BLE001 - driver errors: print them cleanly
            fail(f"{display_url(s.database.url)}: {str(exc).splitlines()[0][:300]}", ENVIRONMENT)
        if report.last_day is None:  # (no finished day of monitoring yet: nothing to sum up)
            click.echo("no rollups yet: no day of monitoring has ended (camwatch run records the cameras' states)" if en
                       else "暂无日汇总：尚无已结束的监测日（camwatch run 运行后记录摄像机状态）")
            return
        upto = report.last_day.date().isoformat()
        if en:
            click.echo(f"rollups up to {upto}: {report.days_built} day(s) built of {report.days_checked}, "
                       f"{report.rows} row(s), {report.seconds:.1f} s")
        else:
            click.echo(f"日汇总已更新至 {upto}：检查 {report.days_checked} 天，新建 {report.days_built} 天，"
                       f"{report.rows} 行，用时 {report.seconds:.1f} 秒")

    @group.group("config")
    def config() -> None:
        """Configuration file."""

    @config.command("example")
    def config_example() -> None:
        """Print an example config documenting every key."""
        click.echo(render_example(), nl=False)

    @config.command("check")
    @click.pass_obj
    def config_check(ctx: CliContext) -> None:
        """Validate the config file and environment; print the effective settings.

        Also checks that every stored camera credential resolves with this key and environment
        (exit status 1 when some do not: those cameras would get no login)."""
        s = ctx.settings
        data = s.model_dump(mode="json")
        data["database"]["url"] = display_url(s.database.url)
        click.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), nl=False)
        sys.stdout.flush()  # (before the warnings on stderr: 2>&1 ran them into its last line)
        try:
            normalize_url(s.database.url)
        except BadDatabaseUrl as exc:  # (a bad value like any other: exit 2, not "not checked")
            fail(f"database.url{ctx.t('：', ': ')}{unusable_database(s.database.url, exc, ctx.lang)}", USAGE)
        warning = alert_routing_warning(s)
        if warning is not None:  # (a warning, not an error: a fresh install runs without channels)
            click.echo(ctx.t(f"注意：{warning[1]}", f"warning: {warning[0]}"), err=True)
        gb28181_ok = _check_gb28181_password(ctx)
        token_ok = _check_metrics_token(ctx)
        if not _check_credentials(ctx) or not gb28181_ok or not token_ok:
            raise SystemExit(1)


def _check_metrics_token(ctx: CliContext) -> bool:
    """``http.metrics_token`` set but unreadable (or empty): /metrics would answer 503 to Prometheus
    too. One line naming the key and the variable or file, never a value; False then."""
    token = ctx.settings.http.metrics_token
    if token is None or not token.get_secret_value().strip():  # (set empty: not set, /metrics open)
        return True
    try:
        value = resolve_secret(token)
    except SecretError as exc:
        click.echo(ctx.t(f"注意：http.metrics_token：{exc.zh}；/metrics 将对所有抓取回答 503",
                         f"warning: http.metrics_token: {exc}; /metrics would answer 503 to every scrape"), err=True)
        return False
    if not value:
        click.echo(ctx.t("注意：http.metrics_token 为空；/metrics 将对所有抓取回答 503",
                         "warning: http.metrics_token is empty; /metrics would answer 503 to every scrape"), err=True)
        return False
    return True


def _check_gb28181_password(ctx: CliContext) -> bool:
    """With the platform enabled, a ``gb28181.password`` reference (``env:NAME``, ``file:PATH``) that
    does not resolve: one line on stderr naming the key and the variable or file, never a value;
    False then (a finding: devices without their own password would be refused)."""
    gb = ctx.settings.gb28181
    if not gb.enabled:
        return True
    try:
        resolve_secret(gb.password)
    except SecretError as exc:
        click.echo(ctx.t(f"注意：gb28181.password：{exc.zh}；没有自己密码的国标设备将无法注册",
                         f"warning: gb28181.password: {exc}; GB/T 28181 devices without their own password "
                         "cannot register"), err=True)
        return False
    return True


def _check_credentials(ctx: CliContext, examples: int = 5) -> bool:
    """Report (on stderr) the cameras whose stored credential cannot be resolved; False if any.
    A database that is not there yet is not an error of the configuration: noted, not failed."""
    problem = database_problem(ctx.settings, ctx.lang)
    if problem is not None:
        click.echo(ctx.t(f"未检查摄像机凭据：{problem}", f"camera credentials not checked: {problem}"), err=True)
        return True
    box = secret_box(ctx.settings)
    try:
        bad = ctx.run_db(lambda eng: unresolved_credentials(eng, box))
    except Exception as exc:  # noqa: BLE001 - driver errors: one line, not a traceback
        click.echo(ctx.t(f"未检查摄像机凭据：{exc}", f"camera credentials not checked: {exc}").splitlines()[0][:300], err=True)
        return True
    if not bad:
        click.echo(ctx.t("摄像机凭据：全部可读取", "camera credentials: every stored credential resolves"), err=True)
        return True
    reasons: dict[str, int] = {}
    for _, _, err in bad:
        why = err.words(ctx.lang)
        reasons[why] = reasons.get(why, 0) + 1
    sep = "；" if ctx.lang != "en" else "; "
    why = sep.join(ctx.t(f"{r} {n} 台", f"{r}: {n}") for r, n in reasons.items())
    some = ", ".join(f"{cid} {name}" for cid, name, _ in bad[:examples]) + (", ..." if len(bad) > examples else "")
    click.echo(ctx.t(
        f"凭据不可用：{len(bad)} 台摄像机的密码无法读取，采集时不尝试登录，原因记为“{Cause.CREDENTIAL_UNAVAILABLE.words()}”"
        f"（{why}）。摄像机：{some}",
        f"credentials unavailable: {len(bad)} camera(s) whose password cannot be read get no login; their cause is "
        f"'{Cause.CREDENTIAL_UNAVAILABLE.words('en')}' ({why}). Cameras: {some}"), err=True)
    return False
