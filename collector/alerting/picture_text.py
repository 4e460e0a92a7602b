"""The words of a picture incident of several cameras (one village): "东关村 6/6 台摄像机画面异常：信号丢失".

:func:`incident_message` is :func:`collector.alerting.messages.incident_message` for every other
incident. Meant to move into ``messages._parts`` (its helpers are used here as they are).
"""

from __future__ import annotations

import datetime as dt

from collector.alerting import messages
from collector.alerting.model import Incident, IncidentKind, Inventory, Message, NotifyKind
from collector.alerting.policy import AlertPolicy
from probes.checks import problem_words


def picture_checks(inc: Incident) -> tuple[str, ...]:
    """The failed checks of the cameras still degraded (of all once resolved), each named once."""
    return tuple(dict.fromkeys(c for m in (inc.down or inc.members) for c in m.checks))


def _village_parts(kind: NotifyKind, inc: Incident, inv: Inventory, now: dt.datetime, p: AlertPolicy,
                   lang: str) -> messages._Parts:
    en = lang == "en"
    cams = [inv.cameras[m.camera_id] for m in inc.members if m.camera_id in inv.cameras]
    down = [inv.cameras[m.camera_id] for m in inc.down if m.camera_id in inv.cameras]
    resolved = kind is NotifyKind.RESOLVE
    shown = cams if resolved or not down else down
    first = shown[0] if shown else None
    village = first.village_name if first else inc.village
    level = p.escalation[inc.escalation - 1].name if 0 < inc.escalation <= len(p.escalation) else ""
    what = problem_words(picture_checks(inc), lang)
    if resolved:
        body = f"{village}: picture back to normal on {len(cams)} cameras" if en else f"{village} {len(cams)} 台摄像机画面恢复正常"
    else:
        body = (f"{village}: {len(down)}/{inc.village_total} cameras with {what}" if en
                else f"{village} {len(down)}/{inc.village_total} 台摄像机{what}")
    title = messages._prefix(kind, inc.severity, lang, level) + body
    lines: list[tuple[str, str]] = []
    if first is not None:
        lines.append(("Region" if en else "地区", messages.region_path(first)))
        lines.append(("Cameras" if en else "摄像机", messages._names(shown, p.max_listed, lang)))
    lines.append(("Cause" if en else "原因", what))
    lines.append(("Since" if en else "开始", messages.local(inc.start, p.timezone)))
    end = inc.resolved_at if resolved and inc.resolved_at else now
    took = messages.duration((end - inc.start).total_seconds(), lang)
    if resolved:
        lines.append(("Back at" if en else "恢复", messages.local(end, p.timezone)))
        lines.append(("Picture problem lasted" if en else "画面异常时长", took))
        short = f"{title}, picture problem lasted {took}" if en else f"{title}，画面异常时长{took}"
    else:
        lines.append(("Duration" if en else "已持续", took))
        lines.append(("Affected" if en else "影响", f"{len(down)}/{inc.village_total}" + ("" if en else " 台")))
        since = messages.local(inc.start, p.timezone)[11:]
        short = f"{title} since {since}" if en else f"{title}，{since}起"
    return messages._Parts(title, tuple(lines), short)


def incident_message(kind: NotifyKind, inc: Incident, inv: Inventory, now: dt.datetime, policy: AlertPolicy) -> Message:
    """The message of *inc*: a village's picture incident worded here, any other by ``messages``."""
    if inc.kind is not IncidentKind.PICTURE or len(inc.members) < 2:
        return messages.incident_message(kind, inc, inv, now, policy)
    link = messages.link_for(inc, policy.base_url)
    zh = _village_parts(kind, inc, inv, now, policy, "zh")
    en = _village_parts(kind, inc, inv, now, policy, "en")
    tz, mz = messages._render(zh, link, "zh")
    te, me = messages._render(en, link, "en")
    return Message(zh.title, en.title, tz, te, mz, me, zh.short, en.short, link)
