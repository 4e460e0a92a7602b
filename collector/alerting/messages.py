"""Message text in Simplified Chinese (default) and English: plain (e-mail), Markdown (robots), short (SMS).

Pure functions of an incident snapshot, the inventory, ``now`` and the policy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from collector.accounting.timeparse import show
from collector.alerting.model import (
    CameraInfo,
    Incident,
    IncidentKind,
    Inventory,
    Member,
    Message,
    NotifyKind,
    Severity,
    cause_groups,
)
from collector.alerting.policy import AlertPolicy, EscalationLevel
from collector.alerting.upstream import parent_answered
from probes.causes import Cause, cause_words
from probes.checks import problem_words

SEVERITY_TAG = {Severity.CRITICAL: ("严重", "CRITICAL"), Severity.NORMAL: ("一般", "WARNING"), Severity.LOW: ("提示", "INFO")}

# duration() units, largest first: (zh, en); zh says 分钟 for whole minutes
_UNITS = (("天", " d"), ("小时", " h"), ("分", " min"), ("秒", " s"))


def duration(seconds: float, lang: str = "zh") -> str:
    """The two largest units of a duration: 3天2小时 / 3 d 2 h, 2分30秒 / 2 min 30 s, 45秒 / 45 s."""
    s = max(0, int(seconds))
    amounts = (s // 86400, s // 3600 % 24, s // 60 % 60, s % 60)
    en = lang == "en"
    units = [u[1] if en else u[0] for u in _UNITS]
    big = next((i for i, n in enumerate(amounts) if n), len(amounts) - 1)
    if big == len(amounts) - 1 or not amounts[big + 1]:
        return f"{amounts[big]}{'分钟' if big == 2 and not en else units[big]}"
    return f"{amounts[big]}{units[big]}{' ' if en else ''}{amounts[big + 1]}{units[big + 1]}"


# a camera refusing the stored password: nothing to fix on site but the password (and it is left
# alone for up to an hour between logins, so that it does not lock the account, until it changes)
_PASSWORD_HINT = {False: "核对用户名和密码；设备上改过密码的，请在台账中更新（更新后即重试）",
                  True: "check the user name and password; if it was changed on the camera, update it in the "
                        "inventory (then retried at once)"}

# cameras named per cause when an incident's cameras have several causes (the largest group is not named)
NAMED_PER_CAUSE = 3


def local(t: dt.datetime, tz: str) -> str:
    """Local time with its UTC offset, as every time printed for people (``2026-11-23 08:00 +08:00``)."""
    return show(t, tz)


def since_words(start: dt.datetime, now: dt.datetime, tz: str) -> str:
    """When an incident began, for a short message: the time of day (``08:00 +08:00``), with the
    date when that was not today (``11-22 08:00 +08:00``: a reminder or escalation days later)."""
    began = local(start, tz)
    return began[11:] if began[:10] == local(now, tz)[:10] else began[5:]


def region_path(cam: CameraInfo) -> str:
    return "/".join(n for n in (cam.county_name, cam.township_name, cam.village_name) if n)


# a title's words for a suspected uplink failure (a work order's English title looks for the Chinese)
UPLINK_WORDS = ("，疑似上联中断", ", suspected uplink failure")


def place(township: str, village: str, lang: str) -> str:
    """A village with its township, as a title names it (village names repeat across a county's
    townships: 新村, 东村): ``城关镇东关村`` as places are written, ``东关村, 城关镇`` in English."""
    if lang == "en":
        return ", ".join(x for x in (village, township) if x)
    return f"{township}{village}"


def camera_place(name: str, township: str, village: str, lang: str) -> str:
    """A camera with its place, the place said once: ``城关镇东关村村口`` (a name that starts with
    its village's, as most do), ``城关镇东关村 1号杆``; ``东关村村口 (城关镇)``, ``1号杆 (东关村, 城关镇)``."""
    en = lang == "en"
    if name.startswith(township + village):  # named with its whole place already (or it has none)
        return name
    if village and name.startswith(village):  # named after its village: the township before it
        return f"{name} ({township})" if en else f"{township}{name}"
    where = place(township, village, lang)
    return f"{name} ({where})" if en else f"{where} {name}"


@dataclass(frozen=True, slots=True)
class _Parts:
    title: str
    lines: tuple[tuple[str, str], ...]
    short: str


def _names(cams: Sequence[CameraInfo], limit: int, lang: str) -> str:
    """The first *limit* cameras' names in the ledger's order (their ids: as imported), not the
    order they went down in."""
    cams = sorted(cams, key=lambda c: c.id)
    names = [c.name for c in cams[:limit]]
    if lang == "en":
        return ", ".join(names) + (f" and {len(cams) - limit} more" if len(cams) > limit else "")
    return "、".join(names) + (f" 等 {len(cams)} 台" if len(cams) > limit else "")


def causes_words(members: Sequence[Member], cams: Mapping[int, CameraInfo], lang: str, *, named: int = NAMED_PER_CAUSE) -> str:
    """The cause of an outage's cameras in words: one cause as it is; several with their counts, the
    most frequent first, and (up to *named* per cause; 0: none) the cameras of all but the largest:
    ``码流不可用 2 台；用户名或密码错误 1 台（北坡村村委会）``."""
    groups = cause_groups(members)
    if len(groups) <= 1:
        return cause_words(groups[0][0] if groups else None, lang)
    en = lang == "en"
    parts = []
    for i, (cause, ids) in enumerate(groups):
        n = len(ids)
        part = f"{cause_words(cause, lang)}: {n} camera{'s' if n != 1 else ''}" if en else f"{cause_words(cause, lang)} {n} 台"
        who = [cams[c] for c in ids if c in cams]
        if i and named and who:
            part += f" ({_names(who, named, lang)})" if en else f"（{_names(who, named, lang)}）"
        parts.append(part)
    return ("; " if en else "；").join(parts)


def picture_checks(inc: Incident) -> tuple[str, ...]:
    """The failed checks of a picture incident's cameras still degraded (of all once resolved), each named once."""
    return tuple(dict.fromkeys(c for m in (inc.down or inc.members) for c in m.checks))


def _prefix(kind: NotifyKind, sev: Severity, lang: str, level: EscalationLevel | None) -> str:
    en = lang == "en"
    if kind is NotifyKind.RESOLVE:
        return "[RESOLVED] " if en else "【恢复】"
    zh, e = SEVERITY_TAG[sev]
    if kind is NotifyKind.UPDATE:  # the severity as it is now: an update may be the first word of a rise
        return f"[UPDATE: {e}] " if en else f"【更新·{zh}】"
    if kind is NotifyKind.REMINDER:
        return f"[REMINDER: {e}] " if en else f"【提醒·{zh}】"
    if kind is NotifyKind.ESCALATE:
        name = "" if level is None else level.name if en else (level.label or level.name)
        return f"[ESCALATED: {e}, {name}] " if en else f"【升级·{zh}·{name}】"
    return f"[{e}] " if en else f"【{zh}】"


# an open message withheld by a silence, told when the silence ended (the incident still open)
LATE_WORDS = ("告警静默期间未发送，静默结束后补发", "withheld during an alert silence, sent now that it has ended")


def _parts(kind: NotifyKind, inc: Incident, inv: Inventory, now: dt.datetime, p: AlertPolicy, lang: str,
           late: bool = False, note: tuple[str, str] | None = None) -> _Parts:
    en = lang == "en"
    cams = [inv.cameras[m.camera_id] for m in inc.members if m.camera_id in inv.cameras]
    down = [inv.cameras[m.camera_id] for m in inc.down if m.camera_id in inv.cameras]
    resolved = kind is NotifyKind.RESOLVE
    shown = cams if resolved or not down else down
    first = shown[0] if shown else None
    # where, named with the township (an SMS carries the title alone, and 新村 is in many townships)
    village = place(first.township_name, first.village_name, lang) if first else inc.village
    name = camera_place(first.name, first.township_name, first.village_name, lang) if first else "?"
    level = p.escalation[inc.escalation - 1] if 0 < inc.escalation <= len(p.escalation) else None
    head = _prefix(kind, inc.severity, lang, level)
    single = len(cams) == 1
    if inc.kind is IncidentKind.PICTURE:  # one camera, or a village's ("城关镇东关村 6/6 台摄像机画面异常：信号丢失")
        cause = short_cause = problem_words(picture_checks(inc), lang)
        what = problem_words(picture_checks(inc), lang, title=True)  # (English: "picture problem (black)")
        answered = False
        if single:
            body = ((f"picture back to normal: {name}" if en else f"画面恢复正常：{name}") if resolved
                    else f"{what}: {name}" if en else f"{what}（{name}）")
        elif resolved:
            body = f"{village}: picture back to normal on {len(cams)} cameras" if en else f"{village} {len(cams)} 台摄像机画面恢复正常"
        else:
            body = (f"{village}: {len(down)}/{inc.village_total} cameras with {what}" if en
                    else f"{village} {len(down)}/{inc.village_total} 台摄像机{what}")
    else:
        members = inc.members if resolved or not inc.down else inc.down
        by_id = {c.id: c for c in cams}
        cause = causes_words(members, by_id, lang)
        short_cause = causes_words(members, by_id, lang, named=0)
        answered = not resolved and not inc.uplink and parent_answered(inc.down)
        if resolved:
            if single:
                body = f"camera back online: {name}" if en else f"摄像机恢复在线：{name}"
            else:
                body = f"{village}: {len(cams)} cameras back online" if en else f"{village} {len(cams)} 台摄像机已恢复在线"
        elif single:
            body = f"camera offline: {name}" if en else f"摄像机离线：{name}"
        else:
            body = (f"{village}: {len(down)}/{inc.village_total} cameras offline" if en
                    else f"{village} {len(down)}/{inc.village_total} 台摄像机离线")
            if inc.uplink:
                body += UPLINK_WORDS[en]
            elif answered:
                body += ", upstream device online: camera-side power or fault suspected" if en else "，上联设备在线，疑似摄像机侧断电或故障"
    title = head + body
    lines: list[tuple[str, str]] = []
    if first is not None:
        lines.append(("Region" if en else "地区", region_path(first)))
        if single and first.point_name:
            lines.append(("Point" if en else "点位", first.point_name))
        if inc.uplink and inc.device_id is not None and first.parent_device_name:
            lines.append(("Upstream device" if en else "上联设备", first.parent_device_name))
        elif answered and first.parent_device_name:
            lines.append(("Upstream device" if en else "上联设备",
                          f"{first.parent_device_name} (online)" if en else f"{first.parent_device_name}（在线）"))
        lines.append(("Cameras" if en else "摄像机", _names(shown, p.max_listed, lang)))
    lines.append(("Cause" if en else "原因", cause))
    if not resolved and any(m.cause in (Cause.AUTH_FAILED, Cause.ONVIF_AUTH_FAILED) for m in inc.down):
        lines.append(("What to do" if en else "处理", _PASSWORD_HINT[en]))
    lines.append(("Since" if en else "开始", local(inc.start, p.timezone)))
    end = inc.resolved_at if resolved and inc.resolved_at else now
    took = duration((end - inc.start).total_seconds(), lang)
    picture = inc.kind is IncidentKind.PICTURE  # the camera stayed up: the picture's trouble, not downtime
    if resolved:
        lines.append(("Back at" if en else "恢复", local(end, p.timezone)))
        if picture:
            lines.append(("Picture problem lasted" if en else "画面异常时长", took))
        else:
            lines.append(("Total downtime" if en else "总时长", took))
    else:
        lines.append(("Duration" if en else "已持续", took))
        if not single:
            lines.append(("Affected" if en else "影响", f"{len(down)}/{inc.village_total}" + ("" if en else " 台")))
        if late:
            lines.append(("Note" if en else "说明", LATE_WORDS[en]))
        if note is not None:  # (an escalation of an acknowledged order overdue: who took it, when)
            lines.append(("Work order" if en else "工单", note[en]))
    since = since_words(inc.start, now, p.timezone)
    if resolved and picture:
        short = f"{title}, picture problem lasted {took}" if en else f"{title}，画面异常时长{took}"
    elif resolved:
        short = f"{title}, downtime {took}" if en else f"{title}，时长{took}"
    elif picture:  # the problem is in the title (one camera's or a village's)
        short = f"{title} since {since}" if en else f"{title}，{since}起"
    else:
        # (the cause after a comma, not in brackets: its words may hold brackets of their own)
        short = f"{title}, cause: {short_cause}, since {since}" if en else f"{title}，原因：{short_cause}，{since}起"
    return _Parts(title, tuple(lines), short)


def link_for(inc: Incident, base_url: str) -> str:
    if not base_url:
        return ""
    base = base_url.rstrip("/")
    if len(inc.members) == 1:
        return f"{base}/cameras/{inc.members[0].camera_id}"
    return f"{base}/incidents/{inc.id}"


def _render(parts: _Parts, link: str, lang: str) -> tuple[str, str]:
    en = lang == "en"
    sep = ": " if en else "："
    text = [parts.title] + [f"{k}{sep}{v}" for k, v in parts.lines]
    md = [f"#### {parts.title}", ""] + [f"- **{k}**{sep}{v}" for k, v in parts.lines]
    if link:
        text.append(f"{'Details' if en else '详情'}{sep}{link}")
        md += ["", f"[{'Details' if en else '查看详情'}]({link})"]
    return "\n".join(text), "\n".join(md)


def incident_message(kind: NotifyKind, inc: Incident, inv: Inventory, now: dt.datetime, policy: AlertPolicy, *,
                     late: bool = False, note: tuple[str, str] | None = None) -> Message:
    """*late*: an open message told when the silence that withheld it ended (it says so); *note*:
    a line more, (Chinese, English), about its work order."""
    link = link_for(inc, policy.base_url)
    zh = _parts(kind, inc, inv, now, policy, "zh", late, note)
    en = _parts(kind, inc, inv, now, policy, "en", late, note)
    tz, mz = _render(zh, link, "zh")
    te, me = _render(en, link, "en")
    return Message(zh.title, en.title, tz, te, mz, me, zh.short, en.short, link)


def work_order_title(inc: Incident, inv: Inventory, now: dt.datetime, policy: AlertPolicy) -> str:
    """The (Chinese) title of an incident's work order: its open message's title at the incident's
    largest, every camera it counted (its members) said down, those already back too. So a camera
    that recovers never lowers an order's count, and one that joins raises it; the messages
    themselves say how many are down at the time."""
    whole = replace(inc, members=tuple(replace(m, up_at=None) for m in inc.members))
    return _parts(NotifyKind.OPEN, whole, inv, now, policy, "zh").title


@dataclass(frozen=True, slots=True)
class DigestItem:
    camera: CameraInfo
    changes: int
    down_now: bool
    flapping_now: bool


def digest_message(items: Sequence[DigestItem], now: dt.datetime, policy: AlertPolicy) -> Message:
    n = len(items)
    title_zh = f"【摘要】{n} 台摄像机频繁上下线"
    title_en = f"[DIGEST] {n} camera{'s' if n != 1 else ''} flapping"
    lz, le = [], []
    for it in items[: policy.max_listed * 3]:
        c = it.camera
        zh, en = (camera_place(c.name, c.township_name, c.village_name, lang) for lang in ("zh", "en"))
        lz.append(f"{zh}：上下线 {it.changes} 次，当前{'离线' if it.down_now else '在线'}")
        le.append(f"{en}: {it.changes} change{'s' if it.changes != 1 else ''}, now {'offline' if it.down_now else 'online'}")
    more = n - len(lz)
    if more > 0:
        lz.append(f"……另有 {more} 台")
        le.append(f"... and {more} more")
    link = f"{policy.base_url.rstrip('/')}/cameras?flapping=1" if policy.base_url else ""
    when_zh = f"截至 {local(now, policy.timezone)}"
    when_en = f"as of {local(now, policy.timezone)}"
    tz = "\n".join([title_zh, when_zh] + lz + ([f"详情：{link}"] if link else []))
    te = "\n".join([title_en, when_en] + le + ([f"Details: {link}"] if link else []))
    mz = "\n".join([f"#### {title_zh}", "", when_zh, ""] + [f"- {x}" for x in lz] + (["", f"[查看详情]({link})"] if link else []))
    me = "\n".join([f"#### {title_en}", "", when_en, ""] + [f"- {x}" for x in le] + (["", f"[Details]({link})"] if link else []))
    return Message(title_zh, title_en, tz, te, mz, me, f"{title_zh}，{when_zh}", f"{title_en}, {when_en}", link)
