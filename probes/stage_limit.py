"""One stage's time limit: the caller owns timeouts, and an expiry becomes the stage's cause; its
detail says whether the camera was silent, only slow, or silent on one request after answering
others, and its data is what the prober learned before it (:mod:`probes.progress`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from probes.base import ProbeResult, ProbeTarget, Stage
from probes.causes import Cause
from probes.progress import Progress, begin, end

OptsT = TypeVar("OptsT")

#: A prober of one stage, blackbox_exporter style: ``async def probe(target, opts) -> ProbeResult``.
StageProber = Callable[[ProbeTarget, OptsT], Awaitable[ProbeResult]]


class _Expiry:
    """One stage's time limit: a loop timer that cancels the probing task (``asyncio.timeout``'s
    mechanism without its context-manager objects, which cost a tenth of a healthy probe)."""

    __slots__ = ("task", "fired")

    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task = task
        self.fired = False

    def __call__(self) -> None:
        self.fired = True
        self.task.cancel()


async def run_stage(
    stage: Stage, fn: StageProber[OptsT], target: ProbeTarget, opts: OptsT, limit: float, timeout_cause: Cause
) -> ProbeResult:
    """Run one prober under its stage limit; an expiry is a failure with *timeout_cause*.

    A cancellation from anyone else propagates, as with ``asyncio.timeout``.
    """
    progress, token = begin()
    try:
        return await _limited(stage, fn, target, opts, limit, timeout_cause, progress)
    finally:
        end(token)


async def _limited(
    stage: Stage, fn: StageProber[OptsT], target: ProbeTarget, opts: OptsT, limit: float, timeout_cause: Cause,
    progress: Progress,
) -> ProbeResult:
    t0 = time.perf_counter()
    loop = asyncio.get_running_loop()  # (once: on Python 3.11 each lookup is a getpid() call)
    task = asyncio.current_task(loop)
    if task is None:  # not in a task (cannot cancel ourselves): the library way
        try:
            async with asyncio.timeout(limit):
                return await fn(target, opts)
        except TimeoutError:
            return timed_out(stage, t0, limit, timeout_cause, progress)
    before = task.cancelling()
    expiry = _Expiry(task)
    handle = loop.call_later(limit, expiry)
    try:
        result = await fn(target, opts)
    except asyncio.CancelledError:
        if expiry.fired and task.uncancel() <= before:
            return timed_out(stage, t0, limit, timeout_cause, progress)
        raise
    finally:
        handle.cancel()
    if expiry.fired:  # the prober swallowed our cancellation: take the request back
        task.uncancel()
    return result


def timed_out(stage: Stage, t0: float, limit: float, cause: Cause, progress: Progress | None = None) -> ProbeResult:
    """The result of an expiry: "no answer within 5 s", "no answer to DESCRIBE within 5 s", or what
    came too slowly (see :mod:`probes.progress`); with what the prober learned before it (its data)."""
    if progress is None:
        return ProbeResult(stage, False, time.perf_counter() - t0, cause, f"no answer within {limit:g} s")
    return ProbeResult(stage, False, time.perf_counter() - t0, cause, progress.timeout_detail(limit), progress.kept)
