"""Alert decisions as pure functions of inputs and ``now``: no clock, no I/O.

Feed camera events with :meth:`AlertEngine.feed` (or :meth:`AlertEngine.on_event` for
``collector.runtime.camera_state`` events) and call :meth:`AlertEngine.tick` regularly (every few
seconds); each returns a tuple of typed actions for the caller to carry out:

* an outage opens an incident that is **held for the grouping window**; outages in the same
  village or behind the same upstream device join it; the open message goes out on the first
  tick after the window closes (one message for a dark village);
* later outages join the open incident (an update message only if the severity rises, or
  when ``notify_on_growth``); when every camera is back the incident resolves with one
  recovery message (an incident whose cameras all came back inside the window says nothing);
* flapping cameras open no incidents: their changes go into a digest, at most one per window;
* reminders every ``reminder_interval_s`` while an incident is open; escalation levels by age;
* quiet hours hold messages of the held severities until they end (collapsed per incident);
* silences suppress messages for matching cameras; incidents and work orders are still recorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from collector.alerting import messages
from collector.alerting.inputs import inputs_of
from collector.alerting.model import (
    Action,
    AlertInput,
    CameraInfo,
    Flapping,
    Incident,
    IncidentChanged,
    IncidentKind,
    Inventory,
    Member,
    Notify,
    NotifyKind,
    OpenWorkOrder,
    Outage,
    PictureOk,
    PictureProblem,
    Recovery,
    ResolveWorkOrder,
    Severity,
    Silence,
    UpdateWorkOrder,
)
from collector.alerting.policy import AlertPolicy
from collector.runtime.camera_state import Event
from probes.causes import Cause


class AlertEngine:
    """Incident state; every method is pure apart from updating this object."""

    def __init__(self, policy: AlertPolicy, inventory: Inventory | None = None) -> None:
        self.policy = policy
        self.inventory = inventory or Inventory()
        self.silences: tuple[Silence, ...] = ()
        self.incidents: dict[str, Incident] = {}  # unresolved
        self.last_notified: dict[str, dt.datetime] = {}
        self.held: list[Notify] = []
        self.flapping: set[int] = set()
        self.flap_changes: dict[int, int] = {}
        self.down: dict[int, Outage] = {}
        self.digest_since: dt.datetime | None = None
        self.last_digest: dt.datetime | None = None
        self._by_camera: dict[tuple[IncidentKind, int], str] = {}
        self._by_village: dict[str, str] = {}
        self._by_device: dict[int, str] = {}

    # ---- inputs ---------------------------------------------------------------------------
    def set_inventory(self, inventory: Inventory) -> None:
        self.inventory = inventory

    def set_silences(self, silences: tuple[Silence, ...]) -> None:
        self.silences = tuple(silences)

    def on_event(self, camera_id: int, event: Event, checks: tuple[str, ...] = ()) -> tuple[Action, ...]:
        out: list[Action] = []
        for inp in inputs_of(camera_id, event, checks):
            out.extend(self.feed(inp))
        return tuple(out)

    def feed(self, inp: AlertInput) -> tuple[Action, ...]:
        if inp.camera_id not in self.inventory.cameras:
            return ()
        if isinstance(inp, Outage):
            return tuple(self._outage(inp))
        if isinstance(inp, Recovery):
            return tuple(self._recovery(inp))
        if isinstance(inp, Flapping):
            return tuple(self._flapping(inp))
        if isinstance(inp, PictureProblem):
            return tuple(self._picture(inp))
        return tuple(self._picture_ok(inp))

    # ---- helpers --------------------------------------------------------------------------
    def _cam(self, cid: int) -> CameraInfo:
        return self.inventory.cameras[cid]

    def _find(self, cid: int, kind: IncidentKind) -> Incident | None:
        key = self._by_camera.get((kind, cid))
        return None if key is None else self.incidents.get(key)

    def _new_id(self, prefix: str, scope: str, at: dt.datetime) -> str:
        base = f"{prefix}-{scope}-{at.astimezone(dt.UTC):%Y%m%d%H%M%S}"
        key, n = base, 1
        while key in self.incidents:
            n += 1
            key = f"{base}-{n}"
        return key

    def _silenced(self, inc: Incident, now: dt.datetime) -> bool:
        members = inc.down or inc.members
        return bool(members) and all(
            any(s.matches(self._cam(m.camera_id), now) for s in self.silences)
            for m in members if m.camera_id in self.inventory.cameras
        )

    def _emit(self, inc: Incident, kind: NotifyKind, now: dt.datetime, channels: tuple[str, ...] | None = None) -> list[Action]:
        silenced = self._silenced(inc, now)
        if silenced != inc.silenced:
            inc = self._put(replace(inc, silenced=silenced))
        if kind is not NotifyKind.RESOLVE:
            self.last_notified[inc.id] = now
        if silenced:
            return []
        msg = messages.incident_message(kind, inc, self.inventory, now, self.policy)
        n = Notify(inc.id, kind, inc.severity, channels if channels is not None else self.policy.channels_for(inc.severity), msg, now)
        if self.policy.quiet.holds(inc.severity, now):
            self.held.append(n)
            return []
        return [n]

    def _put(self, inc: Incident) -> Incident:
        """Store (or, once resolved, drop) an incident, keeping the camera/village/device indexes in step."""
        old = self.incidents.pop(inc.id, None)
        if old is not None:
            for mem in old.members:
                self._by_camera.pop((old.kind, mem.camera_id), None)
            if old.kind is IncidentKind.OUTAGE:
                if self._by_village.get(old.village) == old.id:
                    del self._by_village[old.village]
                if old.device_id is not None and self._by_device.get(old.device_id) == old.id:
                    del self._by_device[old.device_id]
        if inc.resolved_at is not None:
            self.last_notified.pop(inc.id, None)
            return inc
        self.incidents[inc.id] = inc
        for mem in inc.members:
            self._by_camera[(inc.kind, mem.camera_id)] = inc.id
        if inc.kind is IncidentKind.OUTAGE:
            self._by_village.setdefault(inc.village, inc.id)
            if inc.device_id is not None:
                self._by_device.setdefault(inc.device_id, inc.id)
        return inc

    def _totals(self, cam: CameraInfo) -> tuple[int, int]:
        inv = self.inventory
        dev = inv.device_counts.get(cam.parent_device_id, 0) if cam.parent_device_id is not None else 0
        return inv.village_counts.get(cam.village, 1), dev

    def _add_member(self, inc: Incident, m: Member, now: dt.datetime) -> list[Action]:
        members = tuple(x for x in inc.members if x.camera_id != m.camera_id) + (m,)
        device = inc.device_id if inc.device_id == self._cam(m.camera_id).parent_device_id else None
        new = replace(inc, members=members, device_id=device, start=min(inc.start, m.start))
        if not inc.sent:
            self._put(new)
            return []
        severity = new.severity_now() if new.severity_now().rank > inc.severity.rank else inc.severity
        new = self._put(replace(new, severity=severity))
        out: list[Action] = [IncidentChanged(new)]
        grew = len(new.down) > len(inc.down)
        if severity is not inc.severity:
            d = self.policy.deadlines.deadline(new.opened_at, new.cause, severity)
            out.append(UpdateWorkOrder(new.id, severity, len(new.members), d))
            out += self._emit(new, NotifyKind.UPDATE, now)
        elif grew and self.policy.notify_on_growth:
            out += self._emit(new, NotifyKind.UPDATE, now)
        return out

    def _member_up(self, inc: Incident, cid: int, at: dt.datetime, *, remove: bool = False, notify: bool = True) -> list[Action]:
        if remove and not inc.sent:
            members = tuple(m for m in inc.members if m.camera_id != cid)
        else:
            members = tuple(replace(m, up_at=at) if m.camera_id == cid and m.up_at is None else m for m in inc.members)
        new = replace(inc, members=members)
        if any(m.up_at is None for m in members):
            self._put(new)
            return [IncidentChanged(new)] if inc.sent else []
        new = self._put(replace(new, resolved_at=at))
        if not inc.sent:  # back inside the grouping window: recorded, no message, no work order
            return [IncidentChanged(new)] if members else []
        out: list[Action] = [IncidentChanged(new), ResolveWorkOrder(new.id, at)]
        if notify:
            out += self._emit(new, NotifyKind.RESOLVE, at)
        return out

    # ---- outages --------------------------------------------------------------------------
    def _outage(self, o: Outage) -> list[Action]:
        cid = o.camera_id
        prev = self.down.get(cid)
        self.down[cid] = o if prev is None else replace(o, start=prev.start)
        if cid in self.flapping:
            if prev is None:
                self._flap_activity(cid, o.at)
            return []
        inc = self._find(cid, IncidentKind.OUTAGE)
        start = prev.start if prev is not None else o.start
        if inc is not None:
            mine = next(m for m in inc.members if m.camera_id == cid)
            if mine.up_at is None:  # new cause while offline
                return self._add_member(inc, replace(mine, cause=o.cause), o.at) if mine.cause is not o.cause else []
            return self._add_member(inc, Member(cid, o.cause, start), o.at)
        cam = self._cam(cid)
        key = self._by_village.get(cam.village)
        if key is None and cam.parent_device_id is not None:
            key = self._by_device.get(cam.parent_device_id)
        if key is not None:
            return self._add_member(self.incidents[key], Member(cid, o.cause, start), o.at)
        vt, dtot = self._totals(cam)
        inc = Incident(self._new_id("o", cam.village or str(cid), o.at), IncidentKind.OUTAGE, Severity.NORMAL, cam.village,
                       cam.parent_device_id, o.at, start, (Member(cid, o.cause, start),), vt, dtot)
        self._put(inc)
        return []

    def _recovery(self, r: Recovery) -> list[Action]:
        cid = r.camera_id
        was_down = self.down.pop(cid, None) is not None
        if cid in self.flapping:
            if was_down:
                self._flap_activity(cid, r.at)
            return []
        inc = self._find(cid, IncidentKind.OUTAGE)
        if inc is None:
            return []
        return self._member_up(inc, cid, r.at)

    # ---- flapping and digest --------------------------------------------------------------
    def _flap_activity(self, cid: int, at: dt.datetime) -> None:
        self.flap_changes[cid] = self.flap_changes.get(cid, 0) + 1
        if self.digest_since is None:
            self.digest_since = at

    def _flapping(self, f: Flapping) -> list[Action]:
        cid = f.camera_id
        if f.flapping:
            if cid in self.flapping:
                return []
            self.flapping.add(cid)
            self._flap_activity(cid, f.at)
            inc = self._find(cid, IncidentKind.OUTAGE)
            mine = next((m for m in inc.members if m.camera_id == cid), None) if inc else None
            if inc is None or mine is None or mine.up_at is not None:
                return []
            return self._member_up(inc, cid, f.at, remove=True)
        if cid not in self.flapping:
            return []
        self.flapping.discard(cid)
        o = self.down.get(cid)
        if o is None:
            return []
        del self.down[cid]
        return self._outage(replace(o, at=f.at))

    def _digest(self, now: dt.datetime) -> list[Action]:
        if self.digest_since is None:
            return []
        due = self.digest_since + dt.timedelta(seconds=self.policy.group_window_s)
        if self.last_digest is not None:
            due = max(due, self.last_digest + dt.timedelta(seconds=self.policy.digest_window_s))
        if now < due:
            return []
        items = []
        for cid, n in sorted(self.flap_changes.items()):
            cam = self.inventory.cameras.get(cid)
            if cam is None or any(s.matches(cam, now) for s in self.silences):
                continue
            items.append(messages.DigestItem(cam, n, cid in self.down, cid in self.flapping))
        self.flap_changes.clear()
        self.digest_since = None
        if not items:
            return []
        self.last_digest = now
        key = f"digest-{now.astimezone(dt.UTC):%Y%m%d%H%M%S}"
        msg = messages.digest_message(tuple(items), now, self.policy)
        digest = Notify(key, NotifyKind.DIGEST, Severity.LOW, self.policy.channels_for(Severity.LOW), msg, now)
        if self.policy.quiet.holds(Severity.LOW, now):
            self.held.append(digest)
            return []
        return [digest]

    # ---- picture problems -----------------------------------------------------------------
    def _picture(self, p: PictureProblem) -> list[Action]:
        cid = p.camera_id
        inc = self._find(cid, IncidentKind.PICTURE)
        if inc is not None:
            m = inc.members[0]
            if m.checks != p.checks:
                new = self._put(replace(inc, members=(replace(m, checks=p.checks),)))
                return [IncidentChanged(new)] if inc.sent else []
            return []
        cam = self._cam(cid)
        vt, dtot = self._totals(cam)
        inc = Incident(self._new_id("p", str(cid), p.at), IncidentKind.PICTURE, Severity.LOW, cam.village, None, p.at, p.at,
                       (Member(cid, None, p.at, checks=p.checks),), vt, dtot)
        self._put(inc)
        return []

    def _picture_ok(self, p: PictureOk) -> list[Action]:
        inc = self._find(p.camera_id, IncidentKind.PICTURE)
        if inc is None:
            return []
        # Going offline ends the picture incident without a "picture fixed" message.
        return self._member_up(inc, p.camera_id, p.at, notify=p.camera_id not in self.down)

    # ---- time -----------------------------------------------------------------------------
    def tick(self, now: dt.datetime) -> tuple[Action, ...]:
        out: list[Action] = []
        p = self.policy
        window = dt.timedelta(seconds=p.group_window_s)
        for inc in list(self.incidents.values()):
            if inc.sent or now < inc.opened_at + window:
                continue
            sev = inc.severity_now()
            inc = self._put(replace(inc, sent=True, severity=sev))
            cam_id = inc.members[0].camera_id if len(inc.members) == 1 else None
            out.append(OpenWorkOrder(inc.id, messages.incident_message(NotifyKind.OPEN, inc, self.inventory, now, p).title_zh,
                                     cam_id, inc.village or None, inc.device_id, inc.cause, sev, len(inc.members),
                                     inc.opened_at, p.deadlines.deadline(inc.opened_at, inc.cause, sev)))
            out.append(IncidentChanged(inc))
            out += self._emit(inc, NotifyKind.OPEN, now)
        for inc in list(self.incidents.values()):
            if not inc.sent:
                continue
            age = (now - inc.opened_at).total_seconds()
            reached = sum(1 for lv in p.escalation if age >= lv.after_s)
            if reached > inc.escalation and inc.severity.rank >= p.escalate_min_severity.rank:
                inc = self._put(replace(self.incidents[inc.id], escalation=reached))
                out.append(IncidentChanged(inc))
                out += self._emit(inc, NotifyKind.ESCALATE, now, p.escalation[reached - 1].channels)
                continue
            last = self.last_notified.get(inc.id, inc.opened_at)
            if p.reminder_interval_s > 0 and (now - last).total_seconds() >= p.reminder_interval_s:
                chans = p.channels_for(inc.severity) + tuple(c for lv in p.escalation[:inc.escalation] for c in lv.channels)
                out += self._emit(self.incidents[inc.id], NotifyKind.REMINDER, now, tuple(dict.fromkeys(chans)))
        out += self._digest(now)
        out += self._release(now)
        return tuple(out)

    def _release(self, now: dt.datetime) -> list[Action]:
        """After quiet hours: one message per incident (its resolve, or its most important kind, re-worded now)."""
        if not self.held or self.policy.quiet.active(now):
            return []
        held, self.held = self.held, []
        order = (NotifyKind.RESOLVE, NotifyKind.OPEN, NotifyKind.ESCALATE, NotifyKind.UPDATE, NotifyKind.REMINDER)
        by_inc: dict[str, list[Notify]] = {}
        out: list[Action] = []
        digest: Notify | None = None
        for n in held:
            if n.kind is NotifyKind.DIGEST:
                digest = n
            else:
                by_inc.setdefault(n.incident_id, []).append(n)
        for key, ns in by_inc.items():
            best = min(ns, key=lambda n: order.index(n.kind))
            channels = tuple(dict.fromkeys(c for n in ns for c in n.channels))
            inc = self.incidents.get(key)
            if inc is not None and best.kind is not NotifyKind.RESOLVE:
                best = replace(best, message=messages.incident_message(best.kind, inc, self.inventory, now, self.policy), at=now)
            out.append(replace(best, channels=channels))
            if inc is not None:
                self.last_notified[key] = now
        if digest is not None:
            out.append(digest)
        return out

    def restore(self, incidents: tuple[Incident, ...]) -> None:
        """Take over unresolved incidents stored before a restart (their open messages were already decided)."""
        for inc in incidents:
            if inc.resolved_at is not None:
                continue
            self._put(inc)
            self.last_notified[inc.id] = inc.opened_at
            if inc.kind is IncidentKind.OUTAGE:
                for mem in inc.down:
                    self.down[mem.camera_id] = Outage(mem.camera_id, mem.cause or Cause.PROTOCOL_ERROR, mem.start, inc.opened_at)

    def open_incidents(self) -> tuple[Incident, ...]:
        return tuple(self.incidents.values())
