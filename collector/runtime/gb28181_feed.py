"""State from GB/T 28181 signalling (DESIGN §11): the access platform's verdicts feed the SAME
camera state machine, intervals and alerts as direct probes.

- A channel (or a device registering as itself) whose 20-digit ID is an inventory camera's GB ID
  and whose camera is marked ``接入方式: GB28181`` is stepped by :meth:`Scheduler.apply` with an
  outcome: online when the device is registered and the channel ON, else offline with
  ``platform_offline`` (registration expired or keepalives stopped) or ``channel_off``, or
  ``not_registered`` (dropped from a complete catalog). The platform confirmed the verdict
  already (keepalive timeout, DeviceStatus query), so no re-probes are waited for. A verdict
  told by a message (a REGISTER, a NOTIFY, a catalog, a logout) or an expiry is an observation at
  its own instant, the state before it held until then: the change is dated at that instant, with
  no uncertainty (a recovery, an outage, a change of cause alike). A keepalive timeout is dated
  halfway between the device's last sign of life and its deadline (that + ``keepalive_timeout_s``),
  ± half the timeout: the device died in between.
- A camera heard twice (registering by itself, and listed by an NVR) is online while either
  says so: an offline verdict of one is not applied while the other is online.
- A GB28181-only camera that nothing was heard of within ``grace_s`` (default 2 x
  ``keepalive_timeout_s``) of its slot's start is offline with ``not_registered``.
- ``both``: the direct probe decides the state and its cause; signalling is kept and shown
  (``camwatch gb28181 devices``, the API) but changes no state (the reason: docs/design.md §11).
- IDs the inventory does not list never reach a camera: the registry keeps them apart (unlisted).
- Registrations are kept in the database (:mod:`collector.gb28181.persist`, written in batches
  every ``persist_every_s``) and read back at start, before the SIP ports open: a device
  registered before a restart of camwatch is still registered (its keepalives accepted, its
  cameras online at once); one that died during the downtime goes ``platform_offline``
  ``keepalive_timeout_s`` after the start; one already silent for ``keepalive_timeout_s`` at a
  clean stop (marked then) stays ``platform_offline`` from the start, until it speaks again.

Per-device registration passwords: the inventory password of the camera with that GB ID
(resolved like its RTSP password: ``enc:`` or ``env:NAME``), else ``gb28181.password``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncEngine

from collector.gb28181.config import Gb28181Settings
from collector.gb28181.persist import Batches, RegistrationStore
from collector.gb28181.platform import Platform
from collector.gb28181.state import ChannelEvent, GbEvent, GbVerdict
from collector.gb28181.verdict import offline_at
from collector.runtime.camera_state import Outcome, Seen, State
from collector.runtime.gb28181_relay import RelayedVerdict, VerdictRelay
from collector.runtime.scheduler import Scheduler
from inventory.access import Access
from inventory.models import utcnow
from inventory.monitored import MonitoredCamera
from probes.causes import Cause

log = logging.getLogger("camwatch.gb28181")


def outcome_of(verdict: GbVerdict, at: dt.datetime) -> Outcome:
    """The camera-state outcome a signalling verdict stands for (pure)."""
    return Outcome(at, verdict is GbVerdict.ONLINE, verdict.cause)


def grace_of(settings: Gb28181Settings) -> float:
    """How long a GB28181-only camera may go unheard of before it is ``not_registered``."""
    return 2 * settings.keepalive_timeout_s


class Signalled:
    """Signalling verdicts into the state of this process's GB28181-only cameras (its scheduler's
    slots), and the rule for those never heard of (``not_registered`` after *grace_s*)."""

    def __init__(self, scheduler: Scheduler, grace_s: float, clock: Callable[[], dt.datetime]) -> None:
        self.scheduler = scheduler
        self.grace_s = grace_s
        self._clock = clock
        self._first: dict[int, float] = {}  # GB28181-only camera -> when its slot was first seen (monotonic)
        # signalling is confirmed already: one outcome decides (no re-probes to wait for)
        self._policy = replace(scheduler.policy, confirm_delays_s=())

    def apply(self, camera_id: int, verdict: GbVerdict, at: dt.datetime, last_seen: dt.datetime | None) -> bool:
        """Step camera *camera_id* by a verdict holding from *at*; *last_seen*: a keepalive timeout's
        last sign of life (the outage began between it and *at*), None: dated at *at* (a message,
        an expiry). False when it is not one of this process's GB28181-only cameras."""
        slot = self.scheduler.slots.get(camera_id)
        if slot is None or slot.cam.access is not Access.GB28181 or slot.status.state is State.EXCLUDED:
            return False  # another replica's shard, retired, or one the direct probe decides (direct, both)
        if slot.status.since is not None and at < slot.status.since:
            at, last_seen = self._clock(), None  # (decided before its current interval began: dated now)
        outcome = outcome_of(verdict, at)
        # What the state machine dates a change from (its "last probe that saw the old state"): the
        # verdict's own instant (none: no midpoint) — the last verdict applied is not a look at the
        # camera (unchanged verdicts are never sent), so the old state is known to hold until *at*.
        last = None if outcome.ok or last_seen is None else min(last_seen, at)
        slot.seen = Seen(last, slot.seen.picture_at)
        self.scheduler.apply(slot, outcome, self._policy)
        return True

    def check_never_heard(self, now: float) -> int:
        """GB28181-only cameras heard nothing of for grace_s: offline, ``not_registered``. Returns how many."""
        n = 0
        at = self._clock()
        for cid, slot in list(self.scheduler.slots.items()):
            if slot.cam.probed:
                continue
            first = self._first.setdefault(cid, now)
            if slot.status.state is State.UNKNOWN and slot.status.pending is None and now - first >= self.grace_s:
                self.scheduler.apply(slot, Outcome(at, False, Cause.NOT_REGISTERED), self._policy)
                n += 1
        for cid in [c for c in self._first if c not in self.scheduler.slots]:
            del self._first[cid]
        return n


class Gb28181Feed:
    """The SIP platform and its verdicts. Alone (no replicas) it steps its own cameras; with
    *relay* (the replicas' leader) it writes every GB28181-only camera's verdict there for the
    replica that owns it (:mod:`collector.runtime.gb28181_relay`)."""

    def __init__(self, settings: Gb28181Settings, scheduler: Scheduler,
                 cameras: Callable[[], list[MonitoredCamera]], *, clock: Callable[[], dt.datetime] = utcnow,
                 grace_s: float | None = None, tick_s: float = 1.0, engine: AsyncEngine | None = None,
                 relay: VerdictRelay | None = None) -> None:
        self.settings = settings
        self.scheduler = scheduler
        self._cameras = cameras
        self._clock = clock
        self.signalled = Signalled(scheduler, grace_of(settings) if grace_s is None else grace_s, clock)
        self.relay = relay
        self.tick_s = tick_s
        self._source: list[MonitoredCamera] | None = None
        self._by_gb: dict[str, MonitoredCamera] = {}
        self.platform = Platform(settings, passwords=self._password, listed=self._listed)
        self.platform.registry.subscribe(self._on_event)
        self._task: asyncio.Task[None] | None = None
        self.store = RegistrationStore(engine) if engine is not None else None
        self.batches = Batches(self.platform.registry, settings.persist_seen_s)
        self._unwritten = False  # the last flush failed: what it held is not in the database
        self._persist: asyncio.Task[None] | None = None

    @property
    def grace_s(self) -> float:
        return self.signalled.grace_s

    # -- the inventory's GB IDs -----------------------------------------------------------
    def by_gb(self) -> dict[str, MonitoredCamera]:
        """Every inventory camera with a GB/T 28181 ID, by it (all of them: a replica's too)."""
        return self._index()

    def _index(self) -> dict[str, MonitoredCamera]:
        cams = self._cameras()
        if cams is not self._source:
            self._source = cams
            self._by_gb = {c.gb_id: c for c in cams if c.gb_id}
        return self._by_gb

    def _listed(self, gb_id: str) -> bool:
        return gb_id in self._index()

    def _password(self, gb_id: str) -> str | None:
        cam = self._index().get(gb_id)
        return None if cam is None or cam.credential_error is not None else cam.target.password

    # -- verdicts -> camera state ---------------------------------------------------------
    def _on_event(self, ev: GbEvent) -> None:
        gb_id = ev.channel_id if isinstance(ev, ChannelEvent) else ev.device_id
        cam = self._index().get(gb_id)
        if cam is None or cam.access is not Access.GB28181:
            return  # not an inventory camera, or one the direct probe decides (direct, both)
        if ev.verdict is not GbVerdict.ONLINE and self.platform.registry.online_elsewhere(gb_id, ev.device_id):
            return  # heard twice (by itself and through its NVR): online while either says so
        at = _wall(ev.at)
        last_seen = None if ev.last_seen is None else _wall(min(ev.last_seen, ev.at))
        if self.relay is not None:
            self.relay.submit(RelayedVerdict(cam.id, ev.verdict, at, last_seen))
        else:
            self.signalled.apply(cam.id, ev.verdict, at, last_seen)

    def check_never_heard(self, now: float) -> int:
        """GB28181-only cameras heard nothing of for grace_s: offline, ``not_registered`` (with a
        relay, each replica's follower does this for its own cameras)."""
        return 0 if self.relay is not None else self.signalled.check_never_heard(now)

    async def _watch(self) -> None:
        while True:
            self.check_never_heard(time.monotonic())
            await asyncio.sleep(self.tick_s)

    # -- the registrations kept in the database ------------------------------------------
    async def flush(self, *, final: bool = False) -> int:
        """Write what changed since the last flush (one batch; keepalive times at most every
        ``persist_seen_s`` a device, all when *final*); on failure it is kept for the next."""
        if self.store is None:
            return 0
        batch = self.batches.take(final=final)
        if not len(batch):
            return 0
        try:
            n = await self.store.write(batch.full, batch.channels, batch.seen, batch.gone, time.time())
        except Exception as exc:  # noqa: BLE001 - the database may be away: kept, written later
            self.batches.failed(batch)
            self._unwritten = True
            log.warning("gb28181: registrations not written (%s); kept for the next try",
                        str(exc).splitlines()[0][:200])
            return 0
        self.batches.done(batch)
        self._unwritten = False
        return n

    async def _mark_dead(self) -> None:
        """At a clean stop, once every keepalive time is written: the devices silent for the
        keepalive timeout then are marked (read back at the next start, they stay offline)."""
        if self.store is None or self._unwritten:
            return  # (their times not all written: the next start counts their silence from itself)
        now, s = time.time(), self.settings
        reg = self.platform.registry
        dead = [d.device_id for d in (*reg.devices(), *reg.unlisted()) if d.registered and now >= offline_at(d, s)]
        try:
            await self.store.stopped(dead, now)
        except Exception as exc:  # noqa: BLE001 - the database may be away: they are found at the next start
            log.warning("gb28181: devices silent at the stop not marked (%s)", str(exc).splitlines()[0][:200])

    async def _persist_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.persist_every_s)
            await self.flush()

    # -- life -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._index()
        if self.store is not None:
            try:
                states = await self.store.load()
            except Exception as exc:  # noqa: BLE001 - start without them: devices register again
                log.warning("gb28181: registrations not read back (%s)", str(exc).splitlines()[0][:200])
            else:
                n = self.platform.restore(states, time.time())
                self.batches.loaded(states)
                if n:
                    log.info("gb28181: %d registration(s) read back", n)
            self._persist = asyncio.create_task(self._persist_loop(), name="gb28181-persist")
        await self.platform.start()
        self._task = asyncio.create_task(self._watch(), name="gb28181-feed")

    async def close(self) -> None:
        for task in (self._task, self._persist):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.platform.close()
        await self.flush(final=True)  # the last keepalives' times
        await self._mark_dead()


def _wall(t: float) -> dt.datetime:
    """A platform time (``time.time()``) as a UTC datetime."""
    return dt.datetime.fromtimestamp(t, dt.UTC)
