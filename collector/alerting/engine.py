"""Alert decisions as pure functions of inputs and ``now``: no clock, no I/O.

Feed camera events with :meth:`AlertEngine.feed` (or :meth:`AlertEngine.on_event` for
``collector.runtime.camera_state`` events) and call :meth:`AlertEngine.tick` regularly (every few
seconds); each returns a tuple of typed actions for the caller to carry out:

* an outage opens an incident that is **held for the grouping window**; outages in the same
  village or behind the same upstream device join it; the open message goes out on the first tick
  after the window and one offline recheck more (:meth:`AlertPolicy.open_due`): one message for a dark village;
* later outages join the open incident: a rise in severity is told on the next tick; growth past
  the size last told, a grouping window after it began (``notify_on_growth``); so the last word
  on an incident gives its real size and severity, and its work order follows; when every
  camera is back the incident resolves with one recovery message (an incident whose cameras all
  came back before its open message says nothing);
* "suspected uplink failure" (critical) is decided by :mod:`collector.alerting.upstream`;
* picture problems of a village are one incident, grouped like outages, ended only by a good picture;
* flapping cameras open no incidents, send no picture messages: a digest, at most one per window;
* exclusions in force (报备) set outages and picture problems of their cameras aside: no
  incident, no message, no work order; when the exclusion ends, a camera still down (or still
  degraded) is taken up then, through the normal grouping window;
* reminders every ``reminder_interval_s`` while an incident is open (not of a picture whose cameras
  are all offline); escalation levels by age (both: :mod:`collector.alerting.reminders`);
* quiet hours hold messages of the held severities until they end (:mod:`~collector.alerting.held`; restarts: :mod:`.untold`);
* silences suppress messages for matching cameras; incidents and work orders are still recorded; an
  open message a silence withheld is told when the silence ends (by hand or at its end) while the
  incident is still open, and an incident never told says nothing, not even its recovery
  (:mod:`collector.alerting.withheld`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import replace

from collector.alerting.audience import Audience
from collector.alerting.book import IncidentBook
from collector.alerting.exclusions import ExclusionRules
from collector.alerting.held import FlapDigest, release
from collector.alerting.inputs import inputs_of
from collector.alerting.messages import incident_message, work_order_title
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
from collector.alerting.reminders import channels_reached, escalation_due, picture_unseen, reminded_by, reminder_due
from collector.alerting.untold import RetoldOpenings
from collector.alerting.upstream import suspected_uplink
from collector.alerting.withheld import told_late, unless_silenced
from collector.runtime.camera_state import Event
from probes.causes import Cause


class AlertEngine(Audience, ExclusionRules, RetoldOpenings):
    """Incident state; every method is pure apart from updating this object (exclusions, openings retold: its bases)."""

    def __init__(self, policy: AlertPolicy, inventory: Inventory | None = None) -> None:
        super().__init__()
        self.policy = policy
        self.inventory = inventory or Inventory()
        self.silences: tuple[Silence, ...] = ()
        self.book = IncidentBook()
        self.incidents = self.book.incidents  # unresolved, by id
        self.last_notified: dict[str, dt.datetime] = {}
        self.held: list[Notify] = []
        self.retell: list[str] = []  # openings a restart found untold (collector.alerting.untold): decided again
        self.flapping: set[int] = set()
        self.digest = FlapDigest()
        self.down: dict[int, Outage] = {}
        self.flap_pictures: dict[int, PictureProblem] = {}  # degraded while flapping: taken up when it settles
        self.recheck: dict[int, dt.datetime] = {}  # back up with a picture incident: its picture not checked yet

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

    def _judge(self, inc: Incident) -> Incident:
        """The uplink suspicion of an outage: decided afresh while the incident forms, kept once told."""
        if inc.kind is not IncidentKind.OUTAGE or (inc.sent and inc.uplink):
            return inc
        p = self.policy
        return replace(inc, uplink=suspected_uplink(inc.down, inc.village_total, flapping=self.flapping,
                                                    min_cameras=p.upstream_min_cameras, window_s=p.group_window_s))

    def _emit(self, inc: Incident, kind: NotifyKind, now: dt.datetime, channels: tuple[str, ...] | None = None, *,
              late: bool = False) -> list[Action]:
        """A message, unless a silence withholds it: an open message so withheld leaves the incident
        owed (``silenced``, told by :meth:`_tell_late`); nothing else is said of an owed incident."""
        if inc.silenced and kind is not NotifyKind.OPEN:
            return []
        silenced = self._silenced(inc, now)
        if kind is NotifyKind.RESOLVE and silenced:  # withheld: nor is anything held of it told (no lone opening)
            self.held = [n for n in self.held if n.incident_id != inc.id]
        shown = self._visible(inc, now)  # its muted cameras left out
        if kind is not NotifyKind.RESOLVE:
            self.last_notified[inc.id] = now
            inc = self._put(replace(inc, silenced=silenced and kind is NotifyKind.OPEN, announced=len(shown.down)))
        if silenced:
            return []
        note = self._ack_note(inc, self.policy.timezone) if kind is NotifyKind.ESCALATE else None
        shown = self._worded(kind, shown)
        msg = incident_message(kind, shown, self.inventory, now, self.policy, late=late, note=note)
        n = Notify(inc.id, kind, inc.severity, channels if channels is not None else self.policy.channels_for(inc.severity), msg,
                   now, late)
        if self.policy.quiet.holds(inc.severity, now):
            self.held.append(n)
            return []
        return [n]

    def _put(self, inc: Incident) -> Incident:
        if inc.resolved_at is not None:
            self.last_notified.pop(inc.id, None)
        return self.book.put(inc)

    def _totals(self, cam: CameraInfo) -> tuple[int, int]:
        inv = self.inventory
        dev = inv.device_counts.get(cam.parent_device_id, 0) if cam.parent_device_id is not None else 0
        return inv.village_counts.get(cam.village, 1), dev

    def _add_member(self, inc: Incident, m: Member, now: dt.datetime) -> list[Action]:
        """A camera joins (or a member's cause changes); once the incident was told, the next tick decides what to say."""
        members = tuple(x for x in inc.members if x.camera_id != m.camera_id) + (m,)
        device = inc.device_id if inc.device_id == self._cam(m.camera_id).parent_device_id else None
        new = replace(inc, members=members, device_id=device, start=min(inc.start, m.start))
        if not inc.sent:
            self._put(new)
            return []
        return [IncidentChanged(self._put(replace(new, changed_at=inc.changed_at or now)))]

    def _settle(self, inc: Incident, now: dt.datetime) -> list[Action]:
        """A told incident changed: a rise in severity is told at once (the flapping flags of the same
        probe are in by the tick); growth past the size told, one grouping window after the change."""
        assert inc.changed_at is not None
        judged = self._judge(inc)
        sev = judged.severity_now() if judged.severity_now().rank > inc.severity.rank else inc.severity
        if sev is inc.severity and now < inc.changed_at + dt.timedelta(seconds=self.policy.group_window_s):
            return []
        new = self._put(replace(judged, severity=sev, changed_at=None))
        out: list[Action] = [IncidentChanged(new), self._order_update(new, now)]
        shown = self._visible(new, now)  # a change of muted cameras alone says nothing
        rose = sev is not inc.severity and (shown is new or self._judge(replace(shown, uplink=False)).severity_now() is sev)
        if rose or (self.policy.notify_on_growth and len(shown.down) > new.announced):
            out += self._emit(new, NotifyKind.UPDATE, now, channels_reached(new, self.policy))
        return out

    def _order_update(self, inc: Incident, now: dt.datetime) -> UpdateWorkOrder:
        """Its work order as the incident is now: severity, cameras, deadline (never later), title
        (every camera it counted: :func:`work_order_title`)."""
        p = self.policy
        return UpdateWorkOrder(inc.id, inc.severity, len(inc.members), p.deadlines.earliest(inc.opened_at, inc.causes, inc.severity),
                               work_order_title(inc, self.inventory, now, p))

    def _tell_late(self, inc: Incident, now: dt.datetime) -> list[Action]:
        """An incident whose open message a silence withheld: its work order follows its changes
        meanwhile; once no silence covers it (and a picture incident's picture is seen), its open
        message is told now (:func:`collector.alerting.withheld.told_late`)."""
        out = self._settle(inc, now) if inc.changed_at is not None else []
        inc = self.incidents[inc.id]
        if self._silenced(inc, now) or picture_unseen(inc, (self.down, self.recheck)):
            return out
        late = told_late(inc, self._judge(inc), now, self.policy)
        if self.policy.quiet.holds(late.severity, now):
            return out  # still owed (stored): told after quiet hours, not held in memory where a restart loses it
        new = self._put(late)
        out.append(IncidentChanged(new))
        if new.severity is not inc.severity:
            out.append(self._order_update(new, now))
        return out + self._emit(new, NotifyKind.OPEN, now, channels_reached(new, self.policy), late=True)

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
        if not inc.sent:  # back before the open message: recorded, no message, no work order
            return [IncidentChanged(new)] if members else []
        out: list[Action] = [IncidentChanged(new), ResolveWorkOrder(new.id, at)]
        if notify:
            out += self._emit(new, NotifyKind.RESOLVE, at, channels_reached(new, self.policy))  # every channel told
        return out

    # ---- outages --------------------------------------------------------------------------
    def _outage(self, o: Outage) -> list[Action]:
        cid = o.camera_id
        prev = self.down.get(cid)
        self.down[cid] = o if prev is None else replace(o, start=prev.start)
        self.recheck.pop(cid, None)
        if cid in self.flapping:
            if prev is None:
                self.digest.activity(cid, o.at)
            return []
        inc, mine = self.book.member(cid, IncidentKind.OUTAGE)
        if inc is not None and mine is not None and mine.up_at is None:  # new cause (or parent answer) while offline
            new = replace(mine, cause=o.cause, upstream_up=o.upstream_up)
            return self._add_member(inc, new, o.at) if new != mine else []
        if self._excluded(cid, o.at):
            self.aside[(IncidentKind.OUTAGE, cid)] = None
            return []
        mem = Member(cid, o.cause, prev.start if prev is not None else o.start, upstream_up=o.upstream_up)
        cam = self._cam(cid)
        joined = inc or self.book.outage_for(cam.village, cam.parent_device_id)
        if joined is not None:
            return self._add_member(joined, mem, o.at)
        vt, dtot = self._totals(cam)
        inc = Incident(self.book.new_id("o", cam.village or str(cid), o.at), IncidentKind.OUTAGE, Severity.NORMAL, cam.village,
                       cam.parent_device_id, o.at, mem.start, (mem,), vt, dtot)
        self._put(inc)
        return []

    def _recovery(self, r: Recovery) -> list[Action]:
        cid = r.camera_id
        was_down = self.down.pop(cid, None) is not None
        self.aside.pop((IncidentKind.OUTAGE, cid), None)
        if (m := self.book.member(cid, IncidentKind.PICTURE)[1]) is not None and m.up_at is None:
            self.recheck[cid] = r.at  # fixed unless its first picture check (at once) finds it degraded
        if cid in self.flapping:
            if was_down:
                self.digest.activity(cid, r.at)
            return []
        inc = self.book.find(cid, IncidentKind.OUTAGE)
        if inc is None:
            return []
        return self._member_up(inc, cid, r.at)

    # ---- flapping and digest --------------------------------------------------------------
    def _flapping(self, f: Flapping) -> list[Action]:
        cid = f.camera_id
        if f.flapping:
            if cid in self.flapping:
                return []
            self.flapping.add(cid)
            self.aside.pop((IncidentKind.OUTAGE, cid), None)  # its flapping end decides again
            self.digest.activity(cid, f.at, max(1, f.changes))  # the changes that made it flapping
            out: list[Action] = []
            for kind in IncidentKind:  # leaves a forming picture incident (a told one stays: a real problem)
                inc, mine = self.book.member(cid, kind)
                if inc is None or mine is None or mine.up_at is not None or (kind is IncidentKind.PICTURE and inc.sent):
                    continue
                if kind is IncidentKind.PICTURE:
                    self.flap_pictures[cid] = PictureProblem(cid, mine.checks, mine.start)
                self.flap_left |= {(inc.id, cid)} if inc.sent else set()
                out += self._member_up(inc, cid, f.at, remove=True)
            return out
        if cid not in self.flapping:
            return []
        self.flapping.discard(cid)
        self.flap_left = {k for k in self.flap_left if k[1] != cid}  # settled: counted again when down
        pic = self.flap_pictures.pop(cid, None)
        out = self._picture(replace(pic, at=f.at)) if pic is not None and cid not in self.down else []
        o = self.down.pop(cid, None)
        return out if o is None else out + self._outage(replace(o, at=f.at))

    # ---- picture problems -----------------------------------------------------------------
    def _picture(self, p: PictureProblem) -> list[Action]:
        cid = p.camera_id
        self.recheck.pop(cid, None)
        if cid in self.flapping:  # its digest tells of it; taken up when it settles
            self.flap_pictures[cid] = p
            return []
        inc, mine = self.book.member(cid, IncidentKind.PICTURE)
        if inc is not None and mine is not None and mine.up_at is None:  # still degraded: its checks may change
            return self._add_member(inc, replace(mine, checks=p.checks), p.at) if mine.checks != p.checks else []
        if self._excluded(cid, p.at):
            self.aside[(IncidentKind.PICTURE, cid)] = p
            return []
        cam = self._cam(cid)
        joined = inc or self.book.picture_for(cam.village)  # one incident per village, grouped like outages
        if joined is not None:
            return self._add_member(joined, Member(cid, None, p.at, checks=p.checks), p.at)
        vt, dtot = self._totals(cam)
        inc = Incident(self.book.new_id("p", cam.village or str(cid), p.at), IncidentKind.PICTURE, Severity.LOW, cam.village,
                       None, p.at, p.at, (Member(cid, None, p.at, checks=p.checks),), vt, dtot)
        self._put(inc)
        return []

    def _picture_ok(self, p: PictureOk) -> list[Action]:
        cid = p.camera_id  # seen with a good picture (or gone): never because it went offline
        self.aside.pop((IncidentKind.PICTURE, cid), None)
        self.flap_pictures.pop(cid, None)
        self.recheck.pop(cid, None)
        inc = self.book.find(cid, IncidentKind.PICTURE)
        if inc is None or cid in self.down:
            return []
        return self._member_up(inc, cid, p.at, notify=not all(m.camera_id in self.flapping for m in inc.members))

    # ---- time -----------------------------------------------------------------------------
    def tick(self, now: dt.datetime) -> tuple[Action, ...]:
        p = self.policy
        out: list[Action] = self._take_up(now) + self._retell(now)
        for cid, back in [(c, b) for c, b in self.recheck.items() if (now - b).total_seconds() >= p.picture_recheck_s]:
            out += self._picture_ok(PictureOk(cid, back))
        for key in [k for k, i in self.incidents.items() if not i.sent and now >= p.open_due(i.kind, i.opened_at)]:
            inc = self._set_aside(self.incidents[key], now)
            if inc is None or picture_unseen(inc, (self.down, self.recheck)):
                continue  # picture unknown now (offline, or back and not checked yet): told once seen degraded
            inc = self._judge(inc)
            sev = inc.severity_now()
            inc = self._put(replace(inc, sent=True, severity=sev, silenced=self._silenced(inc, now)))
            cam_id = inc.members[0].camera_id if len(inc.members) == 1 else None
            out.append(OpenWorkOrder(inc.id, work_order_title(inc, self.inventory, now, p),
                                     cam_id, inc.village or None, inc.device_id, inc.cause, sev, len(inc.members),
                                     inc.opened_at, p.deadlines.earliest(inc.opened_at, inc.causes, sev)))
            out.append(IncidentChanged(inc))
            out += self._emit(inc, NotifyKind.OPEN, now)
        for key in [k for k, i in self.incidents.items() if i.sent]:
            if self.incidents[key].silenced:  # its open message withheld by a silence: told once that ends
                out += self._tell_late(self.incidents[key], now)
                continue
            if self.incidents[key].changed_at is not None:
                out += self._settle(self.incidents[key], now)
                if self.last_notified.get(key) == now:
                    continue
            inc = self.incidents[key]
            if (reached := escalation_due(inc, now, p)) and not self._silenced(inc, now) and not self._escalation_held(inc, now):
                levels = tuple(dict.fromkeys(c for lv in p.escalation[inc.escalation:reached] for c in lv.channels))
                inc = self._put(replace(inc, escalation=reached))
                out.append(IncidentChanged(inc))
                out += self._emit(inc, NotifyKind.ESCALATE, now, levels)
                continue
            # no reminder of a picture nobody sees: its cameras offline are their outage's to tell
            chans = reminder_due(inc, now, self.last_notified.get(inc.id, inc.opened_at), p, (self.down, self.recheck))
            if chans is not None:
                out += self._emit(inc, NotifyKind.REMINDER, now, chans)
        if (d := self.digest.take(now, self.inventory, self.down, self.flapping, lambda c: self._muted(c, now), p)) is not None:
            (self.held if p.quiet.holds(Severity.LOW, now) else out).append(d)
        if self.held and not p.quiet.active(now):
            held, self.held = self.held, []
            released, told = release(held, {k: self._visible(i, now) for k, i in self.incidents.items()}, self.inventory, now, p)
            self.last_notified.update(dict.fromkeys(told, now))
            released, owed = unless_silenced(released, self.incidents, lambda i: self._silenced(i, now))
            out += released
            out += [IncidentChanged(self._put(i)) for i in owed]
        return tuple(out)

    def restore(self, incidents: tuple[Incident, ...], now: dt.datetime | None = None, untold: Collection[str] = ()) -> None:
        """Take over unresolved incidents stored before a restart (their messages were decided;
        at *now* a reminder is due when it was without the restart: :func:`reminded_by`); the openings
        of *untold* are decided again (:meth:`RetoldOpenings._untold`)."""
        for inc in (i for i in incidents if i.resolved_at is None):
            inc = self._put(self._judge(replace(inc, announced=len(inc.down))))
            self.last_notified[inc.id] = reminded_by(inc, now, self.policy)
            if inc.kind is IncidentKind.OUTAGE:
                for mem in inc.down:
                    self.down[mem.camera_id] = Outage(mem.camera_id, mem.cause or Cause.PROTOCOL_ERROR, mem.start, inc.opened_at,
                                                      mem.upstream_up)
        self._untold(untold, now)

    def open_incidents(self) -> tuple[Incident, ...]:
        return tuple(self.incidents.values())
