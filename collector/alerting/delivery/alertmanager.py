"""Alertmanager sink: camwatch incidents as alerts, POSTed to ``/api/v2/alerts``.

An incident is one alert (``alertname="CamwatchIncident"``) with labels incident, severity,
camera, village, township, cause... and annotations summary, description, link. Alertmanager
resolves an alert that is not re-sent within its ``resolve_timeout``, so firing alerts are
re-posted every ``refresh_s`` (as Prometheus does); a resolved incident is sent once more with
``endsAt`` and forgotten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from collector.alerting.delivery.message import Outgoing
from collector.alerting.delivery.reasons import Reason, of_exception, short
from collector.alerting.delivery.redact import Redactor
from collector.alerting.delivery.sender import DeliveryError

ALERTNAME = "CamwatchIncident"
RESOLVED_KINDS = ("resolved", "recovery")


def _iso(t: dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def alert_of(msg: Outgoing, now: dt.datetime) -> dict[str, Any]:
    """The Alertmanager v2 JSON of one message (labels identify the alert)."""
    labels = {"alertname": ALERTNAME, "severity": msg.severity}
    if msg.incident:
        labels["incident"] = msg.incident
    labels.update({k: v for k, v in msg.labels if v})
    ann = {"summary": msg.title, "description": msg.text}
    if msg.link:
        ann["link"] = msg.link
    alert: dict[str, Any] = {"labels": labels, "annotations": ann, "startsAt": _iso(msg.starts_at or now)}
    if msg.link:
        alert["generatorURL"] = msg.link
    return alert


class AlertmanagerSender:
    kind = "alertmanager"
    limits: tuple[tuple[int, float], ...] = ()
    max_bytes = 1_000_000

    def __init__(self, *, name: str, base_url: str, timeout_s: float, redactor: Redactor,
                 refresh_s: float = 60.0, wall: Callable[[], dt.datetime] = _utcnow) -> None:
        self.name = name
        self._url = base_url.rstrip("/") + "/api/v2/alerts"
        self.timeout_s = timeout_s
        self.refresh_s = refresh_s
        self.redactor = redactor
        self.wall = wall
        self.active: dict[str, dict[str, Any]] = {}  # incident (or label key) -> firing alert

    def __repr__(self) -> str:
        return f"AlertmanagerSender(name={self.name!r})"

    @staticmethod
    def _key(alert: dict[str, Any]) -> str:
        labels = alert["labels"]
        return labels.get("incident") or repr(sorted(labels.items()))

    def alerts_for(self, msgs: Sequence[Outgoing]) -> list[dict[str, Any]]:
        now = self.wall()
        out = []
        for m in msgs:
            alert = alert_of(m, now)
            key = self._key(alert)
            if m.kind in RESOLVED_KINDS or m.ends_at is not None:
                prev = self.active.get(key)
                if prev is not None:  # same identity as the firing alert, whatever labels came now
                    alert["labels"] = prev["labels"]
                    alert["startsAt"] = prev["startsAt"]
                alert["endsAt"] = _iso(m.ends_at or now)
            out.append(alert)
        return out

    async def deliver(self, msgs: Sequence[Outgoing]) -> None:
        alerts = self.alerts_for(msgs)
        await self._post(alerts)
        for a in alerts:
            key = self._key(a)
            if "endsAt" in a:
                self.active.pop(key, None)
            elif a["labels"]["alertname"] == ALERTNAME and dict(a["labels"]).get("incident"):
                self.active[key] = a

    async def refresh(self) -> None:
        """Re-post the firing alerts so Alertmanager keeps them active."""
        if self.active:
            await self._post(list(self.active.values()))

    async def _post(self, alerts: list[dict[str, Any]]) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.post(self._url, json=alerts) as resp:
                if resp.status >= 300:
                    reply = short((await resp.content.read(2000)).decode("utf-8", "replace"), self.redactor)
                    why = Reason("http", status=resp.status, reply=reply)
                    # (5xx, 408 and 429 are retried; another 4xx, or a redirect not followed, stays so)
                    raise why.error(retryable=why.retryable and resp.status >= 400)
        except DeliveryError:
            raise
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise of_exception(exc, self.redactor).error() from None
