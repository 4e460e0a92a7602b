"""The scheduler's time: a monotonic clock and a timer in one object, injectable.

Any object with ``time()`` and ``call_at(when, callback, *args)`` will do; the running asyncio
loop is one and is the default. Tests give the scheduler a virtual clock that advances as the
scheduler sleeps (``tests/collector/virtual_time.py``), so they do not wait in real time.
The scheduler binds ``time`` and ``call_at`` once when it starts: no lookup per probe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Timebase(Protocol):
    def time(self) -> float:
        """Monotonic seconds (the loop's clock by default)."""
        ...

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Cancellable:
        """Call ``callback(*args)`` once ``time()`` reaches *when*."""
        ...


def unbound_time() -> float:
    raise RuntimeError("the scheduler reads its clock only once sync() or run() bound it")


def unbound_call_at(when: float, callback: Callable[..., object], *args: Any) -> Cancellable:
    raise RuntimeError("the scheduler sets timers only once run() bound its timebase")
