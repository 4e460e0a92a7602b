"""Operations: work orders, alerts and incidents, silences, report snapshots."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from inventory.clock import utcnow
from inventory.models.base import Base, UTCDateTime


class WorkOrder(Base):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_key: Mapped[str] = mapped_column(String(128), index=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    cause: Mapped[str | None] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))  # who took it (an account, cli:USER, api)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    # 0003: what the order is about, how many cameras, and how it ended (recovered | closed).
    title: Mapped[str | None] = mapped_column(String(255))
    cameras: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    resolution: Mapped[str | None] = mapped_column(String(16))


class AlertLog(Base):
    __tablename__ = "alert_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    incident_key: Mapped[str | None] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)


class Incident(Base):
    """An alert incident (one outage of a camera, a village or an upstream device); see collector.alerting."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    village_code: Mapped[str | None] = mapped_column(String(32), index=True)
    device_id: Mapped[int | None] = mapped_column(Integer)
    cause: Mapped[str | None] = mapped_column(String(32))
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # [{"camera": id, "cause": str|null, "start": iso, "up_at": iso|null, "checks": [str]}]
    members: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    down: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    silenced: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Silence(Base):
    """Alert messages suppressed for a camera or a region until ``until`` (incidents are still recorded)."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportSnapshot(Base):
    """A closed month, frozen: recomputation from state intervals must give the same numbers."""

    __tablename__ = "report_snapshots"
    __table_args__ = (UniqueConstraint("period", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict[str, object]] = mapped_column(JSON)
