"""``camwatch gb28181 devices [--unlisted] [--json]``: what the running collector's GB/T 28181
access platform knows, read from its API (``GET /api/v1/gb28181/devices``, admin or assessor:
the ``http.api_token`` of the settings, or ``--token``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import click

from collector.cli.context import CliContext
from collector.cli.exitcodes import DATA, ENVIRONMENT
from collector.cli.runtime import fail

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
        fail(ctx.t(f"连不上采集器 {base}（camwatch run 在运行吗？）：{reason}",
                   f"cannot reach the collector at {base} (is camwatch run running?): {reason}"), ENVIRONMENT)
    raise AssertionError("unreachable")  # fail exits


def render(ctx: CliContext, page: dict[str, Any]) -> list[str]:
    def v(word: str | None) -> str:
        return (word or "unknown") if ctx.lang == "en" else VERDICT_ZH.get(word, word or "未知")

    if not page.get("enabled"):
        return [ctx.t("国标接入平台未启用（gb28181.enabled）", "the GB/T 28181 platform is not enabled (gb28181.enabled)")]
    devices = page.get("devices", [])
    if not devices:
        return [ctx.t("没有未登记的国标设备" if page.get("unlisted") else "没有国标设备注册",
                      "no unlisted GB/T 28181 devices" if page.get("unlisted") else "no GB/T 28181 device registered")]
    lines = []
    for d in devices:
        what = " ".join(x for x in (d["manufacturer"], d["model"], d["name"]) if x)
        cam = f" camera {d['camera_id']}" if d.get("camera_id") else ""
        lines.append(f"{d['device_id']}  {v(d['verdict'])}  {d['address'] or '-'}  "
                     f"{ctx.t('最后消息', 'last seen')} {d['last_seen'] or '-'}  {what}{cam}".rstrip())
        for c in d["channels"]:
            cam = f"  camera {c['camera_id']}" if c.get("camera_id") else ""
            extra = " ".join(x for x in (c["civil_code"], c["name"], c["address"]) if x)
            lines.append(f"  {c['channel_id']}  {v(c['verdict'])}  {c['status'] or '-'}  {extra}{cam}".rstrip())
    return lines


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
