"""Lists the pages derive from the scheduler's slots, kept a few seconds per reader's scope.

Over a county of 100k cameras, each overview request used to sort every readable slot, sort the
offline ones by since, gather the filter choices and count every township's cameras; people
reload and page through the same lists. :class:`Derived` keeps each such list for
:data:`TTL_S` seconds under a key naming what it is and whose scope it was made for (anonymous,
everything, or a role with its regions and contractor), so a state change shows within seconds
and a scoped reader never gets another scope's list. Region rows are also keyed by the region
figures' object (replaced on each refresh), so new figures show at once. The regions themselves are
kept until the collector's next inventory reload.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from aiohttp import web

from collector.web.common import camwatch
from collector.web.pages.scope import Regions, load_regions
from collector.web.principal import Principal

T = TypeVar("T")
TTL_S = 3.0
REGIONS_TTL_S = 60.0
MAX_ENTRIES = 512  # filter combinations are the user's to choose: bounded, then start over


def scope_key(p: Principal | None) -> Hashable:
    """Readers who see the same cameras and figures share a key."""
    if p is None:
        return ("anonymous",)
    if p.reads_all():
        return ("all",)
    return (p.role.value, p.regions, p.contractor, p.above)


class Derived:
    def __init__(self, ttl_s: float = TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s, self.clock = ttl_s, clock
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, make: Callable[[], T], ttl_s: float | None = None) -> T:
        now = self.clock()
        hit = self._items.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
        value = make()
        if len(self._items) >= MAX_ENTRIES:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
            if len(self._items) >= MAX_ENTRIES:
                self._items.clear()
        self._items[key] = (now + (self.ttl_s if ttl_s is None else ttl_s), value)
        return value

    async def aget(self, key: Hashable, make: Callable[[], Awaitable[T]], ttl_s: float | None = None) -> T:
        hit = self._items.get(key)
        if hit is not None and hit[0] > self.clock():
            return hit[1]  # type: ignore[no-any-return]
        value = await make()
        return self.get(key, lambda: value, ttl_s)

    def clear(self) -> None:
        self._items.clear()


DERIVED_KEY: web.AppKey[Derived] = web.AppKey("camwatch_console_derived", Derived)


def derived(request: web.Request) -> Derived:
    return request.app[DERIVED_KEY]


async def regions_of(request: web.Request) -> Regions:
    """Every region (:func:`~collector.web.pages.scope.load_regions`), kept until the collector's
    next inventory reload (regions change with the inventory), at most :data:`REGIONS_TTL_S`:
    reading 18,750 villages cost half a second a few seconds apart."""
    app = camwatch(request)
    engine = app.engine
    return await derived(request).aget(("regions", id(engine), app.reloaded_at), lambda: load_regions(engine),
                                       ttl_s=REGIONS_TTL_S)


__all__ = ["DERIVED_KEY", "Derived", "TTL_S", "derived", "regions_of", "scope_key"]
