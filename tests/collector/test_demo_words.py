"""The demo screen names each offline camera's cause in the declared words."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from collector.cli.demo_screen import render
from collector.runtime.camera_state import State
from probes.causes import UNKNOWN_WORDS, Cause


def _slot(cid: int, cause: Cause | None) -> SimpleNamespace:
    labels = SimpleNamespace(township="t1", township_name="城关镇", village_name="南庄村")
    status = SimpleNamespace(since=dt.datetime(2026, 11, 23, 2, 0, cid, tzinfo=dt.UTC), cause=cause, flapping=False)
    return SimpleNamespace(cam=SimpleNamespace(name=f"cam{cid}", labels=labels), shown=State.OFFLINE, status=status)


@pytest.mark.parametrize("cause", [*Cause, None])
def test_offline_lines_give_the_declared_words(cause: Cause | None) -> None:
    app = SimpleNamespace(scheduler=SimpleNamespace(slots={1: _slot(1, cause)}))
    screen = render(app, 1, 0.0, "http://127.0.0.1:1")
    [line] = [x for x in screen.splitlines() if "cam1" in x]
    assert f"  {cause.words('zh') if cause else UNKNOWN_WORDS[0]}  " in line
