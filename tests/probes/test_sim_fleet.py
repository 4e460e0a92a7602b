"""The fleet as a whole: workers, start/stop, free loopback ranges, the control API, the CLI,
and ffprobe."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import pytest

from probes.sim import MAX_CAMERAS_PER_WORKER, Behaviour, BehaviourError, Fleet, FleetError, Power, address_for
from probes.sim.loopback import LoopbackRange, claim

REPO = Path(__file__).resolve().parents[2]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _refused(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((host, port)) != 0


def test_addresses_skip_network_and_broadcast_octets() -> None:
    assert address_for(0) == "127.20.0.1"
    assert address_for(253) == "127.20.0.254"
    assert address_for(254) == "127.20.1.1"
    assert address_for(0, "127.20.0.250") == "127.20.0.250"
    assert address_for(5, "127.20.0.250") == "127.20.1.1"
    with pytest.raises(ValueError):
        address_for(0, "10.0.0.1")
    with pytest.raises(ValueError):
        address_for(10, "127.255.255.250")


def test_behaviour_json_round_trip_and_validation() -> None:
    b = Behaviour(power=Power.HANG, delay_s=0.5, down_intervals=((1.0, 2.5),), clock_skew_s=-3.0)
    assert Behaviour.from_json(json.loads(json.dumps(b.to_json()))) == b
    assert Behaviour.from_json({"power": "down"}, base=b) == b.with_(power=Power.DOWN)
    for bad in ({"power": "sideways"}, {"delay_s": -1}, {"lockout_after": 1.5},
                {"describe_status": 299}, {"nope": 1}, {"down_intervals": [[3, 1]]},
                {"video": "yes"}):
        with pytest.raises(BehaviourError):
            Behaviour.from_json(bad)
    flap = Behaviour(flap_up_s=2, flap_down_s=1)
    assert not flap.is_down_at(3000.5) and flap.is_down_at(3002.5)
    assert Behaviour(down_intervals=((10, 20),)).is_down_at(15)
    assert not Behaviour(down_intervals=((10, 20),)).is_down_at(20)


def test_worker_limits_are_enforced() -> None:
    with pytest.raises(ValueError):
        Fleet(2 * MAX_CAMERAS_PER_WORKER + 2, workers=2)
    with pytest.raises(ValueError):
        Fleet(3, workers=4)
    assert Fleet(20_000).__repr__().count("workers=4") == 1


def test_cameras_spread_over_workers_and_stop_cleanly() -> None:
    fleet = Fleet(600, workers=2)
    fleet.start()
    try:
        pids = fleet.worker_pids
        assert len(set(pids)) == 2 and os.getpid() not in pids
        cams = fleet.cameras()
        block = fleet.base_address.split(".")[1]
        assert len(cams) == 600 and cams[-1].host == address_for(599, fleet.base_address) == f"127.{block}.2.92"
        for cam in (cams[0], cams[299], cams[300], cams[-1]):
            assert not _refused(cam.host, cam.rtsp_port)
            assert not _refused(cam.host, cam.onvif_port)
        fleet.set_behaviour([0, 599], Behaviour(power=Power.DOWN))
        assert _refused(cams[0].host, cams[0].rtsp_port)
        assert _refused(cams[-1].host, cams[-1].onvif_port)
        assert not _refused(cams[1].host, cams[1].rtsp_port)
    finally:
        fleet.stop()
    assert not fleet.running
    assert all(_gone(pid) for pid in pids), "no worker may outlive stop()"
    assert _refused(cams[1].host, cams[1].rtsp_port)


def test_workers_run_at_the_asked_nice_value() -> None:
    with pytest.raises(ValueError, match="nice"):
        Fleet(3, nice=20)
    fleet = Fleet(4, workers=2, nice=7)
    fleet.start()
    try:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in fleet.worker_pids] == [min(19, mine + 7)] * 2
        assert not _refused(fleet.camera(3).host, fleet.camera(3).rtsp_port)
    finally:
        fleet.stop()


def test_a_taken_port_is_a_clear_error(loopback: LoopbackRange) -> None:
    base = loopback.base_address
    host = address_for(1, base)
    with socket.socket() as blocker:
        blocker.bind((host, 8554))
        blocker.listen(1)
        fleet = Fleet(3, base_address=base, workers=2)
        with pytest.raises(FleetError, match=rf"{host}:8554 is already in use") as caught:
            fleet.start()
        assert caught.value.address_in_use and not fleet.running
    # Nothing was left listening by the failed start.
    assert _refused(address_for(0, base), 8554)


def test_a_fleet_without_an_address_steps_over_taken_ranges() -> None:
    held = claim(1, ports=(8554, 8000))  # a range another fleet holds (its lock file)
    try:
        # The next free range, released again (the fleet tries it first), with something that is
        # no fleet listening at its camera 1 (the range check probes cameras 0 and n-1 only).
        with socket.socket() as blocker:
            free = claim(1, ports=(8554, 8000))
            free.release()
            blocker.bind((address_for(1, free.base_address), 8554))
            blocker.listen(1)
            with Fleet(3, workers=1) as fleet:
                assert fleet.base_address not in (held.base_address, free.base_address)
                assert not _refused(fleet.camera(1).host, 8554)
    finally:
        held.release()


def test_two_fleets_start_at_once_and_both_serve() -> None:
    fleets = [Fleet(300, workers=1), Fleet(300, workers=1)]
    errors: list[BaseException] = []

    def start(fleet: Fleet) -> None:
        try:
            fleet.start()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(f,)) for f in fleets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors, errors
        assert fleets[0].base_address != fleets[1].base_address
        for fleet in fleets:
            for index in (0, 299):
                cam = fleet.camera(index)
                with socket.create_connection((cam.host, cam.rtsp_port), timeout=2) as s:
                    s.sendall(f"OPTIONS rtsp://{cam.host}/ RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
                    assert s.recv(100).startswith(b"RTSP/1.0 200 OK")
                assert not _refused(cam.host, cam.onvif_port)
    finally:
        for fleet in fleets:
            fleet.stop()


def test_ffprobe_accepts_describe_and_decodes_h264() -> None:
    ffprobe = shutil.which("ffprobe")
    assert ffprobe, "ffprobe is required (Debian package ffmpeg)"
    with Fleet(2, workers=1) as fleet:
        cam = fleet.camera(1)
        result = subprocess.run(
            [ffprobe, "-rtsp_transport", "tcp", "-timeout", "5000000", "-v", "error",
             "-show_streams", "-of", "json", cam.rtsp_url(with_credentials=True)],
            capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode == 0, result.stderr
        streams = json.loads(result.stdout)["streams"]
        assert [(s["codec_type"], s["codec_name"], s["width"], s["height"]) for s in streams] == [
            ("video", "h264", 640, 360)]
        stats = fleet.stats([1]).camera(1)
        assert stats.describe >= 1 and stats.teardown == 1 and stats.max_sessions_open == 1


async def test_control_api_round_trip() -> None:
    async with Fleet(3, workers=2) as fleet:
        base = fleet.base_address
        control = await fleet.serve_control("127.0.0.1", 0)
        try:
            async with aiohttp.ClientSession(base_url=control.url) as http:
                async with http.get("/fleet") as resp:
                    info = await resp.json()
                assert info["cameras"] == 3 and info["last_address"] == address_for(2, base)
                async with http.get("/cameras/2") as resp:
                    cam = await resp.json()
                assert cam["host"] == address_for(2, base) and cam["behaviour"]["power"] == "up"
                assert "password" not in json.dumps(cam) and "admin123" not in json.dumps(cam)
                async with http.put("/cameras/2/behaviour", json={"power": "down"}) as resp:
                    assert resp.status == 200 and (await resp.json())["power"] == "down"
                assert _refused(address_for(2, base), 8554)
                assert await fleet.abehaviour(2) == Behaviour(power=Power.DOWN)
                async with http.patch("/cameras/2/behaviour", json={"delay_s": 0.2}) as resp:
                    assert (await resp.json())["power"] == "down"
                async with http.put("/cameras/2/behaviour", json={}) as resp:
                    assert (await resp.json()) == Behaviour().to_json()
                assert not _refused(address_for(2, base), 8554)
                async with http.put("/cameras/2/behaviour", json={"power": 3}) as resp:
                    assert resp.status == 400
                async with http.get("/cameras/9/behaviour") as resp:
                    assert resp.status == 404
                async with http.get("/cameras/2/stats") as resp:
                    assert (await resp.json())["index"] == 2
        finally:
            await control.close()


async def test_command_line_runs_and_stops_on_sigterm(loopback: LoopbackRange) -> None:
    block = loopback.first_block
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "probes.sim", "--cameras", "3", "--workers", "2",
        "--base-address", f"127.{block}.1.1", "--control-port", "0", cwd=str(REPO),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        lines = []
        while not any(line.startswith("running") for line in lines):
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, (await proc.stderr.read()).decode() if proc.stderr else ""
            lines.append(line.decode().strip())
        assert lines[0].startswith(f"3 cameras at 127.{block}.1.1 .. 127.{block}.1.3")
        assert not any("admin123" in line for line in lines)
        control = next(line for line in lines if line.startswith("control API: "))
        async with (aiohttp.ClientSession() as http,
                    http.get(control.split(": ", 1)[1] + "/cameras/1") as resp):
            assert (await resp.json())["host"] == f"127.{block}.1.2"
        assert not _refused(f"127.{block}.1.3", 8554)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    rest = (await proc.stdout.read()).decode()
    assert "stopped" in rest
    started = time.monotonic()
    while not _refused(f"127.{block}.1.3", 8554) and time.monotonic() - started < 5:
        await asyncio.sleep(0.05)
    assert _refused(f"127.{block}.1.3", 8554)


def test_command_line_names_the_option_when_its_address_is_taken(loopback: LoopbackRange) -> None:
    with socket.socket() as blocker:
        blocker.bind((loopback.base_address, 8554))
        blocker.listen(1)
        r = subprocess.run([sys.executable, "-m", "probes.sim", "--cameras", "2", "--workers", "1",
                            "--base-address", loopback.base_address], cwd=str(REPO),
                           capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "is already in use" in r.stderr and "--base-address" in r.stderr


def test_command_line_moves_off_the_sample_address_when_it_is_taken() -> None:
    # 127.20.0.1:8554 (the sample inventory's camera 1) taken: by us, or already by someone else
    with socket.socket() as blocker:
        try:
            blocker.bind(("127.20.0.1", 8554))
            blocker.listen(1)
        except OSError as exc:
            assert exc.errno == errno.EADDRINUSE, exc
        proc = subprocess.Popen([sys.executable, "-m", "probes.sim", "--cameras", "2", "--workers", "1"],
                                cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("2 cameras at 127.") and not first.startswith("2 cameras at 127.20."), (
                first, proc.stderr.read() if proc.stderr else "")
            host = first.split()[3]
            assert not _refused(host, 8554)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)


def test_opencv_decodes_a_frame() -> None:
    import cv2

    with Fleet(1, workers=1) as fleet:
        cam = fleet.camera(0)
        cap = cv2.VideoCapture(cam.rtsp_url(with_credentials=True), cv2.CAP_FFMPEG,
                               [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000,
                                cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000])
        try:
            ok, frame = cap.read()
        finally:
            cap.release()
        assert ok and frame.shape == (360, 640, 3)
        assert 40 < float(frame.mean()) < 200  # the village scene, not a black picture


def test_default_behaviour_stats_and_reset() -> None:
    with Fleet(4, workers=2, default=Behaviour(power=Power.DOWN)) as fleet:
        assert all(_refused(c.host, c.rtsp_port) for c in fleet.cameras())
        fleet.set_behaviour(range(4), Behaviour())
        for index in (0, 3):
            cam = fleet.camera(index)
            for _ in range(index + 1):
                with socket.create_connection((cam.host, cam.rtsp_port), timeout=2) as s:
                    s.sendall(f"OPTIONS rtsp://{cam.host}/ RTSP/1.0\r\nCSeq: 7\r\n\r\n".encode())
                    assert s.recv(100).startswith(b"RTSP/1.0 200 OK\r\nCSeq: 7\r\n")
        time.sleep(0.1)
        stats = fleet.stats()
        assert sorted(stats.cameras) == [0, 3]
        assert stats.camera(3).options == 4 and stats.camera(1).options == 0
        assert stats.total("options") == 5 and stats.total("max_rtsp_connections") == 1
        fleet.reset_stats()
        assert fleet.stats().cameras == {}
