"""A small inventory and helpers shared by the alert tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from collector.alerting.engine import AlertEngine
from collector.alerting.model import CameraInfo, Inventory, Notify, NotifyKind, Outage, Recovery
from collector.alerting.policy import AlertPolicy
from probes.causes import Cause
from tests.inventory.helpers import do_import, migrated

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # 10:00 in Asia/Shanghai: outside quiet hours


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


SAMPLE = Path(__file__).resolve().parents[2] / "config" / "sample_inventory.csv"


def sample_db(db_url: str) -> str:
    """*db_url* migrated, with the sample inventory imported (the database alert tests start from)."""
    migrated(db_url)
    do_import(db_url, SAMPLE)
    return db_url


def _cam(i: int, village: str, vname: str, point: str, device: int | None) -> CameraInfo:
    return CameraInfo(i, f"{vname}{point}", village, vname, "130123101000", "城关镇", "130123000000", "示范县",
                      point, device, "东关村-4G路由器" if device else "")


POINTS = ("村口", "十字路口", "村委会", "学校门口", "卫生室", "桥头", "小卖部", "广场")
CAMS = ([_cam(i + 1, "130123101201", "东关村", POINTS[i], 1) for i in range(8)]
        + [_cam(11 + i, "130123101202", "西关村", POINTS[i], None) for i in range(3)]
        + [_cam(21, "130123102201", "南庄村", "村口", None)])
INV = Inventory.of(CAMS)
EAST = [c.id for c in CAMS if c.village == "130123101201"]
WEST = [11, 12, 13]
POLICY = AlertPolicy(base_url="http://cw.example")


def outage(cid: int, t: float, cause: Cause = Cause.TIMEOUT) -> Outage:
    return Outage(cid, cause, at(t - 15), at(t))


def recovery(cid: int, t: float) -> Recovery:
    return Recovery(cid, at(t))


def notes(actions: tuple[object, ...] | list[object], kind: NotifyKind | None = None) -> list[Notify]:
    return [a for a in actions if isinstance(a, Notify) and (kind is None or a.kind is kind)]


def run(e: AlertEngine, script: list[tuple[float, object]], until: float, step: float = 5.0) -> list[tuple[float, object]]:
    """Feed (time, input) pairs in order, ticking every *step* seconds; return (time, action) pairs."""
    out: list[tuple[float, object]] = []
    script = sorted(script, key=lambda p: p[0])
    t, i = 0.0, 0
    while t <= until:
        while i < len(script) and script[i][0] <= t:
            out += [(script[i][0], a) for a in e.feed(script[i][1])]  # type: ignore[arg-type]
            i += 1
        out += [(t, a) for a in e.tick(at(t))]
        t += step
    return out
