"""Why a delivery failed, in a few words of our own: the one place that reads apprise's log of a
send (or an exception) and says what happened, in English (logs) and Chinese (the CLI).

apprise reports a failure as ``False`` and tells why only in its log: a warning with the HTTP
status (``...error=401.``) and, at DEBUG, the receiver's reply (``Response Details: b'...'``) or
the exception (``Socket Exception: ...``). :func:`call` runs a plugin's ``notify`` with those
records of its own thread captured (the ``apprise`` logger is lowered to DEBUG meanwhile, and a
filter keeps everything below the level it had from its handlers), and :func:`of_log` reads them
into a :class:`Reason`. A reason never holds a URL or an exception text (they may carry tokens):
only a category, a status code and the receiver's short reply, redacted before it is cut.

Chat robots (DingTalk, WeCom, Feishu/Lark) refuse most messages with HTTP 200 and an error code in
the JSON reply: :func:`of_robot_reply` reads such a reply into a :class:`Refusal`.
"""

from __future__ import annotations

import ast
import errno
import http
import json
import logging
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from collector.alerting.delivery.sender import DeliveryError

# code -> (English, Chinese); {status}, {reply}, {detail} filled in by Reason.render
WORDS: dict[str, tuple[str, str]] = {
    "refused": ("connection refused (nothing listens at that address and port)", "连接被拒绝（该地址和端口上没有服务在监听）"),
    "timeout": ("timed out (no answer within timeout_s)", "超时（timeout_s 内没有应答）"),
    "dns": ("host name not found (DNS)", "域名解析失败（DNS）"),
    "cert": ("TLS certificate not trusted", "TLS 证书不受信任"),
    "tls": ("TLS handshake failed", "TLS 握手失败"),
    "unreachable": ("network unreachable (no route to the host)", "网络不可达（没有到该主机的路由）"),
    "reset": ("the receiver closed the connection", "连接被接收方中断"),
    "connect": ("could not connect", "无法连接"),
    "http": ("HTTP {status}", "HTTP {status}"),
    "login": ("the mail server refused the login ({status})", "邮件服务器拒绝登录（{status}）"),
    "smtp": ("the mail server answered {status}", "邮件服务器答复 {status}"),
    "rejected": ("rejected by the receiver", "被接收方拒绝"),
    "error": ("sender error ({detail})", "发送程序出错（{detail}）"),
    "unknown": ("not delivered (no reason given)", "未送达（未给出原因）"),
}
REPLY = ("; the receiver answered: {reply}", "；对方答复：{reply}")
DETAIL = ("not delivered: {detail}", "未送达：{detail}")  # apprise's own words, when nothing above fits
REPLY_CHARS = 120
RETRYABLE_4XX = frozenset({408, 429})  # the client errors that may pass later (Request Timeout, Too Many Requests)


@dataclass(frozen=True, slots=True)
class Reason:
    code: str  # a key of WORDS
    status: int | None = None
    reply: str = ""  # the receiver's words, redacted and cut
    detail: str = ""

    def render(self, lang: str) -> str:
        zh = lang != "en"
        status = str(self.status or "")
        if self.code == "http" and not zh and self.status is not None:
            try:
                status += " " + http.HTTPStatus(self.status).phrase
            except ValueError:
                pass
        if self.code == "unknown" and self.detail:
            text = DETAIL[zh].format(detail=self.detail)
        else:
            text = WORDS[self.code][zh].format(status=status, detail=self.detail)
        return text + (REPLY[zh].format(reply=self.reply) if self.reply else "")

    @property
    def retryable(self) -> bool:
        """Whether the send may pass if tried again: not after an HTTP 4xx other than 408 (Request
        Timeout) and 429 (Too Many Requests): a wrong URL, token or request stays wrong. A 5xx, a
        408, a 429, a transport failure (refused, timed out...) or an SMTP answer may pass."""
        return not (self.code == "http" and self.status is not None and 400 <= self.status < 500
                    and self.status not in RETRYABLE_4XX)

    def error(self, *, retryable: bool | None = None) -> DeliveryError:
        """This reason as a :class:`DeliveryError`, retryable as :attr:`retryable` says unless told."""
        return DeliveryError(self.render("en"), zh=self.render("zh"),
                             retryable=self.retryable if retryable is None else retryable)


def short(text: str, redact: Callable[[str], str]) -> str:
    """A receiver's reply made fit for one line: tags and blanks squeezed, secrets masked, cut."""
    text = re.sub(r"<[^>]*>", " ", text)
    text = " ".join(redact(text).split())
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= REPLY_CHARS else text[: REPLY_CHARS - 1] + "…"


def _decoded(raw: str) -> str:
    """``b'...'`` (a reply as apprise logs it) as text."""
    raw = raw.strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


_SMTP = re.compile(r"\((\d{3}), b(['\"])(.*?)\2")
_ADDRESS = re.compile(r"with url: \S+|host='[^']*'|Failed to resolve '[^']*'|object at 0x[0-9a-f]+")
# in this order: a refused or unresolved connection's text names its host (which may read "tls."),
# a timeout may come wrapped in "Connection aborted"
_TEXT_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cert", ("certificate verify failed", "certificate_verify_failed", "hostname mismatch")),
    ("refused", ("connection refused", "errno 111]", "actively refused")),
    ("dns", ("name or service not known", "nodename nor servname", "temporary failure in name resolution",
             "failed to resolve", "getaddrinfo", "no address associated", "name resolution")),
    ("unreachable", ("network is unreachable", "no route to host", "host is unreachable")),
    ("timeout", ("timed out", "timeout")),
    ("reset", ("connection reset", "connection aborted", "remote end closed", "remotedisconnected",
               "unexpectedly closed", "broken pipe", "server disconnected")),
    ("tls", ("ssl", "tls", "handshake")),
)


def of_text(text: str, redact: Callable[[str], str]) -> Reason:
    """The reason in an exception's text (as apprise logs it: ``Socket Exception: ...``)."""
    if m := _SMTP.search(text):  # an SMTP answer (first: its words may say "TLS" or "timeout")
        status = int(m[1])
        reply = short(_decoded(f"b{m[2]}{m[3]}{m[2]}"), redact)
        return Reason("login" if status in (530, 534, 535) else "smtp", status=status, reply=reply)
    low = _ADDRESS.sub(lambda m: m[0].split("'")[0], text).lower()  # (a host name or path may hold any word)
    for code, needles in _TEXT_RULES:
        if any(n in low for n in needles):
            return Reason(code)
    return Reason("connect") if "connect" in low else Reason("unknown")


_ERRNO = {errno.ECONNREFUSED: "refused", errno.ENETUNREACH: "unreachable", errno.EHOSTUNREACH: "unreachable",
          errno.ECONNRESET: "reset", errno.ECONNABORTED: "reset", errno.EPIPE: "reset", errno.ETIMEDOUT: "timeout"}


def of_exception(exc: BaseException, redact: Callable[[str], str]) -> Reason:
    """The reason of an exception raised by a send (its causes and ``os_error`` followed)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLCertVerificationError) or getattr(e, "certificate_error", None) is not None:
            return Reason("cert")
        if isinstance(e, ssl.SSLError):
            return Reason("tls")
        if isinstance(e, TimeoutError):
            return Reason("timeout")
        if isinstance(e, socket.gaierror):
            return Reason("dns")
        if isinstance(e, OSError) and e.errno in _ERRNO:
            return Reason(_ERRNO[e.errno])
        todo += [getattr(e, "os_error", None), e.__cause__, e.__context__]
    found = of_text(str(exc), redact)
    return found if found.code != "unknown" else Reason("error", detail=type(exc).__name__)


_EXCEPTION = re.compile(r"^\w+ Exception: ")  # "Socket Exception: ...", "Lark Exception: ..."
_STATUS = re.compile(r"(?:\berror=|notification failed: )(\d{3})\b")
_REJECTED = re.compile(r"rejected our notification: (.*)$", re.S)


def of_log(records: Sequence[tuple[int, str]], redact: Callable[[str], str]) -> Reason:
    """The reason in apprise's log of one failed send (level, message), in the order logged."""
    status: int | None = None
    reply = rejected = warning = ""
    for level, text in records:
        if text.startswith("Response Details:"):
            reply = short(_decoded(text[len("Response Details:"):]), redact)
        elif m := _STATUS.search(text):
            status = int(m[1])
            if " - " in text[m.end():m.end() + 3]:  # (Lark: "failed: 401 - b'...'")
                reply = short(_decoded(text[m.end() + 3:]), redact)
        elif (m := _EXCEPTION.match(text)) and not text.startswith("log_callback"):
            return of_text(text[m.end():], redact)
        elif m := _REJECTED.search(text):
            rejected = short(m[1], redact)
        elif level >= logging.WARNING:
            warning = text
    if status is not None:
        return Reason("http", status=status, reply=reply)
    if rejected:
        return Reason("rejected", reply=rejected)
    if "connection error" in warning.lower():
        return Reason("connect")
    return Reason("unknown", detail=short(warning, redact) if warning else "")


class _Tap(logging.Filter):
    """On the apprise logger while sends run: keeps the records of the threads that capture, and
    lets through to the handlers only what the logger's own level would have let through."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.threads: dict[int, list[tuple[int, str]]] = {}
        self.saved = logging.NOTSET
        self.logger = logging.getLogger("apprise")

    def filter(self, record: logging.LogRecord) -> bool:
        got = self.threads.get(record.thread or 0)
        if got is not None and len(got) < 200:
            try:
                got.append((record.levelno, record.getMessage()))
            except Exception:  # noqa: BLE001 - a malformed foreign log call
                got.append((record.levelno, str(record.msg)))
        return record.levelno >= self._level()

    def _level(self) -> int:
        """The level the logger would have without us."""
        if self.saved != logging.NOTSET:
            return self.saved
        parent = self.logger.parent
        return parent.getEffectiveLevel() if parent is not None else logging.WARNING

    @contextmanager
    def capture(self) -> Iterator[list[tuple[int, str]]]:
        got: list[tuple[int, str]] = []
        me = threading.get_ident()
        with self.lock:
            if not self.threads:
                self.saved = self.logger.level
                self.logger.addFilter(self)
                self.logger.setLevel(logging.DEBUG)
            self.threads[me] = got
        try:
            yield got
        finally:
            with self.lock:
                del self.threads[me]
                if not self.threads:
                    if self.logger.level == logging.DEBUG:  # (unless someone set it meanwhile)
                        self.logger.setLevel(self.saved)
                    self.logger.removeFilter(self)


_TAP = _Tap()


def call(notify: Callable[..., Any], redact: Callable[[str], str], **kwargs: Any) -> Reason | None:
    """Run an apprise plugin's *notify* in this thread: None when it succeeded, else why not."""
    with _TAP.capture() as got:
        try:
            ok = notify(**kwargs)
        except (OSError, RuntimeError, ValueError) as exc:
            return of_exception(exc, redact)
    return None if ok else of_log(got, redact)


# -- chat robots: HTTP 200 with an error code in the JSON body ----------------------------------

ROBOT_NAMES: dict[str, tuple[str, str]] = {"dingtalk": ("DingTalk", "钉钉"), "wecom": ("WeCom", "企业微信"),
                                           "feishu": ("Feishu", "飞书"), "lark": ("Lark", "Lark")}


def robot_name(robot: str, zh: bool) -> str:
    """The vendor's name, ready to stand before 机器人 ("Lark 机器人", "钉钉机器人") in Chinese."""
    name = ROBOT_NAMES[robot][zh]
    return name + " " if zh and name.isascii() else name


# the fields of a robot's reply that say whether it took the message (0: it did), the vendor's first;
# older Feishu replies say {"StatusCode": 0, "StatusMessage": "success"}
CODE_FIELDS: dict[str, tuple[str, ...]] = {"dingtalk": ("errcode", "code", "StatusCode"), "wecom": ("errcode", "code", "StatusCode"),
                                           "feishu": ("code", "StatusCode", "errcode"), "lark": ("code", "StatusCode", "errcode")}
_MESSAGE_FIELDS = {"errcode": ("errmsg",), "code": ("msg", "message"), "StatusCode": ("StatusMessage",)}
# meaning -> (English, Chinese); "rate" and "busy" pass, the others are settings to fix (or a
# message the robot never takes: retried, it would be refused again)
MEANINGS: dict[str, tuple[str, str]] = {
    "security": ("its security settings do not match (keyword, signature or IP allow-list)",
                 "安全设置不匹配（关键词、加签或 IP 白名单）"),
    "token": ("the robot's token is missing or not valid (check token or url)", "机器人 token 缺失或无效（请检查 token 或 url）"),
    "sign": ("the signature does not match (check secret), or this server's clock is more than an hour off",
             "签名校验失败（请检查 secret），或本机时钟偏差超过一小时"),
    "keyword": ("the message lacks the robot's custom keyword (check keyword)", "消息中没有机器人设置的自定义关键词（请检查 keyword）"),
    "ip": ("this server's IP address is not on the robot's IP allow-list", "本机 IP 不在机器人的 IP 白名单中"),
    "rate": ("too many messages: over the robot's rate limit", "发送过于频繁，超出机器人的频率限制"),
    "busy": ("the robot service is busy", "机器人服务繁忙"),
    "format": ("it does not take this message type (msgtype)", "不接受该消息类型（msgtype）"),
}
PASSING = frozenset({"rate", "busy"})  # retried with back-off, as is a code not named here
# (vendor, code) -> meaning; Lark's codes are Feishu's
ROBOT_CODES: dict[tuple[str, int], str] = {
    ("dingtalk", 310000): "security", ("dingtalk", 300001): "token", ("dingtalk", 130101): "rate",
    ("dingtalk", 410100): "rate", ("dingtalk", -1): "busy",
    ("wecom", 93000): "token", ("wecom", 45009): "rate", ("wecom", -1): "busy",
    ("wecom", 40008): "format",  # (WeCom's global codes: 不合法的msgtype参数, "invalid message type")
    ("feishu", 19021): "sign", ("feishu", 19022): "ip", ("feishu", 19024): "keyword", ("feishu", 9499): "rate",
    ("feishu", 11232): "rate",
}
REFUSED = ("{robot} robot refused ({said})", "{robot}机器人拒绝（{said}）")
NOT_JSON = ("{robot} robot answered HTTP 200 but not with JSON: delivery not confirmed",
            "{robot}机器人答复 HTTP 200 但不是 JSON，无法确认已送达")
NO_CODE = ("{robot} robot answered without {field}: delivery not confirmed", "{robot}机器人的答复中没有 {field}，无法确认已送达")


@dataclass(frozen=True, slots=True)
class Refusal:
    """A chat robot's HTTP 200 reply that does not say it took the message: an error code (the
    commonest named in words), no code at all, or no JSON. Retried unless the code names a setting
    to fix (token, signature, keyword, IP allow-list) or a message the robot never takes."""

    robot: str  # dingtalk | wecom | feishu | lark
    field: str = ""  # the reply's code field (errcode, code, StatusCode); "" when it has none
    value: str = ""  # that code, as the robot wrote it
    message: str = ""  # the robot's words (the whole reply when it has no code), redacted and cut
    json: bool = True  # False: the reply is not JSON

    @property
    def meaning(self) -> str | None:
        try:
            code = int(self.value)
        except ValueError:
            return None
        return ROBOT_CODES.get(("feishu" if self.robot == "lark" else self.robot, code))

    @property
    def retryable(self) -> bool:
        meaning = self.meaning
        return meaning is None or meaning in PASSING

    def render(self, lang: str) -> str:
        zh = lang != "en"
        robot = robot_name(self.robot, zh)
        if not self.json or not self.field:
            text = (NOT_JSON if not self.json else NO_CODE)[zh].format(robot=robot, field=CODE_FIELDS[self.robot][0])
            return text + (REPLY[zh].format(reply=self.message) if self.message else "")
        colon = "：" if zh else ": "
        said = f"{self.field} {self.value}" + (colon + self.message if self.message else "")
        meaning = self.meaning
        return REFUSED[zh].format(robot=robot, said=said) + (colon + MEANINGS[meaning][zh] if meaning else "")

    def error(self) -> DeliveryError:
        return DeliveryError(self.render("en"), zh=self.render("zh"), retryable=self.retryable)


def of_robot_reply(robot: str, raw: bytes, redact: Callable[[str], str]) -> Refusal | None:
    """None when a robot's HTTP 200 reply (*raw*) says it took the message, else why not."""
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return Refusal(robot, message=short(text, redact), json=False)
    if not isinstance(data, dict):
        return Refusal(robot, message=short(text, redact))
    for name in CODE_FIELDS[robot]:
        if name not in data:
            continue
        value = data[name]
        if (value == 0 and not isinstance(value, bool)) or value == "0":
            return None
        words = next((data[k] for k in _MESSAGE_FIELDS[name] if isinstance(data.get(k), str)), "")
        return Refusal(robot, name, short(str(value), redact)[:24], short(words, redact))
    return Refusal(robot, message=short(text, redact))


__all__ = ["WORDS", "Reason", "Refusal", "call", "of_exception", "of_log", "of_robot_reply", "of_text"]
