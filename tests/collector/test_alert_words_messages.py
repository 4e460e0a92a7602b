"""Alert words as the tester read them: every cause of a mixed outage (with counts, and the
cameras of the smaller groups), times with their UTC offset, a picture problem's duration not
called downtime, and no "suspected uplink failure" while the upstream device answered."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from collector.alerting.engine import AlertEngine
from collector.alerting.messages import causes_words, incident_message, local, since_words
from collector.alerting.model import (
    Incident,
    IncidentKind,
    Member,
    NotifyKind,
    PictureOk,
    PictureProblem,
    Severity,
    cause_groups,
)
from collector.alerting.upstream import parent_answered, suspected_uplink
from probes.causes import Cause
from tests.collector.alerts_fixtures import EAST, INV, POLICY, at, notes, outage, recovery

AUTH, STREAM, TIMEOUT, UNREACH, UP = (Cause.AUTH_FAILED, Cause.STREAM_UNAVAILABLE, Cause.TIMEOUT, Cause.UNREACHABLE,
                                      Cause.UPSTREAM_DOWN)


def members(*spec: tuple[int, Cause | None]) -> tuple[Member, ...]:
    return tuple(Member(cid, cause, at(0)) for cid, cause in spec)


# ---- 1. mixed causes ---------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "groups"), [
    ((), ()),
    (((1, None),), ()),
    (((1, STREAM),), ((STREAM, (1,)),)),
    # the tester's 北坡村: the most frequent first
    (((3, AUTH), (1, STREAM), (2, STREAM)), ((STREAM, (1, 2)), (AUTH, (3,)))),
    # a tie: in the causes' declaration order, whatever the members' order (was: set order)
    (((1, STREAM), (2, AUTH)), ((AUTH, (2,)), (STREAM, (1,)))),
    (((2, AUTH), (1, STREAM)), ((AUTH, (2,)), (STREAM, (1,)))),
    (((1, TIMEOUT), (2, UNREACH), (3, None)), ((UNREACH, (2,)), (TIMEOUT, (1,)))),
])
def test_cause_groups(spec: tuple[tuple[int, Cause | None], ...], groups: object) -> None:
    assert cause_groups(members(*spec)) == groups


@pytest.mark.parametrize(("spec", "cause", "causes"), [
    (((1, STREAM), (2, AUTH)), AUTH, (AUTH, STREAM)),
    (((1, STREAM), (2, AUTH), (3, STREAM)), STREAM, (STREAM, AUTH)),
    (((1, None),), None, ()),
])
def test_incident_cause_is_deterministic_and_causes_lists_every_one(spec: tuple[tuple[int, Cause | None], ...],
                                                                     cause: Cause | None, causes: tuple[Cause, ...]) -> None:
    inc = Incident("o-1", IncidentKind.OUTAGE, Severity.NORMAL, "v", None, at(0), at(0), members(*spec), 4, 0)
    assert (inc.cause, inc.causes) == (cause, causes)


NAMES = {c: INV.cameras[c] for c in EAST}


@pytest.mark.parametrize(("spec", "named", "zh", "en"), [
    (((1, STREAM),), 3, "码流不可用", "stream unavailable"),
    (((1, STREAM), (2, STREAM)), 3, "码流不可用", "stream unavailable"),
    (((1, STREAM), (2, STREAM), (3, AUTH)), 3, "码流不可用 2 台；用户名或密码错误 1 台（东关村村委会）",
     "stream unavailable: 2 cameras; wrong user name or password: 1 camera (东关村村委会)"),
    (((1, STREAM), (2, STREAM), (3, AUTH)), 0, "码流不可用 2 台；用户名或密码错误 1 台",
     "stream unavailable: 2 cameras; wrong user name or password: 1 camera"),
    # the names bounded: "等 N 台" / "and N more"
    (((1, TIMEOUT), (2, TIMEOUT), (3, TIMEOUT), (4, TIMEOUT), (5, AUTH), (6, AUTH), (7, AUTH)), 2,
     "无响应（超时） 4 台；用户名或密码错误 3 台（东关村卫生室、东关村桥头 等 3 台）",
     "no answer (timeout): 4 cameras; wrong user name or password: 3 cameras (东关村卫生室, 东关村桥头 and 1 more)"),
])
def test_causes_words(spec: tuple[tuple[int, Cause | None], ...], named: int, zh: str, en: str) -> None:
    ms = members(*spec)
    assert (causes_words(ms, NAMES, "zh", named=named), causes_words(ms, NAMES, "en", named=named)) == (zh, en)


def test_mixed_causes_are_told_with_counts_in_the_open_update_and_recovery_messages() -> None:
    """The tester's 北坡村: two broken streams and a wrong password were told as 码流不可用 alone."""
    e = AlertEngine(POLICY, INV)
    for cid, cause in ((EAST[0], STREAM), (EAST[1], STREAM), (EAST[2], AUTH)):
        e.feed(outage(cid, 20, cause))
    [n] = notes(e.tick(at(50)))
    assert "原因：码流不可用 2 台；用户名或密码错误 1 台（东关村村委会）" in n.message.text_zh.splitlines()
    assert "Cause: stream unavailable: 2 cameras; wrong user name or password: 1 camera (东关村村委会)" \
        in n.message.text_en.splitlines()
    assert "，原因：码流不可用 2 台；用户名或密码错误 1 台，" in n.message.short_zh  # SMS: the counts, no names
    acts: list[object] = []
    for cid in EAST[:3]:
        acts += e.feed(recovery(cid, 600))
    [r] = notes(acts)
    assert r.kind is NotifyKind.RESOLVE
    assert "Cause: stream unavailable: 2 cameras; wrong user name or password: 1 camera (东关村村委会)" \
        in r.message.text_en.splitlines()


def test_one_cause_is_told_as_before() -> None:
    e = AlertEngine(POLICY, INV)
    for cid in EAST[:2]:
        e.feed(outage(cid, 20, STREAM))
    [n] = notes(e.tick(at(50)))
    assert "原因：码流不可用" in n.message.text_zh.splitlines()


# ---- 3. times with their zone -----------------------------------------------------------------

@pytest.mark.parametrize(("tz", "text", "clock"), [
    ("Asia/Shanghai", "2026-11-23 10:00 +08:00", "10:00 +08:00"),
    ("UTC", "2026-11-23 02:00 +00:00", "02:00 +00:00"),
    ("Asia/Kathmandu", "2026-11-23 07:45 +05:45", "07:45 +05:45"),
    ("America/Sao_Paulo", "2026-11-22 23:00 -03:00", "23:00 -03:00"),
])
def test_local_times_carry_their_offset(tz: str, text: str, clock: str) -> None:
    assert (local(at(0), tz), since_words(at(0), at(60), tz)) == (text, clock)
    # begun on another local day (a reminder or an escalation a day later): the date too
    assert since_words(at(0), at(0) + dt.timedelta(days=1), tz) == f"{text[5:10]} {clock}"


def test_message_times_carry_their_offset() -> None:
    e = AlertEngine(POLICY, INV)
    e.feed(outage(21, 100, AUTH))
    [n] = notes(e.tick(at(400)))
    assert "开始：2026-11-23 10:01 +08:00" in n.message.text_zh.splitlines()
    assert "Since: 2026-11-23 10:01 +08:00" in n.message.text_en.splitlines()
    assert n.message.short_zh.endswith("，10:01 +08:00起")
    [r] = notes(e.feed(recovery(21, 700)))
    assert "恢复：2026-11-23 10:11 +08:00" in r.message.text_zh.splitlines()


# ---- 5. a picture problem is not downtime ----------------------------------------------------

def test_picture_recovery_tells_how_long_the_picture_was_wrong_not_downtime() -> None:
    e = AlertEngine(POLICY, INV)
    e.feed(PictureProblem(21, ("black",), at(0)))
    notes(e.tick(at(30)))
    [r] = notes(e.feed(PictureOk(21, at(233))))
    assert r.kind is NotifyKind.RESOLVE
    assert "画面异常时长：3分53秒" in r.message.text_zh.splitlines()
    assert "Picture problem lasted: 3 min 53 s" in r.message.text_en.splitlines()
    assert "总时长" not in r.message.text_zh and "downtime" not in r.message.text_en + r.message.short_en
    assert r.message.short_zh.endswith("，画面异常时长3分53秒")
    # an outage's recovery still says downtime
    e.feed(outage(21, 300, AUTH))
    notes(e.tick(at(400)))
    [o] = notes(e.feed(recovery(21, 500)))
    assert "总时长：3分35秒" in o.message.text_zh.splitlines()


# ---- 2. the upstream device answered ----------------------------------------------------------

def hung(n: int, upstream_up: bool | None) -> tuple[Member, ...]:
    """*n* cameras of 东关村 (behind its 4G router) timing out within a second of each other."""
    return tuple(Member(c, TIMEOUT, at(i), upstream_up=upstream_up) for i, c in enumerate(EAST[:n]))


@pytest.mark.parametrize(("ms", "uplink", "answered"), [
    (hung(5, None), True, False),  # the router not checked (or none): the burst rule as before
    (hung(5, True), False, True),  # the tester's 东关村: the router checked and answering
    (hung(5, False), True, False),
    (hung(2, True) + (Member(EAST[5], UP, at(3), upstream_up=False),), True, False),  # one found it down
    # some answered behind it, too few left for a burst
    (hung(3, True) + tuple(Member(c, TIMEOUT, at(4)) for c in EAST[3:5]), False, True),
    ((Member(EAST[0], STREAM, at(0), upstream_up=True),), False, False),  # not a network cause
])
def test_no_uplink_suspected_while_the_parent_device_answered(ms: tuple[Member, ...], uplink: bool,
                                                              answered: bool) -> None:
    assert (suspected_uplink(ms, 8, min_cameras=3), parent_answered(ms)) == (uplink, answered)


def test_message_says_the_upstream_device_is_online_and_suspects_the_cameras() -> None:
    """`【更新·严重】东关村 5/6 台摄像机离线，疑似上联中断 / 上联设备：东关村-4G路由器` was told while
    the router answered; with the router's answer recorded it is neither uplink nor critical."""
    ms = hung(5, True)
    inc = Incident("o-1", IncidentKind.OUTAGE, Severity.NORMAL, "130123101201", 1, at(30), at(0), ms, 8, 8,
                   sent=True, uplink=suspected_uplink(ms, 8))
    assert inc.severity_now() is Severity.NORMAL
    m = incident_message(NotifyKind.UPDATE, inc, INV, at(60), POLICY)
    assert m.title_zh == "【更新·一般】城关镇东关村 5/8 台摄像机离线，上联设备在线，疑似摄像机侧断电或故障"
    assert m.title_en == "[UPDATE: WARNING] 东关村, 城关镇: 5/8 cameras offline, upstream device online: camera-side power or fault suspected"
    assert "上联设备：东关村-4G路由器（在线）" in m.text_zh.splitlines()
    assert "Upstream device: 东关村-4G路由器 (online)" in m.text_en.splitlines()
    assert "疑似上联中断" not in m.text_zh and "uplink" not in m.text_en
    # the router not checked: as before
    old = dataclasses.replace(inc, members=hung(5, None), uplink=True)
    assert incident_message(NotifyKind.UPDATE, old, INV, at(60), POLICY).title_zh.endswith("，疑似上联中断")
