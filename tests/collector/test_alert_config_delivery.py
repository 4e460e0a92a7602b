"""What a channel is told of a message: a recovery is a success, whatever the incident's severity;
and a channel that cannot be built says why in the user's language."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from apprise import NotifyType
from pydantic import SecretStr

from collector.alerting.delivery.channels import AppriseSender, ChannelConfigError, build_sender
from collector.alerting.delivery.config import ChannelSettings
from collector.alerting.delivery.message import Outgoing
from collector.alerting.delivery.redact import Redactor


class _Plugin:
    def __init__(self) -> None:
        self.types: list[Any] = []

    def notify(self, *, body: str, title: str, notify_type: Any, body_format: Any) -> bool:
        self.types.append(notify_type)
        return True


@pytest.mark.parametrize(("kind", "severity", "expected"), [
    ("resolved", "critical", NotifyType.SUCCESS),
    ("resolved", "low", NotifyType.SUCCESS),
    ("open", "critical", NotifyType.FAILURE),
    ("escalation", "critical", NotifyType.FAILURE),
    ("open", "normal", NotifyType.WARNING),
])
def test_notify_type_of_a_message(kind: str, severity: str, expected: NotifyType) -> None:
    plugin = _Plugin()
    sender = AppriseSender(name="duty", kind="webhook", limits=(), max_bytes=10_000, plugin=plugin)
    msg = Outgoing(channel="duty", title="t", text="x", markdown=None, severity=severity, incident="i1", kind=kind)
    asyncio.run(sender.deliver([msg]))
    assert plugin.types == [expected]


def test_a_url_read_from_the_environment_is_checked_when_built_in_the_users_language() -> None:
    ch = ChannelSettings(name="duty", kind="webhook", url=SecretStr("env:HOOK_URL"))
    with pytest.raises(ChannelConfigError) as exc:
        build_sender(ch, Redactor(), environ={"HOOK_URL": "ftp://tok3n@x/y"})
    assert exc.value.render("zh") == "通道 duty：webhook 通道的 url 应为 http://、https://、json:// 或 jsons://，而非 ftp://"
    assert str(exc.value) == "channel duty: url of kind webhook is http://, https://, json:// or jsons://, not ftp://"
    with pytest.raises(ChannelConfigError) as exc:
        build_sender(ch, Redactor(), environ={})
    assert exc.value.render("zh") == "通道 duty：环境变量 HOOK_URL 未设置"
    assert exc.value.render("en") == "channel duty: environment variable HOOK_URL is not set"
