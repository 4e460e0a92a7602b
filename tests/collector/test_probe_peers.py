"""`camwatch probe` against GStreamer's RTSP server (real peer, Digest auth): every verdict of the issue."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from collector.cli.exitcodes import PROBE_DEGRADED, PROBE_OFFLINE
from tests.peers.gst_fixture import PASSWORD, GstServer, gst_server, gst_server_module, gst_server_private  # noqa: F401


def probe(*args: str, timeout: float = 90) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    r = subprocess.run([exe, "probe", *args, "--json", "--onvif-port", "0"], capture_output=True, text=True, timeout=timeout, env=env)
    assert PASSWORD not in r.stdout + r.stderr
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else {}, r.stderr


@pytest.mark.parametrize(
    ("path", "code", "state", "failed"),
    [
        ("/moving", 0, "online", set()),
        ("/black", PROBE_DEGRADED, "degraded", {"black"}),
        ("/snow", PROBE_DEGRADED, "degraded", {"noise"}),
        ("/still", PROBE_DEGRADED, "degraded", {"frozen"}),
        ("/bars", PROBE_DEGRADED, "degraded", {"signal_loss"}),
        ("/uniform", PROBE_DEGRADED, "degraded", {"signal_loss"}),
        ("/night", 0, "online", set()),
        ("/lowtexture", 0, "online", set()),
    ],
)
def test_video_verdicts(gst_server: GstServer, path: str, code: int, state: str, failed: set[str]) -> None:  # noqa: F811
    rc, out, err = probe(gst_server.url(path), "--video")
    assert (rc, out.get("state")) == (code, state), (out, err)
    checks = out["video"]["checks"]
    assert {name for name, c in checks.items() if not c["ok"]} == failed  # one fault, one name
    assert [s["stage"] for s in out["stages"]] == ["reach", "rtsp", "frame"]


def test_wrong_password_is_auth_failed(gst_server: GstServer) -> None:  # noqa: F811
    rc, out, _ = probe(gst_server.url("/moving", password="not-the-password"))
    assert (rc, out["state"], out["cause"]) == (PROBE_OFFLINE, "offline", "auth_failed")


def test_stopped_server_is_refused(gst_server_private: GstServer) -> None:  # noqa: F811
    url = gst_server_private.url("/moving")
    gst_server_private.stop()
    rc, out, _ = probe(url)
    assert (rc, out["state"], out["cause"]) == (PROBE_OFFLINE, "offline", "refused")


def test_frozen_server_times_out_within_the_limit(gst_server_private: GstServer) -> None:  # noqa: F811
    gst_server_private.pause()  # SIGSTOP: the kernel still accepts connections, nobody answers
    try:
        import time

        t0 = time.monotonic()
        rc, out, _ = probe(gst_server_private.url("/moving"), "--timeout", "2")
        elapsed = time.monotonic() - t0
    finally:
        gst_server_private.resume()
    assert (rc, out["state"], out["cause"]) == (PROBE_OFFLINE, "offline", "timeout")
    # the probe itself keeps its limit (as it measures it); the process as a whole adds start-up,
    # which on a loaded 2-core CI box took up to 3 s
    assert sum(st["ms"] for st in out["stages"]) < (2 + 0.5) * 1000, out["stages"]
    assert elapsed < 2 + 6
