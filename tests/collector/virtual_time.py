"""Virtual time for the scheduler's unit tests: a clock that moves only when everything waits.

:class:`VirtualTime` is a :class:`collector.runtime.timebase.Timebase` (``time`` and ``call_at``).
The test drives it with :meth:`VirtualTime.run_for` / :meth:`VirtualTime.run_until`: the event
loop first runs everything that is ready, then the clock jumps to the earliest timer and fires
it, and so on. Fake probes take virtual time with :meth:`VirtualTime.sleep`. An hour of
schedule runs in milliseconds, and times are exact.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    callback: Callable[..., object] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class VirtualTime:
    def __init__(self, start: float = 1000.0) -> None:
        self.start = start
        self.now = start
        self._timers: list[_Timer] = []
        self._seq = 0

    # -- the Timebase the scheduler is given -----------------------------------------------
    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> _Timer:
        self._seq += 1
        timer = _Timer(when, self._seq, callback, args)
        heapq.heappush(self._timers, timer)
        return timer

    # -- for the test ------------------------------------------------------------------------
    def wall(self) -> dt.datetime:
        """A wall clock in step with the virtual one (T0 at the start)."""
        return T0 + dt.timedelta(seconds=self.now - self.start)

    def at(self, t: float) -> dt.datetime:
        """The wall time of virtual time *t*."""
        return T0 + dt.timedelta(seconds=t - self.start)

    async def sleep(self, delay: float) -> None:
        """Take *delay* seconds of virtual time (a fake probe's duration)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.call_at(self.now + delay, _resolve, fut)
        await fut

    async def run_for(self, seconds: float) -> None:
        await self.run_until(self.now + seconds)

    async def run_until(self, until: float, cond: Callable[[], bool] | None = None) -> None:
        """Fire every timer due up to *until* in time order, the loop settled before each one
        (stop early once *cond* holds); the clock ends at *until* or where *cond* came true."""
        while True:
            await _settle()
            if cond is not None and cond():
                return
            while self._timers and self._timers[0].cancelled:
                heapq.heappop(self._timers)
            if not self._timers or self._timers[0].when > until:
                break
            timer = heapq.heappop(self._timers)
            self.now = max(self.now, timer.when)
            timer.callback(*timer.args)
        self.now = max(self.now, until)
        await _settle()

    async def wait_for(self, cond: Callable[[], bool], within: float) -> float:
        """Run until *cond* holds (AssertionError after *within* virtual seconds); returns the time."""
        await self.run_until(self.now + within, cond)
        if not cond():
            raise AssertionError(f"condition not met within {within} virtual seconds")
        return self.now


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


async def _settle() -> None:
    """Let the event loop run until nothing is ready at this instant (all tasks wait on timers).

    Reads CPython's ready queue (``loop._ready``): after our own wake-up, an empty queue means
    every other callback of this instant has run and none was added."""
    loop = asyncio.get_running_loop()
    for _ in range(100_000):
        await asyncio.sleep(0)
        if not loop._ready:  # type: ignore[attr-defined]
            return
    raise RuntimeError("the event loop did not settle (a task spinning without awaiting time?)")
