"""The console's words as pure functions: a probe stage's detail in Chinese (an unknown one as it
is), a clock offset that never reads "-0.0", timeline tooltips with the state in words."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from zoneinfo import ZoneInfo

from collector.web.pages.charts import timeline
from collector.web.pages.render import View
from probes.detail_words import detail_words

TZ = ZoneInfo("Asia/Shanghai")


def a_view(lang: str) -> View:
    return View(cast(Any, None), lang, TZ, None, dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC), False)


def test_stage_details_in_chinese_and_unknown_ones_as_they_are() -> None:
    zh = {d: detail_words(d, "zh") for d in (
        "tcp 8554 open", "H264 1920x1080 digest auth", "clock offset +599.657 s",
        "backing off after failed login, 0 s left", "connection refused", "1280x720; picture fails: black, blur",
        "timeout: no answer within 10 s")}
    assert zh == {"tcp 8554 open": "TCP 8554 端口可连接", "H264 1920x1080 digest auth": "H264 1920x1080，摘要认证",
                  "clock offset +599.657 s": "时钟偏差 +599.657 秒",
                  "backing off after failed login, 0 s left": "登录失败后暂停尝试，还剩 0 秒",
                  "connection refused": "连接被拒绝", "1280x720; picture fails: black, blur": "1280x720；画面异常：黑屏、模糊",
                  "timeout: no answer within 10 s": "超时：10 秒内无应答"}
    assert detail_words("454 Session Not Found", "zh") == "会话不存在（454 Session Not Found）"  # the reason as the camera said it
    assert detail_words("Hikvision DS-2CD2143G2-I", "zh") == "Hikvision DS-2CD2143G2-I"  # unknown: as it is
    assert detail_words("tcp 8554 open", "en") == "tcp 8554 open"


def test_clock_offset_never_reads_minus_zero() -> None:
    zh, en = a_view("zh"), a_view("en")
    assert [zh.seconds(x) for x in (-0.04, -0.0, 0.049, -0.06, 599.657)] == ["0.0 秒", "0.0 秒", "0.0 秒", "-0.1 秒", "+599.7 秒"]
    assert en.seconds(-0.01) == "0.0 s"


def test_timeline_tooltips_say_the_state_in_words() -> None:
    hi = dt.datetime(2026, 12, 5, 1, 4, tzinfo=dt.UTC)
    spans = [(hi - dt.timedelta(minutes=6), hi, "offline")]
    svg = timeline(spans, hi - dt.timedelta(hours=1), hi, TZ, "24 小时", a_view("zh").state)
    assert "12-05 08:58 – 12-05 09:04 离线</title>" in svg and "offline" not in svg
    assert "09:04 offline</title>" in timeline(spans, hi - dt.timedelta(hours=1), hi, TZ, "24 h", a_view("en").state)
