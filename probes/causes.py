"""Why a camera is offline: the one declaration of every cause (code, words, class).

The CLI, the demo, alert messages and the dashboards take their words from here; the
words are chosen for a maintenance contractor ("power or network down", not "EHOSTUNREACH").
A leaf module: it imports nothing of the project, so ``dashboards.metrics`` may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class CauseClass(StrEnum):
    """Where the trouble lies (DESIGN §3), i.e. who goes to fix it."""

    NETWORK = "network"  # nothing answers: power, cable, switch, 4G router, uplink
    DEVICE = "device"  # the camera answers but a service of it does not work
    AUTH = "auth"  # the camera refuses our credentials
    STREAM = "stream"  # the RTSP stream is missing or broken
    VIDEO = "video"  # the stream opens but carries no moving picture


class Cause(StrEnum):
    """Why a camera is offline (or, for ONVIF causes, why it warns)."""

    UNREACHABLE = "unreachable"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    AUTH_FAILED = "auth_failed"
    STREAM_UNAVAILABLE = "stream_unavailable"
    PROTOCOL_ERROR = "protocol_error"
    ONVIF_AUTH_FAILED = "onvif_auth_failed"
    CREDENTIAL_UNAVAILABLE = "credential_unavailable"  # camwatch cannot read the stored password: no login tried
    ONVIF_ERROR = "onvif_error"
    NO_VIDEO = "no_video"
    UPSTREAM_DOWN = "upstream_down"
    # GB/T 28181 (DESIGN §11): the camera is known through a platform's signalling, not probed
    PLATFORM_OFFLINE = "platform_offline"  # its device's registration expired, or its keepalives stopped
    CHANNEL_OFF = "channel_off"  # its platform (NVR, lower platform) lists the channel with Status OFF
    # marked 接入方式 GB28181 but its device never registered, or its channel is missing from the
    # complete catalog of a device that did register (one code for both: metrics and reports use it)
    NOT_REGISTERED = "not_registered"

    @property
    def info(self) -> CauseInfo:
        return CAUSES[self]

    @property
    def network(self) -> bool:
        """A network-class cause: nothing answered, so the link (or the power) may be down."""
        return CAUSES[self].cls is CauseClass.NETWORK

    def words(self, lang: str = "zh") -> str:
        """The cause in words for people: Simplified Chinese unless *lang* is ``"en"``."""
        info = CAUSES[self]
        return info.en if lang == "en" else info.zh


@dataclass(frozen=True, slots=True)
class CauseInfo:
    zh: str
    en: str
    cls: CauseClass


_N, _D, _A, _S, _V = CauseClass.NETWORK, CauseClass.DEVICE, CauseClass.AUTH, CauseClass.STREAM, CauseClass.VIDEO

#: Every cause's words and class (a test checks that each :class:`Cause` is here).
CAUSES: MappingProxyType[Cause, CauseInfo] = MappingProxyType({
    Cause.UNREACHABLE: CauseInfo("断电或网络中断", "power or network down", _N),
    Cause.TIMEOUT: CauseInfo("无响应（超时）", "no answer (timeout)", _N),
    Cause.UPSTREAM_DOWN: CauseInfo("上联设备断电或网络中断", "upstream device down (power or network)", _N),
    Cause.PLATFORM_OFFLINE: CauseInfo("国标设备离线（注册过期或心跳中断）",
                                      "GB/T 28181 device offline (registration expired or keepalives stopped)", _N),
    Cause.CHANNEL_OFF: CauseInfo("国标通道离线（平台报告 OFF）", "GB/T 28181 channel off (reported OFF by its platform)", _N),
    Cause.REFUSED: CauseInfo("端口关闭（拒绝连接）", "port closed (connection refused)", _D),
    Cause.ONVIF_ERROR: CauseInfo("ONVIF 异常", "ONVIF error", _D),
    Cause.AUTH_FAILED: CauseInfo("用户名或密码错误", "wrong user name or password", _A),
    Cause.ONVIF_AUTH_FAILED: CauseInfo("ONVIF 用户名或密码错误", "ONVIF: wrong user name or password", _A),
    Cause.CREDENTIAL_UNAVAILABLE: CauseInfo("凭据不可用（无法解密或环境变量未设置）",
                                            "credential unavailable (cannot decrypt, or env variable unset)", _A),
    Cause.NOT_REGISTERED: CauseInfo("国标未注册（设备未注册，或通道不在其设备目录中）",
                                    "GB/T 28181 not registered (device never registered, or channel not in its "
                                    "device's catalog)", _D),
    Cause.STREAM_UNAVAILABLE: CauseInfo("码流不可用", "stream unavailable", _S),
    Cause.PROTOCOL_ERROR: CauseInfo("协议错误", "protocol error", _S),
    Cause.NO_VIDEO: CauseInfo("无视频画面", "no video", _V),
})

UNKNOWN_WORDS = ("未知", "unknown")


def cause_words(cause: Cause | None, lang: str = "zh") -> str:
    """Words for *cause*; ``None`` (a cause not recorded) is "unknown"."""
    if cause is None:
        return UNKNOWN_WORDS[1] if lang == "en" else UNKNOWN_WORDS[0]
    return cause.words(lang)


def cause_names(lang: str = "zh") -> dict[str, str]:
    """Code -> words of every cause, in declaration order (the dashboards' value mappings)."""
    return {c.value: c.words(lang) for c in Cause}
