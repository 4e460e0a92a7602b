"""A real ONVIF + RTSP camera for tests: ipycam (PyPI), headless, on loopback only.

Run with the interpreter of its own virtualenv (ipycam pulls opencv-python, which
clashes with our opencv-python-headless), created at the repository root by::

    python3 -m venv .venv-ipycam && .venv-ipycam/bin/pip install ipycam==1.3.0

    .venv-ipycam/bin/python tests/peers/ipycam_runner.py --onvif-port 18080 --rtsp-port 18554 \
        --user admin --password secret

Its WS-Discovery (UDP multicast 3702) is never started, every listener binds 127.0.0.1,
and go2rtc is looked for at a port where nothing listens, so ipycam uses its native RTSP
server (it needs ``ffmpeg`` on PATH, Debian package ffmpeg). Frames are generated here,
``--scene``: ``pattern`` (default) colour ramps and diagonal red stripes scrolling;
``lowtexture`` a smooth vertical grey gradient with a grey bar drifting sideways (the
low-texture picture once flagged occlusion 0.95); ``night`` a small bright disc moving
over a near-black frame with a little sensor noise (99.8 % dark). Prints ``READY <onvif_port> <rtsp_port>`` on stdout once the
ONVIF service listens; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import functools
import signal
import socketserver
import sys
import threading
import time
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onvif-port", type=int, required=True)
    parser.add_argument("--rtsp-port", type=int, required=True)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=int, default=5)
    parser.add_argument("--scene", choices=("pattern", "lowtexture", "night"), default="pattern")
    args = parser.parse_args()

    import ipycam.camera as camera_mod
    import numpy as np
    from ipycam import CameraConfig, IPCamera

    class NoDiscovery:
        """Stands in for ipycam's WS-Discovery server: never opens a socket."""

        def __init__(self, *_: Any) -> None:
            pass

        def start(self) -> None:
            pass

        def stop(self) -> None:
            pass

    class LoopbackServer(camera_mod.ReusableThreadingTCPServer):  # type: ignore[name-defined,misc]
        def __init__(self, address: tuple[str, int], handler: Any) -> None:
            socketserver.ThreadingTCPServer.__init__(self, ("127.0.0.1", address[1]), handler)

    camera_mod.WSDiscoveryServer = NoDiscovery
    camera_mod.ReusableThreadingTCPServer = LoopbackServer
    camera_mod.NativeRTSPServer = functools.partial(camera_mod.NativeRTSPServer, host="127.0.0.1")

    config = CameraConfig(
        name="camwatch test camera", manufacturer="PythonCam", model="VirtualCam-1",
        serial_number="PY-TEST-0001", local_ip="127.0.0.1",
        onvif_port=args.onvif_port, rtsp_port=args.rtsp_port, web_port=args.onvif_port,
        go2rtc_api_port=1,  # nothing listens on port 1: no go2rtc, native RTSP
        main_width=args.width, main_height=args.height, main_fps=args.fps, main_bitrate="500K",
        sub_width=args.width // 2, sub_height=args.height // 2, sub_fps=args.fps,
        sub_bitrate="200K", hw_accel="cpu", show_timestamp=False, recording_enabled=False,
    )
    if args.user:
        ok, error = config.set_credentials(args.user, args.password)
        if not ok:
            print(f"bad credentials: {error}", file=sys.stderr)
            return 2
    config._config_path = "/dev/null"  # never write a config file

    cam = IPCamera(config)
    if not cam.start():
        print("ipycam did not start", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"READY {args.onvif_port} {args.rtsp_port}", flush=True)

    ys, xs = np.mgrid[0:args.height, 0:args.width]
    rng = np.random.default_rng(7)

    def draw(frame_no: int) -> Any:
        frame = np.empty((args.height, args.width, 3), np.uint8)
        if args.scene == "lowtexture":
            frame[...] = (40 + 140 * ys / args.height).astype(np.uint8)[..., None]
            # the bar goes back and forth inside the picture (a scene's moving object is in view;
            # a bar wrapping off the edge left frames without any edge, whose blur cannot be judged)
            bar = args.width // 7
            span = args.width - bar
            pos = (frame_no * 4) % (2 * span)
            left = pos if pos < span else 2 * span - pos
            frame[:, left:left + bar] = (112, 104, 96)
        elif args.scene == "night":
            level = 12.0 + rng.normal(0.0, 2.0, (args.height, args.width))
            x = args.width * (0.2 + 0.6 * ((frame_no * 3) % 100) / 100)
            y = args.height * 0.4
            level[(xs - x) ** 2 + (ys - y) ** 2 <= 36] = 245.0
            frame[...] = np.clip(level, 0, 255).astype(np.uint8)[..., None]
        else:
            shift = frame_no * 8
            frame[..., 0] = ((xs + shift) % 256).astype(np.uint8)
            frame[..., 1] = ((ys * 2 + shift) % 256).astype(np.uint8)
            frame[..., 2] = (((xs + ys) // 8 % 2) * 255).astype(np.uint8)
        return frame

    frame_no = 0
    try:
        while not stop.is_set():
            cam.stream(draw(frame_no))
            frame_no += 1
            time.sleep(1.0 / args.fps)
    finally:
        cam.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
