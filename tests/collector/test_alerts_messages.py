"""Exact message text: Chinese by default, English, Markdown and SMS variants."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.alerting.engine import AlertEngine
from collector.alerting.messages import duration
from collector.alerting.model import NotifyKind, PictureProblem
from probes.causes import Cause, cause_words
from probes.checks import CHECK_WORDS, VqdName, picture_words
from tests.collector.alerts_fixtures import EAST, INV, POLICY, at, notes, outage, recovery


@pytest.mark.parametrize(("seconds", "zh", "en"), [
    (0, "0秒", "0 s"), (45, "45秒", "45 s"), (60, "1分钟", "1 min"), (150, "2分30秒", "2 min 30 s"),
    (3600, "1小时", "1 h"), (3900, "1小时5分", "1 h 5 min"), (86400 * 3 + 7200, "3天2小时", "3 d 2 h"),
])
def test_duration(seconds: int, zh: str, en: str) -> None:
    assert (duration(seconds), duration(seconds, "en")) == (zh, en)


PW = Cause.AUTH_FAILED  # the cause of the single-camera messages below


@pytest.mark.parametrize("cause", list(Cause))
def test_outage_messages_give_the_declared_words_of_each_cause(cause: Cause) -> None:
    e = AlertEngine(POLICY, INV)
    e.feed(outage(21, 100, cause))
    [n] = notes(e.tick(at(400)))
    assert f"原因：{cause.info.zh}\n" in n.message.text_zh and f"Cause: {cause.info.en}\n" in n.message.text_en
    assert n.message.short_zh.endswith(f"，原因：{cause.info.zh}，10:01 +08:00起")


def test_picture_messages_give_the_declared_words_of_each_check() -> None:
    e = AlertEngine(POLICY, INV)
    e.feed(PictureProblem(21, tuple(VqdName), at(0)))
    [n] = notes(e.tick(at(30)))
    assert f"原因：画面异常：{'、'.join(w.zh for w in CHECK_WORDS.values())}" in n.message.text_zh
    assert f"Cause: picture problem: {', '.join(w.en for w in CHECK_WORDS.values())}" in n.message.text_en
    assert picture_words(("black", "blur")) == f"画面异常：{CHECK_WORDS[VqdName.BLACK].zh}、{CHECK_WORDS[VqdName.BLUR].zh}"
    assert picture_words(()) == "画面异常" and picture_words((), "en") == "picture problem"
    assert picture_words(("new_check",), "en") == "picture problem: new_check"  # an undeclared name as it is
    assert cause_words(None) == "未知" and cause_words(None, "en") == "unknown"


def test_single_camera_open_message_all_variants() -> None:
    e = AlertEngine(POLICY, INV)
    e.feed(outage(21, 100, PW))
    [n] = notes(e.tick(at(400)))
    m = n.message
    assert m.text_zh == (
        "【一般】摄像机离线：城关镇南庄村村口\n"
        "地区：示范县/城关镇/南庄村\n"
        "点位：村口\n"
        "摄像机：南庄村村口\n"
        f"原因：{PW.words()}\n"
        "处理：核对用户名和密码；设备上改过密码的，请在台账中更新（更新后即重试）\n"
        "开始：2026-11-23 10:01 +08:00\n"
        "已持续：5分15秒\n"
        "详情：http://cw.example/cameras/21"
    )
    assert m.markdown_zh == (
        "#### 【一般】摄像机离线：城关镇南庄村村口\n\n"
        "- **地区**：示范县/城关镇/南庄村\n"
        "- **点位**：村口\n"
        "- **摄像机**：南庄村村口\n"
        f"- **原因**：{PW.words()}\n"
        "- **处理**：核对用户名和密码；设备上改过密码的，请在台账中更新（更新后即重试）\n"
        "- **开始**：2026-11-23 10:01 +08:00\n"
        "- **已持续**：5分15秒\n\n"
        "[查看详情](http://cw.example/cameras/21)"
    )
    assert m.text_en == (
        "[WARNING] camera offline: 南庄村村口 (城关镇)\n"
        "Region: 示范县/城关镇/南庄村\n"
        "Point: 村口\n"
        "Cameras: 南庄村村口\n"
        f"Cause: {PW.words('en')}\n"
        "What to do: check the user name and password; if it was changed on the camera, update it in the inventory "
        "(then retried at once)\n"
        "Since: 2026-11-23 10:01 +08:00\n"
        "Duration: 5 min 15 s\n"
        "Details: http://cw.example/cameras/21"
    )
    assert m.short_zh == f"【一般】摄像机离线：城关镇南庄村村口，原因：{PW.words()}，10:01 +08:00起"
    assert m.short_en == f"[WARNING] camera offline: 南庄村村口 (城关镇), cause: {PW.words('en')}, since 10:01 +08:00"
    assert (m.title, m.text("en"), m.markdown("zh")) == (m.title_zh, m.text_en, m.markdown_zh)


@pytest.mark.parametrize("cause", list(Cause))
def test_only_a_refused_password_says_what_to_do_and_never_when_back(cause: Cause) -> None:
    """A password changed on the camera: the message says why and what to do (nothing on site but
    the password); in a village with other causes too; not for other causes, not in the recovery."""
    e = AlertEngine(POLICY, INV)
    for c in EAST[:3]:
        e.feed(outage(c, 20, Cause.STREAM_UNAVAILABLE))
    e.feed(outage(EAST[3], 20, cause))
    [n] = notes(e.tick(at(60)))
    password = cause in (Cause.AUTH_FAILED, Cause.ONVIF_AUTH_FAILED)
    assert ("\n处理：核对用户名和密码" in n.message.text_zh) is password
    assert ("\nWhat to do: check the user name and password" in n.message.text_en) is password
    assert "处理" not in n.message.short_zh
    [r] = notes([a for c in EAST[:4] for a in e.feed(recovery(c, 600))])
    assert "处理" not in r.message.text_zh and "What to do" not in r.message.text_en


def test_village_open_and_recovery_messages() -> None:
    e = AlertEngine(POLICY, INV)
    for c in EAST[:5]:
        e.feed(outage(c, 20, Cause.UPSTREAM_DOWN))
    [n] = notes(e.tick(at(50)))
    assert n.message.text_zh.splitlines()[0] == "【严重】城关镇东关村 5/8 台摄像机离线，疑似上联中断"
    assert "影响：5/8 台" in n.message.text_zh
    assert n.message.text_zh.splitlines()[1:3] == ["地区：示范县/城关镇/东关村", "上联设备：东关村-4G路由器"]
    assert "- **Upstream device**: 东关村-4G路由器" in n.message.markdown_en
    assert "摄像机：东关村村口、东关村十字路口、东关村村委会、东关村学校门口、东关村卫生室" in n.message.text_zh
    assert n.message.title_en == "[CRITICAL] 东关村, 城关镇: 5/8 cameras offline, suspected uplink failure"
    assert n.message.link == f"http://cw.example/incidents/{n.incident_id}"
    acts = []
    for c in EAST[:5]:
        acts += e.feed(recovery(c, 3605))
    [r] = notes(acts)
    assert r.kind is NotifyKind.RESOLVE
    assert r.message.text_zh.splitlines()[-3:] == ["恢复：2026-11-23 11:00 +08:00", "总时长：1小时", f"详情：{r.message.link}"]
    assert r.message.short_zh == "【恢复】城关镇东关村 5 台摄像机已恢复在线，时长1小时"
    assert r.message.short_en == "[RESOLVED] 东关村, 城关镇: 5 cameras back online, downtime 1 h"


def test_many_cameras_are_listed_with_a_count() -> None:
    import dataclasses

    e = AlertEngine(dataclasses.replace(POLICY, max_listed=3), INV)
    for c in EAST:
        e.feed(outage(c, 20, Cause.UPSTREAM_DOWN))
    [n] = notes(e.tick(at(50)))
    assert "摄像机：东关村村口、东关村十字路口、东关村村委会 等 8 台" in n.message.text_zh
    assert "Cameras: 东关村村口, 东关村十字路口, 东关村村委会 and 5 more" in n.message.text_en


def test_picture_message_and_no_link_without_base_url() -> None:
    import dataclasses

    e = AlertEngine(dataclasses.replace(POLICY, base_url=""), INV)
    e.feed(PictureProblem(21, ("frozen", "blur"), at(0)))
    [n] = notes(e.tick(at(30)))
    assert n.message.text_zh.splitlines()[0] == "【提示】画面异常：冻结、模糊（城关镇南庄村村口）"
    assert "原因：画面异常：冻结、模糊" in n.message.text_zh
    assert n.message.link == "" and "详情" not in n.message.text_zh and "查看详情" not in n.message.markdown_zh
    assert n.at == at(30) and n.at.tzinfo is dt.UTC
