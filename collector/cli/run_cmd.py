"""``camwatch run``: collector + exporter + HTTP in one process."""

from __future__ import annotations

import errno
import os
import socket

import click

from collector.cli.context import CliContext
from collector.cli.exitcodes import ENVIRONMENT
from collector.cli.listen import bind_problem, listen_error
from collector.cli.runtime import check_database, engine, fail, run_async, secret_box
from collector.runtime.gc_tuning import tune_malloc
from collector.runtime.logfmt import setup_logging

LISTEN_ERRNOS = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)


def register(group: click.Group) -> None:
    @group.command("run")
    @click.pass_obj
    def run_cmd(ctx: CliContext) -> None:
        """Probe every camera, keep state intervals, serve /metrics, /healthz and the API.

        Stops cleanly on SIGTERM or Ctrl-C (pending writes are flushed).
        """
        # lazy: the runtime (scheduler, probes, aiohttp server) is what `run` needs and no other command
        from collector.cli.run_guard import Refused, run_guard, say
        from collector.runtime.app import App, serve
        from collector.runtime.k8s_slice import InCluster, KubeError
        from collector.runtime.replicas import AlreadyRunning, ShardCountMismatch
        from collector.web.server import build_application

        tune_malloc()  # (before any thread starts)
        s = ctx.settings
        setup_logging(s.log_level, s.log_format)
        problem = bind_problem(s.http.host, s.http.port, ctx.lang)
        if problem is not None:
            fail(problem, ENVIRONMENT)
        check_database(s, ctx.lang)
        in_cluster = None
        if s.gb28181.enabled and s.gb28181.kubernetes_service:
            try:
                in_cluster = InCluster.from_env(os.environ)
            except KubeError as exc:
                fail(str(exc) if ctx.lang == "en" else exc.zh, ENVIRONMENT)
        eng = engine(s)

        async def go() -> None:
            try:
                async with run_guard(s, ctx.lang):  # one collector per database, unless replicas (DESIGN §8)
                    await serve(App(s, eng, secret_box(s), http=build_application, in_cluster=in_cluster))
            finally:
                await eng.dispose()

        try:
            run_async(go())
        except Refused as exc:
            fail(str(exc), ENVIRONMENT)
        except ShardCountMismatch as exc:
            fail(say(ctx.lang, "shards", ours=exc.ours, theirs=", ".join(map(str, exc.theirs))), ENVIRONMENT)
        except AlreadyRunning:
            fail(say(ctx.lang, "replicas"), ENVIRONMENT)
        except OSError as exc:  # taken between the check and the start
            if not isinstance(exc, socket.gaierror) and exc.errno not in LISTEN_ERRNOS:
                raise
            fail(listen_error(exc, s.http.host, s.http.port, ctx.lang), ENVIRONMENT)
