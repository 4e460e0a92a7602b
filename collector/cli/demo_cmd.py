"""``camwatch demo``: a simulated county on loopback with the whole product running against it."""

from __future__ import annotations

from pathlib import Path

import click

from collector.cli.context import CliContext
from collector.cli.exitcodes import ENVIRONMENT, USAGE
from collector.cli.runtime import fail, run_async
from collector.runtime.logfmt import setup_logging
from collector.settings import with_http_port

MIN_INTERVAL_S = 1.0  # the demo's offline re-probe and confirmations are seconds apart


def register(group: click.Group) -> None:
    @group.command("demo")
    @click.option("--cameras", type=click.IntRange(10, 100_000), default=180, show_default=True, help="size of the simulated county")
    @click.option("--dir", "workdir", type=click.Path(file_okay=False), default="camwatch-demo", show_default=True,
                  help="where the demo database and inventory file go")
    @click.option("--interval", type=float, default=15.0, show_default=True,
                  help=f"fast-tier interval (seconds, at least {MIN_INTERVAL_S:g})")
    @click.option("--video/--no-video", default=False, show_default=True, help="also run the video tier")
    @click.option("--duration", type=float, default=None, help="stop after this many seconds (default: run until Ctrl-C)")
    @click.option("--port", type=click.IntRange(1, 65535), default=None,
                  help="HTTP port (default: the configured http.port, or a free one when that is taken)")
    @click.pass_obj
    def demo_cmd(ctx: CliContext, cameras: int, workdir: str, interval: float, video: bool, duration: float | None,
                 port: int | None) -> None:
        """Start a simulated county (fleet simulator on a free loopback range), import it, monitor it, show a live summary."""
        # lazy: the demo pulls in the simulator and the whole runtime, which the other commands do not need.
        from collector.cli.demo_county import run_demo
        from collector.cli.demo_place import DemoError

        if not interval >= MIN_INTERVAL_S:  # also NaN
            fail(ctx.t(f"--interval：{interval:g} 秒太短；请给出至少 {MIN_INTERVAL_S:g} 秒（如 --interval 15）",
                       f"--interval: {interval:g} s is too short; give at least {MIN_INTERVAL_S:g} s (e.g. --interval 15)"),
                 USAGE)
        if duration is not None and not duration > 0:
            fail(ctx.t(f"--duration：须大于 0 秒（给出的是 {duration:g}）",
                       f"--duration: must be more than 0 s (got {duration:g})"), USAGE)
        s = ctx.settings
        setup_logging("WARNING", s.log_format)
        s = s.model_copy(update={"collector": s.collector.model_copy(update={
            "interval_s": interval, "offline_interval_s": min(5.0, interval), "confirm_delays_s": [2.0, 4.0],
            "video": video, "reload_interval_s": 10.0}),
            "probe": s.probe.model_copy(update={"reach_timeout_s": 2.0, "rtsp_timeout_s": 3.0, "onvif_timeout_s": 3.0})})
        if port is not None:
            s = with_http_port(s, port)
        try:
            run_async(run_demo(s, Path(workdir), cameras, duration, lang=ctx.lang, port_fixed=port is not None))
        except DemoError as exc:
            fail(str(exc), ENVIRONMENT)
