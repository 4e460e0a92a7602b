"""A camera down when camwatch stopped watching it is shown down since then once seen so again
(collector/runtime/since_bridge.py): the rule as a table, then `camwatch run` stopped and started
again against the simulated fleet on loopback (the API and the console say the same)."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from pathlib import Path

import pytest

from collector.runtime.camera_state import Changed, FlappingChanged, State, Status
from collector.runtime.since_bridge import Before, Bridged, SinceBridge, first_change
from probes.causes import Cause
from probes.sim import Behaviour, Fleet, Power
from probes.sim.loopback import LoopbackRange
from tests.collector.test_cli_inventory import SAMPLE_PASSWORD, camwatch
from tests.collector.test_run import _metrics, _wait
from tests.collector.test_stop_restart import _all_known, _health, _heartbeat, _start, _stop, _utc
from tests.net import free_port, sample_inventory_at

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


OFF = Before(State.OFFLINE, Cause.UNREACHABLE, at(0), at(100))
DEG = Before(State.DEGRADED, None, at(0), at(100))
GAP = Bridged(at(0), at(100), at(103))


def ch(old: State, new: State, cause: Cause | None = None, start: float = 103) -> Changed:
    return Changed(old, new, cause, at(start), at(start))


@pytest.mark.parametrize(("before", "ev", "expected"), [
    (OFF, ch(State.UNKNOWN, State.OFFLINE, Cause.UNREACHABLE), GAP),  # seen so again: bridged
    (OFF, ch(State.UNKNOWN, State.OFFLINE, Cause.AUTH_FAILED), None),  # down for another reason now
    (OFF, ch(State.UNKNOWN, State.ONLINE), None),  # back: nothing to bridge
    (DEG, ch(State.UNKNOWN, State.DEGRADED), GAP),
    (DEG, ch(State.UNKNOWN, State.ONLINE, start=101), Before(State.DEGRADED, None, at(0), at(100), online_at=at(101))),
    (Before(State.DEGRADED, None, at(0), at(100), online_at=at(101)), ch(State.ONLINE, State.DEGRADED), GAP),
    # the picture found fine meanwhile, degraded again days later: another degradation, not bridged
    (Before(State.DEGRADED, None, at(0), at(100), online_at=at(101)), ch(State.ONLINE, State.DEGRADED, start=4000), None),
    (DEG, ch(State.ONLINE, State.DEGRADED), None),  # (not after an online the picture had not been looked at)
    (DEG, ch(State.UNKNOWN, State.OFFLINE, Cause.UNREACHABLE), None),
])
def test_first_change_after_the_gap(before: Before, ev: Changed, expected: Before | Bridged | None) -> None:
    assert first_change(before, ev) == expected


def test_the_bridge_holds_until_the_next_change() -> None:
    b = SinceBridge()
    b.add({7: OFF})
    down = Status(State.OFFLINE, Cause.UNREACHABLE, at(103))
    assert b.of(7, down) is None  # not seen again yet
    b.on_event(7, FlappingChanged(True, at(102)))  # (not a change of state)
    b.on_event(7, ch(State.UNKNOWN, State.OFFLINE, Cause.UNREACHABLE))
    assert b.of(7, down) == GAP and b.since(7, down) == at(0)
    assert b.of(8, down) is None and b.since(8, down) == at(103)  # another camera: its own since
    assert b.of(7, Status(State.OFFLINE, Cause.UNREACHABLE, at(110))) is None  # a status not the one bridged
    b.on_event(7, ch(State.OFFLINE, State.ONLINE, start=120))
    assert b.of(7, down) is None and len(b) == 0  # a later change ends it
    b.add({7: OFF})
    b.add({}, {7})  # a new gap with the camera not down before it: the earlier bridge is void
    assert len(b) == 0


def _camera(port: int, cid: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/cameras/{cid}", timeout=5) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def _page(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.read().decode()


def _seen_down(port: int, cid: int) -> bool:
    return _camera(port, cid)["state"] == "offline"


def test_a_camera_down_across_a_restart_is_shown_down_since_before_it(tmp_path: Path, loopback: LoopbackRange) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    sample = sample_inventory_at(tmp_path / "sample.csv", loopback)
    assert camwatch(tmp_path, "inventory", "import", str(sample)).returncode == 0
    port = free_port()
    with Fleet(48, base_address=loopback.base_address, password=SAMPLE_PASSWORD) as fleet:
        fleet.set_behaviour(3, Behaviour(power=Power.DOWN))  # camera 4: down throughout
        fleet.set_behaviour(5, Behaviour(power=Power.DOWN))  # camera 6: down, then back while camwatch is away
        proc = _start(tmp_path, port)
        try:
            _wait(lambda: _metrics(port).count("camwatch_camera_up{") >= 48 and _seen_down(port, 4) and _seen_down(port, 6), 30)
            first = _camera(port, 4)
            assert first["state_since"] == first["since"] and first["unwatched"] is None
            time.sleep(1.0)
            _stop(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
        hb = _utc(_heartbeat(tmp_path))
        fleet.set_behaviour(5, Behaviour())
        time.sleep(1.0)
        proc = _start(tmp_path, port)
        try:
            _wait(lambda: _health(port)["status"] == "ok", 30)
            _wait(lambda: _all_known(port) and _seen_down(port, 4), 30)
            again = _camera(port, 4)
            back = _camera(port, 6)
            overview = _page(port, "/?lang=zh")
            page = _page(port, "/cameras/4?lang=en")
        finally:
            _stop(proc)
    since = dt.datetime.fromisoformat(str(again["since"]))
    assert since > hb  # the interval: from the first probe after the start
    assert dt.datetime.fromisoformat(str(again["state_since"])) == dt.datetime.fromisoformat(str(first["since"]))
    gap = again["unwatched"]
    assert isinstance(gap, dict)
    assert dt.datetime.fromisoformat(gap["start"]) == hb and dt.datetime.fromisoformat(gap["end"]) == since
    assert back["state"] == "online" and back["state_since"] == back["since"] and back["unwatched"] is None
    assert "camwatch 未在监测（状态未知）" in overview
    assert "camwatch was not watching from" in page
