"""What the request's principal may see on a page: cameras, regions, work orders, exclusions.

The rule itself is :class:`collector.web.principal.Principal`'s; this module only gives it the
region paths (county..village codes) of what a page is about. ``None`` (anonymous, reads open)
sees everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.runtime.scheduler import CameraSlot
from collector.web.principal import Principal
from collector.web.scope import order_actionable, order_visible, region_reader, sees, slot_path, whole
from inventory.models import Region


@dataclass(frozen=True, slots=True)
class RegionInfo:
    code: str
    name: str
    level: str  # county | township | village
    parent: str | None


class Regions:
    """Every region by code, with paths from the county down."""

    def __init__(self, rows: Iterable[RegionInfo]) -> None:
        self.by_code: dict[str, RegionInfo] = {r.code: r for r in rows}
        self.children: dict[str, list[RegionInfo]] = {}
        for r in sorted(self.by_code.values(), key=lambda r: r.code):
            if r.parent:
                self.children.setdefault(r.parent, []).append(r)
        self._paths: dict[str, tuple[str, ...]] | None = None

    def paths(self) -> Mapping[str, tuple[str, ...]]:
        """Every region's path, county..itself (as :func:`collector.web.scope.region_paths`)."""
        if self._paths is None:
            self._paths = {code: self.path(code) for code in self.by_code}
        return self._paths

    def path(self, code: str | None) -> tuple[str, ...]:
        out: list[str] = []
        seen = 0
        while code and seen < 8:
            out.append(code)
            info = self.by_code.get(code)
            code = info.parent if info else None
            seen += 1
        return tuple(reversed(out))

    def name(self, code: str | None) -> str:
        info = self.by_code.get(code or "")
        return info.name if info else (code or "")

    def of_level(self, level: str) -> list[RegionInfo]:
        return sorted((r for r in self.by_code.values() if r.level == level), key=lambda r: r.code)


async def load_regions(engine: AsyncEngine) -> Regions:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Region.code, Region.name, Region.level, Region.parent_code))).all()
    return Regions(RegionInfo(c, n, getattr(lv, "value", str(lv)), p) for c, n, lv, p in rows)


# the camera rule is the API's (collector.web.scope): one reading of a camera's region path
camera_path = slot_path
can_camera = sees


def readable(p: Principal | None, slots: Mapping[int, CameraSlot]) -> list[CameraSlot]:
    """The principal's cameras, by id."""
    ids = sorted(slots)  # sorting the ids alone: sorting (id, slot) pairs cost 0.3 s over 100k cameras
    if p is None or p.reads_all():
        return [slots[i] for i in ids]
    return [s for s in (slots[i] for i in ids) if can_camera(p, s)]


def can_region(p: Principal | None, regions: Regions, code: str) -> bool:
    """In, above or below *p*'s regions. Not a contractor's rule (the regions holding one of its
    cameras): :func:`region_reads`."""
    return p is None or p.can_read_region(regions.path(code))


def region_reads(p: Principal | None, regions: Regions, slots: Iterable[CameraSlot]) -> Callable[[str], bool]:
    """Whether *p* reads the region of a code, the API's rule (:func:`collector.web.scope.region_reader`:
    for a contractor, a region holding one of its cameras; *slots*: the cameras *p* reads will do)."""
    reads = region_reader(p, slots)
    return lambda code: code in regions.by_code and reads(regions.path(code))


def whole_figures(p: Principal | None, path: tuple[str, ...]) -> bool:
    """May the region's own figures (rates, coverage over all its cameras) be shown?  Not for a
    region shown only in part, nor to a contractor (who sees its own cameras only)."""
    return p is None or whole(p, path)


def can_order(p: Principal | None, order: Any, slots: Mapping[int, CameraSlot], regions: Regions) -> bool:
    """A work order (or incident): the API's rule (:func:`collector.web.scope.order_visible`; a
    contractor's: one of its cameras, ``camera_ids``, is the contractor's)."""
    code = getattr(order, "region_code", None)
    paths = {code: regions.path(code)} if code else {}
    return order_visible(p, slots, paths, getattr(order, "camera_id", None), code, getattr(order, "camera_ids", ()))


def can_act(p: Principal | None, order: Any, slots: Mapping[int, CameraSlot]) -> bool:
    """May *p* acknowledge or close an order it reads, its role permitting (the API's rule:
    :func:`collector.web.scope.order_actionable`; a contractor, when every camera of it is its own)."""
    return order_actionable(p, slots, getattr(order, "camera_id", None), getattr(order, "camera_ids", ()))
