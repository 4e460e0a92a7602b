"""The plan as a running collector keeps it for coverage now: columns, not an object per camera.

The region figures recompute coverage from the live states every few seconds, for as long as a
collector runs (DESIGN §4, §8). A :class:`~collector.accounting.model.CameraRef` per camera (with
its own id object) cost ~0.12 KB a camera at 100k; :class:`CameraPlan` keeps what coverage reads
of each camera (its id, point, village, whether retired) in arrays: ~0.02 KB.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from collector.accounting.coverage import VillageCoverage, village_coverage_of
from collector.accounting.model import UP_STATES, CameraRef, PointRef


@dataclass(frozen=True, slots=True)
class CameraPlan:
    points: tuple[PointRef, ...]
    ids: array[int]  # camera ids, in load order
    point_ids: array[int]  # each camera's point
    villages: tuple[str, ...]  # the village codes, by index ...
    village_at: array[int]  # ... each camera's
    retired: bytes  # 1 for a retired camera (counts for no coverage)

    @classmethod
    def of(cls, points: Iterable[PointRef], cameras: Iterable[CameraRef]) -> CameraPlan:
        index: dict[str, int] = {}
        ids, point_ids, village_at, retired = array("q"), array("q"), array("I"), bytearray()
        for cam in cameras:
            ids.append(cam.camera_id)
            point_ids.append(cam.point_id)
            village_at.append(index.setdefault(cam.village, len(index)))
            retired.append(cam.retired)
        return cls(tuple(points), ids, point_ids, tuple(index), village_at, bytes(retired))

    def __len__(self) -> int:
        return len(self.ids)

    def coverage(self, states: Mapping[int, str]) -> tuple[VillageCoverage, ...]:
        """Each village's coverage now; *states*: camera id -> state (missing: unknown)."""
        marks = ((pid, states.get(cid) in UP_STATES)
                 for cid, pid, gone in zip(self.ids, self.point_ids, self.retired, strict=True) if not gone)
        return village_coverage_of(self.points, marks)

    def villages_with(self, states: Mapping[int, str], state: str) -> set[str]:
        """The villages with a camera in *state* (by *states*)."""
        v = self.villages
        return {v[k] for cid, k in zip(self.ids, self.village_at, strict=True) if states.get(cid) == state and v[k]}


__all__ = ["CameraPlan"]
