"""The live screen of ``camwatch demo``: townships with their online rate against the target
(those below it marked), then the offline cameras with their cause and the degraded ones (a bad
picture, a clock off) with their failed checks. Columns are aligned by
display width (a Chinese character takes two terminal cells; wcwidth knows), in the user's
language (``camwatch --lang en demo``)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from wcwidth import wcswidth

from collector.runtime.camera_state import State
from probes.causes import cause_words
from probes.checks import problem_words

WORDS: dict[str, tuple[str, str]] = {
    "title": ("camwatch 演示 · 模拟县 {n} 台摄像机 · 运行 {s} 秒 · 控制台 {url}/ · 指标 {url}/metrics · 接口 {url}/api/v1/cameras",
              "camwatch demo · simulated county, {n} cameras · up {s} s · console {url}/ · metrics {url}/metrics · "
              "API {url}/api/v1/cameras"),
    "township": ("乡镇/街道", "township"),
    "online": ("在线", "online"),
    "offline": ("离线", "offline"),
    "unknown": ("未知", "unknown"),
    "rate": ("在线率", "rate"),
    "target": ("目标", "target"),
    "below": ("▼ 低于目标", "▼ below target"),
    "offline_list": ("离线摄像机 {n} 台：", "{n} camera(s) offline:"),
    "since": ("自 {t}", "since {t}"),
    "flapping": ("（频繁上下线）", " (flapping)"),
    "degraded_list": ("画面或时钟异常 {n} 台：", "{n} camera(s) degraded (picture or clock):"),
    "more": ("……另有 {n} 台", "... and {n} more"),
    "quit": ("按 Ctrl-C 退出", "press Ctrl-C to quit"),
    "imported": ("导入 {cams} 台摄像机、{points} 个点位 → {db}", "imported {cams} cameras, {points} points → {db}"),
    "started": ("camwatch 已启动：{url}/metrics  {url}/healthz  {url}/api/v1/cameras",
                "camwatch running: {url}/metrics  {url}/healthz  {url}/api/v1/cameras"),
    "stopped": ("演示已停止。", "demo stopped."),
}
SHOWN_OFFLINE = 15
SHOWN_DEGRADED = 5


def say(lang: str, key: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if lang == "en" else zh).format(**values)


def width(text: str) -> int:
    """Terminal cells *text* takes (its length where wcwidth cannot tell, e.g. control characters)."""
    w = wcswidth(text)
    return w if w >= 0 else len(text)


def ljust(text: str, cells: int) -> str:
    return text + " " * max(0, cells - width(text))


def rjust(text: str, cells: int) -> str:
    return " " * max(0, cells - width(text)) + text


@dataclass(frozen=True, slots=True)
class TownshipRow:
    name: str
    online: int  # online or degraded: counted as up, as the online rate does
    offline: int
    unknown: int
    target: float | None  # the township's target (None: not known yet)

    @property
    def rate(self) -> float | None:
        eligible = self.online + self.offline
        return self.online / eligible if eligible else None

    @property
    def below(self) -> bool:
        return self.rate is not None and self.target is not None and self.rate < self.target


def township_table(rows: Iterable[TownshipRow], lang: str) -> list[str]:
    """Header and one line per township, columns aligned by display width; a township whose
    online rate is below its target ends with the marker."""
    rows = list(rows)
    heads = [say(lang, k) for k in ("township", "online", "offline", "unknown", "rate", "target")]
    cells = [[r.name, str(r.online), str(r.offline), str(r.unknown),
              f"{r.rate * 100:.2f}%" if r.rate is not None else "—",
              f"{r.target * 100:g}%" if r.target is not None else "—"] for r in rows]
    # the rate column as wide as "100.00%" from the start: it does not shift as a rate reaches 100%
    widths = [max(width(c[i]) for c in [heads, *cells, ["", "", "", "", "100.00%", ""]]) for i in range(len(heads))]

    def line(values: list[str], mark: str = "") -> str:
        first = ljust(values[0], widths[0])
        rest = "".join("  " + rjust(v, w) for v, w in zip(values[1:], widths[1:], strict=True))
        return (first + rest + ("  " + mark if mark else "")).rstrip()

    return [line(heads), *(line(c, say(lang, "below") if r.below else "") for c, r in zip(cells, rows, strict=True))]


def township_rows(slots: Iterable[Any], targets: Mapping[tuple[str, str], float], default_target: float) -> list[TownshipRow]:
    """One row per township of *slots*, by code; its target from the region figures (the
    inventory's per-region targets) or the configured one."""
    per: dict[str, Counter[State]] = {}
    names: dict[str, str] = {}
    for s in slots:
        code = s.cam.labels.township
        per.setdefault(code, Counter())[s.shown] += 1
        names[code] = s.cam.labels.township_name
    return [TownshipRow(names[code], per[code][State.ONLINE] + per[code][State.DEGRADED], per[code][State.OFFLINE],
                        per[code][State.UNKNOWN], targets.get(("township", code), default_target))
            for code in sorted(per)]


def render(app: Any, cameras: int, started: float, url: str, tz: str = "Asia/Shanghai", *, lang: str = "zh",
           default_target: float = 0.95) -> str:
    """The whole screen for the demo's running *app*."""
    zone = ZoneInfo(tz)
    slots = list(app.scheduler.slots.values())
    figures = getattr(app, "figures", None)
    targets = getattr(figures, "targets", None) or {}
    lines = [say(lang, "title", n=cameras, s=int(time.time() - started), url=url), "",
             *township_table(township_rows(slots, targets, default_target), lang)]
    offline = sorted((s for s in slots if s.shown is State.OFFLINE), key=lambda s: s.status.since or 0)
    lines += ["", say(lang, "offline_list", n=len(offline))]

    def listed(cams: list[Any], shown: int, why: Callable[[Any], str], mark: Callable[[Any], str] = lambda s: "") -> list[str]:
        """A line per camera (where, why, since when, a mark), the first *shown* of them."""
        out = []
        for s in cams[:shown]:
            lb = s.cam.labels
            since = s.status.since.astimezone(zone).strftime("%H:%M:%S") if s.status.since else "?"
            out.append(f"  {lb.township_name}/{lb.village_name}/{s.cam.name}  {why(s)}  {say(lang, 'since', t=since)}{mark(s)}")
        return out + (["  " + say(lang, "more", n=len(cams) - shown)] if len(cams) > shown else [])

    lines += listed(offline, SHOWN_OFFLINE, lambda s: cause_words(s.status.cause, lang),
                    lambda s: say(lang, "flapping") if s.status.flapping else "")
    degraded = sorted((s for s in slots if s.shown is State.DEGRADED), key=lambda s: s.status.since or 0)
    if degraded:
        lines += ["", say(lang, "degraded_list", n=len(degraded)),
                  *listed(degraded, SHOWN_DEGRADED, lambda s: problem_words(s.failed_checks(), lang))]
    lines += ["", say(lang, "quit")]
    return "\n".join(lines)
