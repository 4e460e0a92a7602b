"""How a robot channel is configured (token, secret, mentions, an apprise URL, an http(s):// url),
each form meaning what it meant with apprise; and `camwatch alerts test` telling the user of a
robot's refusal. Receivers on 127.0.0.1 only (an http:// url names the loopback receiver)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import click
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from collector.alerting.delivery.channels import ChannelConfigError, build_sender
from collector.alerting.delivery.config import ChannelSettings, NotifySettings
from collector.alerting.delivery.redact import Redactor
from collector.alerting.delivery.robots import RobotSender
from collector.cli.context import CliContext
from collector.cli.notify_cmds import add_test_command
from tests.collector.notify_receivers import HookReceiver

TOKEN = "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592"
SECRET = "SEC0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
KEY = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
DT = f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}"


def _sender(**settings: Any) -> RobotSender:
    s = build_sender(ChannelSettings.model_validate({"name": "duty", **settings}), Redactor())
    assert isinstance(s, RobotSender)
    return s


def test_an_apprise_url_means_what_the_token_settings_mean() -> None:
    by_token = _sender(kind="dingtalk", token=TOKEN, secret=SECRET, mentions=["13800138000", "+86 139-0013-9000"])
    by_url = _sender(kind="dingtalk", url=f"dingtalk://{SECRET}@{TOKEN}/13800138000/%2B86%20139-0013-9000")
    by_query = _sender(kind="dingtalk", url=f"dingtalk://{TOKEN}?secret={SECRET}&to=13800138000,8613900139000")
    for s in (by_token, by_url, by_query):
        assert (s.endpoint, s.secret, s.mobiles, s.verify) == (DT, SECRET, ("13800138000", "8613900139000"), True)
    assert _sender(kind="wecom", url=f"wecombot://{KEY}").endpoint == f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
    assert _sender(kind="wecom", token=KEY).endpoint == f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
    assert _sender(kind="feishu", url=f"feishu://{KEY}").endpoint == f"https://open.feishu.cn/open-apis/bot/v2/hook/{KEY}"
    assert _sender(kind="lark", url=f"lark://{KEY}?verify=no").verify is False
    assert _sender(kind="lark", token=KEY).endpoint == f"https://open.larksuite.com/open-apis/bot/v2/hook/{KEY}"
    # an http(s):// url is posted to as written (a relay, or the address the vendor shows)
    relay = f"https://relay.example.cn/robot/send?access_token={TOKEN}&via=gw"
    assert _sender(kind="dingtalk", url=relay, secret=SECRET).endpoint == relay
    assert TOKEN not in repr(by_url) and SECRET not in repr(by_url)


def test_a_feishu_secret_signs_and_a_wecom_secret_is_refused_with_the_settings() -> None:
    assert _sender(kind="feishu", token=KEY, secret="fsSecret1").secret == "fsSecret1"
    assert _sender(kind="lark", token=KEY, secret="fsSecret1").secret == "fsSecret1"
    with pytest.raises(ValidationError, match="secret applies to dingtalk, feishu and lark only"):
        ChannelSettings.model_validate({"name": "duty", "kind": "wecom", "token": KEY, "secret": "s"})


@pytest.mark.parametrize(("settings", "environ", "en", "zh"), [
    ({"kind": "dingtalk", "token": "abc-123!x"}, {},
     "channel duty: token: not a valid DingTalk robot token (letters and digits only)",
     "通道 duty：token：不是有效的钉钉机器人 token（只能含字母和数字）"),
    ({"kind": "wecom", "url": "env:WECOM_URL"}, {"WECOM_URL": "feishu://tok3n-abc"},
     "channel duty: url of kind wecom is wecombot://, http:// or https://, not feishu://",
     "通道 duty：wecom 通道的 url 应为 wecombot://、http:// 或 https://，而非 feishu://"),
    ({"kind": "dingtalk", "token": TOKEN, "secret": "SEC-not/valid"}, {},
     "channel duty: secret: not a valid DingTalk signing secret (letters and digits only)",
     "通道 duty：secret：不是有效的钉钉加签密钥（只能含字母和数字）"),
])
def test_a_robot_that_cannot_be_built_says_why_without_its_secrets(settings: dict[str, Any], environ: dict[str, str],
                                                                    en: str, zh: str) -> None:
    ch = ChannelSettings.model_validate({"name": "duty", **settings})
    with pytest.raises(ChannelConfigError) as exc:
        build_sender(ch, Redactor(), environ=environ)
    assert (str(exc.value), exc.value.render("zh")) == (en, zh)


# -- `camwatch alerts test` -------------------------------------------------------------------------

def _cli(lang: str, *channels: dict[str, Any]) -> tuple[int, str]:
    @click.group()
    def alerts() -> None:
        """alerts"""

    add_test_command(alerts)
    notify = NotifySettings.model_validate({"channels": list(channels)})
    ctx = CliContext(lang_override=lang, _settings=SimpleNamespace(  # type: ignore[arg-type]
        notify=notify, language=lang, alerts=SimpleNamespace(timezone="Asia/Shanghai")))
    r = CliRunner().invoke(alerts, ["test"], obj=ctx)
    return r.exit_code, r.output


@pytest.mark.parametrize(("lang", "lines"), [
    ("zh", ["dt：发送失败：钉钉机器人拒绝（errcode 310000：keywords not in content）：安全设置不匹配（关键词、加签或 IP 白名单）",
            "wecom：已发送",
            "feishu：发送失败：飞书机器人拒绝（code 19021：sign match fail）：签名校验失败（请检查 secret），或本机时钟偏差超过一小时"]),
    ("en", ["dt: FAILED: DingTalk robot refused (errcode 310000: keywords not in content): its security settings do "
            "not match (keyword, signature or IP allow-list)",
            "wecom: sent",
            "feishu: FAILED: Feishu robot refused (code 19021: sign match fail): the signature does not match (check "
            "secret), or this server's clock is more than an hour off"]),
])
def test_alerts_test_reports_a_robots_refusal_and_exits_1(lang: str, lines: list[str], caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    with HookReceiver() as rx:
        rx.answers["/robot/send"] = (200, b'{"errcode": 310000, "errmsg": "keywords not in content"}')
        rx.answers["/cgi-bin/webhook/send"] = (200, b'{"errcode": 0, "errmsg": "ok"}')
        rx.answers[f"/open-apis/bot/v2/hook/{KEY}"] = (200, b'{"code": 19021, "msg": "sign match fail"}')
        code, out = _cli(lang,
                         {"name": "dt", "kind": "dingtalk", "url": f"{rx.base}/robot/send?access_token={TOKEN}", "secret": SECRET},
                         {"name": "wecom", "kind": "wecom", "url": f"{rx.base}/cgi-bin/webhook/send?key={KEY}"},
                         {"name": "feishu", "kind": "feishu", "url": f"{rx.base}/open-apis/bot/v2/hook/{KEY}", "secret": SECRET})
        hits = list(rx.hits)
    assert (code, out.splitlines()) == (1, lines)
    assert len(hits) == 3  # one attempt each: `alerts test` does not retry
    dt = next(h for h in hits if h.path_qs.startswith("/robot/send"))
    assert dt.path_qs.startswith(f"/robot/send?access_token={TOKEN}&timestamp=") and "&sign=" in dt.path_qs
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for s in (TOKEN, SECRET, KEY):
        assert s not in out and s not in logged, s
