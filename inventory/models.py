"""The data model (DESIGN §5): typed SQLAlchemy 2.0 tables.

Alembic migrations in ``inventory/migrations`` create these tables; a test checks
that the migrated schema and this metadata agree.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from inventory.access import Access

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        if getattr(dialect, "name", "") == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RegionLevel(enum.StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


class Lifecycle(enum.StrEnum):
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings (no native enum type) so migrations stay portable.
    return Enum(cls, name=name, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


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
    host: Mapped[str] = mapped_column(String(255))
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


class User(Base):
    """A console account (collector.web.principal: role, regions, contractor); argon2 password hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))  # None: tokens only
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)  # region codes; empty = whole county
    contractor: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A personal API token: only its SHA-256 is kept (the token is shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One write by someone (web page, API or CLI): who, what, on which object, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed logins per key (``user:NAME`` or ``addr:IP``) and until when the key is locked out."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
