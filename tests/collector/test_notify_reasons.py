"""A webhook is posted to the URL exactly as written (query and all), and a failed delivery says
why, in the user's language: refused, timed out, HTTP 401 and the receiver's reply, a refused SMTP
login... for webhooks, the robot kinds and e-mail; never with a token or password in it.

All receivers are on 127.0.0.1 (tests/collector/notify_receivers.py). TEST ONLY: the robot
senders' fixed vendor addresses are pointed at a loopback receiver.
"""

from __future__ import annotations

import logging
import socket
import ssl
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
from click.testing import CliRunner

from collector.alerting.delivery.channels import build_senders
from collector.alerting.delivery.config import ChannelSettings, NotifySettings
from collector.alerting.delivery.mail import send_mail
from collector.alerting.delivery.message import Outgoing
from collector.alerting.delivery.notifier import Notifier
from collector.alerting.delivery.reasons import Reason, of_exception, of_log, of_text
from collector.alerting.delivery.redact import Redactor
from collector.alerting.delivery.sender import DeliveryError
from collector.cli.context import CliContext
from collector.cli.notify_cmds import add_test_command
from tests.collector.notify_receivers import HookReceiver, TinySMTP, silent_port
from tests.net import free_port

TOKEN = "tq8Xv"  # short on purpose: a secret-named query value is masked whatever its length
PASSWORD = "Hk-pw_77"
SMTP_PASSWORD = "Sm7p-Pa55word!x"


def _group() -> click.Group:
    @click.group()
    def alerts() -> None:
        """alerts"""

    add_test_command(alerts)
    return alerts


def _cli(lang: str, *channels: dict[str, Any]) -> tuple[int, str]:
    notify = NotifySettings.model_validate({"channels": list(channels), "retry": {"attempts": 1}})
    ctx = CliContext(lang_override=lang, _settings=SimpleNamespace(  # type: ignore[arg-type]
        notify=notify, language=lang, alerts=SimpleNamespace(timezone="Asia/Shanghai")))
    r = CliRunner().invoke(_group(), ["test"], obj=ctx)
    return r.exit_code, r.output


def _hook(name: str, url: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "kind": "webhook", "url": url, **more}


def _msg(channel: str) -> Outgoing:
    return Outgoing(channel=channel, title="张村 5/8 台摄像机离线", text="城关镇 张村：5/8 台摄像机离线",
                    markdown=None, severity="critical", incident="inc-1", kind="open")


def test_a_webhook_is_posted_to_its_url_as_written() -> None:
    with HookReceiver() as rx:
        code, out = _cli("zh", _hook("hook", f"http://127.0.0.1:{rx.port}/hook?token=abc&x=1"))
        assert (code, out) == (0, "hook：已发送\n")
        assert [(h.method, h.path_qs) for h in rx.hits] == [("POST", "/hook?token=abc&x=1")]
        # names apprise takes for its own options reach the receiver too, and change nothing here;
        # non-ASCII and blanks are percent-encoded, what was encoded stays as it was
        url = (f"http://hook%40user:{PASSWORD}@127.0.0.1:{rx.port}/hook/a%2Fb"
               f"?method=GET&verify=no&format=html&-h=1&sign=a%2Bb&q=张 三&flag&e=")
        code, out = _cli("en", _hook("hook", url))
        assert (code, out) == (0, "hook: sent\n")
        hit = rx.hits[-1]
        assert hit.method == "POST"
        assert hit.path_qs == "/hook/a%2Fb?method=GET&verify=no&format=html&-h=1&sign=a%2Bb&q=%E5%BC%A0%20%E4%B8%89&flag&e="
        assert hit.headers["Authorization"] == "Basic aG9va0B1c2VyOkhrLXB3Xzc3"  # hook@user:Hk-pw_77
        assert b'"title": "camwatch test message"' in hit.body


@pytest.mark.parametrize(("lang", "line"), [
    ("zh", 'h401：发送失败：HTTP 401；对方答复：{"errmsg": "token *** is not valid"}\n'),
    ("en", 'h401: FAILED: HTTP 401 Unauthorized; the receiver answered: {"errmsg": "token *** is not valid"}\n'),
])
def test_a_refusing_receiver_is_one_line_with_its_status_and_reply(lang: str, line: str, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    with HookReceiver() as rx:
        rx.answers["/hook"] = (401, b'{"errmsg": "token ' + TOKEN.encode() + b' is not valid"}')
        code, out = _cli(lang, _hook("h401", f"http://alerts:{PASSWORD}@127.0.0.1:{rx.port}/hook?token={TOKEN}&x=1"))
    assert (code, out) == (1, line)  # one line, no English log line on stderr beside it
    warn = [r.getMessage() for r in caplog.records if r.name == "camwatch.notify" and r.levelno == logging.WARNING]
    assert warn == ["channel h401: 1 message(s) not delivered after 1 attempt(s): HTTP 401 Unauthorized; "
                    'the receiver answered: {"errmsg": "token *** is not valid"}']
    _no_secrets(out, caplog)


@pytest.mark.parametrize(("lang", "words"), [("zh", "连接被拒绝"), ("en", "connection refused")])
def test_a_dead_port_says_connection_refused(lang: str, words: str, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    code, out = _cli(lang, _hook("hook", f"http://hookuser:{PASSWORD}@127.0.0.1:{free_port()}/hook?token={TOKEN}"))
    assert code == 1 and out.count("\n") == 1 and words in out, out
    assert ("hook：发送失败：" if lang == "zh" else "hook: FAILED: ") in out
    assert any("connection refused" in r.getMessage() for r in caplog.records if r.name == "camwatch.notify")
    _no_secrets(out, caplog)


def test_a_receiver_that_never_answers_times_out(caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    with silent_port() as port:
        code, out = _cli("zh", _hook("slow", f"http://127.0.0.1:{port}/hook?token={TOKEN}", timeout_s=0.3))
    assert (code, out) == (1, "slow：发送失败：超时（timeout_s 内没有应答）\n")
    _no_secrets(out, caplog)


def test_lines_follow_the_configured_order_with_every_reason() -> None:
    with HookReceiver() as rx:
        rx.answers["/down"] = (503, b"<html><head><title>503 Service Unavailable</title></head><body>nginx</body></html>")
        code, out = _cli("en", _hook("ok", f"{rx.base}/ok"), _hook("dead", f"http://127.0.0.1:{free_port()}/x"),
                         _hook("down", f"{rx.base}/down"))
    assert code == 1
    assert out.splitlines() == [
        "ok: sent", "dead: FAILED: connection refused (nothing listens at that address and port)",
        "down: FAILED: HTTP 503 Service Unavailable; the receiver answered: 503 Service Unavailable nginx"]


def _no_secrets(out: str, caplog: Any) -> None:
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for secret in (TOKEN, PASSWORD, SMTP_PASSWORD):
        assert secret not in out and secret not in logged, secret


# -- the robot kinds and e-mail, through the notifier ------------------------------------------

async def _deliver(settings: NotifySettings, redactor: Redactor, point: Any = None) -> dict[str, Any]:
    senders = build_senders(settings, redactor)
    if point is not None:
        point(senders)
    async with Notifier(senders, retry=settings.retry, redactor=redactor) as n:
        for name in senders:
            n.submit(_msg(name))
        await n.drain()
    return {d.channel: d for d in n.deliveries}


async def test_robot_kinds_carry_their_token_and_say_why_they_failed(caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    dt_token, wecom_key, feishu_token = "dt0ken" + TOKEN, "wk-" + TOKEN, "fs-" + TOKEN
    settings = NotifySettings.model_validate({"channels": [
        {"name": "dt", "kind": "dingtalk", "token": dt_token, "secret": "SEC" + TOKEN, "markdown": False},
        {"name": "wecom", "kind": "wecom", "token": wecom_key},
        {"name": "feishu", "kind": "feishu", "token": feishu_token},
        {"name": "dt-dead", "kind": "dingtalk", "token": dt_token}], "retry": {"attempts": 1}})
    with HookReceiver() as rx:
        rx.answers["/robot/send"] = (401, b'{"errcode": 300005, "errmsg": "token is not exist"}')
        rx.answers[f"/open-apis/bot/v2/hook/{feishu_token}"] = (200, b'{"code": 19001, "msg": "param invalid"}')
        rx.answers["/cgi-bin/webhook/send"] = (200, b'{"errcode": 0, "errmsg": "ok"}')  # (as WeCom says it took one)
        dead = free_port()

        def point(s: dict[str, Any]) -> None:  # TEST ONLY: loopback, each sender's vendor address moved there
            for name in ("dt", "wecom", "feishu"):
                s[name].endpoint = s[name].endpoint.replace(urlsplit(s[name].endpoint)._replace(path="", query="").geturl(),
                                                            rx.base)
            s["dt-dead"].endpoint = f"http://127.0.0.1:{dead}/robot/send?access_token={dt_token}"

        got = await _deliver(settings, Redactor(), point)
    paths = sorted(h.path_qs.split("&timestamp=")[0] for h in rx.hits)
    assert paths == sorted([f"/robot/send?access_token={dt_token}", f"/cgi-bin/webhook/send?key={wecom_key}",
                            f"/open-apis/bot/v2/hook/{feishu_token}"])
    assert got["wecom"].ok
    assert (got["dt"].error, got["dt"].error_zh) == (
        'HTTP 401 Unauthorized; the receiver answered: {"errcode": 300005, "errmsg": "token is not exist"}',
        'HTTP 401；对方答复：{"errcode": 300005, "errmsg": "token is not exist"}')
    assert (got["feishu"].error, got["feishu"].error_zh) == (  # (HTTP 200, and a code that says no)
        "Feishu robot refused (code 19001: param invalid)", "飞书机器人拒绝（code 19001：param invalid）")
    assert got["dt-dead"].error_zh == "连接被拒绝（该地址和端口上没有服务在监听）"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in logged and TOKEN not in repr(got)


async def test_mail_says_the_server_refused_the_login(caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    smtp = TinySMTP("alerts", "another-password")
    await smtp.start()
    dead = free_port()
    try:
        url = f"mailto://alerts@127.0.0.1:{smtp.port}?from=alerts@example.org&to=duty@example.org&mode=insecure"
        settings = NotifySettings.model_validate({"channels": [
            {"name": "mail", "kind": "email", "password": SMTP_PASSWORD, "url": url},
            {"name": "mail-dead", "kind": "email", "password": SMTP_PASSWORD, "url": url.replace(str(smtp.port), str(dead))}],
            "retry": {"attempts": 1}})
        got = await _deliver(settings, Redactor())
        assert (got["mail"].error, got["mail"].error_zh) == (
            "the mail server refused the login (535); the receiver answered: bad credentials",
            "邮件服务器拒绝登录（535）；对方答复：bad credentials")
        assert got["mail-dead"].error == "connection refused (nothing listens at that address and port)"
        # the monthly workbook's path (collector.alerting.delivery.mail) says the same
        with pytest.raises(DeliveryError) as exc:
            await send_mail(settings.channel("mail"), ["boss@example.org"], "月报", "附件")
        assert exc.value.render("zh") == "邮件服务器拒绝登录（535）；对方答复：bad credentials"
        assert exc.value.reason.startswith("the mail server refused the login (535)")
    finally:
        await smtp.stop()
    assert SMTP_PASSWORD not in "\n".join(r.getMessage() for r in caplog.records)


async def test_the_capture_changes_nothing_the_application_logs() -> None:
    """apprise's logger is lowered to DEBUG during a send only for the capture: its handlers (and
    the root's) see what they would have, and the level is put back."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    root, apprise_log, keep = logging.getLogger(), logging.getLogger("apprise"), Keep()
    before = (root.level, apprise_log.level)
    root.setLevel(logging.WARNING)
    root.addHandler(keep)
    try:
        ch = ChannelSettings.model_validate(_hook("hook", f"http://127.0.0.1:{free_port()}/hook?token={TOKEN}"))
        got = await _deliver(NotifySettings(channels=[ch], retry={"attempts": 1}), Redactor())  # type: ignore[arg-type]
        assert got["hook"].error is not None and "refused" in got["hook"].error
    finally:
        root.removeHandler(keep)
        root.setLevel(before[0])
    assert apprise_log.level == before[1] and not apprise_log.filters
    apprise_records = [r for r in seen if r.name == "apprise"]
    assert apprise_records and all(r.levelno >= logging.WARNING for r in apprise_records)
    assert all(TOKEN not in r.getMessage() for r in seen)


# -- the words, from texts and exceptions --------------------------------------------------------

@pytest.mark.parametrize(("text", "code"), [
    ("HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: /ssl-timeout?token=x (Caused by "
     "NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish a new connection: "
     "[Errno 111] Connection refused'))", "refused"),
    ("HTTPSConnectionPool(host='nohost.invalid', port=443): Max retries exceeded with url: /hook (Caused by "
     "NameResolutionError(\"<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to resolve 'nohost.invalid' "
     "([Errno -2] Name or service not known)\"))", "dns"),
    ("HTTPSConnectionPool(host='tls.example.org', port=443): Max retries exceeded with url: /ssl (Caused by "
     "NameResolutionError(\"<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to resolve 'tls.example.org' "
     "([Errno -3] Temporary failure in name resolution)\"))", "dns"),
    ("HTTPConnectionPool(host='127.0.0.1', port=9): Read timed out. (read timeout=0.3)", "timeout"),
    ("('Connection aborted.', TimeoutError('timed out'))", "timeout"),
    ("HTTPSConnectionPool(host='h', port=443): Max retries exceeded with url: / (Caused by SSLError("
     "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate')))",
     "cert"),
    ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", "tls"),
    ("('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))", "reset"),
    ("[Errno 113] No route to host", "unreachable"),
    ("(530, b'5.7.0 Must issue a STARTTLS command first')", "login"),
    ("(554, b'5.7.1 relaying denied', 'alerts@example.org')", "smtp"),
    ("something else entirely", "unknown"),
])
def test_texts_map_to_reasons(text: str, code: str) -> None:
    assert of_text(text, Redactor()).code == code


def test_the_replys_words_are_the_receivers() -> None:
    """A reply that mentions an exception is still the reply to an HTTP status."""
    records = [(logging.WARNING, "Failed to send JSON POST notification: Internal Server Error, error=500."),
               (logging.DEBUG, "Response Details:\r\nb'java.lang.IllegalStateException: connection refused'")]
    assert of_log(records, Redactor()).render("en") == (
        "HTTP 500 Internal Server Error; the receiver answered: java.lang.IllegalStateException: connection refused")


def test_exceptions_map_to_reasons() -> None:
    r = Redactor()
    assert of_exception(ConnectionRefusedError(111, "Connection refused"), r).code == "refused"
    assert of_exception(socket.gaierror(-2, "Name or service not known"), r).code == "dns"
    assert of_exception(ssl.SSLCertVerificationError(1, "certificate verify failed"), r).code == "cert"
    assert of_exception(TimeoutError(), r).code == "timeout"
    wrapped = RuntimeError("boom")
    wrapped.__cause__ = ConnectionResetError(104, "Connection reset by peer")
    assert of_exception(wrapped, r).code == "reset"
    assert of_exception(ValueError("no"), r).render("zh") == "发送程序出错（ValueError）"
    assert Reason("http", status=599).render("en") == "HTTP 599"


def test_the_redactor_masks_secret_named_query_values_of_any_length() -> None:
    r = Redactor()
    r.add_url(f"http://u:{PASSWORD}@h/hook?token={TOKEN}&x=1&sign=s1G9")
    out = r(f"POST /hook?token={TOKEN}&x=1&sign=s1G9&timestamp=17 {TOKEN} s1G9 /robot/send?access_token=A&sign=Zz%2B")
    assert TOKEN not in out and "s1G9" not in out and "Zz%2B" not in out
    assert "x=1" in out and "timestamp=17" in out


def test_a_very_short_secret_named_value_is_masked_where_it_stands_not_in_every_word() -> None:
    """``?token=1&pass=on``: masking every "1" and "on" of every message made them unreadable."""
    r = Redactor()
    r.add_url("https://hooks.example.cn/notify?token=1&pass=on&sign=ab")
    out = r("HTTP 401 Unauthorized; 城关镇 张村：1/8 台摄像机离线 monitoring on https://hooks.example.cn/notify?token=1&pass=on&sign=ab")
    assert out.startswith("HTTP 401 Unauthorized; 城关镇 张村：1/8 台摄像机离线 monitoring on "), out
    assert "token=***" in out and "pass=***" in out and "sign=***" in out, out


@pytest.mark.parametrize(("reason", "retryable"), [
    (Reason("http", status=401), False), (Reason("http", status=404), False), (Reason("http", status=400), False),
    (Reason("http", status=408), True), (Reason("http", status=429), True), (Reason("http", status=500), True),
    (Reason("http", status=503), True), (Reason("refused"), True), (Reason("timeout"), True),
    (Reason("smtp", status=550), True), (Reason("login", status=535), True), (Reason("unknown"), True),
])
def test_a_reason_is_retryable_unless_an_http_client_error_other_than_408_and_429(reason: Reason, retryable: bool) -> None:
    """A wrong URL or token stays wrong: HTTP 4xx is not retried, but for 408 and 429; what a
    sender says unless told (a caller may still decide: the Alertmanager sink for a redirect)."""
    assert reason.retryable is retryable and reason.error().retryable is retryable
    assert reason.error(retryable=not retryable).retryable is (not retryable)
