"""A camera's record and a point's values.

A camera's record: the values of the table's camera fields (:data:`CAMERA_RECORD`), in order.

A row parsed from a file, the stored-state snapshot and the plan all carry one; comparing two
records is one tuple comparison, and the fields that differ are named by the table. The
attributes the import logic itself reads (address, GB ID, lifecycle, ...) have typed accessors;
any other field is carried without code of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from inventory.access import Access
from inventory.fields import CAMERA_RECORD
from inventory.models import Lifecycle

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PointValues:
    """A point's attributes the file sets (the table's point fields, :data:`inventory.fields.POINT_COLUMN`)."""

    kind: str | None
    lon: float | None
    lat: float | None
    planned: bool


ATTRS: tuple[str, ...] = tuple(cast(str, f.stored) for f in CAMERA_RECORD)
INDEX: dict[str, int] = {a: i for i, a in enumerate(ATTRS)}
_HOST, _PORT, _PATH = INDEX["host"], INDEX["rtsp_port"], INDEX["rtsp_path"]


class Value(Generic[T]):
    """A typed accessor of one field of a :class:`CameraRecord` (for the fields code reads)."""

    __slots__ = ("index",)

    def __init__(self, attr: str) -> None:
        self.index = INDEX[attr]

    def __get__(self, record: CameraRecord, owner: type[CameraRecord] | None = None) -> T:
        return cast(T, record.values[self.index])


@dataclass(frozen=True, slots=True)
class CameraRecord:
    values: tuple[object, ...]

    name = Value[str]("name")
    gb_id = Value["str | None"]("gb_id")
    host = Value["str | None"]("host")  # None: a GB28181-only camera without an address
    rtsp_port = Value[int]("rtsp_port")
    rtsp_path = Value[str]("rtsp_path")
    username = Value["str | None"]("username")
    lifecycle = Value[Lifecycle]("lifecycle")
    access = Value[Access]("access")

    def __getitem__(self, attr: str) -> object:
        return self.values[INDEX[attr]]

    @property
    def address(self) -> tuple[str | None, int, str]:
        """(host, RTSP port, path); host None for a GB28181-only camera without an address
        (such addresses are never compared: the GB ID is its identity)."""
        v = self.values
        return (cast("str | None", v[_HOST]), cast(int, v[_PORT]), cast(str, v[_PATH]))

    def with_value(self, attr: str, value: object) -> CameraRecord:
        """This record with *attr* set to *value*."""
        i = INDEX[attr]
        return CameraRecord((*self.values[:i], value, *self.values[i + 1 :]))

    def changed(self, other: CameraRecord) -> tuple[str, ...]:
        """The attributes whose values differ from *other*'s, in table order."""
        if self.values == other.values:
            return ()
        return tuple(a for a, x, y in zip(ATTRS, self.values, other.values, strict=True) if x != y)

    def columns(self) -> dict[str, object]:
        """Model attribute -> value, for an INSERT or UPDATE of the camera."""
        return dict(zip(ATTRS, self.values, strict=True))
