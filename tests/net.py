"""Free ports and loopback ranges for tests, so that two test runs on one machine, or a test
run beside ``make demo``, never ask for the same address and port (no ``Errno 98``).

Fleets in tests take no ``base_address`` (they claim a free range when they start) unless
an inventory file must name their addresses first: then the test claims a range here
(:func:`loopback_range`, or the ``loopback`` fixture of ``tests/conftest.py``), writes the
file with its addresses (:func:`sample_inventory_at`) and starts the fleet at
``rng.base_address``. The claim's lock files keep every other fleet out of the range.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from aiohttp import web

from probes.sim.loopback import LoopbackRange, claim

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "config" / "sample_inventory.csv"
# What fleets and tests listen on inside a claimed range: RTSP, ONVIF, the upstream check.
RANGE_PORTS = (8554, 8000, 80)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at ``host`` now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextmanager
def loopback_range(blocks: int = 2) -> Iterator[LoopbackRange]:
    """A free run of /16 blocks of 127.0.0.0/8, held for the ``with`` block. Two blocks by
    default: cameras in the first, their upstream routers in the second."""
    rng = claim(blocks, ports=RANGE_PORTS)
    try:
        yield rng
    finally:
        rng.release()


def moved(address: str, rng: LoopbackRange) -> str:
    """A sample-inventory address (127.20.x.y for cameras, 127.21.x.y for routers) moved into
    ``rng`` (its first and second block)."""
    a, b, rest = address.split(".", 2)
    if a != "127" or b not in ("20", "21"):
        raise ValueError(f"{address} is not a sample-inventory address")
    return f"127.{rng.first_block + (b == '21')}.{rest}"


def sample_inventory_at(dest: Path, rng: LoopbackRange, source: Path = SAMPLE) -> Path:
    """``config/sample_inventory.csv`` with its cameras (127.20.0.1 upward) and routers
    (127.21.x.y) moved into ``rng``; a fleet at ``rng.base_address`` serves its cameras."""
    if rng.blocks < 2:
        raise ValueError("the sample inventory needs two blocks (cameras, routers)")
    text = source.read_text(encoding="utf-8-sig")
    text = text.replace(",127.20.", f",127.{rng.first_block}.")
    text = text.replace("@127.21.", f"@127.{rng.first_block + 1}.")
    dest.write_text(text, encoding="utf-8-sig")
    return dest


@asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """An aiohttp application served on a free loopback port for the block; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
