"""``gb28181.trusted_devices``: with the allow-list set, only the devices in it (and a camera
registering as itself) tell the state of inventory cameras. On real sockets on loopback: the
collector as ``camwatch run`` builds it, the device simulator for the NVR and for a made-up device
registering with the shared password from an address of its own. (Empty list, every device
vouching as before: tests/collector/test_gb28181_trust.py, a camera listed by two devices.)"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from collector.cli import build_cli
from collector.gb28181.config import Gb28181Settings
from collector.gb28181.registry import Registry
from collector.gb28181.state import ChannelState, DeviceState, GbVerdict
from collector.runtime.camera_state import State
from collector.settings import ConfigError, load_settings
from probes.gb28181.transport import Peer
from probes.sim.gb28181_sim import SimChannel, SimDevice
from tests.collector.gb28181_app import TOKEN, gb_app, gb_settings
from tests.collector.test_gb28181_feed import HEAD, _row, _until
from tests.inventory.helpers import do_import, migrated, write_csv

NVR = "34020000001180000001"  # the county's NVR, in the allow-list
FORGER = "34020000001180000666"  # a made-up ID, registering with the shared password
CH1 = "34020000001310000001"  # behind the NVR (the forger lists it too)
CH2 = "34020000001310000002"  # listed by the forger only
SELF = "34020000001320000005"  # a camera registering as itself (shared password, not in the list)
OTHER = "34020000001310009999"  # not in the inventory
LINE = "not in gb28181.trusted_devices"


def test_only_a_trusted_device_vouches_for_inventory_cameras(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="camwatch.gb28181")
    url = migrated(f"sqlite:///{tmp_path / 'gb.db'}")
    rows = [_row(1, CH1, "国标"), _row(2, CH2, "国标"), _row(3, SELF, "国标")]
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, rows)).written
    settings = gb_settings(url, GB28181__TRUSTED_DEVICES=f'["{NVR}"]')

    async def go() -> None:
        async with gb_app(url, settings) as rig:
            app, feed = rig.app, rig.feed
            reg = feed.platform.registry
            slots = {cam.gb_id: app.scheduler.slots[cam.id] for cam in app._inventory[0]}
            forger_sim = await rig.sim(local_host="127.0.0.9")
            forger_sim.add(SimDevice(FORGER, "default-Pw-1", [SimChannel(c, status="ON") for c in (CH1, CH2, OTHER)],
                                     keepalive_s=1.0))
            assert await forger_sim.register(FORGER) == 200
            forger_sim.start_keepalives(FORGER, first_after=0.0)
            await _until(lambda: (d := reg.device(FORGER)) is not None and d.catalog_at is not None)
            await asyncio.sleep(1.0)
            dev = reg.device(FORGER)
            assert dev is not None and list(dev.channels) == [OTHER]  # its word on CH1, CH2 left out
            assert reg.channel_verdict(FORGER, CH1) is None and not reg.online_elsewhere(CH1, "")
            assert all(slots[c].status.state is not State.ONLINE for c in (CH1, CH2))
            lines = [r.getMessage() for r in caplog.records if LINE in r.getMessage()]
            assert len(lines) == 1 and FORGER in lines[0] and "127.0.0.9" in lines[0] and " 2 " in lines[0], lines
            asked = dev.catalog_at
            feed.platform.query(dev, "Catalog")  # told again: not logged again
            await _until(lambda: (d := reg.device(FORGER)) is not None and d.catalog_at != asked)
            assert len([r for r in caplog.records if LINE in r.getMessage()]) == 1

            sim = await rig.sim()  # the trusted NVR's word is taken; a camera speaks for itself
            sim.add(SimDevice(NVR, "default-Pw-1", [SimChannel(CH1, status="ON")], keepalive_s=1.0))
            sim.add(SimDevice(SELF, "default-Pw-1", keepalive_s=1.0))
            for d in (NVR, SELF):
                assert await sim.register(d) == 200
                sim.start_keepalives(d, first_after=0.0)
            await _until(lambda: slots[CH1].status.state is State.ONLINE and slots[SELF].status.state is State.ONLINE)
            assert reg.channel_verdict(NVR, CH1) is GbVerdict.ONLINE
            assert slots[CH2].status.state is not State.ONLINE

            base = f"http://127.0.0.1:{rig.http_port}"

            def cli(*args: str) -> tuple[int, str]:
                r = CliRunner().invoke(build_cli(), ["gb28181", "devices", "--url", base, "--token", TOKEN, *args])
                return r.exit_code, r.output

            code, out = await asyncio.to_thread(cli, "--json")
            assert code == 0, out
            trusted = {d["device_id"]: d["trusted"] for d in json.loads(out)["devices"]}
            assert trusted == {NVR: True, SELF: False}  # (SELF tells its own state, not others')
            code, out = await asyncio.to_thread(cli, "--unlisted")
            assert code == 0, out
            [line] = [x for x in out.splitlines() if x.startswith(FORGER)]
            assert "未受信任" in line and "gb28181.trusted_devices" in out, out
            code, out = await asyncio.to_thread(cli, "--unlisted", "--json")
            assert [(d["device_id"], d["trusted"]) for d in json.loads(out)["devices"]] == [(FORGER, False)]

    asyncio.run(go())


def test_an_untrusted_devices_restored_channels_are_not_taken() -> None:
    """Kept in the database before the allow-list was set: read back without its word on inventory cameras."""
    s = Gb28181Settings(trusted_devices=[NVR])
    reg = Registry(s, listed=lambda i: i in (CH1, CH2))
    peer = Peer("udp", "127.0.0.9", 5060)

    def state(dev: str, chans: list[str]) -> DeviceState:
        return DeviceState(dev, peer, True, 100.0, 10_000.0, 100.0,
                           channels={c: ChannelState(c, dev, status="ON") for c in chans})

    reg.restore([state(FORGER, [CH2, OTHER]), state(NVR, [CH1])], 110.0)
    forger = reg.device(FORGER)
    assert forger is not None and list(forger.channels) == [OTHER] and not forger.listed
    assert reg.channel_verdict(NVR, CH1) is GbVerdict.ONLINE and reg.channel_verdict(FORGER, CH2) is None
    assert reg.trust.trusted(NVR) and not reg.trust.trusted(FORGER)
    assert Registry(Gb28181Settings(), listed=lambda i: True).trust.trusted(FORGER)  # empty: any device


def test_a_bad_trusted_id_is_named_by_its_index_and_value() -> None:
    env = {"CAMWATCH_GB28181__TRUSTED_DEVICES": f'["{NVR}", "3402000000118000001", "abc"]'}
    with pytest.raises(ConfigError) as exc:
        load_settings(db_url="sqlite://", environ=env)
    en, zh = str(exc.value), exc.value.render("zh")
    assert "gb28181.trusted_devices.1 (from CAMWATCH_GB28181__TRUSTED_DEVICES): '3402000000118000001' is not a " \
           "GB/T 28181 ID (20 digits" in en, en
    assert "gb28181.trusted_devices.2 (from CAMWATCH_GB28181__TRUSTED_DEVICES): 'abc'" in en
    assert "gb28181.trusted_devices.1（来自环境变量 CAMWATCH_GB28181__TRUSTED_DEVICES）：'3402000000118000001' " \
           "不是国标编码（应为 20 位数字" in zh, zh
    assert "trusted_devices.0" not in en  # the good one is not named


def test_ids_written_without_quotes_in_yaml_are_taken(tmp_path: Path) -> None:
    cfg = tmp_path / "camwatch.yaml"
    cfg.write_text(f"gb28181:\n  trusted_devices: [{NVR}, \"34020000002000000077\"]\n", encoding="utf-8")
    s = load_settings(cfg, db_url="sqlite://", environ={})
    assert s.gb28181.trusted_devices == [NVR, "34020000002000000077"]
