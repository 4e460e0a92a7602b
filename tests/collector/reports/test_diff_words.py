"""``report diff`` in words (pure): rows named, figures by the workbook's headers, values as the
workbook shows them, in Chinese and English."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from collector.reports.diff_words import change_lines, value_words, where_words
from collector.reports.model import CauseTime
from collector.reports.snapshots import differences
from tests.collector.reports.sample import sample_report

TZ = "Asia/Shanghai"


@pytest.mark.parametrize(("field", "value", "lang", "shown"), [
    ("rate", 0.9975, "zh", "99.75%"),
    ("rate", 1.0, "en", "100.00%"),
    ("known_share", None, "zh", "—"),
    ("met", False, "zh", "否"),
    ("met", True, "en", "yes"),
    ("rank", 2, "zh", "2"),
    ("fault_seconds", 36000.0, "zh", "10.00"),
    ("window_seconds", 26697600.0, "en", "7416.00"),
    ("resolved_at", dt.datetime(2026, 11, 10, 16, 0, tzinfo=dt.UTC), "zh", "2026-11-11 00:00"),
    ("colour", "red", "zh", "红"),
    ("status", "resolved", "zh", "已完成"),
    ("causes", (CauseTime("unreachable", 7200.0),), "zh", "断电或网络中断 2.00"),
    ("*", True, "zh", "有"),
    ("*", False, "en", "absent"),
])
def test_value_words(field: str, value: object, lang: str, shown: str) -> None:
    assert value_words(field, value, lang, TZ) == shown


@pytest.mark.parametrize(("where", "lang", "shown"), [
    ("townships/341122101000", "zh", "乡镇/街道 柳林乡（341122101000）"),
    ("townships/341122101000", "en", "township 柳林乡 (341122101000)"),
    ("faults/7", "zh", "故障摄像机 村口东 1号（7）"),
    ("villages/999", "zh", "村/社区 999"),  # a row without a name
    ("score", "zh", "考核得分"),
])
def test_where_words(where: str, lang: str, shown: str) -> None:
    names = {"townships/341122101000": "柳林乡", "faults/7": "村口东 1号"}
    assert where_words(where, names, lang) == shown


def test_change_lines_of_a_recomputation() -> None:
    frozen = sample_report()
    town = dataclasses.replace(frozen.townships[1], rate=0.9512, met=True, rank=1)
    fresh = dataclasses.replace(frozen, townships=(frozen.townships[0], town), faults=(),
                                score=dataclasses.replace(frozen.score, total=99.5))
    lines = change_lines(differences(frozen, fresh), frozen, fresh, "zh")
    assert "乡镇/街道 周桥镇光明街道办事处（341122102000）\t在线率（扣除报备）\t91.37%\t95.12%" in lines
    assert "乡镇/街道 周桥镇光明街道办事处（341122102000）\t达标\t否\t是" in lines
    assert "故障摄像机 村口东 1号（7）\t整行\t有\t无" in lines  # in the frozen report only
    assert lines[-1] == "考核得分\t得分\t98.5\t99.5"
    english = change_lines(differences(frozen, fresh), frozen, fresh, "en")
    assert "township 周桥镇光明街道办事处 (341122102000)\tonline rate\t91.37%\t95.12%" in english
