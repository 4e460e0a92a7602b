"""The report's words, Simplified Chinese by default and English: sheet names, headers, values.

Cause words come from :mod:`probes.causes` (the one declaration of every cause).
"""

from __future__ import annotations

from probes.causes import Cause, cause_words

SHEETS = {  # key: (zh, en), in the workbook's order
    "summary": ("汇总", "Summary"),
    "ranking": ("乡镇排名", "Township ranking"),
    "villages": ("村覆盖", "Village coverage"),
    "faults": ("故障明细", "Faults"),
    "work_orders": ("工单", "Work orders"),
    "exclusions": ("报备", "Exclusions"),
    "completeness": ("监测完整性", "Monitoring"),
    "score": ("考核得分", "Contract score"),
}

_W: dict[str, tuple[str, str]] = {
    # titles
    "monthly": ("月度", "monthly"), "quarterly": ("季度", "quarterly"),
    "title": ("{region} {label} {kind}在线率考核报表", "{region} {kind} online-rate report {label}"),
    "open": ("未结", "not closed"), "closed": ("已结", "closed"),
    "period": ("统计区间 {lo} 至 {hi}", "period {lo} to {hi}"),
    "generated": ("生成于 {at}", "generated {at}"),
    "page": ("第 &P 页，共 &N 页", "page &P of &N"),
    "sealed": ("已结：{at} 结账冻结，快照校验码（sha256）{sha}", "closed: frozen at {at}, snapshot hash (sha256) {sha}"),
    "sealed_at": ("已结：{at} 结账冻结", "closed: frozen at {at}"),
    "month_to_date": ("未结：按当前数据计算（截至 {at}），结账前数字仍会变化",
                      "not closed: computed from the current data (up to {at}), the figures may change until the month is closed"),
    # headers
    "code": ("代码", "code"), "name": ("名称", "name"), "level": ("级别", "level"), "cameras": ("摄像机", "cameras"),
    "rate": ("在线率（扣除报备）", "online rate"), "rate_raw": ("在线率（不扣除报备）", "rate without exclusions"),
    "snapshot": ("抽查在线率", "snapshot rate"), "intact": ("完好率", "intact rate"),
    "coverage": ("覆盖率", "coverage"), "built_coverage": ("建设覆盖率", "built coverage"),
    "fully_covered": ("全覆盖村", "fully covered villages"), "villages": ("村数", "villages"),
    "target": ("目标", "target"), "met": ("达标", "met"), "rank": ("排名", "rank"),
    "uncertainty": ("误差（±百分点）", "uncertainty (± pp)"), "uncertain": ("临界", "borderline"),
    "previous_rank": ("上期排名", "previous rank"), "rank_change": ("名次变化", "rank change"),
    "township": ("乡镇/街道", "township"), "village": ("村/社区", "village"),
    "planned": ("规划点位", "planned points"), "built": ("已建点位", "built points"), "online_points": ("覆盖点位", "covered points"),
    "full": ("全覆盖", "fully covered"),
    "camera_id": ("摄像机编号", "camera id"), "camera": ("摄像机", "camera"),
    "fault_hours": ("故障时长（小时）", "fault hours"),
    "order_id": ("工单号", "order"), "order_title": ("内容", "title"), "region": ("区域", "region"),
    "cause": ("原因", "cause"), "status": ("状态", "status"), "opened": ("派单时间", "opened"),
    "deadline": ("处理期限", "deadline"), "acked": ("响应时间", "acknowledged"), "resolved": ("修复时间", "fixed"),
    "ack_hours": ("响应用时（小时）", "hours to acknowledge"), "fix_hours": ("修复用时（小时）", "hours to fix"),
    "colour": ("督办颜色", "colour"),
    "excl_id": ("报备编号", "exclusion no."), "scope": ("范围", "scope"), "object": ("对象", "object"), "start": ("开始", "start"),
    "end": ("结束", "end"), "hours": ("时长（小时）", "hours"), "reason": ("原因", "reason"), "approver": ("审批人", "approver"),
    "hours_in_period": ("其中本期（小时）", "of which in period (hours)"),
    "window_hours": ("应监测（摄像机·小时）", "camera-hours in period"), "known_hours": ("已知（摄像机·小时）", "known camera-hours"),
    "unknown_hours": ("未知（摄像机·小时）", "unknown camera-hours"), "known_share": ("监测完整率", "known share"),
    "item": ("项目", "item"), "subject": ("对象", "subject"), "quantity": ("数量", "quantity"), "points": ("扣分", "points off"),
    "score_start": ("基础分", "points at start"), "score_total": ("得分", "score"), "score_floor": ("最低分", "floor"),
    "score_none": ("本期无监测数据，不计分", "Nothing was monitored in this period: no score"),
    "score_gap": ("注意：本期监测完整率仅 {share}（低于 {min}），未监测时段不扣分，得分不能反映运维质量",
                  "Note: camwatch knew the state for only {share} of the period (below {min}); unwatched time "
                  "loses no points, so the score says little about the maintenance"),
    "rank_chart": ("乡镇在线率排名", "township online rates"),
    "none": ("（无）", "(none)"),
    # values
    "county": ("县/区", "county"), "yes": ("是", "yes"), "no": ("否", "no"),
    "green": ("绿", "green"), "yellow": ("黄", "yellow"), "red": ("红", "red"),
    # a work order's status: the same words as the console's (collector/web/pages/i18n.py takes them from here)
    "open_order": ("待处理", "open"), "acknowledged": ("处理中", "acknowledged"), "resolved_order": ("已完成", "resolved"),
    "scope_camera": ("摄像机", "camera"), "scope_region": ("区域", "region"),
    "fault_camera": ("故障超 {h} 小时的摄像机", "camera with more than {h} h of fault"),
    "red_work_order": ("超期工单（红）", "overdue work order (red)"),
    "below_target": ("在线率低于目标（每百分点）", "online rate below target (per pp)"),
    "quantity_fault": ("{q} 小时", "{q} h"), "quantity_pp": ("低 {q} 个百分点", "{q} pp below"), "quantity_one": ("1 单", "1 order"),
}


def pair(key: str) -> tuple[str, str]:
    """A word's (中文, English) pair, for other renderers of the same report (the console's pages)."""
    return _W[key]


def word(key: str, lang: str, **kw: object) -> str:
    zh, en = _W[key]
    text = en if lang == "en" else zh
    return text.format(**kw) if kw else text


def quantity(rule: str, q: float, lang: str) -> str:
    """A score deduction's quantity (hours of fault, points below target, one order), to 0.01 as
    every other figure of hours in the workbook and on the printable page (24.00 小时)."""
    key = {"fault_camera": "quantity_fault", "below_target": "quantity_pp"}.get(rule, "quantity_one")
    return word(key, lang, q=f"{q:.2f}")


def sheet_name(key: str, lang: str) -> str:
    zh, en = SHEETS[key]
    return en if lang == "en" else zh


def cause(code: str, lang: str) -> str:
    try:
        return cause_words(Cause(code), lang)
    except ValueError:
        return cause_words(None, lang)


def yes_no(value: bool | None, lang: str) -> str:
    return "—" if value is None else word("yes" if value else "no", lang)


def level(value: str, lang: str) -> str:
    return word(value if value == "county" else "township", lang) if value in ("county", "township") else value


def status(value: str, lang: str) -> str:
    return word({"open": "open_order", "acknowledged": "acknowledged", "resolved": "resolved_order"}.get(value, "open_order"), lang)


__all__ = ["SHEETS", "cause", "level", "pair", "quantity", "sheet_name", "status", "word", "yes_no"]
