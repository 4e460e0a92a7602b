"""On-call defects found end to end (pure engine with the shared fixtures; the store on SQLite/PostgreSQL):

* a camera silenced inside an open incident is left out of its messages (counts, lists, causes):
  its joining and its recovery say nothing, its work order still counts it;
* an incident whose work order was acknowledged is not escalated further until the order's
  deadline passes; then escalation resumes and says when the order was taken.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from collector.alerting import incident_store as store
from collector.alerting.audience import Acknowledged
from collector.alerting.engine import AlertEngine
from collector.alerting.model import (
    Flapping,
    IncidentChanged,
    Notify,
    NotifyKind,
    OpenWorkOrder,
    Outage,
    Silence,
    UpdateWorkOrder,
)
from collector.alerting.policy import AlertPolicy, DeadlinePolicy
from collector.alerting.service import AlertService
from inventory.db import create_engine
from probes.causes import Cause
from tests.collector.alerts_fixtures import EAST, INV, POLICY, at, outage, recovery, run, sample_db

H = 3600.0
OPEN, UPDATE, RESOLVE = NotifyKind.OPEN, NotifyKind.UPDATE, NotifyKind.RESOLVE
REMINDER, ESCALATE = NotifyKind.REMINDER, NotifyKind.ESCALATE


def _sent(timed: list[tuple[float, Any]]) -> list[tuple[float, Notify]]:
    return [(t, a) for t, a in timed if isinstance(a, Notify)]


def test_a_camera_silenced_inside_an_open_incident_is_left_out_of_its_messages() -> None:
    """东关村: two cameras down and told; a third, silenced (施工), goes down and later comes back.
    Its joining and recovery say nothing; reminders, the escalation and the recovery say 2 cameras,
    never name it; the work order counts all three."""
    e = AlertEngine(dataclasses.replace(POLICY, reminder_interval_s=1800.0), INV)
    e.set_silences((Silence(1, at(10 * H), EAST[2], None, "施工"),))
    script: list[tuple[float, object]] = [(20.0, outage(EAST[0], 20)), (20.0, outage(EAST[1], 20)),
                                          (300.0, outage(EAST[2], 300, Cause.AUTH_FAILED)), (4000.0, recovery(EAST[2], 4000)),
                                          (5000.0, recovery(EAST[0], 5000)), (5000.0, recovery(EAST[1], 5000))]
    timed = run(e, script, 5100, step=30)
    sent = _sent(timed)
    assert [n.kind for _, n in sent] == [OPEN, REMINDER, ESCALATE, RESOLVE]
    silenced_name = INV.cameras[EAST[2]].name  # 东关村村委会
    for _, n in sent:
        m = n.message
        for text in (m.text_zh, m.text_en, m.short_zh, m.markdown_zh):
            assert silenced_name not in text and "3/8" not in text
            assert "密码" not in text and "password" not in text.lower()  # its cause (auth) is not told either
    assert [n.message.title_zh for _, n in sent[:3]] == [
        "【一般】城关镇东关村 2/8 台摄像机离线", "【提醒·一般】城关镇东关村 2/8 台摄像机离线",
        "【升级·一般·主管】城关镇东关村 2/8 台摄像机离线"]
    assert sent[3][1].message.title_zh == "【恢复】城关镇东关村 2 台摄像机已恢复在线"
    # the work order and the incident record still hold the silenced camera
    assert [u.cameras for _, u in timed if isinstance(u, UpdateWorkOrder)][-1] == 3
    last = [a for _, a in timed if isinstance(a, IncidentChanged)][-1].incident
    assert {m.camera_id for m in last.members} == {EAST[0], EAST[1], EAST[2]}


def test_an_incident_all_of_whose_down_cameras_are_silenced_is_still_withheld() -> None:
    e = AlertEngine(POLICY, INV)
    e.set_silences((Silence(1, at(10 * H), EAST[0], None, "施工"),))
    timed = run(e, [(20.0, outage(EAST[0], 20)), (900.0, recovery(EAST[0], 900))], 1000, step=30)
    assert _sent(timed) == [] and any(isinstance(a, OpenWorkOrder) for _, a in timed)


def _acked_policy() -> AlertPolicy:
    return dataclasses.replace(POLICY, reminder_interval_s=1800.0, deadlines=DeadlinePolicy(default_h=2.0, by_severity=()))


def test_an_acknowledged_order_holds_escalation_until_its_deadline_passes() -> None:
    """A camera down at 15 s, told; its order (deadline 2 h) acknowledged at 600 s. No escalation
    at 1 h (the supervisor's age): reminders go on; past the deadline, the escalation comes and
    says when the order was taken."""
    e = AlertEngine(_acked_policy(), INV)
    timed = run(e, [(20.0, outage(EAST[0], 20))], 600, step=30)
    [order] = [a for _, a in timed if isinstance(a, OpenWorkOrder)]
    e.set_acknowledged((Acknowledged(order.incident_id, at(600), order.deadline),))
    later = []
    t = 630.0
    while t <= 2.5 * H:
        later += [(t, a) for a in e.tick(at(t))]
        t += 30
    sent = _sent(later)
    assert [n.kind for _, n in sent] == [REMINDER, REMINDER, REMINDER, ESCALATE]
    [(when, esc)] = [(t, n) for t, n in sent if n.kind is ESCALATE]
    assert at(when) > order.deadline and at(when - 30) <= order.deadline
    assert esc.channels == ("supervisor",)
    assert "工单：已于 2026-11-23 10:10 +08:00 接单，已超期" in esc.message.text_zh
    assert "acknowledged at 2026-11-23 10:10 +08:00, now overdue" in esc.message.text_en


def test_without_acknowledgement_escalation_comes_by_age() -> None:
    e = AlertEngine(_acked_policy(), INV)
    sent = _sent(run(e, [(20.0, outage(EAST[0], 20))], 1.5 * H, step=30))
    assert [n.kind for _, n in sent] == [OPEN, REMINDER, ESCALATE]
    assert "接单" not in sent[-1][1].message.text_zh


@pytest.fixture
def url(db_url: str) -> str:
    return sample_db(db_url)


def test_the_store_lists_acknowledged_unresolved_orders(url: str) -> None:
    async def go() -> None:
        eng = create_engine(url)
        try:
            inv = await store.load_inventory(eng)
            cid = min(inv.cameras)
            e = AlertEngine(AlertPolicy(), inv)
            acts = list(e.feed(Outage(cid, Cause.TIMEOUT, at(0), at(15)))) + list(e.tick(at(60)))
            await store.apply_actions(eng, acts, at(60))
            assert await store.acknowledged_orders(eng) == ()
            [o] = await store.list_work_orders(eng)
            await store.acknowledge_order(eng, o.id, at(600), "张工")
            took = Acknowledged(o.incident_key, at(600), o.deadline, "张工")  # (who, stored: migration 0018)
            assert await store.acknowledged_orders(eng) == (took,)
            svc = AlertService(eng, e, clock=lambda: at(700))
            await svc.refresh(inventory=False)  # (a reload, or a silence changed: the acknowledgements too)
            assert e.acks == {o.incident_key: took}
            note = e._ack_note(e.incidents[o.incident_key], "Asia/Shanghai")
            assert note is not None and "由 张工 接单" in note[0] and "by 张工" in note[1]
        finally:
            await eng.dispose()

    asyncio.run(go())


def test_a_camera_flagged_flapping_is_never_said_recovered() -> None:
    """Two cameras down and told; a third joins (told in an update), then is flagged flapping: the
    recovery of the two says 2 cameras and does not name the flapping one."""
    e = AlertEngine(POLICY, INV)
    script: list[tuple[float, object]] = [(20.0, outage(EAST[0], 20)), (20.0, outage(EAST[1], 20)), (300.0, outage(EAST[2], 300)),
                                          (600.0, Flapping(EAST[2], True, at(600), 6)),
                                          (900.0, recovery(EAST[0], 900)), (900.0, recovery(EAST[1], 900))]
    sent = [(t, n) for t, n in _sent(run(e, script, 1000, step=30)) if n.kind is not NotifyKind.DIGEST]  # (its digest: apart)
    assert [n.kind for _, n in sent] == [OPEN, UPDATE, RESOLVE]
    resolved = sent[-1][1].message
    assert resolved.title_zh == "【恢复】城关镇东关村 2 台摄像机已恢复在线"
    assert INV.cameras[EAST[2]].name not in resolved.text_zh


def test_a_recovery_says_the_causes_the_outage_was_told_with() -> None:
    """东关村 dark behind its router (told: 上联设备断电或网络中断); the router answers first, its
    cameras time out for a second, then all come back: the recovery says the cause told."""
    e = AlertEngine(POLICY, INV)
    script: list[tuple[float, object]] = [(20.0, outage(c, 20, Cause.UPSTREAM_DOWN)) for c in EAST]
    script += [(1000.0, Outage(c, Cause.TIMEOUT, at(5), at(1000), upstream_up=True)) for c in EAST[1:]]
    script += [(1001.0, recovery(c, 1001)) for c in EAST]
    sent = _sent(run(e, script, 1100, step=1))
    assert [n.kind for _, n in sent] == [OPEN, RESOLVE]
    cause_line = [ln for ln in sent[0][1].message.text_zh.splitlines() if ln.startswith("原因：")]
    assert cause_line and cause_line == [ln for ln in sent[1][1].message.text_zh.splitlines() if ln.startswith("原因：")]
    assert "超时" not in sent[1][1].message.text_zh


def test_a_village_message_lists_its_cameras_in_the_ledgers_order() -> None:
    """Not in the order they went down (摄像机4、3、2、1 read like a shuffled list on a phone)."""
    from collector.alerting.messages import _names
    from collector.alerting.model import CameraInfo

    cams = [CameraInfo(i, f"东关村摄像机{i}", "130123101201", "东关村") for i in (4, 3, 12, 1)]
    assert _names(cams, 8, "zh") == "东关村摄像机1、东关村摄像机3、东关村摄像机4、东关村摄像机12"
    assert _names(cams, 2, "en") == "东关村摄像机1, 东关村摄像机3 and 2 more"
