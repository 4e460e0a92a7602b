"""Per-camera tables keyed by (host, port) that keep no key tuple per entry.

A 100k-camera collector keeps a few entries per camera (the RTSP prober's Digest challenge,
the ONVIF prober's memo); a ``(host, port)`` tuple as each one's key costs 56 bytes a camera.
:class:`EndpointTable` keys its entries by the host text, which the probe target already
holds, and keeps the port in the entry; a second port on one host (port forwards behind a
village's 4G router) goes to a small second dict.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

CameraKey = tuple[str, int]  # (host, port)


class HasPort(Protocol):
    port: int


E = TypeVar("E", bound=HasPort)


class EndpointTable(Generic[E]):
    """A mapping (host, port) -> entry, for entries that carry their ``port``."""

    __slots__ = ("by_host", "more")

    def __init__(self) -> None:
        self.by_host: dict[str, E] = {}
        self.more: dict[CameraKey, E] = {}

    def get(self, key: CameraKey) -> E | None:
        e = self.by_host.get(key[0])
        if e is not None and e.port == key[1]:
            return e
        return self.more.get(key) if self.more else None

    def put(self, key: CameraKey, entry: E) -> None:
        """Store *entry* (whose ``port`` must be ``key[1]``) for *key*."""
        if entry.port != key[1]:
            raise ValueError(f"entry for port {entry.port} stored under port {key[1]}")
        e = self.by_host.get(key[0])
        if e is None or e.port == key[1]:
            self.by_host[key[0]] = entry
            if self.more:
                self.more.pop(key, None)
        else:
            self.more[key] = entry

    def pop(self, key: CameraKey) -> E | None:
        e = self.by_host.get(key[0])
        if e is not None and e.port == key[1]:
            del self.by_host[key[0]]
            return e
        return self.more.pop(key, None) if self.more else None

    def drop_oldest(self) -> None:
        """Forget the entry stored first (to keep a bound)."""
        if self.more:
            self.more.pop(next(iter(self.more)))
        elif self.by_host:
            self.by_host.pop(next(iter(self.by_host)))

    def keys(self) -> Iterator[CameraKey]:
        for host, e in self.by_host.items():
            yield host, e.port
        yield from self.more

    def __contains__(self, key: CameraKey) -> bool:
        return self.get(key) is not None

    def __len__(self) -> int:
        return len(self.by_host) + len(self.more)
