"""The replicas' leader (DESIGN §8): camera events every replica writes, the leader's cursor in
them, and the delivery keys of its messages (collector.alerting.leader)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from inventory.clock import utcnow
from inventory.models.base import Base, UTCDateTime


class CameraEvent(Base):
    """One camera state machine event (``collector.runtime.camera_state``), written by the replica
    owning the camera in the transaction of its interval rows, under its fence. Ids grow in commit
    order (writers take one transaction lock before inserting), so a cursor never skips a row."""

    __tablename__ = "camera_events"
    __table_args__ = {"sqlite_autoincrement": True}  # an id is never reused once pruned

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    camera_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # changed | flapping
    old: Mapped[str | None] = mapped_column(String(16))
    new: Mapped[str | None] = mapped_column(String(16))
    cause: Mapped[str | None] = mapped_column(String(32))
    start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the new interval's start (changed)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)  # confirmed (changed) or flagged (flapping)
    flapping: Mapped[bool | None] = mapped_column(Boolean)
    checks: Mapped[list[str] | None] = mapped_column(JSON)  # failed picture checks while degraded
    replica: Mapped[str] = mapped_column(String(64))
    # changed to offline: the camera's parent device checked and answering (false: not); null: not checked
    upstream_up: Mapped[bool | None] = mapped_column(Boolean)
    changes: Mapped[int | None] = mapped_column(Integer)  # flagged flapping: the changes that made it flapping


class LeaderCursor(Base):
    """How far the leader's job ``name`` has consumed ``camera_events`` (everything up to
    ``position`` is reflected in what it stored)."""

    __tablename__ = "leader_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    replica: Mapped[str | None] = mapped_column(String(64))


class AlertDelivery(Base):
    """One message for one channel, keyed before it is sent: pending -> sending -> sent | failed;
    a ``sending`` one found by a new leader becomes ``in_doubt`` and is not sent again."""

    __tablename__ = "alert_deliveries"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)  # incident:kind[:n]:channel
    incident_key: Mapped[str | None] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    replica: Mapped[str | None] = mapped_column(String(64))
