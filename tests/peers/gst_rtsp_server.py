#!/usr/bin/python3
"""A real RTSP server for tests: GStreamer's gst-rtsp-server serving test patterns as H.264.

Run with Debian's ``/usr/bin/python3`` (it imports ``gi``; a virtualenv python cannot)::

    /usr/bin/python3 tests/peers/gst_rtsp_server.py --port 0 --user admin --password secret

Needs the Debian packages python3-gi, gir1.2-gstreamer-1.0, gir1.2-gst-rtsp-server-1.0,
gstreamer1.0-plugins-{base,good,ugly}. Binds to 127.0.0.1 only. Prints ``READY <port>``
on stdout once it listens (``--port 0`` picks a free port). Every mount is 640x360 at
25 fps, H.264 from x264 (zerolatency, constant quantizer so a still picture encodes to
identical frames, an IDR every 12 frames so a new client decodes within half a second):

    /moving   a two-colour pinwheel scrolling sideways: passes every VQD check
    /still    the same pinwheel, not moving (frozen)
    /black    pattern=black (the ``black`` check: without a caption a black screen is black)
    /snow     pattern=snow (noise)
    /dark     /moving with contrast cut to 30 % and darkened
    /bright   /moving with contrast cut to 40 % and brightened
    /flat     /moving with contrast cut to 15 % (low contrast; blur fails too)
    /blur     /moving scaled down to 48x27 and back up (out of focus)
    /cast     /moving under a 50 % magenta layer (colour cast)
    /covered  /moving with a flat grey box over 85 % of the frame (occlusion)
    /bars     pattern=smpte, SMPTE colour bars (an encoder without input: ``signal_loss``)
    /uniform  a plain blue screen (an encoder's "no signal" screen: ``signal_loss``)
    /night    a small white ball moving over a 99.5 % near-black frame (a lamp at night:
              the night profile, every check passes)
    /lowtexture a smooth vertical grey gradient with a wide grey bar drifting sideways at
              25 px/s (the low-texture ONVIF camera picture once flagged occlusion 0.95:
              every check passes)
    /stall    /moving for STALL_AFTER frames (1.2 s), then nothing while the session stays open
              (an encoder that hung); each client gets its own pipeline and its own stall

Authentication is Digest (RFC 2617, GstRTSPAuth with its supported methods set to
Digest only) when ``--user`` is given; ``--auth basic`` or ``--auth none`` for other tests.
Media are shared between clients, so concurrent viewers of a mount cost one encoder.
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

CAPS = "video/x-raw,width=640,height=360,framerate=25/1"
PINWHEEL = "videotestsrc is-live=true pattern=pinwheel foreground-color=0xfff0d0a0 background-color=0xff304060"
MOVING = f"{PINWHEEL} horizontal-speed=4 ! {CAPS}"
ENCODE = (
    "videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=12 "
    "pass=quant quantizer={q} sliced-threads=false ! rtph264pay name=pay0 pt=96 config-interval=-1"
)


def _overlay(color: str, width: int, height: int, xpos: int, ypos: int, alpha: float) -> str:
    # A live compositor starts its output at running time 0 and renders bare background (black)
    # for times its sources have no buffers for yet: under load the first frame a client got
    # was black, which failed /covered as "black". It starts at the first buffer now
    # (start-time-selection=first) and waits up to 0.5 s for a late one (latency).
    return (
        f"compositor name=c start-time-selection=first latency=500000000 background=black sink_1::xpos={xpos} sink_1::ypos={ypos} sink_1::alpha={alpha} "
        f"! {CAPS} ! {ENCODE.format(q=22)} "
        f"{MOVING} ! c.sink_0 "
        f"videotestsrc is-live=true pattern=solid-color foreground-color={color} "
        f"! video/x-raw,width={width},height={height},framerate=25/1 ! c.sink_1"
    )


#: /lowtexture: a grey gradient under a bar that drifts 1 px per frame; the bar's source is
#: transparent (alpha 0) outside the bar, so the compositor shows the gradient there.
LOW_TEXTURE = (
    f"compositor name=c start-time-selection=first latency=500000000 background=black ! {CAPS} ! {ENCODE.format(q=22)} "
    f"videotestsrc is-live=true pattern=gradient background-color=0xff283038 foreground-color=0xffb0b8c0 "
    f"! {CAPS} ! c.sink_0 "
    f"videotestsrc is-live=true pattern=bar horizontal-speed=-1 background-color=0x00000000 foreground-color=0xff606870 "
    f"! video/x-raw,format=BGRA,width=640,height=360,framerate=25/1 ! c.sink_1"
)


MOUNTS: dict[str, str] = {
    "/moving": f"{MOVING} ! {ENCODE.format(q=22)}",
    "/still": f"{PINWHEEL} ! {CAPS} ! {ENCODE.format(q=22)}",
    "/black": f"videotestsrc is-live=true pattern=black ! {CAPS} ! {ENCODE.format(q=22)}",
    "/snow": f"videotestsrc is-live=true pattern=snow ! {CAPS} ! {ENCODE.format(q=26)}",
    "/dark": f"{MOVING} ! videobalance contrast=0.3 brightness=-0.1 ! {ENCODE.format(q=22)}",
    "/bright": f"{MOVING} ! videobalance contrast=0.4 brightness=0.65 ! {ENCODE.format(q=22)}",
    "/flat": f"{MOVING} ! videobalance contrast=0.15 brightness=0.3 ! {ENCODE.format(q=22)}",
    "/blur": (
        f"{MOVING} ! videoscale ! video/x-raw,width=48,height=27 ! videoscale ! "
        f"video/x-raw,width=640,height=360 ! {ENCODE.format(q=22)}"
    ),
    "/cast": _overlay("0xffff00ff", 640, 360, 0, 0, 0.5),
    "/covered": _overlay("0xff606060", 640, 306, 0, 27, 1.0),
    "/bars": f"videotestsrc is-live=true pattern=smpte ! {CAPS} ! {ENCODE.format(q=22)}",
    "/uniform": f"videotestsrc is-live=true pattern=solid-color foreground-color=0xff2040c0 ! {CAPS} ! {ENCODE.format(q=22)}",
    "/night": (
        f"videotestsrc is-live=true pattern=ball motion=wavy background-color=0xff0c0c10 foreground-color=0xfff0f0e0 "
        f"! {CAPS} ! {ENCODE.format(q=22)}"
    ),
    "/lowtexture": LOW_TEXTURE,
    "/stall": f"{MOVING} ! {ENCODE.format(q=22)}".replace(" ! rtph264pay", " ! identity name=gate ! rtph264pay"),
}
UNSHARED = {"/stall"}


STALL_AFTER = 30  # frames /stall sends to each client before it stops
BACKLOG = 256  # pending connections (gst-rtsp-server's default: 5)
# threads serving clients: gst-rtsp-server's default 1 in the tests; the frame benchmark asks for 8.
# More threads make its shared-media race (SIGABRT in gst_rtsp_media_get_rates while a mount's
# sessions open and close) likelier: CI's run with 8 aborted it mid-module.
CLIENT_THREADS = 1


def _stall_after_frames(factory: GstRtspServer.RTSPMediaFactory, media: GstRtspServer.RTSPMedia) -> None:
    """media-configure of /stall: drop every encoded frame after the first STALL_AFTER."""
    gate = media.get_element().get_by_name("gate")
    sent = [0]

    def probe(_pad: Gst.Pad, _info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        sent[0] += 1
        return Gst.PadProbeReturn.OK if sent[0] <= STALL_AFTER else Gst.PadProbeReturn.DROP

    gate.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, probe)


def build_server(port: int, user: str | None, password: str | None, auth: str,
                 threads: int = CLIENT_THREADS) -> GstRtspServer.RTSPServer:
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(port))
    # Many clients at once (the frame benchmark opens 64): gst-rtsp-server's defaults are a listen
    # backlog of 5 (further SYNs are dropped while its loop is busy: the client's connect waits out
    # its retransmits, 1 s, 3 s, 7 s, and an open "times out") and one thread for every client's
    # RTSP messages and TCP-interleaved RTP (behind a loaded box, all viewers fell behind at once).
    server.set_backlog(BACKLOG)
    server.get_thread_pool().set_max_threads(threads)
    mounts = server.get_mount_points()
    rtsp_auth: GstRtspServer.RTSPAuth | None = None
    if user is not None and auth != "none":
        rtsp_auth = GstRtspServer.RTSPAuth()
        method = GstRtsp.RTSPAuthMethod.DIGEST if auth == "digest" else GstRtsp.RTSPAuthMethod.BASIC
        rtsp_auth.set_supported_methods(method)
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        if auth == "digest":
            rtsp_auth.add_digest(user, password or "", token)
        else:
            rtsp_auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password or ""), token)
        server.set_auth(rtsp_auth)
    for path, launch in MOUNTS.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(f"( {launch} )")
        factory.set_shared(path not in UNSHARED)
        if path == "/stall":
            factory.connect("media-configure", _stall_after_frames)
        factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
        if rtsp_auth is not None:
            role = Gst.Structure.new_from_string(
                "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )
            factory.add_role_from_structure(role)
        mounts.add_factory(path, factory)
    return server


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--user", default=None)
    ap.add_argument("--password", default=None)
    ap.add_argument("--auth", choices=("digest", "basic", "none"), default="digest")
    ap.add_argument("--threads", type=int, default=CLIENT_THREADS, help="threads serving clients")
    args = ap.parse_args(argv)

    Gst.init(None)
    server = build_server(args.port, args.user, args.password, args.auth, args.threads)
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print("ERROR cannot listen", file=sys.stderr, flush=True)
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
