"""``GET /api/v1/cameras/{id}``'s ``warnings`` follow the whole-line rule of the stages' details
(:func:`probes.detail_words.safe_detail`): a warning that holds the camera's password is withheld
whole; it read ``onvif onvif_error: HTTP 500 fault Receiver: config error for password *** *** ...``,
a ``***`` at each place the password stood. From a real App probing the simulator."""

from __future__ import annotations

import asyncio
import datetime as dt

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from probes.redact import WITHHELD
from probes.sim import Behaviour, Fleet, Reply
from tests.collector.test_api_support import PASSWORD, TOKEN, Live, get, running
from tests.net import loopback_range

ECHO = 1  # fleet index: its ONVIF fault repeats the password


async def _echoing(engine: AsyncEngine, cams: dict[int, int], fleet: Fleet) -> dt.date:
    await fleet.aset_behaviour([ECHO], Behaviour(onvif_reply=Reply.ECHO_CREDENTIALS))
    return dt.date.today()


async def _warnings(live: Live, cid: int, timeout: float = 30.0) -> tuple[str, ...]:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        last = live.app.scheduler.slots[cid].last
        if last is not None and last.warnings:
            return tuple(last.warnings)
        await asyncio.sleep(0.2)
    raise AssertionError(f"camera {cid}: no warning")


async def test_a_warning_holding_the_password_is_withheld_whole_in_the_api(tmp_path_factory: pytest.TempPathFactory) -> None:
    with loopback_range(2) as rng:
        async with running((127, rng.first_block, 0, 1), tmp_path_factory.mktemp("warn"), _echoing, n=3, down=()) as live, \
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            kept = await _warnings(live, live.cams[ECHO])
            assert any("***" in w for w in kept), kept  # (the prober masked the camera's words where they stood)
            auth = {"Authorization": f"Bearer {TOKEN}"}
            body = await get(http, live, f"/api/v1/cameras/{live.cams[ECHO]}", headers=auth)
            assert body["warnings"] == [WITHHELD], body["warnings"]
            assert [s["detail"] for s in body["last_probe"]["stages"] if s["stage"] == "onvif"] == [WITHHELD], body
            assert PASSWORD not in str(body) and "***" not in str(body), body
            other = await get(http, live, f"/api/v1/cameras/{live.cams[0]}", headers=auth)
            assert other["warnings"] == [] and WITHHELD not in str(other), other
