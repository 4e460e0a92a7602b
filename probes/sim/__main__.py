"""Run a simulated camera fleet standalone: ``python -m probes.sim --cameras N``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from probes.sim.fleet import Fleet, FleetError

# The sample inventory's cameras (config/sample_inventory.csv) are at 127.20.0.1 upward: a fleet
# without --base-address starts there when it is free, else in a free range (printed).
PREFERRED_BASE = "127.20.0.1"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m probes.sim",
                                description="Serve N simulated RTSP/ONVIF cameras on loopback.")
    p.add_argument("--cameras", type=int, required=True, help="number of cameras")
    p.add_argument("--base-address", default=None,
                   help=f"address of camera 0 (default {PREFERRED_BASE}, or a free range when that is taken)")
    p.add_argument("--rtsp-port", type=int, default=8554)
    p.add_argument("--onvif-port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: auto)")
    p.add_argument("--nice", type=int, default=0,
                   help="lower the workers' CPU priority by this much (0-19), e.g. beside a prober on the same cores")
    p.add_argument("--username", default="admin")
    p.add_argument("--password", default="admin123", help="camera password (default admin123)")
    p.add_argument("--control-host", default="127.0.0.1")
    p.add_argument("--control-port", type=int, default=None,
                   help="serve the HTTP control API on this port")
    return p


async def _serve(fleet: Fleet, host: str, port: int | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    control = await fleet.serve_control(host, port) if port is not None else None
    if control is not None:
        print(f"control API: {control.url}", flush=True)
    print("running; Ctrl-C or SIGTERM stops", flush=True)
    try:
        await stop.wait()
    finally:
        if control is not None:
            await control.close()


def _fleet(args: argparse.Namespace, base_address: str | None) -> Fleet:
    return Fleet(args.cameras, base_address=base_address, rtsp_port=args.rtsp_port,
                 onvif_port=args.onvif_port, workers=args.workers, username=args.username, nice=args.nice,
                 password=args.password)


def _start(args: argparse.Namespace) -> Fleet:
    """The started fleet: at --base-address, or at the preferred address, or in a free range."""
    fleet = _fleet(args, args.base_address or PREFERRED_BASE)
    try:
        fleet.start()
    except FleetError as exc:
        if args.base_address is not None or not exc.address_in_use:
            raise
        fleet = _fleet(args, None)
        fleet.start()
    return fleet


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _fleet(args, args.base_address or PREFERRED_BASE)  # validates the arguments
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        fleet = _start(args)
    except FleetError as exc:
        hint = ""
        if exc.address_in_use:
            hint = ("; choose another --base-address (or leave it out for a free range)"
                    if args.base_address is not None else "; choose other --rtsp-port/--onvif-port")
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 1
    try:
        cam = fleet.camera(0)
        print(f"{fleet.n} cameras at {fleet.first_address} .. {fleet.last_address} "
              f"(RTSP port {fleet.rtsp_port}, ONVIF port {fleet.onvif_port}, "
              f"{len(fleet.worker_pids)} workers)", flush=True)
        print(f"e.g. rtsp://{cam.username}:***@{cam.host}:{cam.rtsp_port}{cam.rtsp_path}  "
              f"onvif {cam.onvif_url}", flush=True)
        asyncio.run(_serve(fleet, args.control_host, args.control_port))
    finally:
        fleet.stop()
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
