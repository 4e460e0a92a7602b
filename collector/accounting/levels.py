"""Grouping: what rate rows are keyed by (a camera's key at each level), and items grouped by a key."""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable
from operator import attrgetter
from typing import TypeVar

from collector.accounting.model import CameraRef

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Level(enum.StrEnum):
    """What rows are grouped by."""

    CAMERA = "camera"
    POINT = "point"
    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"
    CONTRACTOR = "contractor"


# the CameraRef field that is a camera's key at each level
_KEY_OF: dict[Level, Callable[[CameraRef], int | str | None]] = {
    Level.CAMERA: attrgetter("camera_id"),
    Level.POINT: attrgetter("point_id"),
    Level.VILLAGE: attrgetter("village"),
    Level.TOWNSHIP: attrgetter("township"),
    Level.COUNTY: attrgetter("county"),
    Level.CONTRACTOR: attrgetter("contractor"),
}


def group_by(items: Iterable[T], key: Callable[[T], K | None]) -> dict[K, list[T]]:
    """The items in a list per key, each list in the order given; items whose key is None are left out."""
    groups: dict[K, list[T]] = {}
    for item in items:
        k = key(item)
        if k is None:
            continue
        group = groups.get(k)
        if group is None:
            groups[k] = [item]
        else:
            group.append(item)
    return groups


def cameras_by(level: Level, cameras: Iterable[CameraRef]) -> list[tuple[int | str, list[CameraRef]]]:
    """The cameras grouped by their key at ``level``, sorted by key, each group in the order given;
    cameras without a key (no contractor, at contractor level) are left out."""
    groups: dict[int | str, list[CameraRef]] = group_by(cameras, _KEY_OF[level])
    return [(key, groups[key]) for key in sorted(groups)]
