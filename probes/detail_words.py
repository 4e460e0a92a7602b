"""A probe stage's detail in the reader's language, for every place that shows one (the console's
camera page, ``camwatch probe``): the probes word their details in English, and every phrase they
build has Chinese words here (tables below, one row per phrase); anything else is shown as it is.

What a detail quotes stays as it is inside the Chinese: numbers, status codes and the camera's own
words (a reason phrase, a SOAP fault, a codec, its model), and an operating system's error text
next to its Chinese ("主机不可达（No route to host）"), for the technician who searches for it.
Text not known here (a camera's, a library's) is shown as it is: never guessed at.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from probes.base import Stage
from probes.causes import Cause
from probes.checks import VqdName, check_words, offset_words
from probes.redact import WITHHELD, shown_detail

# Whole details (or parts after a head) worded by the probers, and their Chinese.
PHRASES: dict[str, str] = {
    # reach, rtsp, onvif: connections
    "connection refused": "连接被拒绝", "connect timed out": "连接超时", "timed out": "超时",
    "no reply in time": "未按时应答", "connection reset by camera": "连接被摄像机重置",
    "connection closed by camera": "连接被摄像机关闭", "no address answered": "所有地址均无应答",
    "unreachable": "不可达", "malformed reply": "应答格式错误", "onvif disabled": "未启用 ONVIF",
    "no ping reply": "ping 无应答", "video": "视频", "error": "出错",
    # rtsp: the camera's reply
    "not an RTSP reply": "不是 RTSP 应答", "bad RTSP status line": "RTSP 状态行格式错误",
    "malformed RTSP header line": "RTSP 头部行格式错误", "reply header over the line caps": "应答头部超出行数或行长上限",
    "unsolicited data from camera": "摄像机发来未请求的数据", "reply without CSeq": "应答缺少 CSeq",
    "camera answered with TLS (an RTSPS port?)": "摄像机以 TLS 应答（可能是 RTSPS 端口？）",
    "bad Content-Length": "Content-Length 无效", "no video track in SDP": "SDP 中没有视频轨道",
    "credentials contain a line break": "凭据中含有换行符", "redirect loop": "重定向循环",
    "401 without a supported challenge": "401 应答未给出支持的认证方式",
    "401 without an authentication challenge (no WWW-Authenticate)": "401 应答未给出认证方式（缺少 WWW-Authenticate）",
    "reply to DESCRIBE without SDP": "DESCRIBE 应答中没有 SDP", "reply to DESCRIBE is not SDP": "DESCRIBE 应答不是 SDP",
    # onvif: HTTP and SOAP
    "connection already closed": "连接已关闭", "connection closed before the reply": "应答前连接被关闭",
    "connection closed in the middle of the reply": "应答中途连接被关闭",
    "not an HTTP reply (TLS: an HTTPS port?)": "不是 HTTP 应答（TLS，可能是 HTTPS 端口？）",
    "not an HTTP reply (TLS or garbage)": "不是 HTTP 应答（TLS 或乱码）", "malformed reply header": "应答头部格式错误",
    "chunk not followed by CRLF": "分块后缺少 CRLF", "malformed chunk size": "分块长度格式错误",
    "malformed chunked body: a size or trailer line too long": "分块正文格式错误：长度行或尾部行过长",
    "document type declaration (DTD)": "文档类型声明（DTD）", "entity declaration": "实体声明",
    "external entity reference": "外部实体引用", "nested too deeply": "XML 嵌套过深", "empty document": "XML 文档为空",
    "SOAP envelope without a Body": "SOAP 信封缺少 Body",
    "the camera's date and time has no UTCDateTime": "摄像机的日期时间中没有 UTCDateTime",
    "the camera's UTCDateTime is out of range": "摄像机的 UTCDateTime 超出范围",
    "the camera wants credentials for its clock; none given": "摄像机读取时钟也要求登录，但未配置凭据",
    # frame: the grab
    "camera refused the credentials": "摄像机拒绝了凭据", "no route to host": "主机不可达",
    "network unreachable": "网络不可达", "the stream has no video track": "码流中没有视频轨道", "cancelled": "已取消",
    "stream opened but ended before any frame": "码流已打开，但未收到任何帧就结束了",
    "no keyframe for the second picture": "第二幅画面缺少关键帧", "second picture not decoded": "第二幅画面未能解码",
    "no decodable video in the stream (invalid data from the camera)": "码流中没有可解码的视频（摄像机发来的数据无效）",
    "picture ok": "画面正常", WITHHELD: "（摄像机应答中含其密码，详情不显示）", "unreadable RTSP reply (invalid data from the camera)": "RTSP 应答无法解析（摄像机发来的数据无效）",
    # the collector's warning for a camera whose stored password cannot be read ("no login attempted: <why>",
    # inventory.secrets.SecretError's words) and probes.enrich's own
    "no encryption key: cannot read stored passwords": "没有密钥，无法读取已存密码",
    "no encryption key: set CAMWATCH_SECRET_KEY or secrets.key_file": "没有密钥（请设置 CAMWATCH_SECRET_KEY 或 secrets.key_file）",
    "stored password cannot be decrypted with this key": "已存密码无法用当前密钥解密（密钥不对）",
    "unknown credential reference": "无法识别的凭据引用", "onvif disabled for this camera": "该摄像机未启用 ONVIF",
    # expat's words in "malformed XML: ..." (the common ones)
    "syntax error": "语法错误", "not well-formed (invalid token)": "格式不正确（无效记号）", "mismatched tag": "标签不匹配",
    "no element found": "未找到元素", "unclosed token": "记号未闭合", "junk after document element": "文档元素后有多余内容",
    "undefined entity": "未定义的实体", "unbound prefix": "前缀未绑定", "duplicate attribute": "属性重复",
    "XML declaration not well-formed": "XML 声明格式不正确", "unclosed CDATA section": "CDATA 段未闭合",
}

# Error texts of the operating system (strerror), its resolver and FFmpeg that details quote: the
# Chinese with the text itself in brackets.
SYSTEM_WORDS: dict[str, str] = {
    "No route to host": "主机不可达", "Network is unreachable": "网络不可达", "Host is down": "主机不在线",
    "Network is down": "网络已断开", "Connection timed out": "连接超时", "Operation timed out": "操作超时",
    "Cannot assign requested address": "无法使用所请求的地址", "Connection refused": "连接被拒绝",
    "Connection reset by peer": "连接被对方重置", "Broken pipe": "连接已断开", "Software caused connection abort": "连接被中止",
    "Permission denied": "权限不足", "Operation not permitted": "操作不被允许", "Too many open files": "打开的文件过多",
    "Address already in use": "地址已被占用", "Resource temporarily unavailable": "资源暂时不可用", "Protocol error": "协议错误",
    "Name or service not known": "域名或服务未知", "Temporary failure in name resolution": "域名解析暂时失败",
    "No address associated with hostname": "该主机名没有对应的地址", "Name has no usable address": "该名称没有可用地址",
    "Non-recoverable failure in name resolution": "域名解析出现无法恢复的错误", "System error": "系统错误",
    "Input/output error": "输入/输出错误", "End of file": "数据已结束", "Immediate exit requested": "被要求立即退出",
    "Invalid data found when processing input": "处理输入时发现无效数据", "Protocol not found": "不支持的协议",
    "Server returned 5XX Server Error reply": "服务器返回 5XX 服务器错误",
    "Server returned 4XX Client Error, but not one of 40{0,1,3,4}": "服务器返回 4XX 客户端错误",
}

# What a status code means (RTSP, RFC 2326; HTTP for ONVIF where it differs), shown before the status line.
STATUS_WORDS: dict[int, str] = {
    400: "请求错误", 401: "需要认证", 403: "禁止访问", 404: "码流不存在", 405: "不支持该方法", 406: "无法接受",
    408: "请求超时", 413: "请求过大", 415: "不支持的媒体类型", 451: "参数不被理解", 453: "带宽不足",
    454: "会话不存在", 455: "当前状态下不允许该方法", 457: "范围无效", 459: "不允许对整个会话操作",
    461: "不支持的传输方式", 500: "摄像机内部错误", 501: "功能未实现", 502: "网关错误", 503: "服务不可用",
    504: "网关超时", 505: "协议版本不受支持",
}
HTTP_STATUS_WORDS: dict[int, str] = {200: "应答没有内容", 404: "ONVIF 服务地址不存在"}

# "<head>: <rest>": the head in words, the rest translated in turn.
DETAIL_HEADS: dict[str, str] = {
    "credentials refused": "认证被拒绝", "auth failed": "认证失败", "refused": "连接被拒绝", "timeout": "超时",
    "unreachable": "不可达", "stream not found": "码流不存在", "stream unavailable": "码流不可用",
    "no frame": "未取到画面", "error": "出错", "cancelled": "已取消", "decoder error": "解码出错",
    "name not resolved": "域名无法解析", "connect failed": "连接失败", "socket error": "套接字错误",
    "network error": "网络错误", "bad HTTP reply": "HTTP 应答异常", "bad reply": "应答异常",
    "forbidden XML construct": "禁止的 XML 结构", "no login attempted": "未尝试登录",
}

_AUTH = {"basic": "基本认证", "digest": "摘要认证"}
_STAGES = {"reach": "连通", "rtsp": "取流", "onvif": "ONVIF ", "frame": "画面"}  # (before 阶段)
_CAUSES = {c.value for c in Cause}


def _status(line: str, http: bool = False) -> str:
    """A status line ("454 Session Not Found", "HTTP 404 Not Found") kept as it is, after its meaning."""
    code = int(line.removeprefix("HTTP ")[:3])
    words = (HTTP_STATUS_WORDS.get(code) if http else None) or STATUS_WORDS.get(code, "应答状态异常")
    return f"{words}（{line}）"


def _warning(m: re.Match[str]) -> str:
    """A ladder warning, "<stage> <cause>: <detail>" (the cause's words name the stage)."""
    if m["cause"] not in _CAUSES:
        return m[0]
    return Cause(m["cause"]).words("zh") + (f"：{_zh(m['t'])}" if m["t"] else "")


def _picture_fails(m: re.Match[str]) -> str:
    return "画面异常：" + "、".join(check_words(c.strip(), "zh") for c in m["checks"].split(","))


# The phrases with numbers or quoted text in them: a regex of the whole detail and its Chinese
# (str.format with the named groups: a group named "t..." is translated in turn, any other is
# kept as it is), or a function of the match. The first one matching wins.
_Rule = tuple[str, str | Callable[[re.Match[str]], str]]
_RULES: tuple[_Rule, ...] = (
    # endings added to a detail: ping (reach), the login back-off (rtsp), the clock (onvif)
    (r"(?P<t>.+); ping (?P<ms>[\d.]+) ms", "{t}；ping 往返 {ms} 毫秒"),
    (r"(?P<t>.+); no ping reply", "{t}；ping 无应答"),
    (r"(?P<t>.+); icmp not possible \((?P<t2>.+)\)", "{t}；无法 ping：{t2}"),
    (r"(?P<t>.+); next login attempt in (?P<n>\d+) s", "{t}；{n} 秒后再尝试登录"),
    (r"(?P<t>.+) \(clock offset (?P<o>[+-]?[\d.]+) s\)", lambda m: f"{_zh(m['t'])}，时钟偏差 {_offset(m['o'])}"),
    # reach
    (r"tcp (?P<p>\d+) open", "TCP {p} 端口可连接"),
    # any stage: its time limit, a prober's bug, the collector's back-off
    (r"no answer within (?P<s>[\d.]+) s", "{s} 秒内无应答"),
    (r"reply too slow: started at once, not finished within (?P<b>[\d.]+) s", "应答过慢：立即开始应答，但 {b} 秒内未完成"),
    (r"reply to (?P<req>[A-Za-z]+) too slow: started at once, not finished within (?P<b>[\d.]+) s",
     "{req} 请求应答过慢：发出后立即开始应答，但 {b} 秒内未完成"),
    (r"reply too slow: first reply after (?P<a>[\d.]+) s, not finished within (?P<b>[\d.]+) s",
     "应答过慢：{a} 秒后才开始应答，{b} 秒内未完成"),
    (r"no answer to (?P<req>[A-Za-z]+) within (?P<s>[\d.]+) s", "{req} 请求 {s} 秒内无应答"),
    (r"no answer to (?P<req>[A-Za-z]+) \(sent after (?P<a>[\d.]+) s\) within (?P<s>[\d.]+) s",
     "{req} 请求（{a} 秒时发出）在 {s} 秒时限内无应答"),
    (r"reply to (?P<req>[A-Za-z]+) too slow: started (?P<a>[\d.]+) s after it was sent, not finished within (?P<b>[\d.]+) s",
     "{req} 请求应答过慢：发出 {a} 秒后才开始应答，{b} 秒内未完成"),
    (r"no answer within (?P<s>[\d.]+) s after (?P<n>\d+) answered requests?", "已应答 {n} 个请求，之后 {s} 秒内无应答"),
    (r"(?P<stage>reach|rtsp|onvif|frame) prober error: (?P<x>.+)", lambda m: f"{_STAGES[m['stage']]}阶段探测程序出错：{m['x']}"),
    (r"backing off after failed login, (?P<n>\d+) s left", "登录失败后暂停尝试，还剩 {n} 秒"),
    (r"environment variable (?P<v>\S+) is not set", "环境变量 {v} 未设置"),
    # rtsp: a stream described
    (r"(?P<tc>.+?)(?P<size> \d+x\d+)? (?P<a>basic|digest) auth", lambda m: f"{_zh(m['tc'])}{m['size'] or ''}，{_AUTH[m['a']]}"),
    (r"video(?P<size> \d+x\d+)?", lambda m: f"视频{m['size'] or ''}"),
    # rtsp: the camera's reply
    (r"credentials refused \((?P<st>.+)\)", "认证被拒绝（{st}）"),
    (r"(?P<st>\d{3}(?: .+)?) \(no credentials given\)", lambda m: f"{_status(m['st'])}，未提供凭据"),
    (r"unexpected status (?P<st>.+)", "意外的应答状态（{st}）"),
    (r"(?P<code>\d{3}) redirect without Location", "{code} 重定向缺少 Location"),
    (r"camera answered in RTSP/(?P<v>\d(?:\.\d+)?), not RTSP/1\.0", "摄像机以 RTSP/{v} 应答，不是 RTSP/1.0"),
    (r"camera asks for an authentication scheme camwatch does not support \((?P<x>.+)\)", "摄像机要求的认证方式不受支持（{x}）"),
    (r"\d{3}(?: .+)?", lambda m: _status(m[0])),
    (r"CSeq mismatch \(sent (?P<a>\d+), got (?P<b>\d+)\)", "CSeq 不匹配（发送 {a}，收到 {b}）"),
    (r"CSeq mismatch \(sent (?P<a>\d+), got something else\)", "CSeq 不匹配（发送 {a}，收到的不是数字）"),
    (r"reply header line longer than (?P<n>\d+) bytes", "应答头部单行超过 {n} 字节"),
    (r"reply header of more than (?P<n>\d+) lines", "应答头部超过 {n} 行"),
    (r"reply header longer than (?P<n>\d+) bytes", "应答头部超过 {n} 字节"),
    (r"reply larger than (?P<n>\d+) bytes", "应答超过 {n} 字节"),
    (r"redirect to unsupported URL (?P<u>.+)", "重定向到不支持的地址 {u}"),
    (r"redirected to (?P<h>.+) \(another host, not followed\)", "重定向到其他主机 {h}（未跟随）"),
    (r"more than (?P<n>\d+) redirects", "重定向超过 {n} 次"),
    (r"SDP larger than (?P<n>\d+) bytes", "SDP 超过 {n} 字节"),
    (r"unreadable SDP \((?P<x>.+)\)", "SDP 无法解析（{x}）"),
    # onvif: the clock and the camera's identity; refusals, faults, statuses
    (r"clock offset (?P<o>[+-]?[\d.]+) s", lambda m: f"时钟偏差 {_offset(m['o'])}"),
    (r"clock offset (?P<o>[+-]?[\d.]+) s; (?P<dev>.+)", lambda m: f"时钟偏差 {_offset(m['o'])}；{m['dev']}"),
    (r"credentials refused: (?P<st>HTTP \d{3}.*)", "认证被拒绝（{st}）"),
    (r"HTTP (?P<code>\d{3}) fault (?P<f>.+)", "摄像机返回 SOAP 错误：{f}（HTTP {code}）"),
    (r"HTTP \d{3}(?: .+)?", lambda m: _status(m[0], http=True)),
    # onvif: the reply's HTTP
    (r"reply head larger than (?P<n>\d+) bytes", "应答头部超过 {n} 字节"),
    (r"reply head with more than (?P<n>\d+) lines", "应答头部超过 {n} 行"),
    (r"more than (?P<n>\d+) interim \(1xx\) replies", "临时应答（1xx）超过 {n} 个"),
    (r"reply body larger than (?P<n>\d+) bytes", "应答正文超过 {n} 字节"),
    (r"reply body of (?P<a>\d+) bytes exceeds the cap of (?P<b>\d+)", "应答正文 {a} 字节，超过上限 {b} 字节"),
    (r"reply in more than (?P<n>\d+) chunks", "应答分块超过 {n} 个"),
    (r"more than (?P<n>\d+) trailer lines", "尾部字段超过 {n} 行"),
    # onvif: the reply's XML and SOAP
    (r"malformed XML: (?P<t>.+) at line (?P<l>\d+), column (?P<c>\d+)", "XML 格式错误：{t}（第 {l} 行第 {c} 列）"),
    (r"more than (?P<n>\d+) elements", "XML 元素超过 {n} 个"),
    (r"nested deeper than (?P<n>\d+) levels", "XML 嵌套超过 {n} 层"),
    (r"document of (?P<a>\d+) bytes exceeds the cap of (?P<b>\d+)", "XML 文档 {a} 字节，超过上限 {b} 字节"),
    (r"not a SOAP envelope \(root element (?P<r>.+)\)", "不是 SOAP 信封（根元素 {r}）"),
    (r"missing or bad (?P<f>\S+) in the camera's date and time", "摄像机日期时间中的 {f} 缺失或无效"),
    (r"no (?P<e>\w+) in the reply", "应答中没有 {e}"),
    # frame
    (r"(?P<size>\d+x\d+); picture fails: (?P<checks>.+)", lambda m: f"{m['size']}；{_picture_fails(m)}"),
    (r"(?P<size>\d+x\d+); (?P<t>.+)", "{size}；{t}"),
    (r"picture fails: (?P<checks>.+)", _picture_fails),
    (r"camera answered RTSP (?P<code>\d{3}) to (?P<m>[A-Z_]+)", "摄像机对 {m} 请求应答 RTSP {code}"),
    (r"camera answered RTSP (?P<code>\d{3})", "摄像机应答 RTSP {code}"),
    (r"stalled: no new frame for (?P<s>[\d.]+) s after (?P<n>\d+) frames?", "画面停滞：收到 {n} 帧后 {s} 秒没有新帧"),
    (r"stalled: stream ended after (?P<n>\d+) frames?", "画面停滞：收到 {n} 帧后码流结束"),
    (r"no video data within (?P<s>[\d.]+) s after PLAY", "PLAY 后 {s} 秒内没有视频数据"),
    (r"RTSP set-up not finished within (?P<s>[\d.]+) s", "RTSP 会话建立 {s} 秒内未完成"),
    (r"no picture decoded within (?P<s>[\d.]+) s \((?P<n>\d+) frames\)", "{s} 秒内未解码出画面（收到 {n} 帧）"),
    (r"decoder gave no frame within (?P<s>[\d.]+) s; killed", "解码进程 {s} 秒内未给出画面，已终止"),
    (r"decoder process died \(exit status (?P<c>\S+)\)", "解码进程意外退出（退出状态 {c}）"),
    # a ladder warning: "onvif onvif_auth_failed: credentials refused: HTTP 401"
    (r"(?:reach|rtsp|onvif|frame) (?P<cause>[a-z_]+)(?:: (?P<t>.+))?", _warning),
)
DETAIL_WORDS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(rx), zh) for rx, zh in _RULES)


_WORD = re.compile(r"[A-Za-z0-9]+")
_REGEX_SYNTAX = re.compile(r"\(\?P<\w+>|\[[^\]]*\]|\\.")  # (group names, classes, escapes: no words)


@functools.cache
def own_words() -> frozenset[str]:
    """The words (not numbers) we put in a detail or a warning: the tables' above, stages', causes', checks'."""
    texts = [*(p for p in PHRASES if p != WITHHELD), *DETAIL_HEADS, *SYSTEM_WORDS, *Stage, *Cause, *VqdName]
    texts += [_REGEX_SYNTAX.sub(" ", rx.pattern) for rx, _ in DETAIL_WORDS]
    return frozenset(w for t in texts for w in _WORD.findall(t) if not w.isdigit())


def safe_detail(detail: str, secrets: Iterable[str | None]) -> str:
    """A stage's detail or a warning line, safe to show (:func:`probes.redact.shown_detail`: all of
    it withheld where it holds a password, never a ``***`` at its place); our own words
    (:func:`own_words`) are not looked at: the password ``open`` leaves ``tcp 554 open`` shown."""
    return shown_detail(detail, secrets, own_words())


def _offset(offset: str) -> str:
    """A detail's clock offset in Chinese: a long one in days, hours and minutes with the seconds
    the probe measured after it ("-400 天（-34561234.0 秒）")."""
    words = offset_words(offset)
    return words if words.endswith(" 秒") else f"{words}（{offset} 秒）"


# A reply that started at once: probes.progress words it "first reply after 0.0 s" (or "started 0.0 s
# after it was sent"), read "started at once", in English too
_AT_ONCE = re.compile(r"(?:first reply after|started) 0\.0 s(?: after it was sent)?, not finished")


def detail_words(detail: str, lang: str) -> str:
    """A probe stage's detail in the reader's language: English as the probes word it, Chinese
    for every phrase of theirs (picture checks by :func:`probes.checks.check_words`); text not
    known here (a camera's own words, say) as it is. A reply that started at once reads so (not
    "after 0.0 s"); in Chinese a long clock offset in days, hours and minutes (:func:`offset_words`)."""
    if not detail:
        return detail
    if "0.0 s" in detail:
        detail = _AT_ONCE.sub("started at once, not finished", detail)
    if lang == "en":
        return detail
    return _zh(detail)


def _zh(text: str) -> str:
    zh = PHRASES.get(text) or DETAIL_HEADS.get(text)  # (a frame failure's head alone: "timeout")
    if zh is not None:
        return zh
    system = SYSTEM_WORDS.get(text)
    if system is not None:
        return f"{system}（{text}）"
    for rx, words in DETAIL_WORDS:
        m = rx.fullmatch(text)
        if m is not None:
            if not isinstance(words, str):
                return words(m)
            return words.format(**{k: _zh(v) if k.startswith("t") and v else v or "" for k, v in m.groupdict().items()})
    head, sep, rest = text.partition(": ")
    if sep and head in DETAIL_HEADS:
        head_zh, rest_zh = DETAIL_HEADS[head], _zh(rest)
        # "refused: connection refused", "unreachable: no route to host": said once
        return rest_zh if rest_zh.endswith(head_zh) else f"{head_zh}：{rest_zh}"
    return text


__all__ = ["DETAIL_HEADS", "DETAIL_WORDS", "HTTP_STATUS_WORDS", "PHRASES", "STATUS_WORDS", "SYSTEM_WORDS",
           "detail_words", "offset_words", "own_words", "safe_detail"]
