"""The notifier: a queue and a delivery task per channel, rate limits, retries, a delivery log.

``submit()`` never blocks and never drops: messages wait in their channel's queue; the channel
task sends one per post while the rate windows allow, merges the waiting ones when they do not,
retries a failed post with exponential back-off, and logs every message's outcome to
``alert_log`` (secrets redacted) and ``SelfCounters.alerts_sent``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.alerting.delivery.config import RetrySettings
from collector.alerting.delivery.message import Outgoing
from collector.alerting.delivery.ratelimit import RateLimiter, plan
from collector.alerting.delivery.redact import RedactingFilter, Redactor
from collector.alerting.delivery.sender import DeliveryError, Sender
from collector.metrics.registry import SelfCounters
from inventory.models import AlertLog

log = logging.getLogger("camwatch.notify")


class UnknownChannel(KeyError):
    """``submit`` named a channel that is not configured."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one post (one or more messages merged)."""

    channel: str
    messages: int
    ok: bool
    attempts: int
    error: str | None  # why the last attempt failed, in English (logs, alert_log), redacted
    error_zh: str | None = None  # the same in Chinese (`camwatch alerts test`), redacted


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Channel:
    def __init__(self, sender: Sender) -> None:
        self.sender = sender
        self.limiter = RateLimiter(sender.limits)
        self.pending: deque[Outgoing] = deque()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task[None] | None = None


class Notifier:
    def __init__(self, senders: Mapping[str, Sender], *, retry: RetrySettings | None = None,
                 engine: AsyncEngine | None = None, counters: SelfCounters | None = None,
                 redactor: Redactor | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 wall: Callable[[], dt.datetime] = _utcnow) -> None:
        self.senders = dict(senders)
        self.retry = retry or RetrySettings()
        self.engine = engine
        self.counters = counters if counters is not None else SelfCounters()
        self.redactor = redactor or Redactor()
        self.clock = clock
        self.sleep = sleep
        self.wall = wall
        self.deliveries: list[Delivery] = []  # recent outcomes, bounded
        self._channels: dict[str, _Channel] = {}
        self._filter = RedactingFilter(self.redactor)
        # the replicas' leader (collector.alerting.outbox): right before a post, the messages it may
        # still send (raises: kept queued, tried again); after it, their outcome
        self.claim: Callable[[Sequence[Outgoing]], Awaitable[list[Outgoing]]] | None = None
        self.settle: Callable[[Sequence[Outgoing], bool], Awaitable[None]] | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._filter.install()
        for name, sender in self.senders.items():
            ch = _Channel(sender)
            ch.task = asyncio.create_task(self._run(ch), name=f"notify:{name}")
            self._channels[name] = ch

    async def stop(self, drain_s: float = 5.0) -> None:
        """Deliver what is queued (up to *drain_s* seconds), then stop the channel tasks."""
        try:
            async with asyncio.timeout(drain_s):
                await self.drain()
        except TimeoutError:
            log.warning("notifier stopped with undelivered messages: %s",
                        {n: len(c.pending) for n, c in self._channels.items() if c.pending})
        for ch in self._channels.values():
            if ch.task is not None:
                ch.task.cancel()
        for ch in self._channels.values():
            if ch.task is not None:
                try:
                    await ch.task
                except asyncio.CancelledError:
                    pass
        self._channels.clear()
        self._filter.remove()

    async def __aenter__(self) -> Notifier:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- API -------------------------------------------------------------------------------
    def submit(self, msg: Outgoing) -> None:
        ch = self._channels.get(msg.channel)
        if ch is None:
            raise UnknownChannel(msg.channel)
        ch.pending.append(msg)
        ch.idle.clear()
        ch.wake.set()

    async def drain(self) -> None:
        """Wait until every queue is empty and no post is in flight."""
        for ch in list(self._channels.values()):
            await ch.idle.wait()

    # -- delivery ----------------------------------------------------------------------------
    async def _run(self, ch: _Channel) -> None:
        refresh_s: float | None = getattr(ch.sender, "refresh_s", None)
        refresh: Callable[[], Awaitable[None]] | None = getattr(ch.sender, "refresh", None)
        while True:
            if not ch.pending:
                ch.idle.set()
                ch.wake.clear()
                if refresh is not None and refresh_s:
                    try:
                        async with asyncio.timeout(refresh_s):
                            await ch.wake.wait()
                    except TimeoutError:
                        await self._refresh(ch, refresh)
                        continue
                else:
                    await ch.wake.wait()
                continue
            await self._wait_slot(ch)
            batch = plan(list(ch.pending), ch.limiter.remaining(self.clock()), ch.sender.max_bytes)
            for _ in batch:
                ch.pending.popleft()
            if self.claim is not None:
                try:
                    batch = await self.claim(batch)
                except Exception as exc:  # noqa: BLE001 - the database may be away: keep them, try again
                    log.warning("channel %s: cannot claim %d message(s): %s", ch.sender.name, len(batch),
                                str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
                    ch.pending.extendleft(reversed(batch))
                    await self.sleep(1.0)
                    continue
                if not batch:
                    continue
            await self._deliver(ch, batch)

    async def _wait_slot(self, ch: _Channel) -> None:
        while (w := ch.limiter.wait_s(self.clock())) > 0:
            await self.sleep(w)

    async def _refresh(self, ch: _Channel, refresh: Callable[[], Awaitable[None]]) -> None:
        try:
            await refresh()
        except DeliveryError as exc:
            log.warning("channel %s: refresh failed: %s", ch.sender.name, exc.reason)

    async def _deliver(self, ch: _Channel, batch: Sequence[Outgoing]) -> Delivery:
        name = ch.sender.name
        attempts = 0
        error: str | None = None
        error_zh: str | None = None
        while True:
            await self._wait_slot(ch)
            ch.limiter.record(self.clock())
            attempts += 1
            try:
                await ch.sender.deliver(batch)
                error = error_zh = None
                break
            except DeliveryError as exc:
                error, error_zh = self.redactor(exc.reason), self.redactor(exc.render("zh"))
                retryable = exc.retryable
            except Exception as exc:  # a sender bug must not kill the channel task
                error = error_zh = f"{type(exc).__name__}"
                retryable = False
                log.exception("channel %s: unexpected delivery error", name)
            if not retryable or attempts >= self.retry.attempts:
                break
            self._count(name, "retry", 1)
            wait = self.retry.backoff(attempts)
            log.info("channel %s: attempt %d failed (%s); retrying in %.1fs", name, attempts, error, wait)
            await self.sleep(wait)
        ok = error is None
        self._count(name, "sent" if ok else "failed", len(batch))
        if not ok:
            log.warning("channel %s: %d message(s) not delivered after %d attempt(s): %s", name, len(batch), attempts, error)
        d = Delivery(channel=name, messages=len(batch), ok=ok, attempts=attempts, error=error, error_zh=error_zh)
        if self.settle is not None:
            try:
                await self.settle(batch, ok)
            except Exception:  # noqa: BLE001 - stays "sending": a next leader counts it in doubt
                log.exception("channel %s: cannot record the outcome of %d message(s)", name, len(batch))
        self.deliveries.append(d)
        del self.deliveries[:-1000]
        await self._log(batch, d)
        return d

    def _count(self, channel: str, result: str, n: int) -> None:
        key = (channel, result)
        self.counters.alerts_sent[key] = self.counters.alerts_sent.get(key, 0) + n

    async def _log(self, batch: Sequence[Outgoing], d: Delivery) -> None:
        if self.engine is None:
            return
        at = self.wall()
        note = "" if len(batch) == 1 else f"[merged {len(batch)}] "
        err = "" if d.error is None else f"\n[error after {d.attempts} attempt(s): {d.error}]"
        rows: list[dict[str, Any]] = [
            {"at": at, "incident_key": m.incident, "channel": d.channel, "kind": m.kind[:32],
             "result": "sent" if d.ok else "failed",
             "message": self.redactor(f"{note}{m.title}\n{m.text}{err}")}
            for m in batch
        ]
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(AlertLog), rows)
        except Exception:  # the log must not stop deliveries; the counters still have it
            log.exception("cannot write alert_log")
