"""Picture incidents: a village's wording is ``messages.incident_message``'s own (a picture recovery
says how long the picture was bad, never 总时长 / 时长), and no reminder while every camera still
degraded is offline (their outage incident tells of them)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Sequence

import pytest

from collector.alerting import messages
from collector.alerting.engine import AlertEngine
from collector.alerting.model import Incident, IncidentKind, Member, NotifyKind, Severity
from collector.alerting.reminders import reminder_due
from collector.runtime.camera_state import Changed, State
from probes.causes import Cause
from tests.collector.alerts_fixtures import INV, POLICY, at, notes

SIG = ("signal_loss",)
ON, DEG, OFF = State.ONLINE, State.DEGRADED, State.OFFLINE
VILLAGE = "130123101201"  # 东关村, 8 cameras


def picture(members: Sequence[Member], resolved: dt.datetime | None = None) -> Incident:
    return Incident("p-130123101201-x", IncidentKind.PICTURE, Severity.LOW, VILLAGE, None, at(0), at(0),
                    tuple(members), 8, 0, sent=True, resolved_at=resolved)


def m(cid: int, up: float | None = None, checks: tuple[str, ...] = SIG) -> Member:
    return Member(cid, None, at(0), at(up) if up is not None else None, checks)


# ---- 4. the village's words, in messages ------------------------------------------------------

WORDS = {  # kind, members, resolved at: title (zh), title (en), a line, the short text's end
    "open": (NotifyKind.OPEN, [m(1), m(2, checks=("black",))], None,
             "【提示】城关镇东关村 2/8 台摄像机画面异常：信号丢失、黑屏",
             "[INFO] 东关村, 城关镇: 2/8 cameras with picture problem (signal lost, black)", "影响：2/8 台", "，10:00 +08:00起"),
    "update": (NotifyKind.UPDATE, [m(1), m(2), m(3, 200)], None, "【更新·提示】城关镇东关村 2/8 台摄像机画面异常：信号丢失",
               "[UPDATE: INFO] 东关村, 城关镇: 2/8 cameras with picture problem (signal lost)", "已持续：5分钟", "起"),
    "resolve": (NotifyKind.RESOLVE, [m(1, 200), m(2, 233)], 233.0, "【恢复】城关镇东关村 2 台摄像机画面恢复正常",
                "[RESOLVED] 东关村, 城关镇: picture back to normal on 2 cameras", "画面异常时长：3分53秒", "，画面异常时长3分53秒"),
}


@pytest.mark.parametrize("name", list(WORDS))
def test_a_village_picture_incident_is_worded_by_messages(name: str) -> None:
    kind, members, resolved, zh, en, line, short_end = WORDS[name]
    inc = picture(members, at(resolved) if resolved is not None else None)
    msg = messages.incident_message(kind, inc, INV, at(300), POLICY)
    assert (msg.title_zh, msg.title_en) == (zh, en)
    assert line in msg.text_zh.splitlines()
    assert msg.short_zh.endswith(short_end) and msg.short_zh.startswith(zh)
    if kind is NotifyKind.RESOLVE:
        assert "Picture problem lasted: 3 min 53 s" in msg.text_en.splitlines()
        assert not any(w in msg.text_zh + msg.short_zh for w in ("总时长", "，时长"))
        assert "downtime" not in (msg.text_en + msg.short_en).lower()
    assert msg.link == f"{POLICY.base_url}/incidents/{inc.id}"


def test_one_camera_keeps_the_camera_words_and_picture_text_is_gone() -> None:
    msg = messages.incident_message(NotifyKind.OPEN, picture([m(21)]), INV, at(300), POLICY)
    assert msg.title_zh == "【提示】画面异常：信号丢失（城关镇南庄村村口）"
    assert importlib.util.find_spec("collector.alerting.picture_text") is None


# ---- 5. no reminder while every degraded camera is offline --------------------------------------

H = 3600.0
REMIND = {  # members, unseen cameras (offline or not rechecked), hours since last told: reminded?
    "degraded cameras seen: reminded": ([m(1), m(2)], set(), 4.0, True),
    "not yet due": ([m(1), m(2)], set(), 3.9, False),
    "all degraded cameras offline: not reminded": ([m(1), m(2)], {1, 2}, 5.0, False),
    "one of them still seen degraded: reminded": ([m(1), m(2)], {1}, 5.0, True),
    "the one seen is fixed, the other offline: not reminded": ([m(1, 100), m(2)], {2}, 5.0, False),
}


@pytest.mark.parametrize("name", list(REMIND))
def test_reminder_due(name: str) -> None:
    members, unseen, hours, due = REMIND[name]
    got = reminder_due(picture(members), at(hours * H), at(0), POLICY, (unseen,))
    assert (got is not None) is due


def test_reminder_due_of_an_outage_ignores_unseen_cameras() -> None:
    inc = Incident("o-x", IncidentKind.OUTAGE, Severity.NORMAL, VILLAGE, 1, at(0), at(0),
                   (Member(1, Cause.TIMEOUT, at(0)),), 8, 8, sent=True, escalation=1)
    assert reminder_due(inc, at(4 * H), at(0), POLICY, ({1},)) == ("default", "supervisor")


def run(script: Sequence[tuple[float, int, State, State]], until: float) -> list[object]:
    e, out, t, todo = AlertEngine(POLICY, INV), [], 0.0, sorted(script, key=lambda s: s[0])
    while t <= until:
        while todo and todo[0][0] <= t:
            s, cid, old, new = todo.pop(0)
            out += e.on_event(cid, Changed(old, new, Cause.TIMEOUT if new is OFF else None, at(s - 3), at(s)),
                              SIG if new is DEG else ())
        out += e.tick(at(t))
        t += 60 if t >= 120 else 5
    return out


ENGINE = {  # cameras 1 and 2 of 东关村 degraded at 0 (told), then: (changes), picture reminders by 9 h
    "both offline for hours: no picture reminder": ([(100, 1, DEG, OFF), (100, 2, DEG, OFF)], 0),
    "one offline, one still degraded: reminded": ([(100, 1, DEG, OFF)], 2),
    "both offline, then back still degraded: reminded again": (
        [(100, 1, DEG, OFF), (100, 2, DEG, OFF), (6 * H, 1, OFF, DEG), (6 * H, 2, OFF, DEG)], 1),
}


@pytest.mark.parametrize("name", list(ENGINE))
def test_picture_reminders_wait_while_every_camera_is_offline(name: str) -> None:
    changes, reminders = ENGINE[name]
    acts = run([(0, 1, ON, DEG), (0, 2, ON, DEG), *changes], 9 * H)
    told = [n for n in notes(acts) if n.incident_id.startswith("p-")]
    assert [n.kind for n in told].count(NotifyKind.OPEN) == 1
    assert [n.kind for n in told].count(NotifyKind.REMINDER) == reminders
    outage = [n for n in notes(acts, NotifyKind.REMINDER) if n.incident_id.startswith("o-")]
    assert outage  # the outage incident reminds of the cameras offline
