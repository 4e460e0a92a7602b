"""The inventory: regions, planned points, upstream devices and cameras (DESIGN §5)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inventory.access import Access
from inventory.clock import utcnow
from inventory.models.base import Base, UTCDateTime, _enum
from inventory.monitored import Lifecycle


class RegionLevel(enum.StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


class Region(Base):
    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[RegionLevel] = mapped_column(_enum(RegionLevel, "region_level"))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    # True when the code was derived from names (the file gave none).
    derived: Mapped[bool] = mapped_column(Boolean, default=False)
    target: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Point(Base):
    __tablename__ = "points"
    __table_args__ = (UniqueConstraint("village_code", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str | None] = mapped_column(String(64))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    planned: Mapped[bool] = mapped_column(Boolean, default=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Device(Base):
    """An upstream device (village switch, 4G router, NVR) that cameras hang off."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    host: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (UniqueConstraint("host", "rtsp_port", "rtsp_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    gb_id: Mapped[str | None] = mapped_column(String(20), unique=True)
    host: Mapped[str | None] = mapped_column(String(255))  # None: reached only over GB/T 28181 (access gb28181)
    rtsp_port: Mapped[int] = mapped_column(Integer, default=554)
    rtsp_path: Mapped[str] = mapped_column(String(512), default="/")
    onvif_port: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(128))
    credential_ref: Mapped[str | None] = mapped_column(Text)  # "enc:<fernet token>" or "env:NAME", never the password
    vendor: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128))
    firmware: Mapped[str | None] = mapped_column(String(128))
    serial: Mapped[str | None] = mapped_column(String(128))
    mac: Mapped[str | None] = mapped_column(String(32))
    parent_device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), index=True)
    contractor: Mapped[str | None] = mapped_column(String(128), index=True)
    lifecycle: Mapped[Lifecycle] = mapped_column(_enum(Lifecycle, "lifecycle"), default=Lifecycle.ACTIVE)
    installed_on: Mapped[dt.date | None] = mapped_column(Date)
    access: Mapped[Access] = mapped_column(_enum(Access, "access"), default=Access.DIRECT, server_default="direct")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class InventoryRevision(Base):
    """One row (``id`` 1): a counter that database triggers bump at every write to cameras, points,
    regions or devices (migration 0013). A collector reloads its inventory only when it moved."""

    __tablename__ = "inventory_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
