"""What the collector records: state intervals, exclusions, heartbeats and daily rollups."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, ColumnElement, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from inventory.clock import utcnow
from inventory.models.base import Base, UTCDateTime


class StateInterval(Base):
    """One run of a camera in one state; ``end`` is NULL while it lasts."""

    __tablename__ = "state_intervals"
    __table_args__ = (
        Index("ix_state_intervals_camera_start", "camera_id", "start"),
        Index("ix_state_intervals_start", "start"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    state: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str | None] = mapped_column(String(32))
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    start_uncertainty_us: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # ± of start: half its probe gap


class ExclusionStatus(enum.StrEnum):
    """An exclusion's life: a contractor's proposal (报备申请) is ``proposed`` until an assessor
    approves or rejects it; ``ended``: an approved one ended early by hand (its end moved to that
    moment). Only approved and ended ones count (:data:`COUNTED_EXCLUSIONS`)."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    ENDED = "ended"


# The statuses whose interval is kept out of the rates (and shows a camera as excluded).
COUNTED_EXCLUSIONS: tuple[str, ...] = (ExclusionStatus.APPROVED.value, ExclusionStatus.ENDED.value)


class Exclusion(Base):
    """An interval kept out of the rates (maintenance window, reported power cut) once approved."""

    __tablename__ = "exclusions"
    __table_args__ = {"sqlite_autoincrement": True}  # a removed one's number is never given again (audit rows name it)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)
    approver: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 0006: proposals (a contractor's 报备) and their decision; rows from before are approved.
    status: Mapped[str] = mapped_column(String(16), default=ExclusionStatus.APPROVED.value,
                                        server_default=text("'approved'"), index=True)
    proposer: Mapped[str | None] = mapped_column(String(128))
    decider: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)

    @classmethod
    def counted(cls) -> ColumnElement[bool]:
        """SQL: the exclusions that count (approved or ended), never a proposal or a rejected one."""
        return cls.status.in_(COUNTED_EXCLUSIONS)




class CollectorHeartbeat(Base):
    """A collector's liveness: on start, time since its last heartbeat is unknown for its cameras."""

    __tablename__ = "collector_heartbeats"

    collector_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CameraRollup(Base):
    """A camera's accounted time from its first state interval up to the UTC midnight ``day``
    (cumulative, integer microseconds), and the interval in force at ``day``: its state and its
    end as stored when the row was built (``carry_state`` NULL: none in force).

    A cache of what the state intervals say (DESIGN §4): the time of [d1, d2) is the difference of
    two rows (``unc_us``: the half probe gaps of the intervals starting before ``day``). Writes that
    change the past delete the rows after it; reads fall back to the intervals without them.
    """

    __tablename__ = "camera_rollups"

    day: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    camera_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intact_us: Mapped[int] = mapped_column(BigInteger)
    degraded_us: Mapped[int] = mapped_column(BigInteger)
    offline_us: Mapped[int] = mapped_column(BigInteger)
    unc_us: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    carry_state: Mapped[str | None] = mapped_column(String(16))
    carry_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RollupDay(Base):
    """``day``'s rollup rows were built for the ``cameras`` cameras known then."""

    __tablename__ = "rollup_days"

    day: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    cameras: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
