"""The demo screen's township table: columns aligned by display width (Chinese characters take
two cells), in the language asked, townships below their target marked."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from wcwidth import wcswidth

from collector.cli.demo_screen import TownshipRow, render, township_table
from collector.runtime.camera_state import State

ZH_MARK, EN_MARK = "▼ 低于目标", "▼ below target"


def _ends(line: str) -> list[int]:
    """The display column where each space-separated token of *line* ends."""
    ends, col, inside = [], 0, False
    for ch in line:
        if ch == " " and inside:
            ends.append(col)
        inside = ch != " "
        col += max(wcswidth(ch), 0)
    return [*ends, col] if inside else ends


CASES = [
    # (rows, lang, header start, marked township names)
    ([TownshipRow("城关镇", 93, 7, 0, 0.95), TownshipRow("柳林乡", 96, 4, 0, 0.95)], "zh", "乡镇/街道", {"城关镇"}),
    ([TownshipRow("城关镇", 93, 7, 0, 0.95), TownshipRow("柳林乡", 96, 4, 0, 0.95)], "en", "township", {"城关镇"}),
    ([TownshipRow("周桥", 9, 1, 0, 0.9), TownshipRow("Xinzhuang", 1, 1, 3, 0.5), TownshipRow("大前村乡镇街道", 0, 0, 6, 0.95)],
     "zh", "乡镇/街道", set()),  # exactly on target is not below; no eligible camera: no rate, no mark
    ([TownshipRow("a", 0, 5, 0, None), TownshipRow("北", 1, 0, 0, 1.0), TownshipRow("东关街道", 949, 51, 0, 0.95)],
     "en", "township", {"东关街道"}),  # unknown target: no mark
]


@pytest.mark.parametrize("rows,lang,head,marked", CASES)
def test_township_table(rows: list[TownshipRow], lang: str, head: str, marked: set[str]) -> None:
    mark = EN_MARK if lang == "en" else ZH_MARK
    lines = township_table(rows, lang)
    assert lines[0].startswith(head) and len(lines) == len(rows) + 1
    other = ZH_MARK if lang == "en" else EN_MARK
    assert not any(other in line for line in lines)
    for row, line in zip(rows, lines[1:], strict=True):
        assert line.startswith(row.name)
        assert line.endswith(mark) == (row.name in marked), line
    # every column but the township ends at the same display column on every line
    cut = [line.removesuffix("  " + mark) for line in lines]
    columns = [_ends(line)[-5:] for line in cut]
    assert all(c == columns[0] for c in columns), "\n".join(lines)
    assert len({wcswidth(line) for line in cut}) == 1, "\n".join(lines)


def test_rate_and_target_shown() -> None:
    [_, row] = township_table([TownshipRow("城关镇", 93, 7, 0, 0.95)], "zh")
    assert "93.00%" in row and "95%" in row
    [_, row] = township_table([TownshipRow("城关镇", 0, 0, 2, 0.95)], "zh")
    assert "—" in row and ZH_MARK not in row


def _slot(town: str, name: str, shown: State, cid: int) -> SimpleNamespace:
    labels = SimpleNamespace(township=town, township_name=name, village_name="南庄村")
    status = SimpleNamespace(since=dt.datetime(2026, 11, 23, 2, 0, cid, tzinfo=dt.UTC), cause=None, flapping=cid == 1)
    return SimpleNamespace(cam=SimpleNamespace(name=f"cam{cid}", labels=labels), shown=shown, status=status)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_screen_in_the_language_asked_with_per_township_targets(lang: str) -> None:
    slots = {1: _slot("t1", "城关镇", State.OFFLINE, 1), 2: _slot("t1", "城关镇", State.ONLINE, 2),
             3: _slot("t2", "柳林乡", State.ONLINE, 3)}
    figures = SimpleNamespace(targets={("township", "t2"): 0.99, ("township", "t1"): 0.4})
    app = SimpleNamespace(scheduler=SimpleNamespace(slots=slots), figures=figures)
    text = render(app, 3, 0.0, "http://127.0.0.1:1", lang=lang, default_target=0.95)
    township_lines = [x for x in text.splitlines() if x.startswith(("城关镇", "柳林乡"))]
    assert len(township_lines) == 2 and not any("▼" in x for x in township_lines)  # 50% >= 40%, 100% >= 99%
    if lang == "en":
        assert "1 camera(s) offline:" in text and "(flapping)" in text and "press Ctrl-C" in text
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in text.replace("城关镇", "").replace("柳林乡", "").replace("南庄村", ""))
    else:
        assert "离线摄像机 1 台：" in text and "（频繁上下线）" in text and "按 Ctrl-C 退出" in text
    app.figures = SimpleNamespace(targets={})  # not known yet: the configured target
    text = render(app, 3, 0.0, "http://127.0.0.1:1", lang=lang, default_target=0.95)
    assert [x for x in text.splitlines() if x.startswith("城关镇")][0].endswith("▼ 低于目标" if lang == "zh" else "▼ below target")


@pytest.mark.parametrize("lang,head,words", [("zh", "画面或时钟异常 1 台：", "时钟偏差 +600 秒"),
                                             ("en", "1 camera(s) degraded (picture or clock):", "clock")])
def test_degraded_cameras_listed_with_their_failed_checks(lang: str, head: str, words: str) -> None:
    """The demo's scripted clock 10 minutes off (degraded, not offline) shows on the screen."""
    bad = _slot("t1", "城关镇", State.DEGRADED, 4)
    bad.failed_checks = lambda: ("clock:+600",)
    slots = {4: bad, 2: _slot("t1", "城关镇", State.ONLINE, 2)}
    app = SimpleNamespace(scheduler=SimpleNamespace(slots=slots), figures=None)
    lines = render(app, 2, 0.0, "http://127.0.0.1:1", lang=lang).splitlines()
    at = lines.index(head)
    assert "cam4" in lines[at + 1] and words in lines[at + 1], lines
    slots[4] = _slot("t1", "城关镇", State.ONLINE, 4)
    assert head not in render(app, 2, 0.0, "http://127.0.0.1:1", lang=lang)  # none degraded: no list
