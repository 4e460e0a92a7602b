"""Exclusions indexed once by camera and by region code, so a camera looks up only its own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from collector.accounting.intervals import clip, to_us, union
from collector.accounting.model import CameraRef, ExclusionSpan

# (start_us, end_us or None for open-ended)
_Raw = tuple[int, int | None]


@dataclass(frozen=True, slots=True)
class ExclusionIndex:
    by_camera: Mapping[int, tuple[_Raw, ...]]
    by_region: Mapping[str, tuple[_Raw, ...]]
    everywhere: tuple[_Raw, ...]

    @property
    def empty(self) -> bool:
        """No exclusion at all."""
        return not (self.everywhere or self.by_camera or self.by_region)

    def for_camera(self, camera: CameraRef, lo: int, hi: int) -> list[tuple[int, int]]:
        """The union of exclusions that apply to ``camera``, clipped to [lo, hi) (microseconds).

        A camera exclusion and its village's (or overlapping ones) are counted once.
        """
        raw: list[_Raw] = list(self.everywhere)
        raw.extend(self.by_camera.get(camera.camera_id, ()))
        seen: set[str] = set()
        for code in (camera.village, camera.township, camera.county):
            if code not in seen:
                seen.add(code)
                raw.extend(self.by_region.get(code, ()))
        if not raw:
            return []
        return union(clip(((s, hi if e is None else e) for s, e in raw), lo, hi))


# What the accounting functions take: the spans, or an index made once and passed on.
Exclusions = Iterable[ExclusionSpan] | ExclusionIndex


def index_exclusions(exclusions: Exclusions) -> ExclusionIndex:
    """Group exclusions by scope once (an index passed in is returned as is)."""
    if isinstance(exclusions, ExclusionIndex):
        return exclusions
    by_camera: dict[int, list[_Raw]] = {}
    by_region: dict[str, list[_Raw]] = {}
    everywhere: list[_Raw] = []
    for ex in exclusions:
        item = (to_us(ex.start), None if ex.end is None else to_us(ex.end))
        if ex.camera_id is not None:
            by_camera.setdefault(ex.camera_id, []).append(item)
        elif ex.region_code is not None:
            by_region.setdefault(ex.region_code, []).append(item)
        else:
            everywhere.append(item)
    return ExclusionIndex(
        MappingProxyType({k: tuple(v) for k, v in by_camera.items()}),
        MappingProxyType({k: tuple(v) for k, v in by_region.items()}),
        tuple(everywhere),
    )
