"""Shared parts of the tests that look into a real database from synchronous code (no tests here)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from inventory.db import create_engine

T = TypeVar("T")


def in_transaction(url: str, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """What ``fn(conn)`` returns, run in one transaction on a fresh engine of *url* (disposed after)."""

    async def go() -> T:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                return await fn(conn)
        finally:
            await engine.dispose()

    return asyncio.run(go())
