"""Delivery keys persisted before sending (the replicas' leader, DESIGN §8).

Each message for each channel gets an idempotency key (:func:`delivery_key`): the incident, what
is said, an ordinal where one incident says the same kind more than once, and the channel. The
leader records a decision's messages as ``pending`` rows of ``alert_deliveries`` in the
transaction that stores the decision (incidents, work orders, the cursor): a key already there is
not recorded again, so a new leader re-deciding what its predecessor decided sends nothing twice.

Right before a post the notifier **claims** its messages (``pending`` -> ``sending``, only while
this replica still leads); after it, ``sent`` or ``failed``. A new leader sends what is still
``pending``, and marks what it finds ``sending`` as ``in_doubt``: the old leader died during
that post, which may or may not have reached the channel. **At most once** on every channel: an
in-doubt message is logged (``alert_log`` result ``in_doubt``) and not sent again, because a
duplicate is what the on-call staff must not get (the channels here, robots, SMS and e-mail, have
no receiver-side deduplication to make at-least-once safe). Only a post cut by the death of the
leader is at risk; a message waiting in a queue (rate limits) is still ``pending`` and is sent by
the next leader.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import asdict, replace

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from collector.alerting.delivery.message import Outgoing
from collector.alerting.model import Incident, Notify, NotifyKind
from inventory.models import AlertDelivery, AlertLog
from inventory.models import Incident as Incident_

log = logging.getLogger("camwatch.outbox")
PENDING, SENDING, SENT, FAILED, IN_DOUBT = "pending", "sending", "sent", "failed", "in_doubt"
Guard = Callable[[AsyncConnection], Awaitable[None]]
"""Raises in a transaction of a replica that no longer leads (see collector.alerting.leader)."""


def delivery_key(action: Notify, channel: str, incident: Incident | None, reminder_s: float) -> str:
    """The idempotency key of one message (pure). Open and resolve are said once per incident; an
    update once per (severity, cameras down); an escalation once per level; a reminder once per
    reminder interval of the incident's age; a digest is its own id."""
    kind = NotifyKind(action.kind)
    n = ""
    if incident is not None and kind is NotifyKind.UPDATE:
        n = f"{action.severity}:{len(incident.down)}"
    elif incident is not None and kind is NotifyKind.ESCALATE:
        n = str(incident.escalation)
    elif incident is not None and kind is NotifyKind.REMINDER and reminder_s > 0:
        n = str(int((action.at - incident.opened_at).total_seconds() // reminder_s))
    elif kind in (NotifyKind.UPDATE, NotifyKind.ESCALATE, NotifyKind.REMINDER):
        n = action.at.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")
    return ":".join(x for x in (action.incident_id, kind.value, n, channel) if x)[:255]


def to_payload(msg: Outgoing) -> dict[str, object]:
    d = asdict(msg)
    d["labels"] = [list(x) for x in msg.labels]
    for k in ("starts_at", "ends_at"):
        v = d[k]
        d[k] = v.isoformat() if isinstance(v, dt.datetime) else None
    return d


def from_payload(d: dict[str, object]) -> Outgoing:
    def when(v: object) -> dt.datetime | None:
        return dt.datetime.fromisoformat(str(v)) if v else None

    labels = d.get("labels") or []
    assert isinstance(labels, list)
    return Outgoing(channel=str(d["channel"]), title=str(d["title"]), text=str(d["text"]),
                    markdown=None if d.get("markdown") is None else str(d["markdown"]), severity=str(d["severity"]),
                    incident=None if d.get("incident") is None else str(d["incident"]), kind=str(d["kind"]),
                    labels=tuple((str(a), str(b)) for a, b in labels), starts_at=when(d.get("starts_at")),
                    ends_at=when(d.get("ends_at")), link=None if d.get("link") is None else str(d["link"]),
                    key=None if d.get("key") is None else str(d["key"]),
                    short=None if d.get("short") is None else str(d["short"]))


async def record(conn: AsyncConnection, msgs: Sequence[Outgoing], replica: str, now: dt.datetime) -> list[Outgoing]:
    """In the decision's transaction: the messages whose key is new, recorded ``pending`` (the
    others were decided before: not sent again)."""
    keyed = {m.key: m for m in msgs if m.key}
    if not keyed:
        return []
    keys = sorted(keyed)
    known: set[str] = set()
    for k in range(0, len(keys), 500):
        known.update((await conn.execute(select(AlertDelivery.key).where(AlertDelivery.key.in_(keys[k:k + 500])))).scalars())
    new = [m for key, m in keyed.items() if key not in known]
    if new:
        await conn.execute(insert(AlertDelivery), [
            {"key": m.key, "incident_key": m.incident, "kind": m.kind[:32], "channel": m.channel, "status": PENDING,
             "payload": to_payload(m), "created_at": now, "updated_at": now, "replica": replica} for m in new])
    if len(new) < len(keyed):
        log.info("%d message(s) decided again after a leader change, not sent twice", len(keyed) - len(new))
    return new


async def claim(engine: AsyncEngine, msgs: Sequence[Outgoing], replica: str, now: dt.datetime,
                guard: Guard | None) -> list[Outgoing]:
    """Right before a post: the messages this replica may send now (``pending`` -> ``sending``, while
    it leads). Messages without a key (a lone collector's) pass."""
    keys = sorted({m.key for m in msgs if m.key})
    if not keys:
        return list(msgs)
    async with engine.begin() as conn:
        if guard is not None:
            await guard(conn)
        q = select(AlertDelivery.key).where(AlertDelivery.key.in_(keys), AlertDelivery.status == PENDING)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        mine = set((await conn.execute(q)).scalars())
        if mine:
            await conn.execute(update(AlertDelivery).where(AlertDelivery.key.in_(sorted(mine)))
                               .values(status=SENDING, updated_at=now, replica=replica))
    out = [m for m in msgs if not m.key or m.key in mine]
    if len(out) < len(msgs):
        log.warning("%d message(s) not sent: claimed or settled by another leader", len(msgs) - len(out))
    return out


async def settle(engine: AsyncEngine, msgs: Sequence[Outgoing], ok: bool, now: dt.datetime) -> None:
    """After the post: ``sent`` or ``failed``."""
    keys = sorted({m.key for m in msgs if m.key})
    if keys:
        async with engine.begin() as conn:
            await conn.execute(update(AlertDelivery).where(AlertDelivery.key.in_(keys), AlertDelivery.status == SENDING)
                               .values(status=SENT if ok else FAILED, updated_at=now))


async def take_over(engine: AsyncEngine, replica: str, now: dt.datetime, guard: Guard | None,
                    inflight: Collection[str] = ()) -> list[Outgoing]:
    """A new leader: posts its predecessor left in flight become ``in_doubt`` (logged, not sent
    again: at most once); returns the ``pending`` messages to send. *inflight*: keys this process
    is posting now (a term begun again), left alone."""
    async with engine.begin() as conn:
        if guard is not None:
            await guard(conn)
        doubt = [r for r in (await conn.execute(select(AlertDelivery.__table__).where(AlertDelivery.status == SENDING))).all()
                 if r.key not in inflight]
        if doubt:
            await conn.execute(update(AlertDelivery).where(AlertDelivery.key.in_([r.key for r in doubt]))
                               .values(status=IN_DOUBT, updated_at=now, replica=replica))
            await conn.execute(insert(AlertLog), [
                {"at": now, "incident_key": r.incident_key, "channel": r.channel, "kind": r.kind, "result": IN_DOUBT,
                 "message": f"{r.payload.get('title', '')}\n[in flight when the previous leader stopped: not sent again]"}
                for r in doubt])
            log.warning("%d message(s) were being sent when the previous leader stopped: in doubt, not sent again "
                        "(at most once)", len(doubt))
        pending = (await conn.execute(select(AlertDelivery.payload).where(AlertDelivery.status == PENDING)
                                      .order_by(AlertDelivery.created_at, AlertDelivery.key))).scalars().all()
    return [from_payload(p) for p in pending]


async def openings_keyed(engine: AsyncEngine) -> set[str]:
    """The unresolved incidents whose open message has a delivery key, whatever became of it
    (decided for sending: never decided again): one query, for a new leader's
    :func:`collector.alerting.untold.untold_openings`."""
    unresolved = select(Incident_.id).where(Incident_.resolved_at.is_(None))
    q = select(AlertDelivery.incident_key).distinct().where(AlertDelivery.kind == "open",
                                                            AlertDelivery.incident_key.in_(unresolved))
    async with engine.connect() as conn:
        return {str(k) for k in (await conn.execute(q)).scalars()}


def keyed(msgs: Iterable[Outgoing], action: Notify, incident: Incident | None, reminder_s: float) -> list[Outgoing]:
    return [replace(m, key=delivery_key(action, m.channel, incident, reminder_s)) for m in msgs]


__all__ = ["FAILED", "IN_DOUBT", "PENDING", "SENDING", "SENT", "Guard", "claim", "delivery_key", "from_payload",
           "keyed", "openings_keyed", "record", "settle", "take_over", "to_payload"]
