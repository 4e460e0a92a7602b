"""The data model (DESIGN §5): typed SQLAlchemy 2.0 tables, one module per concern.

Alembic migrations in ``inventory/migrations`` create these tables; a test checks
that the migrated schema and this metadata agree. Every table is importable from here.
"""

from inventory.clock import utcnow
from inventory.models.base import NAMING, Base, UTCDateTime
from inventory.models.fleet import Camera, Device, InventoryRevision, Point, Region, RegionLevel
from inventory.models.gb28181 import Gb28181Channel, Gb28181Registration, Gb28181Verdict
from inventory.models.leader import AlertDelivery, CameraEvent, LeaderCursor
from inventory.models.ops import AlertLog, Incident, ReportSnapshot, Silence, WorkOrder
from inventory.models.state import (
    COUNTED_EXCLUSIONS,
    CameraRollup,
    CollectorHeartbeat,
    Exclusion,
    ExclusionStatus,
    RollupDay,
    StateInterval,
)
from inventory.models.users import ApiToken, AuditEntry, LoginThrottle, User
from inventory.monitored import Lifecycle

__all__ = [
    "COUNTED_EXCLUSIONS", "NAMING", "AlertDelivery", "AlertLog", "ApiToken", "AuditEntry", "Base", "Camera", "CameraEvent", "CameraRollup", "CollectorHeartbeat",
    "Device", "Exclusion", "ExclusionStatus", "Incident", "InventoryRevision", "LeaderCursor", "Lifecycle", "LoginThrottle", "Point", "Region",
    "RegionLevel", "ReportSnapshot", "RollupDay", "Silence", "StateInterval", "UTCDateTime", "User", "WorkOrder",
    "utcnow",
    "Gb28181Channel", "Gb28181Registration", "Gb28181Verdict",
]
