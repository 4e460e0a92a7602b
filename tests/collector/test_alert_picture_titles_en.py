"""A picture alert's English title says its checks in brackets, so that it has one colon after its
tag, like every other title: "[WARNING] picture problem (black): 东关村村口 (城关镇)", not
"picture problem: black: 东关村村口 (城关镇)"; a village's "东关村, 城关镇: 3/6 cameras with picture
problem (black)". The same for every notification of an incident, one camera or a village's, and for
a work order's English title; the Chinese titles, the cause line and the CLI's verdict are as they were."""

from __future__ import annotations

import re

import pytest

from collector.alerting.messages import incident_message
from collector.alerting.model import Incident, IncidentKind, Inventory, NotifyKind
from collector.alerting.workorders import order_title
from probes.checks import picture_words, problem_words
from tests.collector.test_alert_words_places import NOW, ONE, POLICY, VILLAGE, WHERE, incident, order

CHECKS = [("black",), ("signal_loss", "black", "blur"), ("black", "clock:+600"), ("clock:-42",), ()]
KINDS = [NotifyKind.OPEN, NotifyKind.UPDATE, NotifyKind.REMINDER, NotifyKind.ESCALATE, NotifyKind.RESOLVE]
TAG = re.compile(r"\[[^\]]+\] ")  # "[WARNING] ", "[UPDATE: INFO] "
INV = Inventory.of(VILLAGE + ONE)


def titles(inc: Incident, kind: NotifyKind) -> tuple[str, str]:
    m = incident_message(kind, inc, INV, NOW, POLICY)
    return m.title_zh, m.title_en


@pytest.mark.parametrize("checks", CHECKS, ids=[",".join(c) or "none" for c in CHECKS])
@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
@pytest.mark.parametrize("cams", [ONE, VILLAGE], ids=["camera", "village"])
def test_one_colon_after_the_tag(cams: list, kind: NotifyKind, checks: tuple[str, ...]) -> None:
    resolved = kind is NotifyKind.RESOLVE
    zh, en = titles(incident(cams, IncidentKind.PICTURE, resolved=resolved, checks=checks), kind)
    body = TAG.sub("", en, count=1)
    assert body.count(":") == 1, en
    if resolved:
        return
    what = problem_words(checks, "en", title=True)
    if len(cams) == 1:
        assert body == f"{what}: 东关村村口 (城关镇)"
        assert zh.endswith(f"{problem_words(checks)}（城关镇东关村村口）")  # the Chinese as it was
    else:
        assert body == f"东关村, 城关镇: 3/6 cameras with {what}"
        assert zh.endswith(f"城关镇东关村 3/6 台摄像机{problem_words(checks)}")


def test_the_words_in_a_title_and_elsewhere() -> None:
    assert problem_words(("black", "blur"), "en", title=True) == "picture problem (black, blurred)"
    assert problem_words(("black", "clock:+600"), "en", title=True) == "picture problem (black); clock offset +600 s"
    assert problem_words(("clock:+600",), "en", title=True) == "clock offset +600 s"
    assert picture_words((), "en", title=True) == "picture problem"
    # the Chinese is the same either way; a cause line and the CLI's verdict keep the colon
    for checks in CHECKS:
        assert problem_words(checks, "zh", title=True) == problem_words(checks, "zh")
    assert problem_words(("black", "blur"), "en") == "picture problem: black, blurred"
    m = incident_message(NotifyKind.OPEN, incident(ONE, IncidentKind.PICTURE, checks=("black",)), INV, NOW, POLICY)
    assert "Cause: picture problem: black" in m.text_en.splitlines()


@pytest.mark.parametrize("checks", CHECKS, ids=[",".join(c) or "none" for c in CHECKS])
def test_a_picture_order_reads_as_its_alert(checks: tuple[str, ...]) -> None:
    _, en = titles(incident(ONE, IncidentKind.PICTURE, checks=checks), NotifyKind.OPEN)
    o = order("p-V1-9", camera=7, severity="low", cause=None)
    assert order_title(o, "en", checks=checks, **WHERE) == en
    village = order_title(order("p-V1-9", camera=None, severity="low", cause=None, cameras=3), "en", checks=checks, **WHERE)
    _, alert = titles(incident(VILLAGE, IncidentKind.PICTURE, checks=checks), NotifyKind.OPEN)
    assert village == alert.replace("3/6 cameras", "3 cameras")  # (an order keeps its own count, not the village's)


@pytest.mark.parametrize("cams", [ONE, VILLAGE], ids=["camera", "village"])
def test_a_picture_sms_says_its_problem_once(cams: list) -> None:
    """The short form (SMS) of a picture incident is its title and since when: the problem is in the
    title, so no "cause:" repeats it (one camera's as a village's)."""
    m = incident_message(NotifyKind.OPEN, incident(cams, IncidentKind.PICTURE, checks=("black",)), INV, NOW, POLICY)
    assert m.short_zh.count("黑屏") == 1 and "原因" not in m.short_zh, m.short_zh
    assert m.short_en.count("black") == 1 and "cause" not in m.short_en, m.short_en
    assert m.short_zh.startswith(m.title_zh) and m.short_en.startswith(m.title_en)
