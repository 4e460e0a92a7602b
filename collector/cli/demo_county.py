"""`camwatch demo`: a simulated county on loopback with the whole product running against it.

A generated county (townships, villages, planned points, some not built) is written as an
inventory file, imported into an embedded SQLite database, and served by the fleet simulator;
scripted trouble makes the screen interesting: ~5% of cameras with outages, one village whose
uplink fails for a while, one flapping camera, one wrong password, one clock 10 minutes off.
The demo watches its simulator: when a worker ends under it (killed from outside, crashed), it says
so and stops (:class:`DemoError`) rather than monitor on and report its own dead cameras as an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import datetime as dt
import os
import random
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from collector.cli import demo_screen as screen
from collector.cli.demo_accounts import create_demo_accounts, render_accounts
from collector.cli.demo_place import (
    DemoError,
    cli_examples,
    fleet_gone,
    http_port,
    lock_workdir,
    port_in_use,
    release,
    router_range,
    say,
)
from collector.runtime.aio import wait_event
from collector.runtime.app import App
from collector.settings import Settings, console_url, with_http_port
from collector.web.server import build_application
from inventory.db import create_engine, upgrade
from inventory.importer import import_file
from inventory.secrets import SecretBox, write_key_file
from inventory.synthetic import SyntheticSpec, rows
from probes.sim import Behaviour, Fleet, FleetError, Power
from probes.sim.loopback import LoopbackRange


@dataclass(frozen=True, slots=True)
class DemoPlan:
    cameras: int
    uplink_village_hosts: tuple[str, ...]
    router: str
    uplink_window: tuple[float, float]
    flapping: int
    wrong_password: int
    skewed: int
    outages: tuple[tuple[int, float, float], ...]


class Blackhole:
    """An address whose TCP connects time out (a dead 4G router): a listener that never accepts."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.listener = socket.socket()
        self.listener.bind((host, port))
        self.listener.listen(0)
        self.fillers = []
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                c.connect((host, port))
            self.fillers.append(c)

    def close(self) -> None:
        for c in self.fillers:
            c.close()
        self.listener.close()


def county_rows(spec: SyntheticSpec) -> tuple[list[str], list[list[str]]]:
    """The inventory file's header and rows (points without a camera included)."""
    headers, gen = rows(spec)
    return headers, list(gen)


def write_inventory(path: Path, headers: list[str], data: list[list[str]]) -> None:
    """Write the inventory file, created 0600 (it holds the cameras' passwords): a file of an
    earlier demo is replaced, never reused with its mode."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(data)


def plan_trouble(cam_rows: list[list[str]], now: float, seed: int = 1) -> DemoPlan:
    rnd = random.Random(seed)
    n = len(cam_rows)
    host_col, parent_col, village_col = 13, 23, 4
    # the second village's uplink fails 40 s after start, for 2 minutes
    villages = list(dict.fromkeys(r[village_col] for r in cam_rows))
    village = villages[1 % len(villages)]
    hosts = tuple(r[host_col] for r in cam_rows if r[village_col] == village)
    router = cam_rows[[r[village_col] for r in cam_rows].index(village)][parent_col].rpartition("@")[2]
    taken = {i for i, r in enumerate(cam_rows) if r[village_col] == village}
    free = [i for i in range(n) if i not in taken]
    rnd.shuffle(free)
    flapping, wrong, skewed = free[0], free[1], free[2]
    outages = []
    for i in free[3 : 3 + max(1, n // 20)]:
        start = now + rnd.uniform(20, 240)
        outages.append((i, start, start + rnd.uniform(60, 300)))
    return DemoPlan(n, hosts, router, (now + 40, now + 160), flapping, wrong, skewed, tuple(outages))


def healthy_camera(plan: DemoPlan, cam_rows: list[list[str]]) -> int:
    """The index of the first camera the plan gives no trouble (the printed `probe` example)."""
    trouble = {plan.flapping, plan.wrong_password, plan.skewed, *(i for i, _, _ in plan.outages)}
    return next(i for i, r in enumerate(cam_rows) if i not in trouble and r[13] not in plan.uplink_village_hosts)


def watch_workers(fleet: Fleet, wake: asyncio.Event) -> Callable[[], None]:
    """Set *wake* the moment a worker of *fleet* ends (a pidfd per worker; where the system has
    none, the demo's next round finds it); returns the function that stops watching."""
    loop = asyncio.get_running_loop()
    fds: list[int] = []

    def ended(fd: int) -> None:
        loop.remove_reader(fd)
        wake.set()

    for pid in fleet.worker_pids:
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # not Linux 5.3 or later
            continue
        fds.append(fd)
        loop.add_reader(fd, ended, fd)

    def unwatch() -> None:
        for fd in fds:
            loop.remove_reader(fd)
            os.close(fd)

    return unwatch


async def run_demo(settings: Settings, workdir: Path, cameras: int, duration: float | None, out=sys.stdout,  # type: ignore[no-untyped-def]
                   *, lang: str = "zh", port_fixed: bool = False) -> None:
    """Run the demo in ``workdir`` (locked against a second demo there) on a free HTTP port (the
    configured one when free; ``port_fixed``: that one or a :class:`DemoError`), with the cameras
    and routers in loopback ranges of their own, so that demos and test runs never collide."""
    dir_lock: int | None = lock_workdir(workdir, lang)
    routers: LoopbackRange | None = None
    fleet: Fleet | None = None
    try:
        port, notice = http_port(settings.http.host, settings.http.port, fixed=port_fixed, lang=lang)
        if notice:
            print(notice, file=out, flush=True)
        settings = with_http_port(settings, port)
        routers = router_range(settings.collector.upstream_port, lang)
        spec = SyntheticSpec(cameras=cameras, villages_per_township=10, points_per_village=6, unbuilt_every=7,
                             router_base=routers.base_address)
        # The simulated cameras share this machine's cores with the collector: at a lower priority,
        # so that a large demo (--cameras 100000) measures the collector, not the simulator.
        fleet = Fleet(cameras, rtsp_port=spec.rtsp_port, onvif_port=spec.onvif_port, password=spec.password, nice=10)
        try:
            await fleet.astart()
        except FleetError as exc:
            raise DemoError(say(lang, "fleet", error=exc)) from None
        print(say(lang, "fleet_at", n=cameras, first=fleet.first_address, last=fleet.last_address,
                  rtsp=fleet.rtsp_port, onvif=fleet.onvif_port), file=out, flush=True)
        spec = dataclasses.replace(spec, camera_base=fleet.base_address)
        await _run_county(settings, workdir, spec, fleet, duration, out, lang)
    finally:
        if fleet is not None:
            await fleet.astop()
        if routers is not None:
            routers.release()
        release(dir_lock)


async def _run_county(settings: Settings, workdir: Path, spec: SyntheticSpec, fleet: Fleet, duration: float | None,  # type: ignore[no-untyped-def]
                      out, lang: str) -> None:
    db = workdir / "camwatch-demo.db"
    for p in workdir.glob("camwatch-demo.db*"):
        p.unlink()
    url = f"sqlite:///{db}"
    # the demo's own key file: camera passwords and console sessions (no warning about a missing key)
    key_path = workdir / "camwatch-demo.key"
    key_path.unlink(missing_ok=True)
    write_key_file(key_path)
    key = key_path.read_text(encoding="utf-8").strip()
    headers, data = county_rows(spec)
    cam_rows = [r for r in data if r[13]]  # (the same lists: the wrong password goes into data)
    plan = plan_trouble(cam_rows, time.time())
    cam_rows[plan.wrong_password][headers.index("密码")] = "wrong-password"
    write_inventory(workdir / "demo_inventory.csv", headers, data)
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    box = SecretBox(key)
    outcome = await import_file(engine, workdir / "demo_inventory.csv", box)
    if not outcome.plan.ok:
        raise RuntimeError("demo inventory did not import: " + "; ".join(i.render("en") for i in outcome.plan.errors[:5]))
    print(screen.say(lang, "imported", cams=len(outcome.plan.camera_new), points=len(outcome.plan.point_new), db=db),
          file=out, flush=True)
    demo_accounts = await create_demo_accounts(engine, dt.datetime.now(dt.UTC), lang)
    hole: Blackhole | None = None
    stop = asyncio.Event()  # Ctrl-C or SIGTERM: a clean stop
    wake = asyncio.Event()  # that, or a simulator worker ended
    loop = asyncio.get_running_loop()

    def stop_asked() -> None:
        stop.set()
        wake.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop_asked)
    unwatch = watch_workers(fleet, wake)
    app = App(settings.model_copy(update={"database": settings.database.model_copy(update={"url": url}),
                                          "secrets": settings.secrets.model_copy(update={"key_file": str(key_path)})}),
              engine, box, http=build_application)
    try:
        await fleet.aset_behaviour(plan.flapping, Behaviour(flap_up_s=45, flap_down_s=45))
        await fleet.aset_behaviour(plan.skewed, Behaviour(clock_skew_s=600))
        for i, lo, hi in plan.outages:
            await fleet.aset_behaviour(i, Behaviour(down_intervals=((lo, hi),)))
        village_idx = [i for i, r in enumerate(cam_rows) if r[13] in plan.uplink_village_hosts]
        try:
            await app.start()
        except OSError as exc:  # the port was free a moment ago: taken in between
            if not port_in_use(exc):
                raise
            raise DemoError(say(lang, "port_busy", host=settings.http.host, port=settings.http.port)) from None
        http = console_url(settings.http)
        print(screen.say(lang, "started", url=http), file=out, flush=True)
        print(say(lang, "console", url=http + "/"), file=out, flush=True)
        print(render_accounts(demo_accounts, lang), file=out, flush=True)
        print(cli_examples(db, key_path, outcome.added_ids[healthy_camera(plan, cam_rows)], lang), file=out, flush=True)
        started = time.time()
        tty = out.isatty() if hasattr(out, "isatty") else False
        last_print = 0.0
        while not stop.is_set():
            wake.clear()
            if await _fleet_gone(fleet, stop, lang):
                break
            t = time.time()
            lo, hi = plan.uplink_window
            if lo <= t < hi and hole is None:
                hole = Blackhole(plan.router, settings.collector.upstream_port)
                await fleet.aset_behaviour(village_idx, Behaviour(power=Power.HANG))
            elif t >= hi and hole is not None:
                hole.close()
                hole = None
                await fleet.aset_behaviour(village_idx, Behaviour())
            if tty or t - last_print >= 10:
                text = screen.render(app, plan.cameras, started, http, settings.accounting.timezone, lang=lang,
                                     default_target=settings.accounting.target)
                print(("\033[2J\033[H" if tty else "\n") + text, file=out, flush=True)
                last_print = t
            if duration is not None and t - started >= duration:
                break
            await wait_event(wake, 2.0)
    except FleetError as exc:  # a worker ended under a command (say which, as the loop does), or failed
        if not await _fleet_gone(fleet, stop, lang):
            raise DemoError(say(lang, "fleet_failed", error=exc)) from None
    finally:
        unwatch()
        await app.stop()
        if hole is not None:
            hole.close()
        await engine.dispose()
        print(screen.say(lang, "stopped"), file=out, flush=True)


async def _fleet_gone(fleet: Fleet, stop: asyncio.Event, lang: str) -> bool:
    """Raise :class:`DemoError` when a simulator worker has ended: the demo's cameras are gone, and
    monitoring on would only report a county-wide outage it made up. True when it ended with a stop
    signal sent to the whole process group (``timeout``, systemd): a clean stop, not a failure."""
    gone = fleet.exited()
    if not gone:
        return False
    if stop.is_set() or await wait_event(stop, 0.5):
        return True
    raise DemoError(fleet_gone(gone, lang))
