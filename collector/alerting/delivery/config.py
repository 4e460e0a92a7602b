"""Settings of the notification channels (the ``notify`` section of camwatch.yaml).

Every value that can hold a secret (robot tokens, the DingTalk signing secret, SMTP passwords,
URLs with tokens in them) is a :class:`pydantic.SecretStr`, so reprs and dumps show ``**********``.
A secret value may also be written as ``env:NAME`` (read from the environment) or
``file:PATH`` (first line of a file) and is resolved only when the channel is built.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from collector.config_types import Problem, inconsistent

Kind = Literal["dingtalk", "wecom", "feishu", "lark", "email", "sms", "webhook", "alertmanager"]

# vendor limits: DingTalk and WeCom robots 20 messages/min, Feishu/Lark 5/s and 100/min
DEFAULT_LIMITS: dict[str, tuple[tuple[int, float], ...]] = {
    "dingtalk": ((20, 60.0),),
    "wecom": ((20, 60.0),),
    "feishu": ((5, 1.0), (100, 60.0)),
    "lark": ((5, 1.0), (100, 60.0)),
}
# largest message body (UTF-8 bytes) a channel accepts; merged messages are split to fit
MAX_BYTES: dict[str, int] = {
    "dingtalk": 19000,
    "wecom": 2000,  # text messages: 2048 bytes
    "feishu": 18000,
    "lark": 18000,
    "email": 1_000_000,
    "sms": 600,
    "webhook": 1_000_000,
    "alertmanager": 1_000_000,
}
TOKEN_KINDS = ("dingtalk", "wecom", "feishu", "lark")
URL_KINDS = ("email", "sms", "webhook", "alertmanager")
# the schemes of each kind's url (sms: any apprise SMS gateway's, checked when the channel is built)
URL_SCHEMES: dict[str, tuple[str, ...]] = {
    "email": ("mailto", "mailtos"), "webhook": ("http", "https", "json", "jsons"), "alertmanager": ("http", "https"),
    "dingtalk": ("dingtalk", "http", "https"), "wecom": ("wecombot", "http", "https"), "feishu": ("feishu", "http", "https"),
    "lark": ("lark", "http", "https"),
}
SIGNED_KINDS = ("dingtalk", "feishu", "lark")  # robots with signing (加签) by a secret


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Section):
    count: int = Field(gt=0, description="at most this many messages ...")
    per_s: float = Field(gt=0, description="... within any window of this many seconds")


class ChannelSettings(_Section):
    name: str = Field(min_length=1, max_length=64, description="name used in logs, metrics and `camwatch alerts test --channel`")
    kind: Kind = Field(description="dingtalk | wecom | feishu | lark | email | sms | webhook | alertmanager")
    token: SecretStr | None = Field(
        None, description="robot token: DingTalk access_token, WeCom webhook key, Feishu/Lark hook token (env:NAME or file:PATH allowed)"
    )
    secret: SecretStr | None = Field(
        None, description="DingTalk or Feishu/Lark signing secret (加签, HMAC-SHA256; DingTalk's SEC...); env:NAME or file:PATH allowed"
    )
    keyword: str | None = Field(None, description="DingTalk/WeCom/Feishu custom keyword (自定义关键词) put in every message")
    mentions: list[str] = Field(default_factory=list, description="DingTalk: mobile numbers to @-mention")
    url: SecretStr | None = Field(
        None,
        description="email: mailto://USER@HOST:PORT?from=...&to=... (mailtos:// for TLS); sms: an apprise SMS gateway URL "
        "(e.g. smseagle://TOKEN@HOST/PHONE); webhook: json://HOST/PATH or http(s)://HOST/PATH (JSON POST); "
        "alertmanager: http://HOST:9093; robots: an apprise URL (dingtalk://SECRET@TOKEN/MOBILE..., wecombot://KEY, "
        "feishu://TOKEN, lark://TOKEN) instead of token, or an http(s):// address posted to as written",
    )
    password: SecretStr | None = Field(None, description="SMTP password (kept out of the URL); env:NAME or file:PATH allowed")
    rate_limits: list[RateLimit] | None = Field(
        None, description="limits of this channel; default: the vendor's (DingTalk/WeCom 20/min, Feishu 5/s and 100/min), none otherwise"
    )
    markdown: bool = Field(True, description="send Markdown where the channel supports it (DingTalk)")
    timeout_s: float = Field(10.0, gt=0, description="limit of one delivery attempt (seconds)")

    @model_validator(mode="after")
    def _check_kind(self) -> ChannelSettings:
        inconsistent(channel_problems(self))
        return self

    def limits(self) -> tuple[tuple[int, float], ...]:
        if self.rate_limits is not None:
            return tuple((r.count, r.per_s) for r in self.rate_limits)
        return DEFAULT_LIMITS.get(self.kind, ())

    def max_bytes(self) -> int:
        return MAX_BYTES[self.kind]


def scheme_problem(kind: str, url: str) -> Problem | None:
    """What is wrong with the scheme of a channel's literal url (``env:``/``file:`` ones are read
    when the channel is built); names the scheme only: the rest may hold a token."""
    if url.startswith(("env:", "file:")):
        return None
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return ("url", f"not a URL (SCHEME://...): url of kind {kind} is {_schemes(kind, 'en')}",
                f"不是网址（应为 协议://...）：{kind} 通道的 url 应为 {_schemes(kind, 'zh')}")
    allowed = URL_SCHEMES.get(kind)
    if allowed is not None and scheme.lower() not in allowed:
        return ("url", f"url of kind {kind} is {_schemes(kind, 'en')}, not {scheme}://",
                f"{kind} 通道的 url 应为 {_schemes(kind, 'zh')}，而非 {scheme}://")
    return None


def _schemes(kind: str, lang: str) -> str:
    """``http://, https:// or json://`` (``http://、https:// 或 json://``)."""
    names = [f"{s}://" for s in URL_SCHEMES.get(kind, ("SCHEME",))]
    if len(names) == 1:
        return names[0]
    return (", ".join(names[:-1]) + " or " if lang == "en" else "、".join(names[:-1]) + " 或 ") + names[-1]


def channel_problems(ch: ChannelSettings) -> list[Problem]:
    """The keys of one channel that are wrong for its kind, with why."""
    out: list[Problem] = []
    if ch.kind in TOKEN_KINDS and ch.token is None and ch.url is None:
        out.append(("token", f"kind {ch.kind} needs token (or url)", f"{ch.kind} 通道需要 token（或 url）"))
    if ch.kind in URL_KINDS and ch.url is None:
        out.append(("url", f"kind {ch.kind} needs url", f"{ch.kind} 通道需要 url"))
    if ch.url is not None:
        bad = scheme_problem(ch.kind, ch.url.get_secret_value())
        out += [bad] if bad else []
    if ch.secret is not None and ch.kind not in SIGNED_KINDS:
        out.append(("secret", "secret applies to dingtalk, feishu and lark only",
                    "secret 仅用于 dingtalk、feishu、lark（机器人加签）"))
    if ch.password is not None and ch.kind != "email":
        out.append(("password", "password applies to email only", "password 仅用于 email 通道"))
    return [(key, f"channel {ch.name}: {en}", f"通道 {ch.name}：{zh}") for key, en, zh in out]


class RetrySettings(_Section):
    attempts: int = Field(6, ge=1, description="delivery attempts per message before it is logged as failed")
    initial_backoff_s: float = Field(2.0, gt=0, description="wait after the first failed attempt (seconds)")
    max_backoff_s: float = Field(300.0, gt=0, description="longest wait between attempts (seconds)")
    multiplier: float = Field(2.0, ge=1, description="each wait is this many times the one before")

    def backoff(self, failed_attempts: int) -> float:
        """Wait after *failed_attempts* (1, 2, ...) failures."""
        return min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (failed_attempts - 1))


class NotifySettings(_Section):
    channels: list[ChannelSettings] = Field(default_factory=list, description="where alert messages go")
    retry: RetrySettings = Field(default_factory=RetrySettings, description="retries with exponential back-off")

    @model_validator(mode="after")
    def _unique_names(self) -> NotifySettings:
        names = [c.name for c in self.channels]
        inconsistent([(f"channels.{i}.name", f"channel name {n} is taken by channels.{names.index(n)}",
                       f"通道名称 {n} 已被 channels.{names.index(n)} 使用") for i, n in enumerate(names) if names.index(n) < i])
        return self

    def channel(self, name: str) -> ChannelSettings:
        for c in self.channels:
            if c.name == name:
                return c
        raise KeyError(name)


class ChannelConfigError(ValueError):
    """A channel cannot be built from its settings (the message names no secret). ``str()`` is
    English; :meth:`render` speaks the user's language."""

    def __init__(self, message: str, zh: str | None = None) -> None:
        super().__init__(message)
        self.zh = zh

    def render(self, lang: str) -> str:
        return str(self) if lang == "en" or self.zh is None else self.zh


class SecretError(ValueError):
    """A ``env:``/``file:`` secret reference could not be resolved (the message names no value);
    ``str()`` is English, ``zh`` Chinese."""

    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


def resolve_secret(value: SecretStr | None, environ: dict[str, str] | None = None) -> str | None:
    """Plain text of a secret setting, following ``env:NAME`` and ``file:PATH`` references."""
    if value is None:
        return None
    raw = value.get_secret_value()
    env = os.environ if environ is None else environ
    if raw.startswith("env:"):
        name = raw[4:]
        if name not in env:
            raise SecretError(f"environment variable {name} is not set", f"环境变量 {name} 未设置")
        return env[name]
    if raw.startswith("file:"):
        path = Path(raw[5:])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(f"{path}: cannot read secret file: {exc.strerror}", f"{path}：无法读取密钥文件：{exc.strerror}") from None
    return raw
