"""The e-mail that carries a closed month's workbook says what the score sheet says beside the
score: a region camwatch knew less than 95% of the month gets the warning, an unwatched one no
score (pure: the words of the message)."""

from __future__ import annotations

import dataclasses

import pytest

from collector.reports.model import CompletenessRow
from collector.runtime.report_delivery import message_words
from tests.collector.reports.sample import sample_report


@pytest.mark.parametrize(("share", "lang", "score", "note"), [
    (0.99, "zh", "考核得分：98.5", None),
    (0.95, "zh", "考核得分：98.5", None),
    (0.8485, "zh", "考核得分：98.5", "注意：本期监测完整率仅 84.85%（低于 95%）"),
    (0.8485, "en", "Contract score: 98.5", "knew the state for only 84.85% of the period"),
    (0.0, "zh", "考核得分：—", "本期无监测数据"),
    (0.0, "en", "Contract score: —", "Nothing was monitored"),
])
def test_message_says_the_monitoring_gap(share: float, lang: str, score: str, note: str | None) -> None:
    rows = (CompletenessRow("341122000000", "来安县", "county", 24, 1e6, share * 1e6, (1 - share) * 1e6, share),)
    report = dataclasses.replace(sample_report(), completeness=rows)
    _, text = message_words(report, "ab" * 32, lang)
    lines = text.splitlines()
    assert score in lines, text
    warned = [x for x in lines if note is not None and note in x]
    assert bool(warned) is (note is not None), text
