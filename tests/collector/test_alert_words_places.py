"""Alert titles name the township with the village: village names repeat across a county's
townships (新村, 东村, 中心村 are everywhere) and an SMS carries the title alone, so
"东关村 3/6 台摄像机离线" left on-call staff guessing which one. Chinese writes the places one after
the other (城关镇东关村), English names the village first (东关村, 城关镇); a camera named after its
village (the usual 东关村村口) is not given the village twice. The 地区 line is as it was.
Work-order titles, stored in Chinese, are said in English from the order's fields."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from collector.alerting.messages import DigestItem, camera_place, digest_message, incident_message, place
from collector.alerting.model import CameraInfo, Incident, IncidentKind, Inventory, Member, NotifyKind, Severity
from collector.alerting.policy import AlertPolicy
from collector.alerting.workorders import OrderStatus, WorkOrder, order_title
from probes.causes import Cause

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # 10:00 +08:00
NOW = T0 + dt.timedelta(minutes=5)
POLICY = AlertPolicy(base_url="http://cw.example")


def cam(i: int, name: str, village: str = "东关村", township: str = "城关镇", code: str = "V1") -> CameraInfo:
    return CameraInfo(i, name, code, village, "T-" + township, township, "C1", "示范县", name.removeprefix(village), 9,
                      "路由器")


def incident(cams: list[CameraInfo], kind: IncidentKind = IncidentKind.OUTAGE, *, total: int = 6, uplink: bool = False,
             resolved: bool = False, checks: tuple[str, ...] = ()) -> Incident:
    up = T0 + dt.timedelta(hours=1) if resolved else None
    members = tuple(Member(c.id, None if kind is IncidentKind.PICTURE else Cause.TIMEOUT, T0, up, checks) for c in cams)
    sev = Severity.LOW if kind is IncidentKind.PICTURE else Severity.CRITICAL if uplink else Severity.NORMAL
    return Incident("o-x", kind, sev, cams[0].village, None, T0, T0, members, total, 0, sent=True, uplink=uplink,
                    resolved_at=up)


VILLAGE = [cam(i, f"东关村{p}") for i, p in enumerate(("村口", "广场", "学校门口"), 1)]
ONE = [cam(7, "东关村村口")]
POLE = [cam(8, "3号杆")]  # a camera not named after its village

# (incident, notify kind, Chinese title, English title)
TITLES = {
    "village offline": (incident(VILLAGE), NotifyKind.OPEN,
                        "【一般】城关镇东关村 3/6 台摄像机离线", "[WARNING] 东关村, 城关镇: 3/6 cameras offline"),
    "uplink": (incident(VILLAGE, total=3, uplink=True), NotifyKind.UPDATE,
               "【更新·严重】城关镇东关村 3/3 台摄像机离线，疑似上联中断",
               "[UPDATE: CRITICAL] 东关村, 城关镇: 3/3 cameras offline, suspected uplink failure"),
    "village back": (incident(VILLAGE, resolved=True), NotifyKind.RESOLVE,
                     "【恢复】城关镇东关村 3 台摄像机已恢复在线", "[RESOLVED] 东关村, 城关镇: 3 cameras back online"),
    "camera offline": (incident(ONE), NotifyKind.OPEN,
                       "【一般】摄像机离线：城关镇东关村村口", "[WARNING] camera offline: 东关村村口 (城关镇)"),
    "camera back": (incident(ONE, resolved=True), NotifyKind.RESOLVE,
                    "【恢复】摄像机恢复在线：城关镇东关村村口", "[RESOLVED] camera back online: 东关村村口 (城关镇)"),
    "pole offline": (incident(POLE), NotifyKind.REMINDER,
                     "【提醒·一般】摄像机离线：城关镇东关村 3号杆", "[REMINDER: WARNING] camera offline: 3号杆 (东关村, 城关镇)"),
    "picture": (incident(ONE, IncidentKind.PICTURE, checks=("black",)), NotifyKind.OPEN,
                "【提示】画面异常：黑屏（城关镇东关村村口）", "[INFO] picture problem (black): 东关村村口 (城关镇)"),
    "picture back": (incident(ONE, IncidentKind.PICTURE, resolved=True, checks=("black",)), NotifyKind.RESOLVE,
                     "【恢复】画面恢复正常：城关镇东关村村口", "[RESOLVED] picture back to normal: 东关村村口 (城关镇)"),
    "village picture": (incident(VILLAGE, IncidentKind.PICTURE, checks=("black",)), NotifyKind.OPEN,
                        "【提示】城关镇东关村 3/6 台摄像机画面异常：黑屏",
                        "[INFO] 东关村, 城关镇: 3/6 cameras with picture problem (black)"),
    "village picture back": (incident(VILLAGE, IncidentKind.PICTURE, resolved=True, checks=("black",)), NotifyKind.RESOLVE,
                             "【恢复】城关镇东关村 3 台摄像机画面恢复正常",
                             "[RESOLVED] 东关村, 城关镇: picture back to normal on 3 cameras"),
}


@pytest.mark.parametrize(("inc", "kind", "zh", "en"), TITLES.values(), ids=TITLES.keys())
def test_titles_name_the_township_and_village(inc: Incident, kind: NotifyKind, zh: str, en: str) -> None:
    cams = {c.id: c for c in VILLAGE + ONE + POLE}
    m = incident_message(kind, inc, Inventory.of(cams.values()), NOW, POLICY)
    assert (m.title_zh, m.title_en) == (zh, en)
    assert m.short_zh.startswith(zh + "，") and m.short_en.startswith((en + ", ", en + " since"))  # the SMS: the title first
    assert m.text_zh.splitlines()[:2] == [zh, "地区：示范县/城关镇/东关村"]  # the region line as it was
    assert m.text_en.splitlines()[1] == "Region: 示范县/城关镇/东关村"


def test_two_villages_of_one_name_give_sms_texts_that_tell_them_apart() -> None:
    north = [cam(i, f"新村{p}", "新村", "北河镇", "V-N") for i, p in enumerate(("村口", "广场"), 1)]
    south = [cam(i, f"新村{p}", "新村", "南岭乡", "V-S") for i, p in enumerate(("村口", "广场"), 11)]
    inv = Inventory.of(north + south)
    shorts = {}
    for town, cams in (("北河镇", north), ("南岭乡", south)):
        for one in (cams, cams[:1]):
            m = incident_message(NotifyKind.OPEN, dataclasses.replace(incident(one), village=one[0].village), inv, NOW, POLICY)
            shorts[(town, len(one))] = (m.short_zh, m.short_en)
    zh, en = Cause.TIMEOUT.words(), Cause.TIMEOUT.words("en")
    assert shorts[("北河镇", 2)] == (f"【一般】北河镇新村 2/6 台摄像机离线，原因：{zh}，10:00 +08:00起",
                                   f"[WARNING] 新村, 北河镇: 2/6 cameras offline, cause: {en}, since 10:00 +08:00")
    assert shorts[("南岭乡", 1)] == (f"【一般】摄像机离线：南岭乡新村村口，原因：{zh}，10:00 +08:00起",
                                   f"[WARNING] camera offline: 新村村口 (南岭乡), cause: {en}, since 10:00 +08:00")
    for n in (1, 2):
        assert shorts[("北河镇", n)][0] != shorts[("南岭乡", n)][0]
        assert shorts[("北河镇", n)][1] != shorts[("南岭乡", n)][1]
    assert all(len(zh) <= 70 for zh, _ in shorts.values())  # one SMS (70 Chinese characters)


@pytest.mark.parametrize(("name", "township", "village", "zh", "en"), [
    ("东关村村口", "城关镇", "东关村", "城关镇东关村村口", "东关村村口 (城关镇)"),
    ("城关镇东关村村口", "城关镇", "东关村", "城关镇东关村村口", "城关镇东关村村口"),  # named with its whole place
    ("3号杆", "城关镇", "东关村", "城关镇东关村 3号杆", "3号杆 (东关村, 城关镇)"),
    ("东关村村口", "", "东关村", "东关村村口", "东关村村口"),  # no township known
    ("3号杆", "城关镇", "", "城关镇 3号杆", "3号杆 (城关镇)"),  # no village known
    ("3号杆", "", "", "3号杆", "3号杆"),
])
def test_camera_place_says_the_place_once(name: str, township: str, village: str, zh: str, en: str) -> None:
    assert (camera_place(name, township, village, "zh"), camera_place(name, township, village, "en")) == (zh, en)


def test_place_reads_as_written_in_each_language() -> None:
    assert (place("城关镇", "东关村", "zh"), place("城关镇", "东关村", "en")) == ("城关镇东关村", "东关村, 城关镇")
    assert (place("", "东关村", "zh"), place("", "东关村", "en")) == ("东关村", "东关村")


def test_digest_lines_name_each_camera_with_its_township() -> None:
    items = [DigestItem(ONE[0], 5, True, True), DigestItem(POLE[0], 1, False, True)]
    m = digest_message(items, NOW, POLICY)
    assert m.text_zh.splitlines()[2:4] == ["城关镇东关村村口：上下线 5 次，当前离线", "城关镇东关村 3号杆：上下线 1 次，当前在线"]
    assert m.text_en.splitlines()[2:4] == ["东关村村口 (城关镇): 5 changes, now offline",
                                           "3号杆 (东关村, 城关镇): 1 change, now online"]


def order(key: str, *, camera: int | None, severity: str = "normal", cause: str | None = "timeout", cameras: int = 1,
          title: str | None = None) -> WorkOrder:
    return WorkOrder(1, key, OrderStatus.OPEN, severity, T0, NOW, cause, title, camera, "V1", None, cameras)


WHERE = {"camera": "东关村村口", "village": "东关村", "township": "城关镇"}
ORDERS = {
    "camera": (order("o-V1-1", camera=7, title="【一般】摄像机离线：城关镇东关村村口"),
               "【一般】摄像机离线：城关镇东关村村口", "[WARNING] camera offline: 东关村村口 (城关镇)"),
    "village uplink (said in its title)": (
        order("o-V1-2", camera=None, severity="critical", cameras=5, title="【严重】城关镇东关村 5/8 台摄像机离线，疑似上联中断"),
        "【严重】城关镇东关村 5/8 台摄像机离线，疑似上联中断", "[CRITICAL] 东关村, 城关镇: 5 cameras offline, suspected uplink failure"),
    "village router down": (order("o-V1-3", camera=None, severity="critical", cause="upstream_down", cameras=4),
                            "【严重】城关镇东关村 4 台摄像机离线，疑似上联中断",
                            "[CRITICAL] 东关村, 城关镇: 4 cameras offline, suspected uplink failure"),
    "village dark, no uplink": (order("o-V1-4", camera=None, severity="critical", cameras=3, title="【严重】城关镇东关村 3/3 台摄像机离线"),
                                "【严重】城关镇东关村 3/3 台摄像机离线", "[CRITICAL] 东关村, 城关镇: 3 cameras offline"),
    "picture camera": (order("p-V1-5", camera=7, severity="low", cause=None),
                       "【提示】画面异常（城关镇东关村村口）", "[INFO] picture problem: 东关村村口 (城关镇)"),
    "picture village": (order("p-V1-6", camera=None, severity="low", cause=None, cameras=1),
                        "【提示】城关镇东关村 1 台摄像机画面异常", "[INFO] 东关村, 城关镇: 1 camera with picture problem"),
    "unknown severity": (order("o-V1-7", camera=7, severity="urgent"), "摄像机离线：城关镇东关村村口",
                         "camera offline: 东关村村口 (城关镇)"),
}


@pytest.mark.parametrize(("o", "zh", "en"), ORDERS.values(), ids=ORDERS.keys())
def test_order_title_in_each_language(o: WorkOrder, zh: str, en: str) -> None:
    assert order_title(o, "zh", **WHERE) == zh  # the stored title, else built like English
    assert order_title(o, "en", **WHERE) == en


@pytest.mark.parametrize(("camera", "checks", "en"), [
    (7, ("black",), "[INFO] picture problem (black): 东关村村口 (城关镇)"),
    (7, ("clock:+600",), "[INFO] clock offset +600 s: 东关村村口 (城关镇)"),
    (None, ("black", "blur"), "[INFO] 东关村, 城关镇: 2 cameras with picture problem (black, blurred)"),
])
def test_a_picture_order_says_its_checks_as_the_alert_did(camera: int | None, checks: tuple[str, ...], en: str) -> None:
    o = order("p-V1-9", camera=camera, severity="low", cause=None, cameras=2)
    assert order_title(o, "en", checks=checks, **WHERE) == en


def test_order_title_without_names_still_says_what() -> None:
    o = order("o-V1-8", camera=7, title="【一般】摄像机离线：城关镇东关村村口")
    assert order_title(o, "en") == "[WARNING] camera offline: #7"
    assert order_title(dataclasses.replace(o, camera_id=None, cameras=2), "en") == "[WARNING] 2 cameras offline"
