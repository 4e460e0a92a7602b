"""``camwatch alerts test [--channel NAME]``: send a test message through configured channels."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from typing import Any

import click

from collector.accounting.timeparse import show
from collector.alerting.delivery.message import Outgoing
from collector.cli.context import CliContext, pick
from collector.cli.runtime import fail, run_async


def test_message(channel: str, lang: str, now: dt.datetime, tz: str) -> Outgoing:
    """*tz*: the zone of incident messages (``alerts.timezone``); the time is shown with it."""
    host = socket.gethostname()
    when = show(now, tz, seconds=True)
    title = pick(lang, "camwatch 测试消息", "camwatch test message")
    text = pick(lang, f"这是一条测试消息：通道 {channel} 配置正确。\n发送自 {host}，{when}。",
              f"This is a test message: channel {channel} works.\nSent from {host} at {when}.")
    md = pick(lang, f"这是一条**测试消息**：通道 `{channel}` 配置正确。\n\n发送自 {host}，{when}。",
            f"This is a **test message**: channel `{channel}` works.\n\nSent from {host} at {when}.")
    return Outgoing(channel=channel, title=title, text=text, markdown=md, severity="info", incident=None, kind="test")


def add_test_command(alerts_group: click.Group) -> None:
    @alerts_group.command("test")
    @click.option("--channel", "channel", metavar="NAME", help="only this channel (default: every configured channel)")
    @click.pass_obj
    def test_cmd(ctx: CliContext, channel: str | None) -> None:
        """Send a test message through the notification channels (发送测试消息)."""
        # lazy: apprise and the channel plugins cost ~0.24 s of every camwatch start-up
        from collector.alerting.delivery.channels import ChannelConfigError, build_senders
        from collector.alerting.delivery.config import NotifySettings
        from collector.alerting.delivery.notifier import Notifier
        from collector.alerting.delivery.redact import Redactor

        lang = ctx.lang
        s = ctx.settings
        notify: NotifySettings = getattr(s, "notify", NotifySettings())
        names = [c.name for c in notify.channels]
        if not names:
            fail(pick(lang, "未配置任何通知通道（配置项 notify.channels）", "no notification channels configured (notify.channels)"), 2)
        if channel is not None and channel not in names:
            fail(pick(lang, f"没有名为 {channel} 的通道；已配置：{', '.join(names)}",
                    f"no channel named {channel}; configured: {', '.join(names)}"), 2)
        chosen = NotifySettings(channels=[c for c in notify.channels if channel is None or c.name == channel],
                                retry=notify.retry.model_copy(update={"attempts": 1}))
        redactor = Redactor()
        try:
            senders = build_senders(chosen, redactor, language=lang)
        except ChannelConfigError as exc:
            fail(redactor(exc.render(lang)), 2)

        async def go() -> list[Any]:
            notifier = Notifier(senders, retry=chosen.retry, redactor=redactor)
            await notifier.start()
            try:
                now = dt.datetime.now(dt.UTC)
                for name in senders:
                    notifier.submit(test_message(name, lang, now, s.alerts.timezone))
                await notifier.drain()
            finally:
                await notifier.stop()
            return notifier.deliveries

        # the outcome is one line of this command's each, in the user's language: without logging set
        # up, Python would also print the notifier's English log warning on stderr
        quiet, notify_log = logging.NullHandler(), logging.getLogger("camwatch.notify")
        notify_log.addHandler(quiet)
        try:
            deliveries = run_async(go())
        finally:
            notify_log.removeHandler(quiet)
        failed = 0
        for d in sorted(deliveries, key=lambda d: names.index(d.channel)):
            if d.ok:
                click.echo(pick(lang, f"{d.channel}：已发送", f"{d.channel}: sent"))
            else:
                failed += 1
                click.echo(pick(lang, f"{d.channel}：发送失败：{d.error_zh or d.error}", f"{d.channel}: FAILED: {d.error}"))
        if failed:
            raise SystemExit(1)
