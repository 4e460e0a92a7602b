"""A probe stage's detail in the reader's language, for every place that shows one (the console's
camera page, ``camwatch probe``): the probes word their details in English, and the common phrases
have Chinese words here; anything else is shown as it is."""

from __future__ import annotations

import re

from probes.checks import check_words

# A probe stage's detail in Chinese: the common phrases of probes.reach / rtsp / onvif / frame / ladder
# (whole detail: a regex and its words, "{0}" its first group). A detail matching none is shown as it is.
DETAIL_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(rx), zh) for rx, zh in (
    (r"tcp (\d+) open", "TCP {0} 端口可连接"),
    (r"clock offset ([+-]?[\d.]+) s", "时钟偏差 {0} 秒"),
    (r"backing off after failed login, (\d+) s left", "登录失败后暂停尝试，还剩 {0} 秒"),
    (r"onvif disabled", "未启用 ONVIF"),
    (r"connection refused", "连接被拒绝"), (r"connect timed out", "连接超时"), (r"timed out", "超时"),
    (r"no reply in time", "未按时应答"), (r"connection reset by camera", "连接被摄像机重置"),
    (r"malformed reply", "应答格式错误"), (r"no address answered", "所有地址均无应答"), (r"unreachable", "不可达"),
    (r"not an RTSP reply", "不是 RTSP 应答"), (r"no video track in SDP", "SDP 中没有视频轨道"),
    (r"no answer within ([\d.]+) s", "{0} 秒内无应答"), (r"picture ok", "画面正常"),
    (r"video", "视频"), (r"(\d+x\d+); (.+)", "{0}；{1}"),
    (r"([A-Z0-9][A-Z0-9.+-]*|video)( \d+x\d+)?( (?:basic|digest) auth)?", "{0}{1}{2}"),  # rtsp: codec, size, login
    (r" basic auth", "，基本认证"), (r" digest auth", "，摘要认证"),
))
DETAIL_HEADS: dict[str, str] = {  # "<head>: <rest>": the head in words, the rest translated in turn
    "credentials refused": "凭据被拒绝", "auth failed": "认证失败", "refused": "被拒绝", "timeout": "超时",
    "stream not found": "码流不存在", "stream unavailable": "码流不可用", "no frame": "未取到画面", "error": "出错",
    "name not resolved": "域名无法解析", "connect failed": "连接失败", "socket error": "套接字错误",
    "network error": "网络错误", "bad HTTP reply": "HTTP 应答异常", "bad reply": "应答异常",
    "picture fails": "画面异常", "no login attempted": "未尝试登录",
}


def detail_words(detail: str, lang: str) -> str:
    """A probe stage's detail in the reader's language: English as the probes word it, Chinese for
    the common phrases (picture checks by :func:`probes.checks.check_words`); anything else as it is."""
    if lang == "en" or not detail:
        return detail
    for rx, zh in DETAIL_WORDS:
        m = rx.fullmatch(detail)
        if m is not None:
            parts = [detail_words(g, lang) if g and g != detail else (g or "") for g in m.groups()]
            return zh.format(*parts)
    head, sep, rest = detail.partition(": ")
    if sep and head in DETAIL_HEADS:
        if head == "picture fails":
            return DETAIL_HEADS[head] + "：" + "、".join(check_words(c.strip(), lang) for c in rest.split(","))
        return DETAIL_HEADS[head] + "：" + detail_words(rest, lang)
    return detail


__all__ = ["DETAIL_HEADS", "DETAIL_WORDS", "detail_words"]
