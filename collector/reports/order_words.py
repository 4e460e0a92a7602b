"""A report's work orders in its language: the stored title in Chinese (what the alert said, kept
as stored), in English the title :func:`collector.alerting.workorders.order_title` builds from
the order's facts the report holds (severity, incident, camera and place names, a picture
incident's failed checks) — as the console's English pages say it.

A month frozen before those facts were recorded in reports has none of them: its English report
shows the stored title (nothing else would say what the order was about).
"""

from __future__ import annotations

from collector.alerting.workorders import OrderStatus, order_title
from collector.alerting.workorders import WorkOrder as PureOrder
from collector.reports.model import Deduction, Report, WorkOrderRow
from collector.reports.score import RED_WORK_ORDER

STATUSES = {s.value for s in OrderStatus}


def order_words(o: WorkOrderRow, lang: str) -> str:
    """*o*'s title in *lang*."""
    if lang != "en" or not o.incident_key:
        return o.title
    status = OrderStatus(o.status) if o.status in STATUSES else OrderStatus.OPEN
    pure = PureOrder(o.id, o.incident_key, status, o.severity, o.opened_at, o.deadline, o.cause, o.title or None,
                     o.camera_id, o.region_code or None, None, max(o.cameras, 1))
    return order_title(pure, lang, camera=o.camera_name, village=o.region_name, township=o.parent_name, checks=o.checks)


def subject_words(report: Report, d: Deduction, lang: str) -> str:
    """The name of what a score deduction is about, in *lang*: the stored one (a camera's, a
    region's, a red work order's title), in English a red work order's English title."""
    if lang == "en" and d.rule == RED_WORK_ORDER:
        order = next((o for o in report.work_orders if str(o.id) == d.subject), None)
        if order is not None:
            return order_words(order, lang)
    return d.subject_name


__all__ = ["order_words", "subject_words"]
