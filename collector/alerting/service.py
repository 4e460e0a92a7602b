"""The collector's alerting: camera events -> the pure alert engine -> messages and work orders.

The scheduler's event sink is synchronous and must never block probing, so events go into a
queue; one task feeds them to :class:`~collector.alerting.engine.AlertEngine`, ticks it, hands
``Notify`` actions to the delivery side and stores incidents and work orders.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from collector.alerting import incident_store as store
from collector.alerting.delivery.channels import build_senders
from collector.alerting.delivery.message import Outgoing
from collector.alerting.delivery.notifier import Notifier
from collector.alerting.delivery.redact import Redactor
from collector.alerting.engine import AlertEngine
from collector.alerting.model import Action, Inventory, Notify, inventory_of
from collector.alerting.untold import untold_openings
from collector.alerting.workorders import work_order_counts
from collector.metrics.registry import SelfCounters
from collector.runtime.aio import wait_event
from collector.runtime.camera_state import Event
from collector.settings import Settings, alert_routing_warning
from inventory.models import utcnow
from inventory.monitored import MonitoredCamera, MonitoredDevice

log = logging.getLogger("camwatch.alerting")
Sender = Callable[[Notify, str], None]  # (action, language)


@dataclass
class AlertService:
    db: AsyncEngine
    engine: AlertEngine
    language: str = "zh"
    tick_s: float = 5.0
    send: Sender | None = None
    clock: Callable[[], dt.datetime] = utcnow
    checks_of: Callable[[int], tuple[str, ...]] = lambda cid: ()
    work_orders: dict[str, int] = field(default_factory=lambda: {"green": 0, "yellow": 0, "red": 0})
    on_counts: Callable[[dict[str, int]], None] | None = None
    _queue: asyncio.Queue[tuple[int, Event, tuple[str, ...]]] = field(default_factory=asyncio.Queue)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    sent: list[Notify] = field(default_factory=list)
    channels: frozenset[str] = frozenset()  # the configured channels (the notifier's)
    # the collector's own cameras and devices, when it has them all (no replicas); else read here
    cameras: Callable[[], tuple[Iterable[MonitoredCamera], Iterable[MonitoredDevice]]] | None = None

    async def _inventory(self) -> Inventory:
        return inventory_of(*self.cameras()) if self.cameras is not None else await store.load_inventory(self.db)

    async def start(self) -> None:
        self.engine.set_inventory(await self._inventory())
        incidents = await store.load_open_incidents(self.db)  # openings held or queued at the restart: told again
        untold = untold_openings(incidents, await store.openings_sent(self.db), self.channels, self.engine.policy)
        self.engine.restore(incidents, self.clock(), untold)
        await self._rules()
        await self._count_orders()

    async def refresh(self, *, inventory: bool = True) -> None:
        """Silences or exclusions changed, and the inventory when *inventory* (called on the
        collector's reload)."""
        if inventory:
            self.engine.set_inventory(await self._inventory())
        await self._rules()

    async def _rules(self) -> None:
        now = self.clock()
        self.engine.set_silences(await store.list_silences(self.db, now))
        self.engine.set_exclusions(await store.list_exclusions(self.db, now))
        self.engine.set_acknowledged(await store.acknowledged_orders(self.db))

    def on_event(self, cam: MonitoredCamera, event: Event) -> None:
        self._queue.put_nowait((cam.id, event, self.checks_of(cam.id)))
        self._wake.set()

    async def _handle(self, actions: tuple[Action, ...] | list[Action]) -> None:
        if not actions:
            return
        for a in actions:
            if isinstance(a, Notify):
                self.sent.append(a)
                if len(self.sent) > 1000:
                    del self.sent[:500]
                if self.send is not None:
                    try:
                        self.send(a, self.language)
                    except Exception:  # noqa: BLE001 - delivery problems must not stop decisions
                        log.exception("alert delivery failed")
        await store.apply_actions(self.db, actions, self.clock())

    async def _count_orders(self) -> None:
        now = self.clock()
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=31)
        orders = await store.list_work_orders(self.db, since=month, cameras=False)
        self.work_orders = {str(k.value if hasattr(k, "value") else k): v for k, v in work_order_counts(orders, now).items()}
        if self.on_counts is not None:
            self.on_counts(self.work_orders)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        next_count = loop.time() + 30
        while True:
            await wait_event(self._wake, max(0.0, next_tick - loop.time()))
            self._wake.clear()
            try:
                while not self._queue.empty():
                    cid, event, checks = self._queue.get_nowait()
                    await self._handle(self.engine.on_event(cid, event, checks))
                if loop.time() >= next_tick:
                    await self._handle(self.engine.tick(self.clock()))
                    next_tick = loop.time() + self.tick_s
                if loop.time() >= next_count:
                    await self._count_orders()
                    next_count = loop.time() + 30
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database may be away; decisions go on
                log.warning("alerting: %s", str(exc).splitlines()[0][:200])


def outgoing_for(action: Notify, language: str, channels: set[str]) -> list[Outgoing]:
    """The delivery side's messages for one decision: one per channel that exists (the settings
    name no other: ``Settings`` rejects unknown names, and without any channel the start warns)."""
    m = action.message
    kind = str(getattr(action.kind, "value", action.kind))
    if kind == "resolve":
        kind = "resolved"
    # the text without the title (each channel shows the title itself); SMS: the short form and the link
    short = m.short(language) + (f"\n{'Details: ' if language == 'en' else '详情：'}{m.link}" if m.link else "")
    out = []
    for ch in action.channels:
        if ch not in channels:
            continue
        out.append(Outgoing(
            channel=ch, title=m.title_in(language), text=m.body(language),
            markdown=m.markdown_body(language), severity=str(getattr(action.severity, "value", action.severity)),
            incident=action.incident_id, kind=kind,
            labels=(("incident", action.incident_id), ("severity", str(getattr(action.severity, "value", action.severity)))),
            starts_at=action.at if kind != "resolved" else None, ends_at=action.at if kind == "resolved" else None,
            link=m.link, short=short,
        ))
    return out


def build_alerting(settings: Settings, db: AsyncEngine, counters: SelfCounters, clock: Callable[[], dt.datetime],
                   checks_of: Callable[[int], tuple[str, ...]],
                   cameras: Callable[[], tuple[Iterable[MonitoredCamera], Iterable[MonitoredDevice]]] | None = None,
                   ) -> tuple[AlertService | None, Notifier | None]:
    """The alert service and, when channels are configured, the notifier it delivers through;
    *cameras*: the collector's own (see :attr:`AlertService.cameras`)."""
    if not settings.alerts.enabled:
        return None, None
    a = settings.alerts
    policy = a.to_policy(settings.recheck_answer_s)  # (the first message waits for an offline recheck's answer)
    service = AlertService(db, AlertEngine(policy), language=a.language or settings.language, tick_s=a.tick_s,
                           clock=clock, checks_of=checks_of, on_counts=counters.work_orders.update, cameras=cameras)
    warning = alert_routing_warning(settings)
    if warning is not None:  # (a fresh install, a demo, channels for reports only: it runs, and says so once)
        log.warning("%s", warning[0])
    if not settings.notify.channels:
        return service, None
    redactor = Redactor()
    senders = build_senders(settings.notify, redactor, language=service.language)
    notifier = Notifier(senders, retry=settings.notify.retry, engine=db, counters=counters, redactor=redactor)
    names = set(senders)
    service.channels = frozenset(names)

    def send(action: Notify, language: str) -> None:
        for msg in outgoing_for(action, language, names):
            notifier.submit(msg)

    service.send = send
    return service, notifier
