"""``camwatch report diff`` in words, pure: each change on one line naming the row (乡镇/街道 西乡
（330999102000）), the figure by the workbook's own header (在线率（扣除报备）) and both values as
the workbook shows them (99.75%, hours, 是/否, local times), frozen then now. ``--json`` keeps
the raw fields and values for scripts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from collector.reports import words as w
from collector.reports.model import CauseTime, Report
from collector.reports.order_words import order_words
from collector.reports.snapshots import Change

_PARTS = {"counties": ("县/区", "county"), "townships": ("乡镇/街道", "township"), "villages": ("村/社区", "village"),
          "faults": ("故障摄像机", "faulty camera"), "work_orders": ("工单", "work order"), "exclusions": ("报备", "exclusion"),
          "completeness": ("监测完整性", "monitoring"), "score": ("考核得分", "contract score")}
_FIELDS = {  # a row's field -> the word of its column in the workbook
    "rate": "rate", "rate_without_exclusions": "rate_raw", "snapshot_rate": "snapshot", "intact_rate": "intact",
    "coverage": "coverage", "built_coverage": "built_coverage", "villages": "villages",
    "fully_covered_villages": "fully_covered", "target": "target", "met": "met", "rank": "rank",
    "previous_rank": "previous_rank", "rank_change": "rank_change", "uncertainty_pp": "uncertainty",
    "verdict_uncertain": "uncertain", "cameras": "cameras", "name": "name", "planned_points": "planned",
    "built_points": "built", "online_points": "online_points", "fully_covered": "full",
    "fault_seconds": "fault_hours", "causes": "cause", "colour": "colour", "status": "status", "cause": "cause",
    "opened_at": "opened", "deadline": "deadline", "acknowledged_at": "acked", "resolved_at": "resolved",
    "acknowledge_seconds": "ack_hours", "fix_seconds": "fix_hours", "start": "start", "end": "end",
    "reason": "reason", "approver": "approver", "window_seconds": "window_hours", "known_seconds": "known_hours",
    "unknown_seconds": "unknown_hours", "known_share": "known_share", "total": "score_total",
}
RATIOS = frozenset({"rate", "rate_without_exclusions", "snapshot_rate", "intact_rate", "coverage", "built_coverage",
                    "target", "known_share"})
SECONDS = frozenset({"fault_seconds", "acknowledge_seconds", "fix_seconds", "window_seconds", "known_seconds",
                     "unknown_seconds"})
_EXTRA = {"*": ("整行", "whole row"), "present": ("有", "present"), "absent": ("无", "absent"), **_PARTS}


def _word(key: str, lang: str) -> str:
    if key in _EXTRA:
        zh, en = _EXTRA[key]
        return en if lang == "en" else zh
    return w.word(key, lang)


def value_words(field: str, value: object, lang: str, tz: str) -> str:
    """*value* of *field* as the workbook shows it."""
    if field == "*":
        return _word("present" if value else "absent", lang)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return w.yes_no(value, lang)
    if field in RATIOS and isinstance(value, int | float):
        return f"{value * 100:.2f}%"
    if field in SECONDS and isinstance(value, int | float):
        return f"{value / 3600:.2f}"
    if isinstance(value, dt.datetime):
        return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):  # (the score, an uncertainty) as General shows it: 98, 98.5, 0.12
        return general(value)
    if field == "causes" and isinstance(value, tuple):
        return "、".join(f"{w.cause(c.cause, lang)} {c.seconds / 3600:.2f}" for c in value if isinstance(c, CauseTime))
    if field == "status" and isinstance(value, str):
        return w.status(value, lang)
    if field == "colour" and value in ("green", "yellow", "red"):
        return w.word(str(value), lang)
    if field == "cause" and isinstance(value, str):
        return w.cause(value, lang)
    return str(value)


def general(value: float) -> str:
    """A number as Excel's General format shows the workbook's (rounded to 0.01): 98.0 is 98."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _names(lang: str, *reports: Report) -> dict[str, str]:
    """Row key -> name, from both reports (a row may be in one of them only); a work order by its
    title in *lang*."""
    out: dict[str, str] = {}
    for r in reports:
        for part, rows, key, name in (
                ("counties", r.counties, "code", "name"), ("townships", r.townships, "code", "name"),
                ("villages", r.villages, "code", "name"), ("faults", r.faults, "camera_id", "camera_name"),
                ("exclusions", r.exclusions, "id", "scope_name"), ("completeness", r.completeness, "code", "name")):
            for row in rows:
                out.setdefault(f"{part}/{getattr(row, key)}", str(getattr(row, name)))
        for o in r.work_orders:
            out.setdefault(f"work_orders/{o.id}", order_words(o, lang))
    return out


def where_words(where: str, names: dict[str, str], lang: str) -> str:
    """``townships/330999102000`` as ``乡镇/街道 西乡（330999102000）``."""
    part, _, key = where.partition("/")
    what = _word(part, lang) if part in _PARTS else part
    if not key:
        return what
    name = names.get(where, "")
    if not name:
        return f"{what} {key}"
    return f"{what} {name} ({key})" if lang == "en" else f"{what} {name}（{key}）"


def change_lines(changes: Iterable[Change], frozen: Report, fresh: Report, lang: str) -> list[str]:
    """One tab-separated line per change: row, figure, frozen value, value now."""
    names = _names(lang, frozen, fresh)
    tz = frozen.period.timezone
    out = []
    for c in changes:
        field = _word(_FIELDS[c.field], lang) if c.field in _FIELDS else _word("*", lang) if c.field == "*" else c.field
        out.append("\t".join((where_words(c.where, names, lang), field, value_words(c.field, c.frozen, lang, tz),
                              value_words(c.field, c.now, lang, tz))))
    return out


__all__ = ["change_lines", "general", "value_words", "where_words"]
