"""The picture checks (VQD): the one declaration of every check's name and words.

``probes.vqd`` runs the checks; the CLI and alert messages take their words from here.
A leaf module: it imports nothing of the project (and no numpy or OpenCV).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class CheckWords:
    zh: str
    en: str


class VqdName(StrEnum):
    """The checks, in the order ``probes.vqd.run_vqd`` returns them (``frozen`` last)."""

    SIGNAL_LOSS = "signal_loss"
    BLACK = "black"
    DARK = "dark"
    BRIGHT = "bright"
    CONTRAST = "contrast"
    BLUR = "blur"
    NOISE = "noise"
    COLOR_CAST = "color_cast"
    FROZEN = "frozen"
    OCCLUSION = "occlusion"


#: Every check's words (a test checks that each :class:`VqdName` is here).
CHECK_WORDS: MappingProxyType[VqdName, CheckWords] = MappingProxyType({
    VqdName.SIGNAL_LOSS: CheckWords("信号丢失", "signal lost"),
    VqdName.BLACK: CheckWords("黑屏", "black"),
    VqdName.DARK: CheckWords("过暗", "too dark"),
    VqdName.BRIGHT: CheckWords("过亮", "too bright"),
    VqdName.CONTRAST: CheckWords("对比度低", "low contrast"),
    VqdName.BLUR: CheckWords("模糊", "blurred"),
    VqdName.NOISE: CheckWords("噪点", "noise"),
    VqdName.COLOR_CAST: CheckWords("偏色", "colour cast"),
    VqdName.FROZEN: CheckWords("冻结", "frozen"),
    VqdName.OCCLUSION: CheckWords("遮挡", "occluded"),
})


#: The clock check: not a picture check but made the same way (a failed check, the camera
#: degraded): the camera's clock (ONVIF) is off by more than ``probe.clock_skew_s``. In a list
#: of failed checks it is ``clock``, or ``clock:+600`` with the offset in whole seconds.
CLOCK = "clock"
CLOCK_WORDS = CheckWords("时钟偏差", "clock offset")


def clock_check(offset_s: float | None) -> str:
    """The clock check's entry with its offset (``clock:+600``), or ``clock`` without one."""
    return CLOCK if offset_s is None else f"{CLOCK}:{offset_s:+.0f}"


def with_clock_offset(checks: Sequence[str], offset_s: float | None) -> tuple[str, ...]:
    """*checks* with a bare ``clock`` given its offset (what messages show)."""
    return tuple(clock_check(offset_s) if c == CLOCK else c for c in checks)


#: A clock offset of at least this many seconds reads in days, hours and minutes ("-400 天"): a
#: count of seconds that long says nothing at a glance; a shorter one stays in seconds ("+600 秒"),
#: the unit of the limit it is held against (``probe.clock_skew_s``).
LONG_OFFSET_S = 3600
_UNITS = (("天", "day"), ("小时", "h"), ("分钟", "min"))


def offset_words(offset: str, lang: str = "zh") -> str:
    """A clock offset as a probe prints it ("+0.2", "-34561234"), with its unit: seconds under
    :data:`LONG_OFFSET_S`, else its two largest units of days, hours and minutes ("-400 天",
    "+3 小时 20 分钟"; en "-400 days", "+3 h 20 min")."""
    en = lang == "en"
    try:
        value = float(offset)
    except ValueError:
        value = 0.0
    if not LONG_OFFSET_S <= abs(value) < 1e12:  # (a NaN, an infinity: as they are)
        return f"{offset} {'s' if en else '秒'}"
    minutes = int(round(abs(value)) // 60)
    days, rest = divmod(minutes, 1440)
    counts = (days, *divmod(rest, 60))
    first = next(i for i, n in enumerate(counts) if n)
    parts = [(n, _UNITS[i]) for i, n in enumerate(counts) if first <= i <= first + 1 and n]
    sign = "-" if value < 0 else "+" if offset.startswith("+") else ""
    if en:
        return sign + " ".join(f"{n} {u[1]}{'s' if u[1] == 'day' and n != 1 else ''}" for n, u in parts)
    return sign + " ".join(f"{n} {u[0]}" for n, u in parts)


def check_words(name: str, lang: str = "zh") -> str:
    """Words for the check called *name*; a name not declared here is shown as it is.
    The clock check reads "时钟偏差 +600 秒" / "clock offset +600 s" when it has its offset, a
    long one in days, hours and minutes ("时钟偏差 -400 天": :func:`offset_words`)."""
    if name == CLOCK or name.startswith(CLOCK + ":"):
        words = CLOCK_WORDS.en if lang == "en" else CLOCK_WORDS.zh
        offset = name[len(CLOCK) + 1:]
        return f"{words} {offset_words(offset, lang)}" if offset else words
    try:
        w = CHECK_WORDS[VqdName(name)]
    except ValueError:
        return name
    return w.en if lang == "en" else w.zh


def picture_words(checks: Sequence[str], lang: str = "zh", *, title: bool = False) -> str:
    """"画面异常：黑屏、模糊" / "picture problem: black, blurred" for the failed *checks*; in a
    *title*, which puts a colon of its own after them, the English checks go in brackets:
    "picture problem (black, blurred): 东关村村口 (城关镇)" (the Chinese title brackets the camera)."""
    names = [check_words(c, lang) for c in checks]
    if lang == "en":
        listed = ", ".join(names)
        return "picture problem" + ((f" ({listed})" if title else f": {listed}") if names else "")
    return "画面异常" + ("：" + "、".join(names) if names else "")


def problem_words(checks: Sequence[str], lang: str = "zh", *, title: bool = False) -> str:
    """Why a camera is degraded: the picture checks as :func:`picture_words` (*title* as there),
    then the clock ("画面异常：黑屏；时钟偏差 +600 秒" / "picture problem: black; clock offset +600 s")."""
    clock = [c for c in checks if c == CLOCK or c.startswith(CLOCK + ":")]
    picture = [c for c in checks if c not in clock]
    parts = [picture_words(picture, lang, title=title)] if picture or not clock else []
    parts += [check_words(c, lang) for c in clock[:1]]
    return ("; " if lang == "en" else "；").join(parts)
