"""Our own sender for the chat robots: DingTalk, WeCom (企业微信), Feishu and Lark.

These robots answer most refusals (wrong token, signature, keyword or IP allow-list; too many
messages) with HTTP 200 and an error code in the JSON reply. apprise's plugins read the HTTP status
only, so such a message was counted as sent and lost; here every reply is read
(:func:`~collector.alerting.delivery.reasons.of_robot_reply`) and a refusal is a
:class:`~collector.alerting.delivery.sender.DeliveryError`, retried only when it may pass later.

Each post is the JSON its vendor documents, as apprise sent it (the same title, keyword, Markdown
and @-mentions), to the vendor's fixed address with the token, or to the channel's ``http(s)://``
url as written. Transport failures give the reasons of :mod:`~collector.alerting.delivery.reasons`
(refused, timed out, HTTP 401 and the reply...). Like requests (apprise) did, the post honours the
``HTTPS_PROXY``/``NO_PROXY`` environment and trusts ``REQUESTS_CA_BUNDLE`` or certifi's CAs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
from yarl import URL

from collector.alerting.delivery.config import ChannelConfigError, ChannelSettings, scheme_problem
from collector.alerting.delivery.message import Outgoing, compose
from collector.alerting.delivery.reasons import ROBOT_NAMES, Reason, of_exception, of_robot_reply, robot_name, short
from collector.alerting.delivery.redact import Redactor

log = logging.getLogger("camwatch.notify")

ROBOT_KINDS = ("dingtalk", "wecom", "feishu", "lark")
# the vendors' addresses; {token} is the robot's token
ENDPOINTS = {
    "dingtalk": "https://oapi.dingtalk.com/robot/send?access_token={token}",
    "wecom": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={token}",
    "feishu": "https://open.feishu.cn/open-apis/bot/v2/hook/{token}",
    "lark": "https://open.larksuite.com/open-apis/bot/v2/hook/{token}",
}
# what a token may hold (apprise's rules: what it refused is refused here too), in words
_TOKENS: dict[str, tuple[str, str, str]] = {
    "dingtalk": (r"[a-z0-9]+", "letters and digits only", "只能含字母和数字"),
    "wecom": (r"[a-z0-9_-]+", "letters, digits, - and _ only", "只能含字母、数字、- 和 _"),
    "feishu": (r"[a-z0-9_-]+", "letters, digits, - and _ only", "只能含字母、数字、- 和 _"),
    "lark": (r"[a-z0-9-]+", "letters, digits and - only", "只能含字母、数字和 -"),
}
_PHONE = re.compile(r"^\+?(?P<phone>[0-9\s)(+-]+)\s*$")  # a mention: 11 to 14 digits once the rest is dropped
_REPLY_BYTES = 65536  # read of a reply (robots answer a few dozen bytes)
_HEADERS = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "camwatch"}


def _joined(title: str, body: str, sep: str) -> str:
    return f"{title}{sep}{body}" if title else body


def payload(kind: str, title: str, body: str, *, markdown: bool = False, mobiles: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON a robot of *kind* is sent (as apprise built it): the title on the first line of a
    text message; a DingTalk Markdown message has it as its title and heading."""
    title, body = title.strip(), body.rstrip()
    if kind == "dingtalk":
        at = {"atMobiles": list(mobiles), "isAtAll": False}
        if markdown:
            head = " ".join(title.split()).lstrip("#- ")
            md = {"title": head or "camwatch", "text": f"# {head}\n{body}" if head else body}
            return {"msgtype": "markdown", "markdown": md, "at": at}
        return {"msgtype": "text", "text": {"content": _joined(title, body, "\r\n")}, "at": at}
    if kind == "wecom":
        return {"msgtype": "text", "text": {"content": _joined(title, body, "\r\n")}}
    return {"msg_type": "text", "content": {"text": _joined(title, body, "\r\n" if kind == "feishu" else "\n")}}


def dingtalk_sign(secret: str, now: Callable[[], float] = time.time) -> dict[str, str]:
    """DingTalk's signing (加签), as query parameters: HMAC-SHA256 of "timestamp(ms)\\nsecret" keyed by the secret."""
    ts = str(round(now() * 1000))
    mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    return {"timestamp": ts, "sign": base64.b64encode(mac).decode()}


def feishu_sign(secret: str, now: Callable[[], float] = time.time) -> dict[str, str]:
    """Feishu/Lark signing, as body fields: HMAC-SHA256 keyed by "timestamp(s)\\nsecret" of nothing."""
    ts = str(int(now()))
    mac = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return {"timestamp": ts, "sign": base64.b64encode(mac).decode()}


@lru_cache(maxsize=4)
def _tls(cafile: str | None) -> ssl.SSLContext:
    if cafile and os.path.isdir(cafile):
        return ssl.create_default_context(capath=cafile)
    return ssl.create_default_context(cafile=cafile)


def tls_context() -> ssl.SSLContext:
    """The CAs requests (so apprise) trusted: REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, else certifi's
    bundle, else the system's."""
    cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if not cafile:
        try:
            import certifi  # lazy: requests' CA bundle, read once when the first post is made
        except ImportError:
            cafile = None
        else:
            cafile = certifi.where()
    return _tls(cafile)


@dataclass(slots=True)
class RobotSender:
    name: str
    kind: str  # dingtalk | wecom | feishu | lark
    limits: tuple[tuple[int, float], ...]
    max_bytes: int
    endpoint: str  # the URL posted to, token and all (tests point it at loopback)
    secret: str | None = None  # signing (加签): DingTalk, Feishu, Lark
    mobiles: tuple[str, ...] = ()  # DingTalk @-mentions
    keyword: str | None = None
    markdown: bool = False  # DingTalk Markdown
    language: str = "zh"
    timeout_s: float = 10.0
    verify: bool = True  # check the TLS certificate (apprise's ?verify=no turns it off)
    redactor: Redactor = field(default_factory=Redactor)
    clock: Callable[[], float] = time.time  # of the signatures' timestamps

    def __repr__(self) -> str:
        return f"RobotSender(name={self.name!r}, kind={self.kind!r})"

    async def deliver(self, msgs: Sequence[Outgoing]) -> None:
        _, title, body, use_md = compose(msgs, self.language, keyword=self.keyword, markdown=self.markdown)
        data = payload(self.kind, title, body, markdown=use_md, mobiles=self.mobiles)
        url = self.endpoint
        if self.secret and self.kind == "dingtalk":
            url += ("&" if "?" in url else "?") + urlencode(dingtalk_sign(self.secret, self.clock))
        elif self.secret:
            data = {**feishu_sign(self.secret, self.clock), **data}
        log.debug("channel %s: %s URL: %s", self.name, ROBOT_NAMES[self.kind][0], self.redactor(url))
        status, raw = await self._post(url, json.dumps(data, ensure_ascii=False).encode())
        if status != 200:
            raise Reason("http", status=status, reply=short(raw[:2000].decode("utf-8", "replace"), self.redactor)).error()
        refused = of_robot_reply(self.kind, raw, self.redactor)
        if refused is not None:
            raise refused.error()

    async def _post(self, url: str, data: bytes) -> tuple[int, bytes]:
        # (sent as written where it is plain ASCII: the signature's %2B stays as it is)
        target = URL(url, encoded=url.isascii() and not any(c.isspace() for c in url))
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            tls = tls_context() if self.verify else False
            async with (aiohttp.ClientSession(timeout=timeout, trust_env=True) as session,
                        session.post(target, data=data, headers=_HEADERS, ssl=tls) as resp):
                raw = bytearray()  # (read() gives what has come: a reply may come in pieces)
                while len(raw) < _REPLY_BYTES and (piece := await resp.content.read(_REPLY_BYTES - len(raw))):
                    raw += piece
                return resp.status, bytes(raw)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            raise of_exception(exc, self.redactor).error() from None


def _apprise_url(kind: str, url: str) -> dict[str, Any]:
    """What apprise read from one of its robot URLs (dingtalk://SECRET@TOKEN/MOBILE..., wecombot://KEY,
    feishu://TOKEN, lark://TOKEN): token, secret, targets, verify."""
    # lazy: apprise's own parsing of the URLs it defined, so that every such url means what it meant
    from apprise.plugins.dingtalk import NotifyDingTalk
    from apprise.plugins.feishu import NotifyFeishu
    from apprise.plugins.lark import NotifyLark
    from apprise.plugins.wecombot import NotifyWeComBot

    cls: Any = {"dingtalk": NotifyDingTalk, "wecom": NotifyWeComBot, "feishu": NotifyFeishu, "lark": NotifyLark}[kind]
    args = cls.parse_url(url)
    if not args:
        raise ChannelConfigError(f"url: not a valid {robot_name(kind, False)} robot URL",
                                 f"url：不是有效的{robot_name(kind, True)}机器人网址")
    return {"token": args.get("key" if kind == "wecom" else "token"), "secret": args.get("secret"),
            "targets": list(args.get("targets") or ()), "verify": bool(args.get("verify", True))}


def _mobiles(ch: ChannelSettings, mentions: Sequence[str]) -> tuple[str, ...]:
    out = []
    for i, m in enumerate(mentions):
        found = _PHONE.match(m)
        digits = "".join(re.findall(r"\d+", found["phone"])) if found else ""
        if 11 <= len(digits) <= 14:
            out.append(digits)
        else:
            log.warning("channel %s: mention %d is not a mobile number (11 to 14 digits): left out", ch.name, i + 1)
    return tuple(out)


def build_robot(ch: ChannelSettings, redactor: Redactor, language: str, token: str | None, secret: str | None,
                url: str | None) -> RobotSender:
    """The sender of a robot channel, from its resolved token, secret and url (an apprise URL gives
    the token, and the secret and mentions it holds; an http(s):// one is posted to as written)."""
    kind = ch.kind
    mentions: Sequence[str] = ch.mentions
    verify = True
    if url and urlsplit(url).scheme.lower() in ("http", "https"):
        endpoint = url
    else:
        if url:
            if (bad := scheme_problem(kind, url)) is not None:  # (a url read from env:/file: is checked here)
                raise ChannelConfigError(bad[1], bad[2])
            got = _apprise_url(kind, url)
            token, secret, verify = got["token"], got["secret"] or secret, got["verify"]
            mentions = got["targets"] or mentions
        rule, en, zh = _TOKENS[kind]
        if not token or not re.fullmatch(rule, token, re.IGNORECASE):
            key = "url" if url else "token"
            raise ChannelConfigError(f"{key}: not a valid {robot_name(kind, False)} robot token ({en})",
                                     f"{key}：不是有效的{robot_name(kind, True)}机器人 token（{zh}）")
        endpoint = ENDPOINTS[kind].format(token=quote(token, safe=""))
    if secret and kind == "dingtalk" and not re.fullmatch(r"[a-z0-9]+", secret, re.IGNORECASE):
        raise ChannelConfigError("secret: not a valid DingTalk signing secret (letters and digits only)",
                                 "secret：不是有效的钉钉加签密钥（只能含字母和数字）")
    redactor.add(token, secret)
    return RobotSender(name=ch.name, kind=kind, limits=ch.limits(), max_bytes=ch.max_bytes(), endpoint=endpoint,
                       secret=secret or None, mobiles=_mobiles(ch, mentions) if kind == "dingtalk" else (),
                       keyword=ch.keyword, markdown=ch.markdown and kind == "dingtalk", language=language,
                       timeout_s=ch.timeout_s, verify=verify, redactor=redactor)


__all__ = ["ENDPOINTS", "ROBOT_KINDS", "RobotSender", "build_robot", "dingtalk_sign", "feishu_sign", "payload"]
