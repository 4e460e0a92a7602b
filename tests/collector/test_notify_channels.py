"""Every channel kind delivers to a real loopback receiver; retries, merging, the delivery log,
and no secret in any log, repr or alert_log row.

TEST ONLY: the vendor robots' senders (DingTalk, WeCom, Feishu) post to fixed public addresses;
here their ``endpoint`` is pointed at a loopback receiver (see ``_loopback``).
Nothing is ever sent off this machine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from collector.alerting.delivery.channels import build_senders
from collector.alerting.delivery.config import NotifySettings
from collector.alerting.delivery.message import Outgoing
from collector.alerting.delivery.notifier import Notifier
from collector.alerting.delivery.redact import Redactor
from collector.metrics.registry import SelfCounters
from inventory.db import create_engine, upgrade
from inventory.models import AlertLog
from tests.collector.notify_receivers import Robots, TinySMTP
from tests.net import serve_app

DT_TOKEN = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
DT_SECRET = "SEC4e7a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4"
WECOM_KEY = "693a91f6-7a1c-4e4c-9c2d-5b8e1f0d2c3a"
FEISHU_TOKEN = "b3a1f2c4-5d6e-4f70-8a9b-0c1d2e3f4a5b"
HOOK_TOKEN = "whk7Q2xN9pL4sT8vR1mZ6cY3bF5dH0jK"
SMS_TOKEN = "smsTok3n8f2a9c1e7b4d6"
SMTP_PASSWORD = "Sm7p-Pa55word!x"
SECRETS = (DT_TOKEN, DT_SECRET, WECOM_KEY, FEISHU_TOKEN, HOOK_TOKEN, SMS_TOKEN, SMTP_PASSWORD)
KEYWORD = "摄像机"


@pytest.fixture
async def robots() -> AsyncIterator[tuple[Robots, str]]:
    r = Robots(dingtalk_secret=DT_SECRET, dingtalk_keyword=KEYWORD)
    async with serve_app(r.app()) as base:
        yield r, base


@pytest.fixture
async def smtp() -> AsyncIterator[TinySMTP]:
    s = TinySMTP("alerts", SMTP_PASSWORD)
    await s.start()
    try:
        yield s
    finally:
        await s.stop()


def _settings(base: str, smtp_port: int, **retry: Any) -> NotifySettings:
    port = base.rsplit(":", 1)[1]
    return NotifySettings.model_validate({
        "channels": [
            {"name": "duty-dingtalk", "kind": "dingtalk", "token": DT_TOKEN, "secret": DT_SECRET, "keyword": KEYWORD},
            {"name": "duty-wecom", "kind": "wecom", "token": WECOM_KEY},
            {"name": "duty-feishu", "kind": "feishu", "token": FEISHU_TOKEN},
            {"name": "hook", "kind": "webhook", "url": f"http://127.0.0.1:{port}/hook/{HOOK_TOKEN}"},
            {"name": "sms", "kind": "sms", "url": f"smseagle://{SMS_TOKEN}@127.0.0.1:{port}/+8613800138000"},
            {"name": "mail", "kind": "email", "password": SMTP_PASSWORD,
             "url": f"mailto://alerts@127.0.0.1:{smtp_port}?from=alerts@example.org&to=duty@example.org&mode=insecure"},
        ],
        "retry": {"attempts": 4, "initial_backoff_s": 0.05, "max_backoff_s": 0.2, **retry},
    })


def _loopback(senders: dict[str, Any], base: str) -> None:
    """TEST ONLY: loopback: point the robots' fixed vendor addresses at the loopback receiver."""
    senders["duty-dingtalk"].endpoint = f"{base}/robot/send?access_token={DT_TOKEN}"
    senders["duty-wecom"].endpoint = f"{base}/cgi-bin/webhook/send?key={WECOM_KEY}"
    senders["duty-feishu"].endpoint = f"{base}/open-apis/bot/v2/hook/{FEISHU_TOKEN}"


def _msg(channel: str, i: int = 1, kind: str = "open") -> Outgoing:
    return Outgoing(channel=channel, title=f"张村 5/8 台摄像机离线 #{i}",
                    text=f"城关镇 张村：5/8 台摄像机离线，疑似上联中断（断电/链路中断）#{i}",
                    markdown=f"**城关镇 张村**：5/8 台摄像机离线 #{i}", severity="critical", incident=f"inc-{i}", kind=kind)


async def _engine(tmp_path: Any) -> Any:
    url = f"sqlite:///{tmp_path / 'camwatch.db'}"
    await asyncio.to_thread(upgrade, url)
    return create_engine(url)


async def test_every_kind_delivers_and_logs_without_secrets(robots, smtp, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    rx, base = robots
    caplog.set_level(logging.DEBUG)
    settings = _settings(base, smtp.port)
    redactor = Redactor()
    senders = build_senders(settings, redactor)
    _loopback(senders, base)
    engine = await _engine(tmp_path)
    counters = SelfCounters()
    notifier = Notifier(senders, retry=settings.retry, engine=engine, counters=counters, redactor=redactor)
    try:
        async with notifier:
            for name in senders:
                notifier.submit(_msg(name))
            await notifier.drain()
        assert rx.rejected == []
        dt = rx.posts["dingtalk"]
        assert len(dt) == 1 and dt[0].query["access_token"] == DT_TOKEN
        assert dt[0].body["msgtype"] == "markdown" and "**城关镇 张村**" in dt[0].body["markdown"]["text"]
        assert KEYWORD in dt[0].body["markdown"]["title"]
        assert "5/8 台摄像机离线" in rx.posts["wecom"][0].body["text"]["content"]
        assert rx.posts["wecom"][0].query["key"] == WECOM_KEY
        assert "5/8 台摄像机离线" in rx.posts["feishu"][0].body["content"]["text"]
        assert rx.posts["feishu"][0].path.endswith(FEISHU_TOKEN)
        assert rx.posts["webhook"][0].body["title"].startswith("张村") and "上联中断" in rx.posts["webhook"][0].body["message"]
        sms = rx.posts["sms"][0].body
        assert sms["params"]["to"] == "+8613800138000" and "上联中断" in sms["params"]["message"]
        assert sms["params"]["access_token"] == SMS_TOKEN
        assert smtp.auth_ok == 1 and len(smtp.messages) == 1
        assert smtp.messages[0][1] == ["duty@example.org"]
        assert {k: v for k, v in counters.alerts_sent.items()} == {(n, "sent"): 1 for n in senders}
        async with engine.connect() as conn:
            rows = (await conn.execute(select(AlertLog.__table__))).all()
        assert sorted(r.channel for r in rows) == sorted(senders)
        assert all(r.result == "sent" and r.incident_key == "inc-1" and r.kind == "open" for r in rows)
        # secrets: not in any log record, repr or stored message
        ours = [r for r in caplog.records if not r.name.startswith(("aiohttp.access", "aiohttp.server"))]  # not the receivers
        text = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in ours)
        text += repr(settings) + str(settings.model_dump()) + repr(senders) + repr(notifier.deliveries)
        text += "\n".join(r.message for r in rows)
        for s in SECRETS:
            assert s not in text, s
        assert any("DingTalk URL" in r.getMessage() and "***" in r.getMessage() for r in ours)  # the debug lines were there, redacted
    finally:
        await engine.dispose()


async def test_retries_with_backoff_then_delivered_once(robots, smtp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rx, base = robots
    rx.fail_next["wecom"] = 2
    settings = _settings(base, smtp.port)
    redactor = Redactor()
    senders = build_senders(settings, redactor)
    _loopback(senders, base)
    engine = await _engine(tmp_path)
    counters = SelfCounters()
    try:
        async with Notifier(senders, retry=settings.retry, engine=engine, counters=counters, redactor=redactor) as n:
            n.submit(_msg("duty-wecom", 7, kind="resolved"))
            await n.drain()
            assert n.deliveries[-1].attempts == 3 and n.deliveries[-1].ok
        assert len(rx.posts["wecom:failed"]) == 2 and len(rx.posts["wecom"]) == 1
        fails = [p.at for p in rx.posts["wecom:failed"]] + [rx.posts["wecom"][0].at]
        assert fails[1] - fails[0] >= 0.04 and fails[2] - fails[1] >= 0.09  # 0.05 s, then 0.1 s back-off
        assert counters.alerts_sent == {("duty-wecom", "retry"): 2, ("duty-wecom", "sent"): 1}
        async with engine.connect() as conn:
            rows = (await conn.execute(select(AlertLog.__table__))).all()
        assert [(r.channel, r.incident_key, r.kind, r.result) for r in rows] == [("duty-wecom", "inc-7", "resolved", "sent")]
    finally:
        await engine.dispose()


async def test_gives_up_after_the_last_attempt_and_logs_failure(robots, smtp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rx, base = robots
    rx.fail_next["feishu"] = 99
    settings = _settings(base, smtp.port, attempts=3)
    redactor = Redactor()
    senders = build_senders(settings, redactor)
    _loopback(senders, base)
    engine = await _engine(tmp_path)
    counters = SelfCounters()
    try:
        async with Notifier(senders, retry=settings.retry, engine=engine, counters=counters, redactor=redactor) as n:
            n.submit(_msg("duty-feishu", 3))
            await n.drain()
        assert len(rx.posts["feishu:failed"]) == 3 and "feishu" not in rx.posts
        assert counters.alerts_sent == {("duty-feishu", "retry"): 2, ("duty-feishu", "failed"): 1}
        async with engine.connect() as conn:
            rows = (await conn.execute(select(AlertLog.__table__))).all()
        assert [(r.channel, r.result) for r in rows] == [("duty-feishu", "failed")]
        assert FEISHU_TOKEN not in rows[0].message and "error after 3 attempt" in rows[0].message
    finally:
        await engine.dispose()


async def test_wrong_signing_secret_is_rejected_by_the_receiver(robots, smtp) -> None:  # type: ignore[no-untyped-def]
    """The receiver really checks the signature: a sender with another secret fails."""
    rx, base = robots
    settings = NotifySettings.model_validate({
        "channels": [{"name": "dt", "kind": "dingtalk", "token": DT_TOKEN, "secret": "SECwrong0000", "keyword": KEYWORD}],
        "retry": {"attempts": 1}})
    senders = build_senders(settings, Redactor())
    senders["dt"].endpoint = f"{base}/robot/send?access_token={DT_TOKEN}"  # TEST ONLY: loopback
    async with Notifier(senders, retry=settings.retry) as n:
        n.submit(_msg("dt"))
        await n.drain()
    # DingTalk answers 200 with an errcode: a failure, not a message sent
    assert rx.rejected == ["sign"] and "dingtalk" not in rx.posts
    [d] = n.deliveries
    assert not d.ok and d.error_zh == "钉钉机器人拒绝（errcode 310000：sign not match）：安全设置不匹配（关键词、加签或 IP 白名单）"


async def test_dingtalk_burst_of_60_respects_20_per_minute_and_drops_nothing(robots, smtp) -> None:  # type: ignore[no-untyped-def]
    """60 messages: some arrive one by one, then a burst. A fake clock stands in for the minute
    windows (its sleep advances it), so the run is short; every post is real HTTP."""
    rx, base = robots
    fake = [1000.0]

    async def fake_sleep(s: float) -> None:
        fake[0] += s
        await asyncio.sleep(0)

    rx.clock = lambda: fake[0]
    settings = _settings(base, smtp.port)
    senders = build_senders(settings, Redactor())
    _loopback(senders, base)
    msgs = [_msg("duty-dingtalk", i) for i in range(60)]
    async with Notifier({"duty-dingtalk": senders["duty-dingtalk"]}, retry=settings.retry,
                        clock=lambda: fake[0], sleep=fake_sleep) as n:
        for m in msgs[:15]:  # one at a time: each goes alone
            n.submit(m)
            await n.drain()
        for m in msgs[15:]:  # a burst of 45 with 5 slots left in this minute
            n.submit(m)
        await n.drain()
    posts = rx.posts["dingtalk"]
    times = [p.at for p in posts]
    for t in times:
        assert sum(1 for x in times if t <= x < t + 60.0) <= 20
    assert len(posts) < 60 and len(posts) > 15
    everything = "\n".join(p.body["markdown"]["text"] for p in posts)
    for m in msgs:
        assert m.markdown in everything  # nothing dropped
    assert rx.rejected == []


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_an_alert_reads_once_on_every_channel_and_sms_is_short(robots, smtp, lang) -> None:  # type: ignore[no-untyped-def]
    """A dark village's message as the on-call staff get it: each channel shows the title once
    (the robots put the title first themselves; the text under it was the title again), and the
    SMS is the short form with the link, not the full text (which spent 2-3 SMS on a village)."""
    from dataclasses import replace

    from collector.alerting.engine import AlertEngine
    from collector.alerting.service import outgoing_for
    from probes.causes import Cause
    from tests.collector.alerts_fixtures import EAST, INV, POLICY, at, notes, outage

    rx, base = robots
    e = AlertEngine(POLICY, INV)
    for c in EAST:
        e.feed(outage(c, 20, Cause.UPSTREAM_DOWN))
    [n] = notes(e.tick(at(50)))
    m = n.message
    title, en = m.title_in(lang), lang == "en"
    senders = build_senders(_settings(base, smtp.port), Redactor(), language=lang)
    _loopback(senders, base)
    async with Notifier(senders) as notifier:
        for msg in outgoing_for(replace(n, channels=tuple(senders)), lang, set(senders)):
            notifier.submit(msg)
        await notifier.drain()
    assert rx.rejected == []
    md = rx.posts["dingtalk"][0].body["markdown"]
    texts = {"dingtalk": md["text"], "wecom": rx.posts["wecom"][0].body["text"]["content"],
             "feishu": rx.posts["feishu"][0].body["content"]["text"],
             "webhook": rx.posts["webhook"][0].body["title"] + "\n" + rx.posts["webhook"][0].body["message"]}
    for kind, text in texts.items():
        text = text.replace("**", "")
        assert text.count(title) == 1, (kind, text)
        assert ("Region: 示范县/城关镇/东关村" if en else "地区：示范县/城关镇/东关村") in text, kind
        assert m.link in text and ("Since" if en else "开始") in text, kind
    assert md["title"] == (f"【{KEYWORD}】{title}" if en else title)  # (the keyword DingTalk asks for, when missing)
    sms = rx.posts["sms"][0].body["params"]["message"]
    assert sms == m.short(lang) + ("\nDetails: " if en else "\n详情：") + m.link
    assert sms.startswith(title) and ("since" if en else "起") in sms and len(sms.encode()) <= 600
    import email
    from email.header import decode_header, make_header

    [(_, _, raw)] = smtp.messages
    mail = email.message_from_bytes(raw)
    body = mail.get_payload(decode=True).decode()
    assert str(make_header(decode_header(mail["Subject"]))) == title and title not in body
    assert body.startswith("Region: " if en else "地区：") and m.link in body
