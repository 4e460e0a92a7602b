"""A real Alertmanager (Debian prometheus-alertmanager) on loopback receives camwatch's alerts:
a firing incident, then its resolution (endsAt)."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from collector.alerting.delivery.channels import build_senders
from collector.alerting.delivery.config import NotifySettings
from collector.alerting.delivery.message import Outgoing
from collector.alerting.delivery.notifier import Notifier
from collector.alerting.delivery.redact import Redactor
from collector.metrics.registry import SelfCounters

AM_CONFIG = """\
route:
  receiver: "null"
receivers:
  - name: "null"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def alertmanager(tmp_path: Path) -> AsyncIterator[str]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert binary, "install Debian's prometheus-alertmanager (.ci/setup does)"
    (tmp_path / "am.yml").write_text(AM_CONFIG)
    port = _free_port()
    proc = subprocess.Popen([binary, f"--config.file={tmp_path / 'am.yml'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address=", f"--storage.path={tmp_path / 'am-data'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as s:
            for _ in range(100):  # up to ~10 s
                try:
                    async with s.get(base + "/-/ready") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert proc.poll() is None, "alertmanager exited"
                await asyncio.sleep(0.1)
            else:
                pytest.fail("alertmanager did not become ready")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _alerts(base: str, active: bool) -> list[dict]:
    async with aiohttp.ClientSession() as s:
        q = {"active": "true" if active else "false", "silenced": "false", "inhibited": "false", "unprocessed": "true"}
        if not active:
            q = {"active": "false"}
        async with s.get(base + "/api/v2/alerts", params=q) as r:
            assert r.status == 200
            return await r.json()


def _msg(kind: str, ends: dt.datetime | None = None) -> Outgoing:
    return Outgoing(channel="am", title="张村 8/8 台摄像机离线", text="城关镇 张村：8/8 台摄像机离线，疑似上联中断",
                    markdown=None, severity="critical", incident="village:v1:2026-11-23T08:00", kind=kind,
                    labels=(("village", "v1"), ("township", "t1"), ("cause", "upstream_down")),
                    starts_at=dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), ends_at=ends,
                    link="http://camwatch.example/incidents/1")


async def test_firing_then_resolved(alertmanager: str) -> None:
    settings = NotifySettings.model_validate({"channels": [{"name": "am", "kind": "alertmanager", "url": alertmanager}],
                                             "retry": {"attempts": 2, "initial_backoff_s": 0.05}})
    senders = build_senders(settings, Redactor())
    counters = SelfCounters()
    async with Notifier(senders, retry=settings.retry, counters=counters) as n:
        n.submit(_msg("open"))
        await n.drain()
        firing = [a for a in await _alerts(alertmanager, True) if a["labels"].get("alertname") == "CamwatchIncident"]
        assert len(firing) == 1
        a = firing[0]
        assert a["labels"] == {"alertname": "CamwatchIncident", "severity": "critical", "incident": "village:v1:2026-11-23T08:00",
                               "village": "v1", "township": "t1", "cause": "upstream_down"}
        assert a["annotations"]["summary"] == "张村 8/8 台摄像机离线" and a["annotations"]["link"].endswith("/incidents/1")
        assert a["status"]["state"] == "active" and a["startsAt"].startswith("2026-11-23T08:00:00")
        # resolved: the same alert with endsAt (labels taken from the firing one even if the message has fewer)
        resolved = _msg("resolved", ends=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        n.submit(Outgoing(**{**{f: getattr(resolved, f) for f in resolved.__slots__}, "labels": ()}))
        await n.drain()
    assert [a for a in await _alerts(alertmanager, True) if a["labels"].get("alertname") == "CamwatchIncident"] == []
    everything = await _alerts(alertmanager, False)
    assert not any(a["labels"].get("alertname") == "CamwatchIncident" and a["status"]["state"] == "active" for a in everything)
    assert counters.alerts_sent == {("am", "sent"): 2}


async def test_bad_request_is_not_retried(alertmanager: str) -> None:
    settings = NotifySettings.model_validate({"channels": [{"name": "am", "kind": "alertmanager", "url": alertmanager + "/nope"}],
                                             "retry": {"attempts": 5, "initial_backoff_s": 0.05}})
    async with Notifier(build_senders(settings, Redactor()), retry=settings.retry) as n:
        n.submit(_msg("open"))
        await n.drain()
    d = n.deliveries[-1]
    assert not d.ok and d.attempts == 1 and "HTTP 404" in (d.error or "")
