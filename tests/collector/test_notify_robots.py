"""The chat robots (DingTalk, WeCom, Feishu, Lark) against loopback receivers that answer as the
vendors do: a refusal is HTTP 200 with an error code in the JSON reply, and that is a failed
delivery, said in the user's language; retried when it may pass later (a rate limit), not when a
setting is wrong (token, signature, keyword, IP allow-list). Never with a token or secret in it.

TEST ONLY: the robots' fixed vendor addresses are pointed at the loopback receiver (``_loopback``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from sqlalchemy import select

from collector.alerting.delivery.channels import build_senders
from collector.alerting.delivery.config import NotifySettings
from collector.alerting.delivery.message import Outgoing
from collector.alerting.delivery.notifier import Delivery, Notifier
from collector.alerting.delivery.redact import Redactor
from collector.metrics.registry import SelfCounters
from inventory.db import create_engine, upgrade
from inventory.models import AlertLog
from tests.collector.kube_api import service_account
from tests.collector.notify_receivers import Robots, silent_port
from tests.net import serve_app

DT_TOKEN = "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592"
DT_SECRET = "SEC0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
WECOM_KEY = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
FS_TOKEN = "e4d909c2-90d0-4b4c-8f3e-0a1b2c3d4e5f"
FS_SECRET = "fsSecretQ9x2LmN4pR7tV1"
LARK_TOKEN = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9"
SECRETS = (DT_TOKEN, DT_SECRET, WECOM_KEY, FS_TOKEN, FS_SECRET, LARK_TOKEN)
KEYWORD = "摄像机"
TITLE, TEXT = "张村 5/8 台离线", "城关镇 张村：5/8 台离线，疑似上联中断"  # (no keyword: the sender adds it)

CHANNELS: dict[str, dict[str, Any]] = {
    "dt": {"kind": "dingtalk", "token": DT_TOKEN, "secret": DT_SECRET, "keyword": KEYWORD,
           "mentions": ["+86 138-0013-8000", "13900139000", "duty"]},
    "dt-text": {"kind": "dingtalk", "token": DT_TOKEN, "secret": DT_SECRET, "keyword": KEYWORD, "markdown": False},
    "wecom": {"kind": "wecom", "token": WECOM_KEY},
    "feishu": {"kind": "feishu", "token": FS_TOKEN, "secret": FS_SECRET, "keyword": KEYWORD},
    "lark": {"kind": "lark", "token": LARK_TOKEN, "secret": FS_SECRET, "keyword": KEYWORD},
}


@pytest.fixture
async def robots() -> AsyncIterator[tuple[Robots, str]]:
    r = Robots(dingtalk_secret=DT_SECRET, dingtalk_keyword=KEYWORD, feishu_secret=FS_SECRET, feishu_keyword=KEYWORD,
               wecom_key=WECOM_KEY)
    async with serve_app(r.app()) as base:
        yield r, base


def _settings(*names: str, attempts: int = 4, **changed: dict[str, Any]) -> NotifySettings:
    chans = [{"name": n, **CHANNELS[n], **changed.get(n.replace("-", "_"), {})} for n in names]
    return NotifySettings.model_validate({"channels": chans, "retry": {
        "attempts": attempts, "initial_backoff_s": 0.02, "max_backoff_s": 0.05}})


def _loopback(senders: dict[str, Any], base: str) -> None:
    """TEST ONLY: loopback: each robot's vendor address moved to the receiver, path and token kept."""
    for s in senders.values():
        parts = urlsplit(s.endpoint)
        s.endpoint = base + s.endpoint[len(f"{parts.scheme}://{parts.netloc}"):]


def _msg(channel: str) -> Outgoing:
    return Outgoing(channel=channel, title=TITLE, text=TEXT, markdown="**城关镇 张村**：5/8 台离线", severity="critical",
                    incident="inc-1", kind="open")


async def _send(settings: NotifySettings, base: str, *, engine: Any = None,
                counters: SelfCounters | None = None) -> dict[str, Delivery]:
    redactor = Redactor()
    senders = build_senders(settings, redactor)
    _loopback(senders, base)
    async with Notifier(senders, retry=settings.retry, redactor=redactor, engine=engine,
                        counters=counters if counters is not None else SelfCounters()) as n:
        for name in senders:
            n.submit(_msg(name))
        await n.drain()
    return {d.channel: d for d in n.deliveries}


async def test_each_kind_posts_what_its_vendor_documents(robots) -> None:  # type: ignore[no-untyped-def]
    rx, base = robots
    settings = _settings(*CHANNELS)
    senders = build_senders(settings, Redactor())
    assert {n: s.endpoint for n, s in senders.items()} == {  # type: ignore[attr-defined]
        "dt": f"https://oapi.dingtalk.com/robot/send?access_token={DT_TOKEN}",
        "dt-text": f"https://oapi.dingtalk.com/robot/send?access_token={DT_TOKEN}",
        "wecom": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}",
        "feishu": f"https://open.feishu.cn/open-apis/bot/v2/hook/{FS_TOKEN}",
        "lark": f"https://open.larksuite.com/open-apis/bot/v2/hook/{LARK_TOKEN}"}
    got = await _send(settings, base)
    assert rx.rejected == []  # every signature and keyword was right
    assert all(d.ok and d.attempts == 1 for d in got.values()), got
    title = f"【{KEYWORD}】{TITLE}"
    md, text = rx.posts["dingtalk"] if "markdown" in rx.posts["dingtalk"][0].body else rx.posts["dingtalk"][::-1]
    assert md.body == {"msgtype": "markdown", "markdown": {"title": title, "text": f"# {title}\n**城关镇 张村**：5/8 台离线"},
                       "at": {"atMobiles": ["8613800138000", "13900139000"], "isAtAll": False}}
    assert text.body == {"msgtype": "text", "text": {"content": f"{title}\r\n{TEXT}"},
                         "at": {"atMobiles": [], "isAtAll": False}}
    assert md.query["access_token"] == DT_TOKEN and set(md.query) == {"access_token", "timestamp", "sign"}
    [wecom] = rx.posts["wecom"]
    assert wecom.body == {"msgtype": "text", "text": {"content": f"{TITLE}\r\n{TEXT}"}}  # (no keyword set)
    assert wecom.query == {"key": WECOM_KEY}
    feishu, lark = sorted(rx.posts["feishu"], key=lambda p: p.path != f"/open-apis/bot/v2/hook/{FS_TOKEN}")
    assert lark.path == f"/open-apis/bot/v2/hook/{LARK_TOKEN}"
    assert {k: v for k, v in feishu.body.items() if k not in ("timestamp", "sign")} == {
        "msg_type": "text", "content": {"text": f"{title}\r\n{TEXT}"}}
    assert lark.body["content"] == {"text": f"{title}\n{TEXT}"} and lark.body["msg_type"] == "text"
    assert feishu.body["timestamp"].isdigit() and feishu.body["sign"]


# -- refusals: HTTP 200 and an error code -----------------------------------------------------------

REFUSALS = [  # (channel, its settings changed, answers to give first, English, Chinese)
    ("dt", {"keyword": None}, [],  # (the real check: no keyword in the message)
     "DingTalk robot refused (errcode 310000: keywords not in content): its security settings do not match "
     "(keyword, signature or IP allow-list)",
     "钉钉机器人拒绝（errcode 310000：keywords not in content）：安全设置不匹配（关键词、加签或 IP 白名单）"),
    ("dt", {}, [{"errcode": 300001, "errmsg": "token is not exist"}],
     "DingTalk robot refused (errcode 300001: token is not exist): the robot's token is missing or not valid "
     "(check token or url)",
     "钉钉机器人拒绝（errcode 300001：token is not exist）：机器人 token 缺失或无效（请检查 token 或 url）"),
    ("wecom", {"token": "0f0f0f0f-dead-beef-0000-111122223333"}, [],  # (the real check: another key)
     "WeCom robot refused (errcode 93000: invalid webhook url, hint: [1700000000_1_abc]): the robot's token is missing "
     "or not valid (check token or url)",
     "企业微信机器人拒绝（errcode 93000：invalid webhook url, hint: [1700000000_1_abc]）：机器人 token 缺失或无效（请检查 token 或 url）"),
    ("feishu", {"secret": "anotherSecret"}, [],  # (the real check: the signature)
     "Feishu robot refused (code 19021: sign match fail or timestamp is not within one hour from current time): the "
     "signature does not match (check secret), or this server's clock is more than an hour off",
     "飞书机器人拒绝（code 19021：sign match fail or timestamp is not within one hour from current time）：签名校验失败"
     "（请检查 secret），或本机时钟偏差超过一小时"),
    ("lark", {"keyword": None}, [],  # (the real check: no keyword)
     "Lark robot refused (code 19024: Key Words Not Found): the message lacks the robot's custom keyword (check keyword)",
     "Lark 机器人拒绝（code 19024：Key Words Not Found）：消息中没有机器人设置的自定义关键词（请检查 keyword）"),
    # a message type the robot never takes (WeCom's global codes: 不合法的msgtype参数): refused again if retried
    ("wecom", {}, [{"errcode": 40008, "errmsg": "invalid message type, hint: [x]"}],
     "WeCom robot refused (errcode 40008: invalid message type, hint: [x]): it does not take this message type (msgtype)",
     "企业微信机器人拒绝（errcode 40008：invalid message type, hint: [x]）：不接受该消息类型（msgtype）"),
]


@pytest.mark.parametrize(("name", "changed", "answers", "en", "zh"), REFUSALS)
async def test_a_refusal_is_a_failure_said_in_both_languages_and_not_retried(  # type: ignore[no-untyped-def]
        robots, name: str, changed: dict[str, Any], answers: list[Any], en: str, zh: str, tmp_path) -> None:
    rx, base = robots
    kind = CHANNELS[name]["kind"]
    rx.refuse_next[kind if kind != "lark" else "feishu"] = list(answers)
    url = f"sqlite:///{tmp_path / 'camwatch.db'}"
    await asyncio.to_thread(upgrade, url)
    engine, counters = create_engine(url), SelfCounters()
    try:
        got = await _send(_settings(name, **{name: changed}), base, engine=engine, counters=counters)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(AlertLog.__table__))).all()
    finally:
        await engine.dispose()
    d = got[name]
    assert (d.ok, d.attempts, d.error, d.error_zh) == (False, 1, en, zh)
    assert counters.alerts_sent == {(name, "failed"): 1}  # not retried: a setting is wrong
    assert "dingtalk" not in rx.posts and "wecom" not in rx.posts and "feishu" not in rx.posts
    assert [(r.result, r.message.endswith(f"[error after 1 attempt(s): {en}]")) for r in rows] == [("failed", True)]


RATE_LIMITS = [
    ("dt", {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
    ("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}),
    ("feishu", {"code": 9499, "msg": "too many request", "data": {}}),
    ("lark", {"code": 11232, "msg": "frequency limited", "data": {}}),
]


@pytest.mark.parametrize(("name", "answer"), RATE_LIMITS)
async def test_a_rate_limit_is_retried_with_backoff_then_delivered(robots, name: str, answer: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    rx, base = robots
    kind = {"dt": "dingtalk", "lark": "feishu"}.get(name, name)
    rx.refuse_next[kind] = [answer, answer]
    counters = SelfCounters()
    got = await _send(_settings(name), base, counters=counters)
    assert got[name].ok and got[name].attempts == 3
    assert len(rx.posts[kind + ":refused"]) == 2 and len(rx.posts[kind]) == 1
    assert counters.alerts_sent == {(name, "retry"): 2, (name, "sent"): 1}


async def test_a_rate_limit_that_lasts_fails_after_the_last_attempt_in_words(robots) -> None:  # type: ignore[no-untyped-def]
    rx, base = robots
    rx.refuse_next["dingtalk"] = [dict(RATE_LIMITS[0][1])] * 9
    got = await _send(_settings("dt", attempts=3), base)
    assert (got["dt"].ok, got["dt"].attempts) == (False, 3) and len(rx.posts["dingtalk:refused"]) == 3
    assert got["dt"].error == ("DingTalk robot refused (errcode 130101: send too fast, exceed 20 times per minute): "
                               "too many messages: over the robot's rate limit")
    assert got["dt"].error_zh == "钉钉机器人拒绝（errcode 130101：send too fast, exceed 20 times per minute）：发送过于频繁，超出机器人的频率限制"


@pytest.mark.parametrize(("name", "answer", "attempts", "en", "zh"), [
    ("dt", b"<html><body><h1>Portal</h1> please log in</body></html>", 2,
     "DingTalk robot answered HTTP 200 but not with JSON: delivery not confirmed; the receiver answered: Portal please log in",
     "钉钉机器人答复 HTTP 200 但不是 JSON，无法确认已送达；对方答复：Portal please log in"),
    ("wecom", {"ok": True}, 2,
     'WeCom robot answered without errcode: delivery not confirmed; the receiver answered: {"ok": true}',
     '企业微信机器人的答复中没有 errcode，无法确认已送达；对方答复：{"ok": true}'),
    ("wecom", {"errcode": 45002, "errmsg": "content size exceed limit, hint: [x]"}, 2,  # (a code not named: its words)
     "WeCom robot refused (errcode 45002: content size exceed limit, hint: [x])",
     "企业微信机器人拒绝（errcode 45002：content size exceed limit, hint: [x]）"),
    ("feishu", {"StatusCode": 19024, "StatusMessage": "Key Words Not Found"}, 1,  # (older Feishu replies)
     "Feishu robot refused (StatusCode 19024: Key Words Not Found): the message lacks the robot's custom keyword (check keyword)",
     "飞书机器人拒绝（StatusCode 19024：Key Words Not Found）：消息中没有机器人设置的自定义关键词（请检查 keyword）"),
])
async def test_a_reply_that_does_not_say_sent_is_a_failure(  # type: ignore[no-untyped-def]
        robots, name: str, answer: Any, attempts: int, en: str, zh: str) -> None:
    """No JSON, no code, or a code not named in words: not confirmed, so retried (an unknown code
    may pass); a named settings code is not."""
    rx, base = robots
    kind = {"dt": "dingtalk"}.get(name, name)
    rx.refuse_next[kind] = [answer] * 5
    got = await _send(_settings(name, attempts=2), base)
    assert (got[name].ok, got[name].attempts, got[name].error, got[name].error_zh) == (False, attempts, en, zh)


async def test_older_feishu_replies_say_sent_with_status_code(robots) -> None:  # type: ignore[no-untyped-def]
    rx, base = robots
    rx.refuse_next["feishu"] = [{"StatusCode": 0, "StatusMessage": "success", "Extra": None}]  # (a 200: taken)
    got = await _send(_settings("feishu"), base)
    assert got["feishu"].ok and got["feishu"].attempts == 1


async def test_no_token_or_secret_in_any_reason_log_or_stored_row(robots, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """The robot's words may quote the token or the signature: masked before they are cut."""
    caplog.set_level(logging.DEBUG)
    rx, base = robots
    rx.refuse_next["dingtalk"] = [{"errcode": 300001, "errmsg": f"token {DT_TOKEN} is not exist"}]
    rx.refuse_next["wecom"] = [{"errcode": 93000, "errmsg": f"invalid webhook url key={WECOM_KEY}"}]
    rx.refuse_next["feishu"] = [b"not json " + FS_SECRET.encode(), {"code": 19021, "msg": f"sign {FS_SECRET} bad"}]
    url = f"sqlite:///{tmp_path / 'camwatch.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        got = await _send(_settings("dt", "wecom", "feishu", "lark", attempts=1), base, engine=engine)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(AlertLog.__table__))).all()
    finally:
        await engine.dispose()
    assert not any(d.ok for d in got.values()) and len(rows) == 4
    assert got["dt"].error_zh == "钉钉机器人拒绝（errcode 300001：token *** is not exist）：机器人 token 缺失或无效（请检查 token 或 url）"
    text = json.dumps([(d.error, d.error_zh) for d in got.values()], ensure_ascii=False) + repr(got)
    text += "\n".join(r.message for r in rows)
    ours = [r for r in caplog.records if not r.name.startswith(("aiohttp.access", "aiohttp.server"))]  # not the receivers
    text += "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in ours)
    for s in SECRETS:
        assert s not in text, s
    assert any("DingTalk URL" in r.getMessage() and "sign=***" in r.getMessage() for r in ours)


# -- transport failures: the reasons they always had -------------------------------------------------

async def test_a_robot_that_never_answers_times_out(caplog) -> None:  # type: ignore[no-untyped-def]
    with silent_port() as port:
        got = await _send(_settings("wecom", attempts=1, wecom={"timeout_s": 0.3}), f"http://127.0.0.1:{port}")
    assert (got["wecom"].error, got["wecom"].error_zh) == ("timed out (no answer within timeout_s)", "超时（timeout_s 内没有应答）")


async def test_tls_trusts_what_requests_trusted(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A certificate of an unknown CA is not trusted; REQUESTS_CA_BUNDLE (as requests, and so apprise,
    read it) adds a CA; apprise's ``?verify=no`` turns the check off."""
    sa, pem = service_account(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem)
    rx = Robots(dingtalk_secret=DT_SECRET, dingtalk_keyword=KEYWORD)
    runner = web.AppRunner(rx.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    base = f"https://127.0.0.1:{runner.addresses[0][1]}"
    try:
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
        got = await _send(_settings("wecom", attempts=1), base)
        assert (got["wecom"].error, got["wecom"].error_zh) == ("TLS certificate not trusted", "TLS 证书不受信任")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sa / "ca.crt"))
        assert (await _send(_settings("wecom", attempts=1), base))["wecom"].ok
        monkeypatch.delenv("REQUESTS_CA_BUNDLE")
        settings = _settings("wecom", attempts=1, wecom={"token": None, "url": f"wecombot://{WECOM_KEY}?verify=no"})
        assert (await _send(settings, base))["wecom"].ok
    finally:
        await runner.cleanup()
    assert len(rx.posts["wecom"]) == 2


async def test_a_reply_that_comes_in_pieces_is_read_whole() -> None:
    async def slow(req: web.Request) -> web.StreamResponse:
        await req.read()
        resp = web.StreamResponse()
        resp.content_type = "application/json"
        await resp.prepare(req)  # (chunked: no length given)
        for piece in (b'{"errcode": 45', b'009, "errmsg": "api freq', b' out of limit"}'):
            await resp.write(piece)
            await asyncio.sleep(0.05)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/cgi-bin/webhook/send", slow)
    async with serve_app(app) as base:
        got = await _send(_settings("wecom", attempts=1), base)
    assert got["wecom"].error == "WeCom robot refused (errcode 45009: api freq out of limit): too many messages: over the robot's rate limit"


# -- HTTP statuses: a 4xx other than 408 and 429 stays so (a wrong URL or token), for every sender ------

STATUSES = [  # (status, retried)
    (400, False), (401, False), (403, False), (404, False), (410, False),
    (408, True), (429, True), (500, True), (502, True), (503, True),
]


async def _send_all(base: str, attempts: int) -> dict[str, Delivery]:
    """The robots, a JSON webhook (apprise) and an Alertmanager sink, each posting to *base*."""
    chans = [{"name": n, **CHANNELS[n]} for n in ("dt", "wecom", "feishu")]
    chans += [{"name": "hook", "kind": "webhook", "url": base + "/hook/t0k3n"},
              {"name": "am", "kind": "alertmanager", "url": base}]
    settings = NotifySettings.model_validate({"channels": chans, "retry": {
        "attempts": attempts, "initial_backoff_s": 0.02, "max_backoff_s": 0.05}})
    redactor = Redactor()
    senders = build_senders(settings, redactor)
    _loopback({n: s for n, s in senders.items() if hasattr(s, "endpoint")}, base)
    async with Notifier(senders, retry=settings.retry, redactor=redactor, counters=SelfCounters()) as n:
        for name in senders:
            n.submit(_msg(name))
        await n.drain()
    return {d.channel: d for d in n.deliveries}


@pytest.mark.parametrize(("status", "retried"), STATUSES)
async def test_an_http_client_error_is_not_retried_a_server_error_is(robots, status: int, retried: bool) -> None:  # type: ignore[no-untyped-def]
    """A robot URL or token that is wrong stays wrong (HTTP 400, 401, 403, 404...): one attempt, in
    words. A 5xx, a 408 (Request Timeout) and a 429 (Too Many Requests) may pass: retried, then sent."""
    rx, base = robots
    kinds = {"dt": "dingtalk", "wecom": "wecom", "feishu": "feishu", "hook": "webhook", "am": "alertmanager"}
    for kind in kinds.values():
        rx.status_next[kind] = [status, status]
    got = await _send_all(base, attempts=4)
    assert set(got) == set(kinds)
    for name, kind in kinds.items():
        d = got[name]
        if retried:
            assert (d.ok, d.attempts) == (True, 3), (name, d)
            assert len(rx.posts[f"{kind}:{status}"]) == 2 and len(rx.posts[kind]) == 1, name
        else:
            assert (d.ok, d.attempts) == (False, 1), (name, d)
            assert (d.error or "").startswith(f"HTTP {status} "), (name, d.error)
            assert (d.error_zh or "").startswith(f"HTTP {status}"), (name, d.error_zh)
            assert len(rx.posts[f"{kind}:{status}"]) == 1 and kind not in rx.posts, name
