"""A county whose November 2026 is known by hand: 3 townships, 11 cameras, every outage placed in
local time (Asia/Shanghai), for checking a report's figures against a computation on paper.

东镇: E1 offline 36 h (11-10 00:00 .. 11-11 12:00); E2 offline across the month's start
(10-31 20:00 .. 11-01 12:00: 12 h in November, 4 h in October); E3 offline 11-29 .. 12-02 under an
approved exclusion of the same span (48 h of it in November). 西乡: W1 up; W2 installed 11-16 (no
state before); W3 offline 10 h on 11-03, retired 11-10 (state ``excluded`` from then on);
W4 offline 5.04 h. 南街道: S1 offline 7.2 h; S3 unknown 24 h (collector down for it); S2, S4 up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update

from inventory.db import create_engine
from inventory.models import Camera, Exclusion, StateInterval
from tests.inventory.helpers import do_import, migrated, write_csv

Z = ZoneInfo("Asia/Shanghai")
HEAD = ["县/区代码", "县/区", "乡镇/街道代码", "乡镇/街道", "村/社区代码", "村/社区", "点位名称", "是否规划", "摄像机名称",
        "IP地址", "RTSP端口", "RTSP路径", "用户名", "密码", "状态"]
COUNTY, EAST, WEST, SOUTH = "330999000000", "330999101000", "330999102000", "330999103000"
_VILLAGES = {EAST: (("330999101001", "东一村"), ("330999101002", "东二村")),
             WEST: (("330999102001", "西一村"), ("330999102002", "西二村")),
             SOUTH: (("330999103001", "南一社区"), ("330999103002", "南二社区"))}
_TOWNS = {EAST: "东镇", WEST: "西乡", SOUTH: "南街道"}
# (township, village index, point, camera name or "" for a planned point not built, lifecycle)
_POINTS = [(EAST, 0, "村口", "E1", "在用"), (EAST, 0, "学校", "E2", "在用"), (EAST, 1, "村口", "E3", "在用"),
           (EAST, 1, "池塘", "", ""), (WEST, 0, "村口", "W1", "在用"), (WEST, 0, "学校", "W2", "在用"),
           (WEST, 1, "村口", "W3", "退役"), (WEST, 1, "学校", "W4", "在用"), (SOUTH, 0, "村口", "S1", "在用"),
           (SOUTH, 0, "学校", "S2", "在用"), (SOUTH, 1, "村口", "S3", "在用"), (SOUTH, 1, "学校", "S4", "在用")]
# camera -> (first state's start, [(state, cause, start, end or None)]); online in between
_BASE = "2026-09-01 00:00"
EVENTS: dict[str, tuple[str, list[tuple[str, str | None, str, str | None]]]] = {
    "E1": (_BASE, [("offline", "unreachable", "2026-11-10 00:00", "2026-11-11 12:00")]),
    "E2": (_BASE, [("offline", "timeout", "2026-10-31 20:00", "2026-11-01 12:00")]),
    "E3": (_BASE, [("offline", "unreachable", "2026-11-29 00:00", "2026-12-02 00:00")]),
    "W1": (_BASE, []),
    "W2": ("2026-11-16 00:00", []),
    "W3": (_BASE, [("offline", "unreachable", "2026-11-03 00:00", "2026-11-03 10:00"),
                   ("excluded", None, "2026-11-10 00:00", None)]),
    "W4": (_BASE, [("offline", "unreachable", "2026-11-05 10:00", "2026-11-05 15:02:24")]),
    "S1": (_BASE, [("offline", "auth_failed", "2026-11-20 08:00", "2026-11-20 15:12")]),
    "S2": (_BASE, []),
    "S3": (_BASE, [("unknown", None, "2026-11-20 00:00", "2026-11-21 00:00")]),
    "S4": (_BASE, []),
}
EXCLUSION = ("E3", "2026-11-29 00:00", "2026-12-02 00:00")
RETIRED_AT = "2026-11-10 00:00"  # W3's retirement (the inventory's retired_at, as the collector saw it)


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=Z).astimezone(dt.UTC)


def _rows() -> list[list[str]]:
    out = []
    for i, (town, v, point, cam, life) in enumerate(_POINTS):
        vcode, vname = _VILLAGES[town][v]
        built = [cam, f"127.0.9.{i + 1}", "8554", "/s", "admin", "pw", life] if cam else [""] * 7
        out.append([COUNTY, "测试县", town, _TOWNS[town], vcode, vname, point, "是", *built])
    return out


def _spans(cid: int, first: str, events: list[tuple[str, str | None, str, str | None]]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    t: dt.datetime | None = local(first)
    for state, cause, s, e in events:
        start, end = local(s), (local(e) if e else None)
        if t is not None and start > t:
            out.append({"camera_id": cid, "state": "online", "cause": None, "start": t, "end": start})
        out.append({"camera_id": cid, "state": state, "cause": cause, "start": start, "end": end})
        t = end
    if t is not None:
        out.append({"camera_id": cid, "state": "online", "cause": None, "start": t, "end": None})
    return out


def build_county(url: str, tmp: Path) -> dict[str, int]:
    """Migrate, import the county and write its intervals and exclusion; camera ids by name."""
    migrated(url)
    assert do_import(url, write_csv(tmp / "county.csv", HEAD, _rows())).written

    async def go() -> dict[str, int]:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                ids = {name[:2]: cid for cid, name in (await conn.execute(select(Camera.id, Camera.name)))}
                await conn.execute(insert(StateInterval), [r for name, (first, evs) in EVENTS.items()
                                                           for r in _spans(ids[name], first, evs)])
                await conn.execute(update(Camera).where(Camera.id == ids["W3"]).values(retired_at=local(RETIRED_AT)))
                cam, lo, hi = EXCLUSION
                await conn.execute(insert(Exclusion).values(camera_id=ids[cam], start=local(lo), end=local(hi),
                                                            reason="停电报备", approver="王科长", status="approved"))
            return ids
        finally:
            await engine.dispose()

    return asyncio.run(go())
