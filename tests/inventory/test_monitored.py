"""The values the collector keeps per camera: an inventory reload keeps the objects it already holds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from inventory.monitored import Lifecycle, MonitoredCamera, RegionLabels, keep_unchanged
from probes.base import ProbeTarget

LB = RegionLabels("130123101201", "村", "130123101000", "镇", "130123000000", "县")


def cam(i: int, **kw: object) -> MonitoredCamera:
    c = MonitoredCamera(i, f"摄像机{i}", i, ProbeTarget(f"127.0.0.{i}", 554, "/s", 80, "u", "pw", i), None, None,
                        Lifecycle.ACTIVE, LB)
    return replace(c, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("change", "kept"), [
    ({}, True),  # equal (a new object from the database): the old one is kept
    ({"name": "新名"}, False),
    ({"target": ProbeTarget("127.0.0.9", 554, "/s", 80, "u", "pw", 1)}, False),
    ({"target": ProbeTarget("127.0.0.1", 554, "/s", 80, "u", "new password", 1)}, False),
    ({"labels": replace(LB, village_name="新村")}, False),
    ({"lifecycle": Lifecycle.MAINTENANCE}, False),
])
def test_a_reload_keeps_the_object_of_an_unchanged_camera(change: dict[str, object], kept: bool) -> None:
    old = [cam(1), cam(2)]
    new = [cam(1, **change), cam(3)]
    out = keep_unchanged(old, new)
    assert [c.id for c in out] == [1, 3]  # the new list's cameras, in its order: 2 gone, 3 new
    assert (out[0] is old[0]) is kept
    assert out[0] == new[0] and out[1] is new[1]
