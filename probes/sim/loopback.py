"""Free loopback ranges for simulated fleets, so two fleets (two test runs, a test run beside
``camwatch demo``) on one machine never ask for the same address and port.

A range is a run of consecutive /16 blocks ``127.B.0.0/16`` taken from :data:`POOL`. A claim
holds one lock file per block (``flock``: released by the kernel when the process dies, so a
crashed run leaves nothing stale) and checks, by binding, that nothing else already listens at
the block's first and last camera address on the given ports (a fleet started with a fixed
address, or another user's run).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import math
import os
import socket
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

from probes.sim.identity import address_for

#: Second octets handed out: 127.128.0.0/16 .. 127.254.0.0/16. Fixed addresses (the sample
#: inventory's 127.20.x.y, the benchmarks' defaults) stay below.
POOL = range(128, 255)
#: Cameras one /16 block holds (last two octets 1..254, as ``address_for`` counts).
CAMERAS_PER_BLOCK = 254 * 254


class NoFreeRange(OSError):
    """Every candidate range is locked by another fleet or has a port in use."""


def blocks_for(cameras: int) -> int:
    """How many consecutive /16 blocks ``cameras`` consecutive camera addresses need."""
    return max(1, math.ceil(cameras / CAMERAS_PER_BLOCK))


def _lock_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"camwatch-loopback-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _lock(directory: Path, block: int) -> int | None:
    """The descriptor holding block ``block``'s lock, or None when another process holds it."""
    fd = os.open(directory / f"127.{block}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
            return None
        raise
    return fd


def port_free(host: str, port: int) -> bool:
    """Whether a listening socket could bind ``host:port`` now (with SO_REUSEADDR, as the fleet
    binds: a connection in TIME_WAIT does not count as taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class LoopbackRange:
    """Consecutive /16 blocks of 127.0.0.0/8, held until :meth:`release` (or process exit)."""

    def __init__(self, first_block: int, blocks: int, fds: Sequence[int]) -> None:
        self.first_block = first_block
        self.blocks = blocks
        self._fds = list(fds)

    def __repr__(self) -> str:
        return f"LoopbackRange(127.{self.first_block}.0.0/16 x {self.blocks}, held={self.held})"

    @property
    def held(self) -> bool:
        return bool(self._fds)

    @property
    def base_address(self) -> str:
        """The first usable address of the range (camera 0 of a fleet placed here)."""
        return self.block_base(0)

    def block_base(self, k: int) -> str:
        """The first usable address of the range's ``k``-th /16 block."""
        if not 0 <= k < self.blocks:
            raise IndexError(f"block {k} is outside 0..{self.blocks - 1}")
        return f"127.{self.first_block + k}.0.1"

    def release(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> LoopbackRange:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def claim(blocks: int = 1, *, ports: Iterable[int] = (), probe_indices: Iterable[int] = (),
          skip: Iterable[int] = (), pool: range = POOL) -> LoopbackRange:
    """Claim ``blocks`` consecutive free /16 blocks of the pool.

    ``ports`` must be free at each block's first address and at the addresses of the camera
    indices ``probe_indices`` (e.g. the last camera of a fleet). ``skip`` lists first blocks
    not to try (ranges that failed before). Raises :class:`NoFreeRange`.
    """
    if blocks < 1 or blocks > len(pool):
        raise ValueError(f"blocks must be between 1 and {len(pool)}")
    ports = tuple(ports)
    indices = tuple(probe_indices)
    skipped = set(skip)
    directory = _lock_dir()
    for first in range(pool.start, pool.stop - blocks + 1):
        if first in skipped:
            continue
        fds: list[int] = []
        for block in range(first, first + blocks):
            fd = _lock(directory, block)
            if fd is None:
                break
            fds.append(fd)
        lease = LoopbackRange(first, blocks, fds)
        if len(fds) < blocks:
            lease.release()
            continue
        hosts = [lease.block_base(k) for k in range(blocks)]
        hosts += [address_for(i, lease.base_address) for i in indices]
        if all(port_free(h, p) for h in hosts for p in ports):
            return lease
        lease.release()
    raise NoFreeRange(errno.EADDRINUSE,
                      f"no free run of {blocks} /16 block(s) in 127.{pool.start}-{pool.stop - 1}.0.0/16 "
                      f"(ports {', '.join(map(str, ports)) or '-'})")
