"""State from GB/T 28181 signalling, end to end on loopback: the collector (the App, as ``camwatch
run`` builds it) runs the SIP access platform; simulated devices and an NVR register to it over
UDP; inventory cameras marked 接入方式 GB28181 are matched by their GB IDs and go through the same
state machine and interval writer as probed cameras (SQLite)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collector.cli import build_cli
from collector.cli.context import CliContext
from collector.cli.gb28181_cmds import render
from collector.gb28181.config import Gb28181Settings
from collector.gb28181.state import DeviceState, GbVerdict
from collector.runtime.app import App
from collector.runtime.camera_state import State
from collector.runtime.gb28181_feed import outcome_of
from collector.settings import load_settings
from collector.web import accounts
from collector.web.gb28181 import device_body
from inventory.db import create_engine
from inventory.models import Camera, StateInterval
from probes.causes import Cause
from probes.gb28181.transport import Peer
from probes.sim.gb28181_sim import SimChannel, SimDevice
from tests.collector.gb28181_app import TOKEN, gb_app
from tests.inventory.helpers import do_import, migrated, write_csv
from tests.net import free_port

NVR, CH1, CH2 = "34020000001180000001", "34020000001310000001", "34020000001310000002"
IPC, CH3 = "34020000001320000003", "34020000001310000003"
OWN = "34020000001320000004"  # a camera registering as itself, with its own inventory password
NEVER = "34020000001310000009"  # listed, never registers
BOTH = "34020000001310000005"  # 接入方式 both: the direct probe decides
STRANGER = "34020000001320000099"  # not in the inventory
HEAD = ["县/区", "乡镇/街道", "村/社区", "点位名称", "摄像机名称", "国标编码", "接入方式", "IP地址", "密码"]
TIMEOUT_S = 3.0  # keepalive_timeout_s of the test (keepalives every second)


def _row(n: int, gb: str, access: str, password: str = "") -> list[str]:
    return ["示范县", "城关镇", "东关村", f"点{n}", f"摄像机{n}", gb, access, f"127.66.0.{n}", password]


def _settings(url: str):  # type: ignore[no-untyped-def]
    return load_settings(db_url=url, environ={
        "CAMWATCH_COLLECTOR__INTERVAL_S": "2", "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "2",
        "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": "[0.3, 0.6]",
        "CAMWATCH_COLLECTOR__VIDEO": "false", "CAMWATCH_HTTP__PORT": "0", "CAMWATCH_PROBE__ONVIF": "false",
        "CAMWATCH_PROBE__REACH_TIMEOUT_S": "0.5", "CAMWATCH_PROBE__RTSP_TIMEOUT_S": "0.5",
        "CAMWATCH_GB28181__ENABLED": "true", "CAMWATCH_GB28181__HOST": "127.0.0.1", "CAMWATCH_GB28181__PORT": "0",
        "CAMWATCH_GB28181__TRANSPORTS": '["udp"]', "CAMWATCH_GB28181__PASSWORD": "default-Pw-1",
        "CAMWATCH_GB28181__KEEPALIVE_INTERVAL_S": "1", "CAMWATCH_GB28181__STATUS_GRACE_S": "0.5",
        "CAMWATCH_GB28181__KEEPALIVE_TIMEOUT_S": str(TIMEOUT_S), "CAMWATCH_HTTP__HOST": "127.0.0.1",
        "CAMWATCH_HTTP__API_TOKEN": TOKEN,
    })


async def _until(cond: Callable[[], bool], timeout_s: float = 30.0) -> None:
    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, "condition not met in time"
        await asyncio.sleep(0.1)


def test_outcome_of_a_verdict() -> None:
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert [(o.ok, o.cause) for o in (outcome_of(v, at) for v in GbVerdict)] == [
        (True, None), (False, Cause.PLATFORM_OFFLINE), (False, Cause.CHANNEL_OFF), (False, Cause.NOT_REGISTERED)]


def test_devices_register_to_the_collector_and_their_cameras_are_accounted(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    rows = [_row(1, CH1, "国标"), _row(2, CH2, "GB28181"), _row(3, CH3, "国标"), _row(4, OWN, "国标", "own-Pw-4"),
            _row(5, BOTH, "两者"), _row(9, NEVER, "国标")]
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, rows)).written

    async def go() -> None:
        async with gb_app(url, _settings(url)) as rig:
            app, feed, sim = rig.app, rig.feed, await rig.sim()
            sim.add(SimDevice(NVR, "default-Pw-1", [SimChannel(CH1), SimChannel(CH2)], keepalive_s=1.0))
            sim.add(SimDevice(IPC, "default-Pw-1", [SimChannel(CH3)], keepalive_s=1.0))
            sim.add(SimDevice(OWN, "own-Pw-4", keepalive_s=1.0))
            sim.add(SimDevice(STRANGER, "default-Pw-1", [SimChannel("34020000001310000099")], keepalive_s=1.0))
            assert await sim.register(OWN, password="default-Pw-1") == 403  # its own password, not the default
            for dev in (NVR, IPC, OWN, STRANGER):
                assert await sim.register(dev) == 200, dev
                sim.start_keepalives(dev, first_after=0.0)
            ids = {c.gb_id: c.id for c in app._inventory[0]}
            slots = app.scheduler.slots

            def state(gb: str) -> tuple[State, Cause | None]:
                st = slots[ids[gb]].status
                return st.state, st.cause

            await _until(lambda: all(state(g)[0] is State.ONLINE for g in (CH1, CH2, CH3, OWN)))
            assert all(slots[ids[g]].last is None for g in (CH1, CH2, CH3, OWN, NEVER))  # never probed directly
            # the stranger is listed for import, and no camera is its
            assert [d.device_id for d in feed.platform.registry.unlisted()] == [STRANGER]

            await _check_api_and_cli(app, ids, tmp_path, url)
            # a channel switched OFF (told at once by a catalog notification)
            sim.set_status(NVR, CH2, "OFF", notify=True)
            await _until(lambda: state(CH2) == (State.OFFLINE, Cause.CHANNEL_OFF))
            # a dead device: its channel offline within keepalive_timeout_s (+ slack for a loaded box)
            killed = time.monotonic()
            sim.kill(IPC)
            await _until(lambda: state(CH3)[0] is State.OFFLINE)
            assert state(CH3) == (State.OFFLINE, Cause.PLATFORM_OFFLINE)
            assert time.monotonic() - killed <= TIMEOUT_S + 5.0
            # never registered: after the grace (2 x keepalive_timeout_s)
            await _until(lambda: state(NEVER) == (State.OFFLINE, Cause.NOT_REGISTERED), 4 * TIMEOUT_S + 10)
            assert state(CH1)[0] is State.ONLINE and state(OWN)[0] is State.ONLINE
            # both: the direct probe decides (nothing answers at its address)
            await _until(lambda: state(BOTH)[0] is State.OFFLINE)
            assert state(BOTH)[1] not in (Cause.PLATFORM_OFFLINE, Cause.CHANNEL_OFF, Cause.NOT_REGISTERED)
            await _until(lambda: app.writer.pending == 0, 10)

        engine = create_engine(url)
        async with AsyncSession(engine) as ses:
            by_gb = dict((await ses.execute(select(Camera.id, Camera.gb_id))).all())
            got: dict[str | None, list[tuple[str, str | None]]] = {}
            for cid, st, cause in (await ses.execute(select(StateInterval.camera_id, StateInterval.state, StateInterval.cause)
                                                     .order_by(StateInterval.start, StateInterval.id))).all():
                got.setdefault(by_gb[cid], []).append((st, cause))
        await engine.dispose()
        assert got[CH1][:1] == [("online", None)]
        assert ("offline", "channel_off") in got[CH2] and got[CH2].index(("online", None)) < got[CH2].index(
            ("offline", "channel_off"))
        assert ("offline", "platform_offline") in got[CH3]
        assert ("offline", "not_registered") in got[NEVER]
        assert ("online", None) in got[OWN]

    asyncio.run(go())


async def _check_api_and_cli(app: App, ids: dict[str | None, int], tmp_path: Path, db_url: str) -> None:
    """`camwatch gb28181 devices` reads the running collector's API (admin token; none: refused)."""
    assert app.http_site is not None
    base = f"http://127.0.0.1:{app.http_site.port}"

    def cli(*args: str) -> tuple[int, str]:
        r = CliRunner().invoke(build_cli(), ["--lang", "en", "gb28181", "devices", "--url", base, *args])
        return r.exit_code, r.output

    code, out = await asyncio.to_thread(cli, "--json", "--token", TOKEN)
    assert code == 0, out
    page = json.loads(out)
    assert page["enabled"] and not page["unlisted"]
    by_id = {d["device_id"]: d for d in page["devices"]}
    assert set(by_id) == {NVR, IPC, OWN}  # the stranger is not among the listed
    assert by_id[OWN]["camera_id"] == ids[OWN] and by_id[OWN]["verdict"] == "online"
    chans = {c["channel_id"]: c for c in by_id[NVR]["channels"]}
    assert chans[CH1]["camera_id"] == ids[CH1] and chans[CH1]["verdict"] == "online" and chans[CH1]["status"] == "ON"
    code, out = await asyncio.to_thread(cli, "--unlisted", "--token", TOKEN)
    assert code == 0 and STRANGER in out and NVR not in out, out
    # the NVR's catalog as inventory rows (its two channels, 接入方式 国标)
    xlsx = Path(tmp_path) / "catalog.xlsx"
    r = await asyncio.to_thread(lambda: CliRunner().invoke(build_cli(), [
        "--db", db_url, "--lang", "en", "inventory", "import-catalog", NVR, "--out", str(xlsx), "--url", base,
        "--token", TOKEN]))
    assert r.exit_code == 0 and "2 camera(s)" in r.output, r.output
    sheet = load_workbook(xlsx).active
    table = [[c.value for c in row] for row in sheet.iter_rows()]
    col = {h: i for i, h in enumerate(table[0])}
    assert sorted(row[col["gb_id"]] for row in table[1:]) == [CH1, CH2]
    assert {row[col["access"]] for row in table[1:]} == {"国标"}
    r = await asyncio.to_thread(lambda: CliRunner().invoke(build_cli(), [
        "--db", db_url, "--lang", "en", "inventory", "import-catalog", "34020000001180000077", "--out", str(xlsx),
        "--url", base, "--token", TOKEN]))
    assert r.exit_code == 1 and "not registered" in r.output, r.output
    code, out = await asyncio.to_thread(cli, "--token", "wrong-token")
    assert code == 1 and "refused (401)" in out, out
    # roles: an assessor reads it, a contractor does not
    now = dt.datetime.now(dt.UTC)
    for role, contractor, want in (("assessor", None, 0), ("contractor", "运维公司", 1)):
        uid = await accounts.add_user(app.engine, f"gb-{role}", role, password=None, contractor=contractor, now=now)
        token = await accounts.create_token(app.engine, uid, "test", now)
        code, out = await asyncio.to_thread(cli, "--token", token)
        assert code == want, (role, out)
        assert (OWN in out) if want == 0 else ("refused (403)" in out and OWN not in out), (role, out)


def test_the_platform_runs_with_replicas_too(tmp_path: Path) -> None:
    """(On the leader, its verdicts relayed: tests/collector/test_replicas_gb28181.py.)"""
    env = {"CAMWATCH_GB28181__ENABLED": "true", "CAMWATCH_COLLECTOR__REPLICAS": "true"}
    s = load_settings(db_url="postgresql://127.0.0.1/test", environ=env)
    assert s.gb28181.enabled and s.collector.replicas


def test_devices_without_a_collector_names_a_disabled_platform_too(tmp_path: Path) -> None:
    """No collector answers (a free loopback port): the command says so, and when this config
    does not enable the platform, says that too (the likelier cause)."""
    cfg = tmp_path / "camwatch.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{tmp_path / 'cw.db'}\n", encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    r = CliRunner().invoke(build_cli(), ["--config", str(cfg), "gb28181", "devices", "--url", url])
    assert r.exit_code != 0 and "连不上采集器" in r.output and "gb28181.enabled: false" in r.output
    cfg.write_text(cfg.read_text(encoding="utf-8") + "gb28181:\n  enabled: true\n", encoding="utf-8")
    r = CliRunner().invoke(build_cli(), ["--config", str(cfg), "--lang", "en", "gb28181", "devices", "--url", url])
    assert r.exit_code != 0 and "cannot reach the collector" in r.output and "gb28181.enabled" not in r.output


def test_devices_text_reads_local_time_and_the_chosen_language(tmp_path: Path) -> None:
    """The text of `gb28181 devices`: times in the county's zone (accounting.timezone), to the
    second, not the API's UTC; the camera named in the chosen language."""
    settings = Gb28181Settings()
    peer = Peer("udp", "127.0.0.1", 5060)
    at = dt.datetime(2026, 12, 5, 3, 48, 3, 125213, tzinfo=dt.UTC).timestamp()
    dev = DeviceState(OWN, peer, True, at, at + 3600, at, at, "OK")
    page = {"enabled": True, "host": None, "unlisted": False,
            "devices": [json.loads(json.dumps(device_body(dev, at + 1, settings, {OWN: 4})))]}
    cfg = tmp_path / "camwatch.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{tmp_path / 'cw.db'}\n", encoding="utf-8")
    zh = render(CliContext(str(cfg)), page)
    assert zh == [f"{OWN}  在线  127.0.0.1:5060  最后消息 2026-12-05 11:48:03  摄像机 4"]
    en = render(CliContext(str(cfg), lang_override="en"), page)
    assert en == [f"{OWN}  online  127.0.0.1:5060  last seen 2026-12-05 11:48:03  camera 4"]


def test_import_catalog_names_an_id_of_the_wrong_length(tmp_path: Path) -> None:
    r = CliRunner().invoke(build_cli(), ["--db", f"sqlite:///{tmp_path / 'cw.db'}", "inventory", "import-catalog",
                                         NVR[:-1], "--out", str(tmp_path / "x.xlsx"), "--url", "http://127.0.0.1:9"])
    assert r.exit_code == 2 and f"国标编码 {NVR[:-1]} 应为 20 位数字（现为 19 位）" in r.output, r.output


def test_a_camera_heard_twice_is_online_while_either_source_says_so(tmp_path: Path) -> None:
    """A camera that registered by itself (e.g. before it was put behind its NVR) and that its NVR
    also lists: its own registration going silent does not take it offline while the NVR lists it
    ON (nor the reverse); when neither says online, the cause is the last one's."""
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, [_row(1, CH1, "国标")])).written

    async def go() -> None:
        async with gb_app(url, _settings(url)) as rig:
            app, feed, sim = rig.app, rig.feed, await rig.sim()
            sim.add(SimDevice(NVR, "default-Pw-1", [SimChannel(CH1)], keepalive_s=1.0))
            sim.add(SimDevice(CH1, "default-Pw-1", keepalive_s=1.0))  # the camera itself
            for dev in (CH1, NVR):
                assert await sim.register(dev) == 200
                sim.start_keepalives(dev, first_after=0.0)
            [cam] = app._inventory[0]
            slot = app.scheduler.slots[cam.id]
            await _until(lambda: slot.status.state is State.ONLINE)
            sim.kill(CH1)  # its own registration falls silent; the NVR still lists it ON
            await _until(lambda: feed.platform.registry.verdict(CH1) is GbVerdict.PLATFORM_OFFLINE, 4 * TIMEOUT_S)
            await asyncio.sleep(1.0)
            assert slot.status.state is State.ONLINE, slot.status
            sim.set_status(NVR, CH1, "OFF", notify=True)  # now neither says online
            await _until(lambda: (slot.status.state, slot.status.cause) == (State.OFFLINE, Cause.CHANNEL_OFF))

    asyncio.run(go())
