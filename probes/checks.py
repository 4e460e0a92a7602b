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
    """The checks, in the order ``probes.vqd.run_checks`` returns them (``frozen`` last)."""

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


def check_words(name: str, lang: str = "zh") -> str:
    """Words for the check called *name*; a name not declared here is shown as it is."""
    try:
        w = CHECK_WORDS[VqdName(name)]
    except ValueError:
        return name
    return w.en if lang == "en" else w.zh


def picture_words(checks: Sequence[str], lang: str = "zh") -> str:
    """"画面异常：黑屏、模糊" / "picture problem: black, blurred" for the failed *checks*."""
    names = [check_words(c, lang) for c in checks]
    if lang == "en":
        return "picture problem" + (": " + ", ".join(names) if names else "")
    return "画面异常" + ("：" + "、".join(names) if names else "")
