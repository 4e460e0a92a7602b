"""``camwatch inventory summary``: counts of the stored inventory, overall and per township."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from inventory.models import Camera, Device, Lifecycle, Point, Region, RegionLevel


@dataclass(frozen=True, slots=True)
class TownshipCounts:
    code: str
    name: str
    county: str
    villages: int
    points: int
    planned_points: int
    built_points: int
    cameras: int


@dataclass(frozen=True, slots=True)
class Summary:
    counties: int
    townships: int
    villages: int
    points: int
    planned_points: int
    built_points: int
    cameras: int
    cameras_active: int
    cameras_maintenance: int
    cameras_retired: int
    devices: int
    per_township: tuple[TownshipCounts, ...]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


async def summarize(engine: AsyncEngine) -> Summary:
    async with AsyncSession(engine) as s:
        levels = {RegionLevel(lv): n for lv, n in (await s.execute(select(Region.level, func.count()).group_by(Region.level))).all()}
        regions = {r.code: r for r in (await s.execute(select(Region.code, Region.name, Region.level, Region.parent_code))).all()}
        points = (await s.execute(select(Point.id, Point.village_code, Point.planned).where(Point.retired.is_(False)))).all()
        cams = (await s.execute(select(Camera.point_id, Camera.lifecycle))).all()
        devices = (await s.execute(select(func.count()).select_from(Device))).scalar_one()
    by_lc = dict.fromkeys(Lifecycle, 0)
    live_by_point: dict[int, int] = {}
    for point_id, lc in cams:
        lc = Lifecycle(lc)
        by_lc[lc] += 1
        if lc is not Lifecycle.RETIRED:
            live_by_point[point_id] = live_by_point.get(point_id, 0) + 1
    villages_of: dict[str, set[str]] = {}
    for code, r in regions.items():
        if RegionLevel(r.level) is RegionLevel.VILLAGE and r.parent_code:
            villages_of.setdefault(r.parent_code, set()).add(code)
    # Per township: points, planned points, built points, cameras.
    per: dict[str, list[int]] = {
        code: [0, 0, 0, 0] for code, r in regions.items() if RegionLevel(r.level) is RegionLevel.TOWNSHIP
    }
    built = 0
    planned = 0
    for pid, village, is_planned in points:
        v = regions.get(village)
        t = per.get(v.parent_code) if v is not None and v.parent_code else None
        n = live_by_point.get(pid, 0)
        planned += bool(is_planned)
        built += n > 0
        if t is not None:
            t[0] += 1
            t[1] += bool(is_planned)
            t[2] += n > 0
            t[3] += n

    def township(code: str, counts: list[int]) -> TownshipCounts:
        r = regions[code]
        county = regions.get(r.parent_code) if r.parent_code else None
        return TownshipCounts(code, r.name, county.name if county else "", len(villages_of.get(code, ())), *counts)

    per_township = tuple(sorted((township(c, n) for c, n in per.items()), key=lambda t: t.code))
    return Summary(
        counties=levels.get(RegionLevel.COUNTY, 0),
        townships=levels.get(RegionLevel.TOWNSHIP, 0),
        villages=levels.get(RegionLevel.VILLAGE, 0),
        points=len(points), planned_points=planned, built_points=built,
        cameras=by_lc[Lifecycle.ACTIVE] + by_lc[Lifecycle.MAINTENANCE],
        cameras_active=by_lc[Lifecycle.ACTIVE], cameras_maintenance=by_lc[Lifecycle.MAINTENANCE],
        cameras_retired=by_lc[Lifecycle.RETIRED], devices=devices, per_township=per_township,
    )
