"""The clock check (issue 14, point 7): a camera whose clock is off by more than
``probe.clock_skew_s`` is degraded with the failed check ``clock`` along the path of the picture
checks: the ladder's verdict, the camera state, the metrics, alert messages and the API words.
(``camwatch probe`` against a simulated skewed camera: tests/collector/test_probe_cli.py.)"""

from __future__ import annotations

import datetime as dt

from collector.alerting.engine import AlertEngine
from collector.alerting.model import PictureProblem
from collector.runtime.camera_state import Changed, Outcome, Policy, State, Status, step
from collector.settings import ProbeSettings
from probes.base import ProbeResult, Stage
from probes.checks import CLOCK, check_words, problem_words, with_clock_offset
from probes.ladder import conclude
from probes.onvif import OnvifInfo
from tests.collector.alerts_fixtures import INV, POLICY, at, notes

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
POLICY_S = Policy((5.0, 10.0), 30.0, 4, 600.0, True)


def t(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


def stages(offset: float | None) -> list[ProbeResult]:
    out = [ProbeResult(Stage.REACH, True, 0.001), ProbeResult(Stage.RTSP, True, 0.002)]
    if offset is not None:
        out.append(ProbeResult(Stage.ONVIF, True, 0.003, data=OnvifInfo(clock_offset_s=offset)))
    return out


def test_default_limit_is_a_minute() -> None:
    assert ProbeSettings().clock_skew_s == 60.0


def test_the_verdict_fails_the_clock_check_beyond_the_limit_only() -> None:
    far = conclude(stages(600.4), clock_skew_s=60.0)
    assert far.state == "degraded" and far.clock_skewed and far.failed_checks == (CLOCK,)
    for offset in (59.0, -59.0):
        near = conclude(stages(offset), clock_skew_s=60.0)
        assert near.state == "online" and near.failed_checks == ()
    assert conclude(stages(-600.0), clock_skew_s=60.0).state == "degraded"
    assert conclude(stages(600.0)).state == "online"  # no limit given: no clock check
    assert conclude(stages(None), clock_skew_s=60.0).state == "online"  # clock not read


def test_state_keeps_picture_and_clock_checks_apart() -> None:
    s = Status(State.ONLINE, None, t(0))
    s, ev = step(s, Outcome(t(1), True, None, clock_failed=True), POLICY_S)
    assert s.state is State.DEGRADED and s.video_failed == (CLOCK,)
    assert [type(e) for e in ev] == [Changed] and ev[0].new is State.DEGRADED
    s, ev = step(s, Outcome(t(2), True, None, ("black",)), POLICY_S)  # video tier: clock unknown
    assert s.video_failed == ("black", CLOCK) and ev == []
    s, _ = step(s, Outcome(t(3), True), POLICY_S)  # the clock not read: nothing changes
    assert s.video_failed == ("black", CLOCK)
    s, _ = step(s, Outcome(t(4), True, None, clock_failed=False), POLICY_S)  # clock set right
    assert s.state is State.DEGRADED and s.video_failed == ("black",)
    s, ev = step(s, Outcome(t(5), True, None, (), clock_failed=False), POLICY_S)
    assert s.state is State.ONLINE and s.video_failed == () and ev[0].new is State.ONLINE
    same, _ = step(s, Outcome(t(6), True, None, clock_failed=False), POLICY_S)
    assert same is s  # a healthy clock costs no new state object


def test_words_give_the_offset() -> None:
    checks = with_clock_offset((CLOCK,), 600.4)
    assert checks == ("clock:+600",)
    assert check_words("clock:+600") == "时钟偏差 +600 秒" and check_words("clock:-75", "en") == "clock offset -75 s"
    assert problem_words(("black", "clock:+600")) == "画面异常：黑屏；时钟偏差 +600 秒"
    assert problem_words(("clock:+600",), "en") == "clock offset +600 s"
    assert with_clock_offset((CLOCK,), None) == (CLOCK,) and check_words(CLOCK) == "时钟偏差"


def test_alert_message_names_the_clock_and_its_offset() -> None:
    e = AlertEngine(POLICY, INV)
    e.feed(PictureProblem(21, with_clock_offset((CLOCK,), 600.0), at(0)))
    [n] = notes(e.tick(at(30)))
    assert "原因：时钟偏差 +600 秒" in n.message.text_zh and "画面异常" not in n.message.text_zh
    assert "Cause: clock offset +600 s" in n.message.text_en
