"""Picture incidents (degraded cameras): no false recovery when a camera goes offline, one incident
per village, quiet while flapping; and the silenced flag as stored."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from collector.alerting.engine import AlertEngine
from collector.alerting.inputs import inputs_of
from collector.alerting.model import (
    Flapping,
    IncidentChanged,
    IncidentKind,
    Notify,
    NotifyKind,
    OpenWorkOrder,
    Outage,
    PictureOk,
    PictureProblem,
    Recovery,
    ResolveWorkOrder,
    Silence,
    UpdateWorkOrder,
)
from collector.runtime.camera_state import Changed, State
from probes.causes import Cause
from tests.collector.alerts_fixtures import EAST, INV, POLICY, at, notes

SIG = ("signal_loss",)
ON, DEG, OFF, UNK, GONE = State.ONLINE, State.DEGRADED, State.OFFLINE, State.UNKNOWN, State.EXCLUDED


def engine() -> AlertEngine:
    return AlertEngine(POLICY, INV)


def play(e: AlertEngine, script: Sequence[tuple[float, int, State, State]], until: float, step: float = 5.0) -> list[object]:
    """Feed camera_state changes (time, camera, old, new) as the collector does, ticking every *step* s."""
    out: list[object] = []
    t, i = 0.0, 0
    todo = sorted(script, key=lambda s: s[0])
    while t <= until:
        while i < len(todo) and todo[i][0] <= t:
            s, cid, old, new = todo[i]
            ev = Changed(old, new, Cause.TIMEOUT if new is OFF else None, at(s - 3), at(s))
            out += e.on_event(cid, ev, SIG if new is DEG else ())
            i += 1
        out += e.tick(at(t))
        t += step
    return out


def said(acts: list[object]) -> list[tuple[str, NotifyKind]]:
    """(incident kind, message kind) of every message but the flapping digest, in order."""
    return [(n.incident_id.split("-")[0], n.kind) for n in notes(acts) if n.kind is not NotifyKind.DIGEST]


def orders(acts: list[object]) -> dict[str, tuple[int, float | None]]:
    """Work orders by incident kind prefix: (how many opened, resolved at s or None)."""
    out: dict[str, tuple[int, float | None]] = {}
    for a in acts:
        if isinstance(a, OpenWorkOrder):
            k = a.incident_id.split("-")[0]
            out[k] = (out.get(k, (0, None))[0] + 1, None)
        if isinstance(a, ResolveWorkOrder):
            k = a.incident_id.split("-")[0]
            out[k] = (out[k][0], (a.at - at(0)).total_seconds())
    return out


OPEN, RES = NotifyKind.OPEN, NotifyKind.RESOLVE

# camera 21 is alone in its village (南庄村); window 30 s, ticks every 5 s
CASES = {
    "degraded, offline, online ok: picture resolved when back with a good picture": (
        [(0, 21, ON, DEG), (100, 21, DEG, OFF), (300, 21, OFF, ON)],
        [("p", OPEN), ("o", OPEN), ("o", RES), ("p", RES)], {"p": (1, 300.0), "o": (1, 300.0)}, False),
    "degraded, offline, degraded: picture incident stays open": (
        [(0, 21, ON, DEG), (100, 21, DEG, OFF), (300, 21, OFF, DEG)],
        [("p", OPEN), ("o", OPEN), ("o", RES)], {"p": (1, None), "o": (1, 300.0)}, True),
    "back online, its first picture check (at once) finds it still degraded: nothing": (
        [(0, 21, ON, DEG), (100, 21, DEG, OFF), (300, 21, OFF, ON), (304, 21, ON, DEG)],
        [("p", OPEN), ("o", OPEN), ("o", RES)], {"p": (1, None), "o": (1, 300.0)}, True),
    "back online, no picture problem within picture_recheck_s: fixed": (
        [(0, 21, ON, DEG), (100, 21, DEG, OFF), (300, 21, OFF, ON), (370, 21, ON, DEG)],
        [("p", OPEN), ("o", OPEN), ("o", RES), ("p", RES), ("p", OPEN)], {"p": (2, None), "o": (1, 300.0)}, True),
    "degraded, online ok": (
        [(0, 21, ON, DEG), (100, 21, DEG, ON)],
        [("p", OPEN), ("p", RES)], {"p": (1, 100.0)}, False),
    "18 s blip of a degraded camera: nothing at all": (
        [(0, 21, ON, DEG), (100, 21, DEG, OFF), (118, 21, OFF, DEG)],
        [("p", OPEN)], {"p": (1, None)}, True),
    "degraded, unknown (collector lost it), degraded: nothing": (
        [(0, 21, ON, DEG), (100, 21, DEG, UNK), (200, 21, UNK, DEG)],
        [("p", OPEN)], {"p": (1, None)}, True),
    "offline before its picture was told: no picture message while offline, told when back degraded": (
        [(0, 21, ON, DEG), (10, 21, DEG, OFF), (300, 21, OFF, DEG)],
        [("o", OPEN), ("o", RES), ("p", OPEN)], {"o": (1, 300.0), "p": (1, None)}, True),
    "offline before its picture was told, back ok: picture never told": (
        [(0, 21, ON, DEG), (10, 21, DEG, OFF), (300, 21, OFF, ON)],
        [("o", OPEN), ("o", RES)], {"o": (1, 300.0)}, False),
    "degraded camera leaves the inventory: resolved as before": (
        [(0, 21, ON, DEG), (100, 21, DEG, GONE)],
        [("p", OPEN), ("p", RES)], {"p": (1, 100.0)}, False),
}


@pytest.mark.parametrize("name", list(CASES))
def test_going_offline_is_no_picture_recovery(name: str) -> None:
    """Offline (or unknown) says nothing of the picture; back online, the picture is checked at once:
    only a good check (degraded -> online, or no problem within ``picture_recheck_s``) ends it."""
    script, messages, work_orders, still_open = CASES[name]
    e = engine()
    acts = play(e, script, 600)
    assert said(acts) == messages
    assert orders(acts) == work_orders
    assert any(i.kind is IncidentKind.PICTURE for i in e.open_incidents()) is still_open


@pytest.mark.parametrize(("old", "new", "expected"), [
    (DEG, OFF, [Outage]),
    (DEG, UNK, []),
    (DEG, ON, [PictureOk]),
    (DEG, GONE, [PictureOk]),
    (OFF, ON, [Recovery]),  # picture not checked yet: the engine waits for the check
    (OFF, DEG, [Recovery, PictureProblem]),
    (UNK, ON, [Recovery]),
    (OFF, GONE, [Recovery, PictureOk]),
])
def test_picture_ok_only_when_seen_up_with_a_good_picture_or_gone(old: State, new: State, expected: list[type]) -> None:
    ev = Changed(old, new, Cause.TIMEOUT if new is OFF else None, at(0), at(0))
    assert [type(i) for i in inputs_of(21, ev, SIG if new is DEG else ())] == expected


# ---- grouping by village ------------------------------------------------------------------------

def test_a_degraded_village_is_one_message_and_one_work_order() -> None:
    e = engine()
    acts = play(e, [(i, c, ON, DEG) for i, c in enumerate(EAST)], 60)
    [n] = notes(acts)
    assert n.message.title_zh == "【提示】城关镇东关村 8/8 台摄像机画面异常：信号丢失"
    assert n.message.title_en == "[INFO] 东关村, 城关镇: 8/8 cameras with picture problem (signal lost)"
    assert "东关村村口、东关村十字路口" in n.message.text_zh and "影响：8/8 台" in n.message.text_zh
    [wo] = [a for a in acts if isinstance(a, OpenWorkOrder)]
    assert (wo.cameras, wo.camera_id, wo.region_code, wo.title) == (8, None, "130123101201", n.message.title_zh)
    acts = play(e, [(100 + i, c, DEG, ON) for i, c in enumerate(EAST)], 200)
    [r] = notes(acts)
    assert r.kind is RES and r.message.title_zh == "【恢复】城关镇东关村 8 台摄像机画面恢复正常"
    assert len([a for a in acts if isinstance(a, ResolveWorkOrder)]) == 1 and not e.open_incidents()


def test_a_single_degraded_camera_stays_a_camera_incident() -> None:
    e = engine()
    acts = play(e, [(0, 1, ON, DEG), (0, 11, ON, DEG)], 60)
    assert sorted(n.message.title_zh for n in notes(acts)) == [
        "【提示】画面异常：信号丢失（城关镇东关村村口）", "【提示】画面异常：信号丢失（城关镇西关村村口）"]
    assert sorted(a.camera_id for a in acts if isinstance(a, OpenWorkOrder)) == [1, 11]  # type: ignore[type-var]


def test_a_later_picture_problem_in_the_village_grows_the_incident() -> None:
    e = engine()
    acts = play(e, [(0, 1, ON, DEG), (0, 2, ON, DEG), (100, 3, ON, DEG)], 200)
    assert [n.message.title_zh for n in notes(acts)] == ["【提示】城关镇东关村 2/8 台摄像机画面异常：信号丢失",
                                                        "【更新·提示】城关镇东关村 3/8 台摄像机画面异常：信号丢失"]
    assert [a.cameras for a in acts if isinstance(a, UpdateWorkOrder)] == [3]
    assert len([a for a in acts if isinstance(a, OpenWorkOrder)]) == 1


def test_pictures_and_outages_of_one_village_are_separate_incidents() -> None:
    e = engine()
    acts = play(e, [(0, 1, ON, DEG), (0, 2, ON, DEG), (0, 3, ON, OFF), (0, 4, ON, OFF)], 60)
    assert sorted(n.message.title_zh for n in notes(acts)) == ["【一般】城关镇东关村 2/8 台摄像机离线",
                                                              "【提示】城关镇东关村 2/8 台摄像机画面异常：信号丢失"]


def test_village_picture_incident_survives_a_power_cut() -> None:
    """The tester's S1/S4: a degraded village loses power, then comes back still degraded."""
    e = engine()
    script = [(0, c, ON, DEG) for c in EAST] + [(100, c, DEG, OFF) for c in EAST] + [(300, c, OFF, DEG) for c in EAST]
    acts = play(e, script, 400)
    assert [n.message.title_zh for n in notes(acts)] == [
        "【提示】城关镇东关村 8/8 台摄像机画面异常：信号丢失", "【严重】城关镇东关村 8/8 台摄像机离线，疑似上联中断",
        "【恢复】城关镇东关村 8 台摄像机已恢复在线"]


# ---- flapping -----------------------------------------------------------------------------------

def test_flapping_camera_sends_no_picture_messages_and_is_taken_up_when_it_settles() -> None:
    e = engine()
    acts: list[object] = list(e.feed(PictureProblem(21, SIG, at(0))))
    acts += e.tick(at(30))
    assert said(acts) == [("p", OPEN)]
    acts = list(e.feed(Flapping(21, True, at(100))))
    for t in range(110, 400, 20):
        acts += e.feed(PictureOk(21, at(t)))
        acts += e.tick(at(t))
        acts += e.feed(PictureProblem(21, SIG, at(t + 10)))
        acts += e.tick(at(t + 10))
    assert said(acts) == [] and notes(acts, NotifyKind.DIGEST)  # the digest tells of it
    assert not [a for a in acts if isinstance(a, OpenWorkOrder)]
    acts = list(e.feed(Flapping(21, False, at(500))))
    acts += e.tick(at(530))
    assert said(acts) == [("p", OPEN)]  # still degraded when it settled: through the grouping window


def test_camera_flapping_before_its_picture_was_told_leaves_the_forming_incident() -> None:
    e = engine()
    acts: list[object] = list(e.feed(PictureProblem(21, SIG, at(0))))
    acts += e.feed(Flapping(21, True, at(10)))
    acts += e.tick(at(60))
    acts += e.feed(PictureOk(21, at(70)))
    acts += e.feed(Flapping(21, False, at(80)))
    acts += e.tick(at(200))
    assert said(acts) == [] and not e.open_incidents()


# ---- silences -----------------------------------------------------------------------------------

@pytest.mark.parametrize("inp", [Outage(21, Cause.TIMEOUT, at(-5), at(0)), PictureProblem(21, SIG, at(0))])
def test_a_silenced_incident_is_stored_as_silenced(inp: Outage | PictureProblem) -> None:
    e = engine()
    e.set_silences((Silence(1, at(10 * 3600), camera_id=21),))
    acts: list[object] = [*e.feed(inp), *e.tick(at(30)), *e.tick(at(5 * 3600)),  # open, escalation/reminder
                          *e.feed(Recovery(21, at(6 * 3600))), *e.feed(PictureOk(21, at(6 * 3600)))]
    changed = [a.incident for a in acts if isinstance(a, IncidentChanged)]
    assert changed[-1].resolved_at == at(6 * 3600)
    assert all(i.silenced for i in changed if i.sent)
    assert not [a for a in acts if isinstance(a, Notify)]
