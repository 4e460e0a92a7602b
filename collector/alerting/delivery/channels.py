"""Senders, one per channel kind: our own for the chat robots (:mod:`.robots`: DingTalk, WeCom,
Feishu, Lark, whose replies must be read), apprise for e-mail, SMS and webhooks, aiohttp for the
Alertmanager sink.

Apprise plugins are synchronous (requests); a delivery runs the plugin in a worker thread.
Failures are mapped to :class:`DeliveryError` here, once, with the reason apprise logged
(:mod:`collector.alerting.delivery.reasons`): refused, timed out, HTTP 401 and the reply...
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from apprise import NotifyFormat, NotifyType
from apprise.exception import AppriseException
from apprise.manager_plugins import NotificationManager

from collector.alerting.delivery.alertmanager import AlertmanagerSender
from collector.alerting.delivery.config import (
    ChannelConfigError,
    ChannelSettings,
    NotifySettings,
    SecretError,
    resolve_secret,
)
from collector.alerting.delivery.message import Outgoing, compose
from collector.alerting.delivery.reasons import call
from collector.alerting.delivery.redact import Redactor
from collector.alerting.delivery.robots import ROBOT_KINDS, build_robot
from collector.alerting.delivery.sender import Sender

__all__ = ["AppriseSender", "ChannelConfigError", "build_sender", "build_senders"]


def _plugin_class(schema: str) -> Any:
    try:
        return NotificationManager()[schema]  # type: ignore[no-untyped-call]  # apprise is untyped
    except KeyError:
        raise ChannelConfigError(f"url: apprise has no plugin for {schema}://", f"url：apprise 不支持 {schema}://") from None


def _instantiate(cls: Any, url: str, **override: Any) -> Any:
    args = cls.parse_url(url)
    if not args:
        raise ChannelConfigError(f"url: not a valid {cls.service_name} URL", f"url：不是有效的 {cls.service_name} 网址")
    args.update(override)
    try:
        return cls(**args)
    except (AppriseException, TypeError, ValueError) as exc:
        raise ChannelConfigError(f"invalid {cls.service_name} settings ({type(exc).__name__})",
                                 f"{cls.service_name} 设置无效（{type(exc).__name__}）") from None


_BAD_WEBHOOK_EN = "url of kind webhook is http://, https://, json:// or jsons://"
_BAD_WEBHOOK_ZH = "webhook 通道的 url 应为 http://、https://、json:// 或 jsons://"


@dataclass(slots=True)
class AppriseSender:
    name: str
    kind: str
    limits: tuple[tuple[int, float], ...]
    max_bytes: int
    plugin: Any  # the apprise plugin instance (tests point its endpoint at loopback)
    keyword: str | None = None
    markdown: bool = False
    language: str = "zh"
    redactor: Redactor = field(default_factory=Redactor)  # masks the receiver's reply before it is cut

    def __repr__(self) -> str:
        return f"AppriseSender(name={self.name!r}, kind={self.kind!r})"

    async def deliver(self, msgs: Sequence[Outgoing]) -> None:
        # SMS: the short form, title included (apprise would put the title first)
        msg, title, body, use_md = compose(msgs, self.language, keyword=self.keyword, markdown=self.markdown,
                                           short_form=self.kind == "sms")
        # the kind first: a recovery is good news, whatever the severity of what recovered
        ntype = NotifyType.SUCCESS if msg.kind in ("resolved", "recovery") else (
            NotifyType.FAILURE if msg.severity in ("high", "critical") else NotifyType.WARNING)
        why = await asyncio.to_thread(call, self.plugin.notify, self.redactor, body=body, title=title, notify_type=ntype,
                                      body_format=NotifyFormat.MARKDOWN if use_md else NotifyFormat.TEXT)
        if why is not None:
            raise why.error()


def build_sender(ch: ChannelSettings, redactor: Redactor, *, language: str = "zh",
                 environ: Mapping[str, str] | None = None) -> Sender:
    """The sender of one channel; its secrets are added to *redactor*."""
    env = dict(environ) if environ is not None else None
    try:
        token = resolve_secret(ch.token, env)
        secret = resolve_secret(ch.secret, env)
        url = resolve_secret(ch.url, env)
        password = resolve_secret(ch.password, env)
    except SecretError as exc:
        raise ChannelConfigError(f"channel {ch.name}: {exc}", f"通道 {ch.name}：{exc.zh}") from None
    try:
        return _build(ch, redactor, language, token, secret, url, password)
    except ChannelConfigError as exc:
        raise ChannelConfigError(f"channel {ch.name}: {exc}", f"通道 {ch.name}：{exc.render('zh')}") from None


def _build(ch: ChannelSettings, redactor: Redactor, language: str, token: str | None, secret: str | None,
           url: str | None, password: str | None) -> Sender:
    redactor.add(token, secret, password)
    if url:
        redactor.add_url(url, user_is_secret=ch.kind in ("sms", "dingtalk", "wecom", "feishu", "lark"))
    if ch.kind == "alertmanager":
        assert url is not None
        return AlertmanagerSender(name=ch.name, base_url=url, timeout_s=ch.timeout_s, redactor=redactor)
    if ch.kind in ROBOT_KINDS:
        return build_robot(ch, redactor, language, token, secret, url)
    override: dict[str, Any] = {}
    target: str | None = None  # a webhook's path and query as the user wrote them
    if ch.kind == "webhook":
        assert url is not None
        parts = urlsplit(url)
        scheme = {"http": "json", "https": "jsons"}.get(parts.scheme, parts.scheme)
        if scheme not in ("json", "jsons"):  # (a url read from env:/file: is checked here, not with the settings)
            raise ChannelConfigError(f"{_BAD_WEBHOOK_EN}, not {parts.scheme}://", f"{_BAD_WEBHOOK_ZH}，而非 {parts.scheme}://")
        if scheme == parts.scheme:  # json(s)://: apprise's own URL, options and all ("-name=value": a query parameter)
            full = url
        else:
            # an http(s):// url is posted to as written: apprise would read its query as apprise's
            # options (?method=, ?verify=...) and pass on only "-name=value" ones, so it gets the
            # url without path and query, and the plugin's path is set to both, untouched
            full = urlunsplit((scheme, parts.netloc, "/", "", ""))
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        cls = _plugin_class(scheme)
    else:  # email, sms
        assert url is not None
        full = url
        cls = _plugin_class(urlsplit(url).scheme)
        if ch.kind == "email" and password:
            override["password"] = password
    plugin = _instantiate(cls, full, **override)
    if target is not None:
        plugin.fullpath = target  # (NotifyJSON posts to scheme://host:port + fullpath; requests keeps the query)
    plugin.socket_connect_timeout = ch.timeout_s
    plugin.socket_read_timeout = ch.timeout_s
    # apprise sleeps up to 5.5 s between two posts of one plugin; our rate limiter paces instead
    plugin.request_rate_per_sec = 0
    return AppriseSender(name=ch.name, kind=ch.kind, limits=ch.limits(), max_bytes=ch.max_bytes(), plugin=plugin,
                         keyword=ch.keyword, language=language, redactor=redactor)


def build_senders(settings: NotifySettings, redactor: Redactor, *, language: str = "zh",
                  environ: Mapping[str, str] | None = None) -> dict[str, Sender]:
    return {ch.name: build_sender(ch, redactor, language=language, environ=environ) for ch in settings.channels}
