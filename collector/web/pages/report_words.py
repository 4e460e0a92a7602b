"""The words of ``/reports`` and its printable page (简体中文 first, English selectable).

Section titles follow the workbook's sheets (汇总, 乡镇排名, 村覆盖, 故障明细, 工单, 报备,
监测完整性, 考核得分) so the printed pages and the workbook name the same things alike.
"""

from __future__ import annotations

from collector.reports import words as sheet_words
from collector.reports.words import SHEETS


def _sheet(key: str) -> tuple[str, str]:
    """A figure's name as the workbook gives it (English capitalised like the page's headers)."""
    zh, en = sheet_words.pair(key)
    return zh, en[:1].upper() + en[1:]


REPORT_WORDS: dict[str, tuple[str, str]] = {
    **SHEETS,  # the section titles are the workbook's sheet names
    "reports": ("报表", "Reports"),
    "report": ("报表", "Report"),
    "monthly": ("月报", "Monthly"),
    "quarterly": ("季报", "Quarterly"),
    "period": ("期间", "Period"),
    "region": ("区域", "Region"),
    "show": ("查看", "Show"),
    "download_xlsx": ("下载 Excel 工作簿", "Download the workbook (.xlsx)"),
    "printable": ("打印版（A4 横向）", "Printable page (A4 landscape)"),
    "print": ("打印 / 存为 PDF", "Print / save as PDF"),
    "closed": ("已结", "closed"),
    "open": ("未结", "not closed"),
    "closed_note": ("本月已结账冻结，报表由快照生成，以后的修改不影响本表。",
                    "This month is closed: the report comes from its frozen snapshot; later edits do not change it."),
    "over_note": ("未结：本期已结束，尚未结账；按当前数据计算（按时长计算、报备时间不计，计算于 {at}），结账前数字可能变化。",
                  "Not closed: the period is over but not closed yet; computed from the current data (time-weighted, "
                  "excluded time left out) at {at}; figures may change until the month is closed."),
    "open_note": ("未结：按当前数据计算（本期至今，按时长计算、报备时间不计，截至 {at}），结账前数字可能变化。",
                  "Not closed: computed from the current data (the period so far, time-weighted, excluded time left "
                  "out, up to {at}); figures may change until the month is closed."),
    # the overview's and region pages' month rates: the same figures summed to another time
    "figures_differ": ("总览和区域页的本月在线率与本表的在线率（扣除报备）算法相同，每 {every} 分钟统计一次，"
                       "最近一次截至 {at}；截至时间不同，数字和是否达标就可能不同。",
                       "The overview's and the region pages' month rates are this report's rate (excluded time left "
                       "out), summed every {every} min, last up to {at}: to another time, figures and verdicts may differ."),
    "to_date": ("（截至目前）", "(to date)"),  # after a word: a space before it in English (the page adds it)
    "pp": ("个百分点", "pp"),  # the uncertainty's unit (the CLI's 误差(百分点))
    "snapshot_hash": ("快照校验码", "Snapshot hash"),
    "closed_at": ("结账时间", "Closed at"),
    "generated_at": ("生成时间", "Generated at"),
    "no_region": ("您的账户没有可查看的乡镇或全县报表。", "Your account may read no township's or county's report."),
    "region_col": ("区域", "Region"),
    "cameras": ("摄像机数", "Cameras"),
    # the figures' names are the workbook's (one set of words for the page, the print and the workbook)
    "rate": _sheet("rate"),
    "rate_raw": _sheet("rate_raw"),
    "snapshot_rate": ("抽查在线率", "Snapshot rate"),
    "intact_rate": ("完好率", "Intact rate"),
    "coverage": ("覆盖率", "Coverage"),
    "fully": ("全覆盖村", "Fully covered"),
    "target": ("目标", "Target"),
    "met": ("达标", "Met"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "uncertain": _sheet("uncertain"),
    "uncertain_note": ("“临界”：目标落在在线率 ± 不确定度之内，达标与否取决于探测间隔内的误差。",
                       "“borderline”: the target lies within the rate ± its uncertainty; the verdict depends on the probe gaps."),
    "rank": ("排名", "Rank"),
    "previous_rank": ("上期排名", "Previous rank"),
    "change": ("变化", "Change"),
    "village": ("村/社区", "Village"),
    "township": ("乡镇/街道", "Township"),
    "planned": ("规划点位", "Planned points"),
    "built": ("已建点位", "Built points"),
    "online_points": _sheet("online_points"),  # 覆盖点位: as `camwatch coverage` and the console call them
    "built_coverage": ("建设覆盖率", "Built coverage"),
    "fully_col": ("全覆盖", "Fully covered"),
    "camera": ("摄像机", "Camera"),
    "fault_time": ("故障时长", "Fault time"),
    "by_cause": ("按原因", "By cause"),
    "faults_note": ("故障时长超过 {hours:g} 小时的摄像机（报备时间不计）。",
                    "Cameras whose fault time in the period exceeds {hours:g} h (excluded time left out)."),
    "order_no": ("编号", "No."),
    # what a number is: the page, the workbook and `camwatch exclusion list` number exclusions and cameras apart
    "exclusion_no": ("报备 #{id}", "exclusion #{id}"),
    "camera_no": ("摄像机 #{id}", "camera #{id}"),
    "title": ("内容", "Title"),
    "status": ("状态", "Status"),
    "opened_at": ("发生", "Opened"),
    "deadline": ("期限", "Deadline"),
    "colour": ("颜色", "Colour"),
    "ack_time": ("响应用时", "Time to acknowledge"),
    "fix_time": ("修复用时", "Time to fix"),
    "scope": ("范围", "Scope"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "excl_hours": ("时长", "Hours"),
    "excl_hours_in_period": ("其中本期", "Of which in period"),
    "reason": ("原因", "Reason"),
    "approver": ("审批人", "Approver"),
    "window": ("应监测时长", "Camera time"),
    "known": ("已知时长", "Known time"),
    "unknown": ("未知时长", "Unknown time"),
    "known_share": ("监测完整率", "Known share"),
    "completeness_note": ("未知时长：camwatch 未在监测（采集器停止、未探测），既不算在线也不算离线。",
                          "Unknown time: camwatch was not watching (collector down, not probed yet); neither online nor offline."),
    "score_start": _sheet("score_start"),
    "score_total": _sheet("score_total"),
    "rule": ("扣分项", "Rule"),
    "subject": ("对象", "Subject"),
    "quantity": ("数量", "Quantity"),
    "points": ("扣分", "Points off"),
    "count": ("项数", "Items"),
    "score_detail": ("每一项扣分及其原因见打印版和 Excel 工作簿的“考核得分”。",
                     "Each deduction with its reason: the printable page and the workbook's “Contract score”."),
    "none": ("无", "none"),
    "page": ("第", "page"),
    "county_all": ("（全县）", " (whole county)"),
}


def rw(key: str, lang: str, **values: object) -> str:
    pair = REPORT_WORDS.get(key)
    text = key if pair is None else pair[1] if lang == "en" else pair[0]
    return text.format(**values) if values else text


def rule_words(rule: str, lang: str, fault_hours: float) -> str:
    """A score deduction's rule in the workbook's words."""
    return sheet_words.word(rule, lang, h=f"{fault_hours:g}") if rule == "fault_camera" else sheet_words.word(rule, lang)


def quantity(rule: str, q: float, lang: str) -> str:
    """A deduction's quantity as the workbook writes it (hours of fault to 0.01, one order, points below target)."""
    return sheet_words.quantity(rule, q, lang)


def hours(seconds: float | None, lang: str) -> str:
    """Hours to 0.01 as the workbook shows them (a two-minute fix is 0.03 小时, not 0.0); a time
    too short for that reads "<0.01", never a zero that looks like none."""
    if seconds is None:
        return "—"
    h = seconds / 3600
    text = "<0.01" if 0 < h < 0.005 else f"{h:.2f}"
    return f"{text} h" if lang == "en" else f"{text} 小时"


__all__ = ["REPORT_WORDS", "hours", "quantity", "rule_words", "rw"]
