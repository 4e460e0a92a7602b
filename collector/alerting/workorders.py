"""Work orders (工单) as pure values: states, the three supervision colours (三色督办), times.

States: ``open`` → ``acknowledged`` → ``resolved`` (auto-resolved when the incident recovers,
or closed by hand with a note). Colour at ``now``:

* **green**: resolved at or before its deadline;
* **yellow**: still open (or acknowledged) and ``now`` is at or before the deadline;
* **red**: overdue: open past the deadline, **or resolved after it** (a late repair stays red,
  so a month's red count is the number of repairs that missed their deadline).

Response time = acknowledged − opened; repair time = resolved − opened.
The deadline itself comes from :class:`collector.alerting.policy.DeadlinePolicy`.

An order's stored ``title`` is the Chinese title of the alert that opened it (exports and the API
keep it as stored); :func:`order_title` says it in a page's language from the order's fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from collector.alerting.messages import SEVERITY_TAG, UPLINK_WORDS, camera_place, place
from collector.alerting.model import Severity
from probes.causes import Cause
from probes.checks import problem_words


class OrderStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Color(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Resolution(StrEnum):
    RECOVERED = "recovered"  # the cameras came back (auto)
    CLOSED = "closed"  # closed by hand, with a note


class WorkOrderError(ValueError):
    """An impossible transition (acknowledging or closing a resolved order, closing without a note)."""


@dataclass(frozen=True, slots=True)
class WorkOrder:
    id: int
    incident_key: str
    status: OrderStatus
    severity: str
    opened_at: dt.datetime
    deadline: dt.datetime
    cause: str | None = None
    title: str | None = None
    camera_id: int | None = None
    region_code: str | None = None
    device_id: int | None = None
    cameras: int = 1
    acknowledged_at: dt.datetime | None = None
    resolved_at: dt.datetime | None = None
    resolution: Resolution | None = None
    note: str | None = None
    # the cameras of its incident (its members; a camera order's own camera at least), when read
    # with them (incident_store): who may see it and act on it (collector.web.scope.order_visible)
    camera_ids: tuple[int, ...] = ()
    acknowledged_by: str | None = None  # who took it (an account's name, cli:USER, api), when known

    @property
    def response_s(self) -> float | None:
        return None if self.acknowledged_at is None else (self.acknowledged_at - self.opened_at).total_seconds()

    @property
    def repair_s(self) -> float | None:
        return None if self.resolved_at is None else (self.resolved_at - self.opened_at).total_seconds()


def color(order: WorkOrder, now: dt.datetime) -> Color:
    if order.status is OrderStatus.RESOLVED and order.resolved_at is not None:
        return Color.GREEN if order.resolved_at <= order.deadline else Color.RED
    return Color.YELLOW if now <= order.deadline else Color.RED


def work_order_counts(orders: Iterable[WorkOrder], now: dt.datetime) -> Mapping[Color, int]:
    """Orders per colour (every colour present, zero included): for ``camwatch_work_orders{color}``."""
    counts = {c: 0 for c in Color}
    for o in orders:
        counts[color(o, now)] += 1
    return counts


def acknowledge(order: WorkOrder, at: dt.datetime, by: str | None = None) -> WorkOrder:
    if order.status is OrderStatus.RESOLVED:
        raise WorkOrderError(f"work order {order.id} is already resolved")
    if order.status is OrderStatus.ACKNOWLEDGED:
        return order
    return replace(order, status=OrderStatus.ACKNOWLEDGED, acknowledged_at=max(at, order.opened_at),
                   acknowledged_by=None if by is None else by[:64])


def close(order: WorkOrder, at: dt.datetime, note: str) -> WorkOrder:
    """Closed by hand: a note is required."""
    if not note.strip():
        raise WorkOrderError("a note is required to close a work order")
    if order.status is OrderStatus.RESOLVED:
        raise WorkOrderError(f"work order {order.id} is already resolved")
    return replace(order, status=OrderStatus.RESOLVED, resolved_at=max(at, order.opened_at),
                   resolution=Resolution.CLOSED, note=note.strip())


def auto_resolve(order: WorkOrder, at: dt.datetime) -> WorkOrder:
    """The incident recovered; an order already resolved keeps its first resolution."""
    if order.status is OrderStatus.RESOLVED:
        return order
    return replace(order, status=OrderStatus.RESOLVED, resolved_at=max(at, order.opened_at), resolution=Resolution.RECOVERED)


def is_picture(order: WorkOrder) -> bool:
    """An order of a picture incident (bad picture checks or a skewed clock: the alert engine's
    ``p-`` incidents, whose cameras have no cause)."""
    return order.incident_key.startswith("p-")


def order_title(order: WorkOrder, lang: str, *, camera: str = "", village: str = "", township: str = "",
                checks: Sequence[str] = ()) -> str:
    """What an order is about, in *lang*, as its alert's title said it: Chinese, the stored title
    (built like English for an order stored without one); English, built from the order's fields,
    the names of its camera, village and township and (a picture incident's) the failed checks
    (the alert's count of the village's cameras is not stored: the order's own count is said), e.g.
    ``[WARNING] camera offline: 东关村村口 (城关镇)``,
    ``[CRITICAL] 东关村, 城关镇: 5 cameras offline, suspected uplink failure``."""
    en = lang == "en"
    if not en and order.title:
        return order.title
    sev = next((s for s in Severity if s.value == order.severity), None)
    head = "" if sev is None else f"[{SEVERITY_TAG[sev][1]}] " if en else f"【{SEVERITY_TAG[sev][0]}】"
    what = problem_words(checks, lang, title=True)  # (a picture incident's; "picture problem" when not known)
    n = order.cameras
    if order.camera_id is not None:
        name = camera_place(camera, township, village, lang) if camera else f"#{order.camera_id}"
        if is_picture(order):
            return head + (f"{what}: {name}" if en else f"{what}（{name}）")
        return head + (f"camera offline: {name}" if en else f"摄像机离线：{name}")
    if is_picture(order):
        body = f"{n} camera{'s' if n != 1 else ''} with {what}" if en else f"{n} 台摄像机{what}"
    else:
        body = f"{n} camera{'s' if n != 1 else ''} offline" if en else f"{n} 台摄像机离线"
        if order.cause == Cause.UPSTREAM_DOWN.value or UPLINK_WORDS[0] in (order.title or ""):
            body += UPLINK_WORDS[en]
    where = place(township, village, lang)
    return head + (f"{where}: {body}" if en and where else f"{where} {body}" if where else body)
