"""The console's words (简体中文 first, English selectable) and the request's language.

The language is ``?lang=en|zh`` (remembered in a cookie), else the cookie, else the top-level
``language`` setting. Cause and check words are not here: they come from :mod:`probes.causes`
and :mod:`probes.checks`, like every other place that names them.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from collector.alerting.messages import SEVERITY_TAG
from collector.reports import words as report_words
from probes.checks import CLOCK, CLOCK_WORDS

LANG_COOKIE = "camwatch_lang"
LANGS = ("zh", "en")

WORDS: dict[str, tuple[str, str]] = {
    "app": ("camwatch 视频监控运维", "camwatch camera monitoring"),
    "overview": ("总览", "Overview"),
    "cameras": ("摄像机", "Cameras"),
    "workorders": ("工单", "Work orders"),
    "exclusions": ("报备", "Exclusions"),
    "api": ("接口文档", "API"),
    "reports": ("报表", "Reports"),
    "api_intro": ("本页由接口的 OpenAPI 文档生成；机器可读版本：", "This page is generated from the API's OpenAPI document; machine-readable:"),
    "api_operations": ("接口", "Operations"),
    "api_schemas": ("数据结构", "Schemas"),
    "api_action": ("所需权限", "Needs the action"),
    "api_param": ("参数", "Parameter"),
    "api_field": ("字段", "Field"),
    "api_type": ("类型", "Type"),
    "api_values": ("取值", "Values"),
    "api_default": ("默认", "Default"),
    "api_description": ("说明", "Description"),
    "api_body": ("请求体", "Request body"),
    "api_status": ("状态码", "Status"),
    "api_answer": ("返回", "Answer"),
    "api_optional": ("（可选）", "(optional)"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "account": ("账户", "Account"),
    "switch_lang": ("English", "中文"),
    "township": ("乡镇/街道", "Township"),
    "village": ("村/社区", "Village"),
    "county": ("县/区", "County"),
    "camera": ("摄像机", "Camera"),
    "point": ("点位", "Point"),
    "points": ("点位", "Points"),
    "n_cameras": ("摄像机数", "Cameras"),
    "online_now": ("当前在线", "Online now"),
    "online_ratio_now": ("当前在线率", "Online now %"),
    "month_rate": ("本月在线率", "This month"),
    "target": ("目标", "Target"),
    "coverage": ("覆盖率", "Coverage"),
    "fully_covered": ("全覆盖村", "Fully covered villages"),
    "fully_covered_short": ("全覆盖村", "Fully covered"),
    "rank": ("排名", "Rank"),
    "offline_cameras": ("离线摄像机", "Offline cameras"),
    "cause": ("原因", "Cause"),
    "since": ("起始", "Since"),
    "contractor": ("运维单位", "Contractor"),
    "all": ("全部", "All"),
    "filter": ("筛选", "Filter"),
    "open_orders": ("未完成工单", "Open work orders"),
    "green": ("绿（按时修复）", "green (fixed in time)"),
    "yellow": ("黄（期限内）", "yellow (within deadline)"),
    "red": ("红（已超期）", "red (overdue)"),
    "none": ("无", "none"),
    "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "page_of": ("第 {page} / {pages} 页，共 {total} 条", "page {page} of {pages}, {total} in all"),
    "planned": ("规划", "Planned"),
    "built": ("已建", "Built"),
    "online": ("在线", "Online"),
    "planned_points": ("规划点位", "Planned points"),
    "covered_points": ("覆盖点位", "Covered points"),
    "built_points": ("已建点位", "Built points"),
    "villages_ranked": ("各村排名", "Villages ranked"),
    "townships_ranked": ("各乡镇排名", "Townships ranked"),
    "daily_rate": ("每日在线率", "Daily online rate"),
    "days_30": ("近 30 天", "last 30 days"),
    "days_90": ("近 90 天", "last 90 days"),
    "chart_pending": ("部分日期正在计算，稍后刷新", "some days are still being computed; reload later"),
    "no_data": ("暂无数据", "no data"),
    "identity": ("设备信息", "Identity"),
    "gb_id": ("国标编码", "GB ID"),
    "vendor": ("厂商", "Vendor"),
    "model": ("型号", "Model"),
    "firmware": ("固件", "Firmware"),
    "upstream": ("上联设备", "Upstream device"),
    "uplink_suspected": ("疑似上联中断", "suspected uplink failure"),
    "lifecycle": ("状态", "Lifecycle"),
    "state": ("状态", "State"),
    "state_now": ("当前状态", "Current state"),
    "flapping": ("频繁上下线", "flapping"),
    "last_probe": ("最近一次探测", "Last probe"),
    "last_video_probe": ("最近一次画面检测未通过", "Last failed picture check (video tier)"),
    "stage": ("阶段", "Stage"),
    "result": ("结果", "Result"),
    "time_ms": ("耗时", "Time"),
    "detail": ("详情", "Detail"),
    "ok": ("正常", "ok"),
    "failed": ("失败", "failed"),
    "failed_checks": ("未通过的检查", "Failed checks"),
    "last_picture": ("最近一次画面", "Last picture"),
    "no_picture": ("暂无画面", "no picture yet"),
    "timeline": ("状态时间线", "State timeline"),
    "availability": ("可用率", "Availability"),
    "h24": ("24 小时", "24 h"),
    "d7": ("7 天", "7 days"),
    "d30": ("30 天", "30 days"),
    "clock_offset": ("时钟偏差", "Clock offset"),
    "not_probed": ("尚未探测", "not probed yet"),
    "incident": ("事件", "Incident"),
    "incident_outage": ("{n} 台摄像机离线", "{n} cameras offline"),
    "incident_outage_one": ("1 台摄像机离线", "1 camera offline"),
    "incident_picture": ("{camera} 画面异常", "{camera}: bad picture"),
    "incident_clock": ("{camera} 时钟偏差", "{camera}: clock offset"),
    "incident_id": ("事件编号", "Incident id"),
    "severity": ("级别", "Severity"),
    "opened": ("发生", "Opened"),
    "resolved": ("恢复", "Resolved"),
    "members": ("涉及摄像机", "Cameras"),
    "up_at": ("恢复时间", "Back at"),
    "workorder": ("工单", "Work order"),
    "status": ("状态", "Status"),
    "colour": ("颜色", "Colour"),
    "deadline": ("期限", "Deadline"),
    "acknowledged": ("已确认", "Acknowledged"),
    "note": ("处理说明", "Note"),
    "ack": ("确认", "Acknowledge"),
    "close": ("关闭", "Close"),
    "close_note_ph": ("做了什么（必填）", "what was done (required)"),
    "open_only": ("只看未完成", "open only"),
    "scope": ("范围", "Scope"),
    "start": ("开始", "Start"),
    "end": ("结束", "End"),
    "reason": ("原因", "Reason"),
    "approver": ("审批人", "Approver"),
    "add_exclusion": ("新增报备", "Add an exclusion"),
    "end_now": ("立即结束", "End now"),
    "in_force": ("生效中", "in force"),
    "active_only": ("只看生效和未来的", "in force or to come"),
    "camera_id": ("摄像机编号", "Camera ID"),
    "region_code": ("区划代码", "Region code"),
    "scope_hint": ("范围：填写摄像机编号，或填写区划代码（村、乡镇或县）", "Scope: a camera ID, or a region code (village, township or county)"),
    "save": ("提交", "Submit"),
    "not_found": ("未找到", "Not found"),
    "not_found_text": ("没有这个页面，或您无权查看。", "No such page, or you may not see it."),
    "forbidden": ("无权操作", "Not allowed"),
    "login_needed": ("请先登录", "Please log in first"),
    "done": ("已完成", "Done"),
    "error": ("出错", "Error"),
    "excluded_note": ("（报备期间不计入在线率）", "(excluded time leaves the rate)"),
    "as_of": ("截至", "as of"),
    # what the month's rates are and as of when; /reports sums when opened (another time: may differ)
    "month_rate_at": ("本月在线率：本月 1 日 0 点至 {at}，按时长计算，报备时间不计；每 {every} 分钟统计一次"
                      "（在线数为实时）。报表页在打开时另行计算，截至时间不同，数字和是否达标都可能不同。",
                      "This month's rate: from the 1st, 00:00 to {at}, time-weighted, excluded time left out; summed "
                      "every {every} min (online counts are live). The reports page sums when it is opened: to "
                      "another time, its figures and verdicts may differ."),
    "month_rate_pending": ("本月在线率正在统计（启动后约 1 分钟内给出）", "This month's rates are being summed (within about a minute of the start)"),
    "today_bar_at": ("每根柱为一天（0 点至 24 点）的在线率；今天的柱为 0 点至 {at}，与本月在线率同时统计",
                     "Each bar is one day's rate (midnight to midnight); today's runs from midnight to {at}, summed with this month's rate"),
    "today_bar_pending": ("每根柱为一天的在线率；今天的柱与本月在线率一起给出", "Each bar is one day's rate; today's comes with this month's rate"),
    "partial_scope": ("只显示您有权查看的部分", "showing only the part you may see"),
    "work_order_for": ("相关工单", "Work orders"),
    "exclusions_for": ("相关报备", "Exclusions"),
    "back": ("返回", "Back"),
    "order_scope": ("范围", "Concerns"),
    "body": ("表单", "form"),
    "choose_township_first": ("（先选乡镇）", "(choose a township first)"),
    "this_camera": ("本摄像机", "this camera"),
    "whole_region": ("整村/片区：{name}", "whole area: {name}"),
    "n_cams": ("{n} 台", "{n} cameras"),
    "proposals": ("报备申请", "Proposals"),
    "propose": ("申请报备", "Propose an exclusion"),
    "propose_hint": ("报备申请经县考核人员批准后才生效，才不计入在线率。", "A proposal takes effect (leaves the rate) only once a county assessor approves it."),
    "proposer": ("申请人", "Proposed by"),
    "decider": ("审批", "Decided by"),
    "decision_note": ("审批意见", "Decision note"),
    "approve": ("批准", "Approve"),
    "reject": ("驳回", "Reject"),
    "reject_note_ph": ("驳回理由（必填）", "why rejected (required)"),
    "approve_note_ph": ("意见（可选）", "note (optional)"),
    "waiting": ("待审批", "waiting"),
    "all_proposals": ("含已处理", "with decided ones"),
    "proposals_waiting": ("待审批 {n} 条", "{n} waiting"),
    "form_error": ("请检查：{field}", "Please check: {field}"),
    "anonymous": ("未登录（只读）", "not logged in (read-only)"),
    "times_in": ("本页时间均为 {zone}（UTC{offset}）", "Times on this page: {zone} (UTC{offset})"),
    "lasting": ("已持续 {d}", "for {d}"),
    "unwatched_gap": ("其间 {a} 至 {b} camwatch 未在监测（状态未知）", "camwatch was not watching from {a} to {b} (state unknown)"),
    "lasted": ("历时 {d}", "lasted {d}"),
    "seconds": ("秒", "s"),
    "video_off": ("未启用视频检测", "video checks are off"),
    "watched": ("30 天内实际监测 {d}", "watched for {d} of the 30 days"),
    # cameras a ratio "45/51 · 100.00%" leaves out (it is online over online and offline)
    "left_excluded": ("{n} 台报备中", "{n} more under an exclusion"),
    "left_unknown": ("{n} 台状态未知", "{n} more of unknown state"),
    "left_out": ("另有 {what}", "{what}"),
}

STATE_WORDS: dict[str, tuple[str, str]] = {
    "online": ("在线", "online"), "degraded": ("画面异常", "degraded"), "offline": ("离线", "offline"),
    "unknown": ("未知", "unknown"), "excluded": ("报备中", "excluded"),
}
#: degraded by its clock alone (ONVIF clock offset, the failed check ``clock``): not a bad picture
CLOCK_STATE = (CLOCK_WORDS.zh, CLOCK_WORDS.en)
#: degraded, said of any camera (a filter's choice, a timeline's legend): the picture or the clock
DEGRADED_ANY = ("画面或时钟异常", "degraded")
STATUS_WORDS: dict[str, tuple[str, str]] = {  # a work order's: the report's words, one vocabulary
    "open": report_words.pair("open_order"), "acknowledged": report_words.pair("acknowledged"),
    "resolved": report_words.pair("resolved_order"),
}
EXCLUSION_STATUS_WORDS: dict[str, tuple[str, str]] = {
    "proposed": ("待审批", "proposed"), "approved": ("已批准", "approved"), "rejected": ("已驳回", "rejected"),
    "ended": ("已结束", "ended"),
}
#: an order's or incident's severity: the alert titles' tags ([CRITICAL] / 【严重】), one vocabulary
SEVERITY_WORDS: dict[str, tuple[str, str]] = {sev.value: (zh, en.lower()) for sev, (zh, en) in SEVERITY_TAG.items()}
STAGE_WORDS: dict[str, tuple[str, str]] = {  # the probe ladder's stages (probes.base.Stage)
    "reach": ("连通", "reach"), "rtsp": ("取流", "RTSP"), "onvif": ("ONVIF", "ONVIF"), "frame": ("画面", "picture"),
}


def clock_only(checks: Sequence[str]) -> bool:
    """Whether failed *checks* are the clock's alone (``clock`` / ``clock:+600``): no picture check."""
    return bool(checks) and all(c == CLOCK or c.startswith(CLOCK + ":") for c in checks)


def pick(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    pair = table.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def word(key: str, lang: str, **values: object) -> str:
    text = pick(WORDS, key, lang)
    return text.format(**values) if values else text


def request_lang(request: web.Request, default: str) -> tuple[str, bool]:
    """(language, whether the cookie should be set): ``?lang=`` wins and is remembered."""
    asked = request.query.get("lang")
    if asked in LANGS:
        return asked, request.cookies.get(LANG_COOKIE) != asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGS:
        return cookie, False
    return (default if default in LANGS else "zh"), False
