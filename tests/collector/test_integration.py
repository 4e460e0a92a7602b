"""The collector against the simulated fleet with a scripted outage schedule, on SQLite and PostgreSQL.

Stored intervals must match the scripted truth within the detection resolution (first probe
after the change plus confirmation), and the rates must equal the rates recomputed by hand from
the stored intervals, to 0.01 percentage points, and the truth within the resolution.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from pathlib import Path

from sqlalchemy import insert, select

from collector.accounting import Level, Period
from collector.accounting.sql.load import load_accounting, time_rates
from collector.runtime.app import App
from collector.settings import load_settings
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.models import Camera, Exclusion, StateInterval
from inventory.secrets import SecretBox
from probes.sim import Behaviour, Fleet
from probes.sim.loopback import LoopbackRange
from tests.inventory.helpers import KEY, do_import, migrated
from tests.net import sample_inventory_at

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "sample_inventory.csv"
INTERVAL = 1.0
CONFIRM = (0.2, 0.2)
OFFLINE = 0.3
RESOLUTION = INTERVAL + sum(CONFIRM) + 0.8  # first probe after the change + confirmation + slack


def settings(url: str):  # type: ignore[no-untyped-def]
    return load_settings(db_url=url, environ={
        "CAMWATCH_COLLECTOR__INTERVAL_S": str(INTERVAL), "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": str(OFFLINE),
        "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": str(list(CONFIRM)), "CAMWATCH_COLLECTOR__VIDEO": "false",
        "CAMWATCH_COLLECTOR__RELOAD_INTERVAL_S": "0.5", "CAMWATCH_HTTP__PORT": "0",
        "CAMWATCH_PROBE__REACH_TIMEOUT_S": "0.5", "CAMWATCH_PROBE__RTSP_TIMEOUT_S": "0.5", "CAMWATCH_PROBE__ONVIF": "false",
    })


def q(x: Decimal | float) -> Decimal:
    return Decimal(str(x)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def test_scripted_outages_rates_and_restart(db_url: str, tmp_path: Path, loopback: LoopbackRange) -> None:
    migrated(db_url)
    assert do_import(db_url, sample_inventory_at(tmp_path / "sample.csv", loopback)).written
    s = settings(db_url)

    async def camera_at(engine, host: str) -> int:  # type: ignore[no-untyped-def]
        async with engine.connect() as c:
            return (await c.execute(select(Camera.id).where(Camera.host == host))).scalar_one()

    async def go() -> None:
        engine = create_engine(db_url)
        with Fleet(48, base_address=loopback.base_address, password="admin123") as fleet:
            t0 = time.time()
            # camera #2 (index 1): down from t0+3 to t0+7; #5 (index 4): down all along;
            # #7 (index 6): down t0+2..t0+6, inside an approved exclusion t0+1.5..t0+6.5
            fleet.set_behaviour(1, Behaviour(down_intervals=((t0 + 3, t0 + 7),)))
            fleet.set_behaviour(4, Behaviour(down_intervals=((0, t0 + 3600),)))
            fleet.set_behaviour(6, Behaviour(down_intervals=((t0 + 2, t0 + 6),)))
            cams = {i: await camera_at(engine, fleet.camera(i).host) for i in (0, 1, 4, 6)}
            ex_lo = dt.datetime.fromtimestamp(t0 + 1.5, dt.UTC)
            ex_hi = dt.datetime.fromtimestamp(t0 + 6.5, dt.UTC)
            async with engine.begin() as c:
                await c.execute(insert(Exclusion).values(camera_id=cams[6], start=ex_lo, end=ex_hi, reason="计划维护", approver="测试"))
            app = App(s, engine, SecretBox(KEY), http=build_application)
            await app.start()
            await asyncio.sleep(5.0)
            await app.stop()  # a collector restart in the middle of the outage of #2
            restart_gap = (time.time(), None)
            await asyncio.sleep(1.0)
            app = App(s, engine, SecretBox(KEY), http=build_application)
            await app.start()
            restart_gap = (restart_gap[0], time.time())
            await asyncio.sleep(max(0.0, t0 + 11 - time.time()))
            await app.stop()
            t_end = time.time()
        async with engine.connect() as c:
            rows = (await c.execute(select(StateInterval.camera_id, StateInterval.state, StateInterval.cause,
                                           StateInterval.start, StateInterval.end).order_by(StateInterval.camera_id, StateInterval.start))).all()
            # how well each start is known (half its probe gap), by (camera, start)
            unc = {(cid, start): us / 1e6 for cid, start, us in (await c.execute(select(
                StateInterval.camera_id, StateInterval.start, StateInterval.start_uncertainty_us))).all()}
        by: dict[int, list] = {}
        for r in rows:
            by.setdefault(r[0], []).append(r)
        ts = lambda d: d.timestamp()  # noqa: E731

        # #2: its offline interval starts at the midpoint of the probe gap around t0+3, the true
        # change within its stored uncertainty (half that gap; slack: probe start vs the sim's clock)
        off = [r for r in by[cams[1]] if r[1] == "offline"]
        assert off, by[cams[1]]
        u = unc[(cams[1], off[0][3])]
        assert 0 < u <= RESOLUTION and abs(ts(off[0][3]) - (t0 + 3)) <= u + 0.1, (ts(off[0][3]) - t0, u)
        back = [r for r in by[cams[1]] if r[1] == "online" and ts(r[3]) > t0 + 6]
        assert back, by[cams[1]]
        u = unc[(cams[1], back[0][3])]
        assert u <= OFFLINE + 1.0 and abs(ts(back[0][3]) - (t0 + 7)) <= u + 0.1, (ts(back[0][3]) - t0, u)
        # the restart left an unknown interval covering the collector's absence
        unknown = [r for r in by[cams[0]] if r[1] == "unknown"]
        assert any(ts(u[3]) <= restart_gap[0] + 0.1 and (u[4] is None or ts(u[4]) >= restart_gap[1] - 0.1) for u in unknown), by[cams[0]]
        # #5 is offline (refused) throughout, apart from unknown time
        assert {r[1] for r in by[cams[4]]} <= {"offline", "unknown"} and {r[2] for r in by[cams[4]] if r[1] == "offline"} == {"refused"}
        # intervals are contiguous: no overlap, no hole
        for rs in by.values():
            for a, b in pairwise(rs):
                assert a[4] == b[3]

        period = Period(dt.datetime.fromtimestamp(t0, dt.UTC), dt.datetime.fromtimestamp(t_end, dt.UTC))
        now = period.end
        data = await load_accounting(engine, period)
        rates = {r.key: r for r in time_rates(data, Level.CAMERA, period, now)}

        def by_hand(cid: int, exclude: tuple[float, float] | None) -> Decimal | None:
            online = eligible = 0.0
            for _, state, _, start, end in by[cid]:
                a, b = max(ts(start), t0), min(ts(end) if end else t_end, t_end)
                if exclude:
                    pieces = [(a, min(b, exclude[0])), (max(a, exclude[1]), b)]
                else:
                    pieces = [(a, b)]
                for lo, hi in pieces:
                    if hi <= lo or state in ("unknown", "excluded"):
                        continue
                    eligible += hi - lo
                    online += (hi - lo) if state in ("online", "degraded") else 0
            return q(online / eligible) if eligible else None

        for i in (0, 1, 4):
            assert rates[cams[i]].ratio == by_hand(cams[i], None), i
        assert rates[cams[6]].ratio == by_hand(cams[6], (ts(ex_lo), ts(ex_hi)))
        assert rates[cams[6]].ratio_without_exclusions == by_hand(cams[6], None)
        # against the scripted truth, within the detection resolution
        assert rates[cams[0]].ratio == Decimal("1.0000")
        assert rates[cams[4]].ratio == Decimal("0.0000")
        r2 = rates[cams[1]]
        eligible_spans = [(max(ts(r[3]), t0), min(ts(r[4]) if r[4] else t_end, t_end)) for r in by[cams[1]] if r[1] != "unknown"]
        truth_down = sum(max(0.0, min(hi, t0 + 7) - max(lo, t0 + 3)) for lo, hi in eligible_spans)
        observed_down = float(r2.time.eligible_s - r2.time.online_s)
        assert truth_down > 1.0
        assert abs(observed_down - truth_down) <= RESOLUTION, (observed_down, truth_down)
        # #7 was down only inside its exclusion: with exclusions it is at 100% (within resolution)
        assert float(rates[cams[6]].ratio) >= 1 - RESOLUTION / float(rates[cams[6]].time.eligible_s)
        assert rates[cams[6]].ratio_without_exclusions < rates[cams[6]].ratio
        # village rate = sum online / sum eligible over its cameras
        village = {r.key: r for r in time_rates(data, Level.VILLAGE, period, now)}
        vrow = village[next(c.village for c in data.cameras if c.camera_id == cams[1])]
        assert vrow.ratio == q(vrow.time.online_s / vrow.time.eligible_s)
        await engine.dispose()

    asyncio.run(go())
