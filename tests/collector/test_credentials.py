"""A stored credential camwatch cannot read (wrong or missing key, unset env: variable): the
camera gets ``credential_unavailable`` and no login reaches it; the collector logs the count,
``/healthz`` and ``camwatch config check`` report it. The real collector against the simulator."""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, update

from collector.runtime.app import App
from collector.runtime.camera_state import State
from collector.settings import load_settings
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.lookup import load_monitored
from inventory.models import Camera
from inventory.secrets import SecretBox, generate_key
from probes.causes import Cause
from probes.sim import Behaviour, Fleet
from probes.sim.behaviour import Power
from probes.sim.loopback import LoopbackRange
from tests.collector.test_cli_inventory import camwatch
from tests.inventory.helpers import KEY, do_import, migrated
from tests.net import free_port, sample_inventory_at

PASSWORD = "admin123"
UNSET = f"CAMWATCH_TEST_UNSET_{secrets.token_hex(4).upper()}"  # a variable nobody sets


def _settings(url: str, port: int):  # type: ignore[no-untyped-def]
    return load_settings(db_url=url, environ={
        "CAMWATCH_COLLECTOR__INTERVAL_S": "1.0", "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "0.3",
        "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": "[0.2, 0.2]", "CAMWATCH_COLLECTOR__VIDEO": "false",
        "CAMWATCH_COLLECTOR__RELOAD_INTERVAL_S": "0.5", "CAMWATCH_HTTP__PORT": str(port),
        "CAMWATCH_PROBE__REACH_TIMEOUT_S": "0.5", "CAMWATCH_PROBE__RTSP_TIMEOUT_S": "0.5",
        "CAMWATCH_PROBE__ONVIF": "true", "CAMWATCH_PROBE__ONVIF_TIMEOUT_S": "0.5",
    })


async def _spoil(url: str, refs: dict[str, str]) -> dict[str, int]:
    """Give the cameras at these hosts these credential references; their ids by host."""
    engine = create_engine(url)
    try:
        async with engine.begin() as c:
            for host, ref in refs.items():
                await c.execute(update(Camera).where(Camera.host == host).values(credential_ref=ref))
            rows = (await c.execute(select(Camera.host, Camera.id).where(Camera.host.in_(refs)))).all()
        return {h: i for h, i in rows}
    finally:
        await engine.dispose()


async def _rename(url: str, host: str, name: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as c:
            await c.execute(update(Camera).where(Camera.host == host).values(name=name))
    finally:
        await engine.dispose()


def test_unreadable_credentials_get_no_login_and_are_reported(
        tmp_path: Path, loopback: LoopbackRange, caplog: pytest.LogCaptureFixture) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'c.db'}")
    assert do_import(url, sample_inventory_at(tmp_path / "sample.csv", loopback)).written
    wrong_key = SecretBox(generate_key()).store(PASSWORD)  # encrypted with a key the collector lacks

    def reported() -> int:
        return sum("credentials unavailable" in r.getMessage() for r in caplog.records)

    async def go() -> None:
        with Fleet(48, base_address=loopback.base_address, password=PASSWORD) as fleet:
            env_cam, key_cam, dark_cam, good_cam = (fleet.camera(i).host for i in (0, 1, 2, 3))
            ids = await _spoil(url, {env_cam: f"env:{UNSET}", key_cam: wrong_key, dark_cam: f"env:{UNSET}"})
            fleet.set_behaviour(2, Behaviour(power=Power.DOWN))
            engine = create_engine(url)
            port = free_port()
            app = App(_settings(url, port), engine, SecretBox(KEY), http=build_application)
            with caplog.at_level(logging.INFO, logger="camwatch.app"):
                await app.start()
                try:
                    slots = app.scheduler.slots
                    good = next(s for s in slots.values() if s.cam.target.host == good_cam)
                    loop = asyncio.get_running_loop()
                    end = loop.time() + 15
                    while loop.time() < end and not (
                            good.status.state is State.ONLINE
                            and all(slots[i].status.state is State.OFFLINE for i in ids.values())):
                        await asyncio.sleep(0.2)
                    await asyncio.sleep(1.5)  # a few more probes and re-probes of the offline ones
                    assert slots[ids[env_cam]].status.cause is Cause.CREDENTIAL_UNAVAILABLE
                    assert slots[ids[key_cam]].status.cause is Cause.CREDENTIAL_UNAVAILABLE
                    # a camera that does not answer keeps its network cause: the reach check ran
                    assert slots[ids[dark_cam]].status.cause is Cause.REFUSED
                    assert good.status.state is State.ONLINE
                    warnings = slots[ids[key_cam]].last.warnings  # type: ignore[union-attr]
                    assert any("cannot be decrypted" in w for w in warnings)
                    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as r:
                        health = await r.json()
                    assert r.status == 200 and health["credentials_unavailable"] == 3
                    # reloads of an unchanged inventory (every 0.5 s) skip the rebuild and say nothing
                    # again; a write to the inventory (here: a camera renamed) reloads and reports again
                    assert reported() == 1
                    await _rename(url, good_cam, "renamed")
                    end = loop.time() + 10
                    while loop.time() < end and reported() < 2:
                        await asyncio.sleep(0.2)
                    assert reported() == 2
                finally:
                    await app.stop()
                    await engine.dispose()
            st = fleet.stats()
        for i in (0, 1):  # connected to (the reach check), never asked anything, never a login
            cam = st.camera(i)
            assert cam.rtsp_connections >= 2, cam
            assert (cam.rtsp_requests, cam.rtsp_logins, cam.bad_logins) == (0, 0, 0), cam
            assert (cam.onvif_connections, cam.onvif_requests) == (0, 0), cam
        # the counters do count: the good camera was asked and logged in over RTSP and ONVIF
        ok = st.camera(3)
        assert ok.rtsp_logins >= 2 and ok.onvif_requests >= 2 and ok.bad_logins == 0, ok

    asyncio.run(go())
    lines = [r.getMessage() for r in caplog.records if "credentials unavailable" in r.getMessage()]
    assert lines and all(line.startswith("credentials unavailable for 3 camera(s)") for line in lines)
    assert f"environment variable {UNSET} is not set" in lines[0] and "cannot be decrypted" in lines[0]
    assert len(lines) == 2  # one per (re)load of a changed inventory: the start and the change
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in text and KEY not in text and wrong_key not in text


def test_lookup_keeps_no_credentials_for_such_cameras(tmp_path: Path, loopback: LoopbackRange) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'l.db'}")
    assert do_import(url, sample_inventory_at(tmp_path / "sample.csv", loopback)).written

    async def go() -> None:
        engine = create_engine(url)
        try:
            without_key, _ = await load_monitored(engine, SecretBox(None))
            with_key, _ = await load_monitored(engine, SecretBox(KEY))
        finally:
            await engine.dispose()
        assert without_key and all(c.credential_error and "no encryption key" in c.credential_error for c in without_key)
        # no user name either: nothing that could make a login with an empty password
        assert all(c.target.password is None and c.target.username is None for c in without_key)
        assert all(c.credential_error is None and c.target.password == PASSWORD for c in with_key)

    asyncio.run(go())


def test_config_check_and_probe_report_unreadable_credentials(tmp_path: Path, loopback: LoopbackRange) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    r = camwatch(tmp_path, "config", "check")
    assert r.returncode == 0 and "全部可读取" in r.stderr, r.stderr
    assert camwatch(tmp_path, "inventory", "import", str(sample_inventory_at(tmp_path / "s.csv", loopback))).returncode == 0
    r = camwatch(tmp_path, "config", "check")
    assert r.returncode == 0 and "全部可读取" in r.stderr, r.stderr
    url = f"sqlite:///{tmp_path / 'camwatch.db'}"
    hosts = [f"127.{loopback.first_block}.0.{i}" for i in (1, 2)]
    ids = asyncio.run(_spoil(url, {h: f"env:{UNSET}" for h in hosts}))
    r = camwatch(tmp_path, "config", "check")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "凭据不可用：2 台摄像机" in r.stderr and f"环境变量 {UNSET} 未设置 2 台" in r.stderr, r.stderr
    assert all(str(i) in r.stderr for i in ids.values())
    assert "database:" in r.stdout  # the effective settings are still printed
    r = camwatch(tmp_path, "--lang", "en", "config", "check")
    assert r.returncode == 1 and "credentials unavailable: 2 camera(s)" in r.stderr, r.stderr
    # every stored password unreadable without the key file
    (tmp_path / "camwatch.key").unlink()
    r = camwatch(tmp_path, "--lang", "en", "config", "check")
    assert r.returncode == 1 and "no encryption key" in r.stderr, r.stderr
    # the one-camera probe says so in one line, and tries no login
    r = camwatch(tmp_path, "probe", str(ids[hosts[0]]))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [f"camwatch: 摄像机 {ids[hosts[0]]} 凭据不可用：环境变量 {UNSET} 未设置；未尝试登录"]
    r = camwatch(tmp_path, "config", "check", env={UNSET: "x"} | {"CAMWATCH_SECRET_KEY": "not-the-key"})
    assert r.returncode == 1 and "无法用当前密钥解密" in r.stderr, r.stderr


def test_config_check_names_an_unset_gb28181_password_variable(tmp_path: Path) -> None:
    """gb28181 enabled with gb28181.password: env:NAME unset: one line naming the key and the
    variable, no value; a finding (exit 1), as unreadable camera credentials are."""
    gb = {"CAMWATCH_GB28181__ENABLED": "true", "CAMWATCH_GB28181__PASSWORD": f"env:{UNSET}"}
    r = camwatch(tmp_path, "config", "check", env=gb)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    lines = [x for x in r.stderr.splitlines() if "gb28181.password" in x]
    assert lines == [f"注意：gb28181.password：环境变量 {UNSET} 未设置；没有自己密码的国标设备将无法注册"], r.stderr
    r = camwatch(tmp_path, "--lang", "en", "config", "check", env=gb)
    assert r.returncode == 1
    assert [x for x in r.stderr.splitlines() if "gb28181.password" in x] == [
        f"warning: gb28181.password: environment variable {UNSET} is not set; GB/T 28181 devices without their own "
        "password cannot register"], r.stderr
    # set: nothing said, and no value printed anywhere
    r = camwatch(tmp_path, "--lang", "en", "config", "check", env=gb | {UNSET: "Gb-Secret-9"})
    assert r.returncode == 0 and "gb28181.password" not in r.stderr, r.stderr
    assert "Gb-Secret-9" not in r.stdout + r.stderr
    # the platform off: its password is not needed, not checked
    r = camwatch(tmp_path, "config", "check", env={"CAMWATCH_GB28181__PASSWORD": f"env:{UNSET}"})
    assert r.returncode == 0 and "gb28181.password" not in r.stderr, r.stderr
