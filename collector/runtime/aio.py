"""Small asyncio helpers.

``asyncio.wait_for`` on Python 3.11 can swallow a cancellation that arrives while its inner
future completes (gh-86296), leaving a task that was asked to stop waiting forever; these use
``asyncio.timeout`` instead, which keeps cancellations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for *event* at most *timeout* seconds; True when it was set."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def within(aw: Awaitable[T], timeout: float) -> T:
    """Await *aw* with a time limit (raises TimeoutError)."""
    async with asyncio.timeout(timeout):
        return await aw
