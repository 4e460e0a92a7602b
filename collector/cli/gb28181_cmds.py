"""``camwatch gb28181 devices [--unlisted] [--json]``: what the running collector's GB/T 28181
access platform knows, read from its API (``GET /api/v1/gb28181/devices``, admin or assessor:
the ``http.api_token`` of the settings, or ``--token``); ``camwatch inventory import-catalog
DEVICE_ID --out FILE.xlsx``: a registered device's catalog as inventory rows."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.cli.context import CliContext
from collector.cli.errors import unwritable
from collector.cli.exitcodes import DATA, ENVIRONMENT, USAGE
from collector.cli.runtime import fail
from inventory.catalog_rows import KEYS, CatalogEntry, KnownRegion, catalog_rows, headers
from inventory.cells import TEXT_KEYS
from inventory.export import write_csv, write_xlsx
from inventory.models import Region

VERDICT_ZH = {"online": "在线", "platform_offline": "国标设备离线", "channel_off": "通道离线",
              "not_registered": "未注册", None: "未知"}


def api_base(ctx: CliContext, url: str | None) -> str:
    """The running collector's HTTP address: *url*, else ``http.host``/``http.port`` of the settings."""
    if url:
        return url.rstrip("/")
    h = ctx.settings.http
    host = "127.0.0.1" if h.host in ("0.0.0.0", "", "::") else h.host
    return f"http://{'[' + host + ']' if ':' in host else host}:{h.port}"


def fetch_devices(ctx: CliContext, base: str, token: str | None, unlisted: bool) -> dict[str, Any]:
    q = urllib.parse.urlencode({"unlisted": "true"}) if unlisted else ""
    req = urllib.request.Request(f"{base}/api/v1/gb28181/devices" + (f"?{q}" if q else ""))
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - an http(s) URL of the collector
            body: dict[str, Any] = json.loads(resp.read())
            return body
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason
        fail(ctx.t(f"采集器拒绝了请求（{exc.code}）：{message}", f"the collector refused ({exc.code}): {message}"),
             DATA if exc.code in (401, 403) else ENVIRONMENT)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        off = not ctx.settings.gb28181.enabled  # (its own config: the likelier cause of the two)
        fail(ctx.t(f"连不上采集器 {base}（camwatch run 在运行吗？）：{reason}"
                   + ("；另外，此配置未启用国标接入（gb28181.enabled: false）" if off else ""),
                   f"cannot reach the collector at {base} (is camwatch run running?): {reason}"
                   + ("; also, this config does not enable GB/T 28181 (gb28181.enabled: false)" if off else "")),
             ENVIRONMENT)
    raise AssertionError("unreachable")  # fail exits


def elsewhere(ctx: CliContext, host: str) -> str:
    """Replicas: the platform runs on another replica, the leader (*host*)."""
    return ctx.t(f"国标接入平台运行在主副本 {host} 上，请向它查询（--url）",
                 f"the GB/T 28181 platform runs on the leading replica {host}: ask it (--url)")


def local_time(value: str | None, zone: ZoneInfo) -> str:
    """An API time (ISO 8601, UTC) as the county reads it: local (accounting.timezone), to the second."""
    if not value:
        return "-"
    try:
        return dt.datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def render(ctx: CliContext, page: dict[str, Any]) -> list[str]:
    def v(word: str | None) -> str:
        return (word or "unknown") if ctx.lang == "en" else VERDICT_ZH.get(word, word or "未知")

    zone = ZoneInfo(ctx.settings.accounting.timezone)
    camera = ctx.t("摄像机", "camera")

    if not page.get("enabled"):
        return [ctx.t("国标接入平台未启用（gb28181.enabled）", "the GB/T 28181 platform is not enabled (gb28181.enabled)")]
    devices = page.get("devices", [])
    if page.get("host") and not devices:  # replicas: another one leads and hosts the platform
        return [elsewhere(ctx, page["host"])]
    if not devices:
        return [ctx.t("没有未登记的国标设备" if page.get("unlisted") else "没有国标设备注册",
                      "no unlisted GB/T 28181 devices" if page.get("unlisted") else "no GB/T 28181 device registered")]
    lines = []
    for d in devices:
        what = " ".join(x for x in (d["manufacturer"], d["model"], d["name"]) if x)
        tail = " ".join(x for x in (what, f"{camera} {d['camera_id']}" if d.get("camera_id") else "") if x)
        mark = f"  {ctx.t('未受信任', 'untrusted')}" if d.get("trusted") is False else ""
        lines.append(f"{d['device_id']}  {v(d['verdict'])}{mark}  {d['address'] or '-'}  "
                     f"{ctx.t('最后消息', 'last seen')} {local_time(d['last_seen'], zone)}  {tail}".rstrip())
        for c in d["channels"]:
            cam = f"  {camera} {c['camera_id']}" if c.get("camera_id") else ""
            extra = " ".join(x for x in (c["civil_code"], c["name"], c["address"]) if x)
            lines.append(f"  {c['channel_id']}  {v(c['verdict'])}  {c['status'] or '-'}  {extra}{cam}".rstrip())
    if any(d.get("trusted") is False for d in devices):
        lines.append(ctx.t("未受信任：不在 gb28181.trusted_devices 中，其目录里的在册摄像机状态不予采信",
                           "untrusted: not in gb28181.trusted_devices, its catalog's word on inventory cameras is ignored"))
    return lines


async def known_regions(engine: AsyncEngine) -> dict[str, KnownRegion]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Region.code, Region.name, Region.parent_code))).all()
    return {code: KnownRegion(name, parent) for code, name, parent in rows}


def import_catalog(ctx: CliContext, device_id: str, out: str, base: str, token: str | None) -> None:
    """Write the inventory rows of a registered device's catalog to *out* (.xlsx or .csv)."""
    if len(device_id) != 20 or not device_id.isascii() or not device_id.isdigit():
        fail(ctx.t(f"国标编码 {device_id} 应为 20 位数字（现为 {len(device_id)} 位）",
                   f"GB/T 28181 ID {device_id} must be 20 digits (it has {len(device_id)})"), USAGE)
    path = Path(out)
    if path.suffix.lower() not in (".xlsx", ".csv"):
        fail(ctx.t(f"不支持的文件类型 {out}（应为 .xlsx 或 .csv）", f"unsupported file type {out} (use .xlsx or .csv)"), USAGE)
    why = unwritable(out, ctx.lang)
    if why is not None:
        fail(why, ENVIRONMENT)
    listed = fetch_devices(ctx, base, token, False)
    devices = [*listed["devices"], *fetch_devices(ctx, base, token, True)["devices"]]
    dev = next((d for d in devices if d["device_id"] == device_id), None)
    if dev is None and listed.get("host"):  # replicas: the platform runs on the leader
        fail(elsewhere(ctx, listed["host"]), DATA)
    if dev is None:
        fail(ctx.t(f"国标设备 {device_id} 没有注册到采集器", f"GB/T 28181 device {device_id} is not registered to the collector"),
             DATA)
        return
    if dev["catalog_at"] is None and not dev["channels"]:
        fail(ctx.t(f"国标设备 {device_id} 还没有报告目录", f"GB/T 28181 device {device_id} has sent no catalog yet"), DATA)
    entries = [CatalogEntry(c["channel_id"], c["name"], c["manufacturer"], c["model"], c["civil_code"], c["address"],
                            bool(c["parental"])) for c in dev["channels"]]
    if not entries:  # a camera registering as itself, without channels
        entries = [CatalogEntry(device_id, dev["name"], dev["manufacturer"], dev["model"])]
    regions = ctx.run_db(known_regions)
    rows, skipped = catalog_rows(entries, regions)
    cells = [[r[k] for k in KEYS] for r in rows]
    text = [k in TEXT_KEYS for k in KEYS]
    if path.suffix.lower() == ".xlsx":
        write_xlsx(path, headers(ctx.lang), cells, text)
    else:
        write_csv(path, headers(ctx.lang), cells, text=text)
    click.echo(ctx.t(f"已写入 {out}：{len(rows)} 台摄像机（接入方式 国标），略过 {len(skipped)} 项",
                     f"wrote {out}: {len(rows)} camera(s) (access GB28181), {len(skipped)} item(s) left out"))
    for s in skipped:
        click.echo(f"  {s.channel_id}: {s.reason}")


def register(group: click.Group) -> None:
    @group.group("gb28181")
    def gb28181() -> None:
        """GB/T 28181 access platform (国标接入): devices registered to the running collector."""

    @gb28181.command("devices")
    @click.option("--unlisted", is_flag=True, help="devices the inventory does not list (for import; never counted)")
    @click.option("--json", "as_json", is_flag=True, help="the API's JSON as is")
    @click.option("--url", help="the collector's HTTP address (default: http.host and http.port of the settings)")
    @click.option("--token", envvar="CAMWATCH_HTTP__API_TOKEN", show_envvar=True,
                  help="bearer token, admin or assessor (default: http.api_token)")
    @click.pass_obj
    def devices(ctx: CliContext, unlisted: bool, as_json: bool, url: str | None, token: str | None) -> None:
        """Devices registered to the running collector's GB/T 28181 platform, their channels and verdicts."""
        page = fetch_devices(ctx, api_base(ctx, url), token or ctx.settings.http.api_token, unlisted)
        if as_json:
            click.echo(json.dumps(page, ensure_ascii=False, indent=2))
            return
        for line in render(ctx, page):
            click.echo(line)

    inventory = group.commands.get("inventory")
    if isinstance(inventory, click.Group):
        @inventory.command("import-catalog")
        @click.argument("device_id")
        @click.option("--out", required=True, type=click.Path(dir_okay=False), help="the .xlsx (or .csv) file to write")
        @click.option("--url", help="the collector's HTTP address (default: http.host and http.port of the settings)")
        @click.option("--token", envvar="CAMWATCH_HTTP__API_TOKEN", show_envvar=True,
                      help="bearer token, admin or assessor (default: http.api_token)")
        @click.pass_obj
        def import_catalog_cmd(ctx: CliContext, device_id: str, out: str, url: str | None, token: str | None) -> None:
            """Inventory rows (接入方式 国标) from the catalog of a device registered to the running collector:
            CivilCode -> region, Name, Address -> point, Manufacturer, Model; check them, then `inventory import`."""
            import_catalog(ctx, device_id, out, api_base(ctx, url), token or ctx.settings.http.api_token)
