"""``/metrics`` put together: plain, or gzipped as Prometheus asks for it (DESIGN §7, issue 18).

At 100k cameras the text is ~200 MB (eight per-camera families, each line carrying the camera's
eight labels); gzipping all of it at every scrape takes longer than the scrape may, and keeping
it costs ~2.5 KB a camera. So the per-camera lines (:mod:`collector.metrics.text`) are cut into
**blocks**: cameras grouped by state (online or not) and by their probing phase
(:func:`collector.runtime.slots.phase_of`, one of :data:`BUCKETS` slices of the interval). Each
block keeps only its cameras' keys (what their lines are made from, by identity) and its text per
family deflated (:mod:`collector.metrics.gzjoin`). A scrape 15 s after the last one, on a 60 s
tier, finds about a quarter of the volatile blocks changed (their cameras were probed
meanwhile), the others untouched: only the changed blocks' lines are made again and compressed
(in two threads: zlib lets go of the GIL), and the stream is joined from the pieces.

``metrics.per_camera: offline_only`` keeps only the cameras offline or degraded in the blocks
(:func:`collector.metrics.registry.exported`); the region counts still take every camera.

:func:`render` does the work (call it from a worker thread: :func:`render_async`); the slots are
read on the event loop first (a list of them), the thread only reads each slot's fields.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

from prometheus_client.exposition import generate_latest

from collector.metrics import families as f
from collector.metrics.gzjoin import Piece, gzip_join
from collector.metrics.registry import CamwatchCollector, RegionFigures
from collector.metrics.text import (
    TextState,
    _Built,
    _header,
    _Key,
    _shown,
    changed_families,
    columns,
    key_of,
    render_regions,
    text_state,
)
from collector.runtime.camera_state import State
from collector.runtime.gc_tuning import release_free_memory
from collector.runtime.slots import CameraSlot, phase_of

BUCKETS = 1024  # probing-phase slices of the stable families' blocks (a state change dirties one of ~100 cameras)
VOLATILE_BUCKETS = 256  # ... and of the volatile ones' (all of a slice is re-probed at once anyway)
PREPARE_S = 5.0  # between scrapes, what changed is prepared this often ...
IDLE_S = 120.0  # ... while a scrape came within this time
INFLIGHT_BYTES = 4 << 20  # text made but not yet deflated, at most (about)
_FAMILIES = len(f.CAMERA_FAMILIES)
log = logging.getLogger("camwatch.metrics")
# the families a new probe result changes (clock offset, stage durations): kept in blocks by state
# group too (offline cameras are re-probed 4x as often); the others by phase only, so a camera
# changing state leaves its location line where it is
_VOLATILE = tuple(k for k, fam in enumerate(f.CAMERA_FAMILIES) if fam in (f.CAMERA_CLOCK_OFFSET, f.CAMERA_PROBE_DURATION))
_STABLE = tuple(k for k in range(_FAMILIES) if k not in _VOLATILE)
_ATTENTION = (State.OFFLINE, State.DEGRADED)  # offline_only: the cameras whose series are exported
_ALL = tuple(range(_FAMILIES))
# the blocks' places, one tuple each for every camera in it (not one a camera: ~0.1 KB a camera less)
_STABLE_AT = tuple((0, b) for b in range(BUCKETS))
_VOLATILE_AT = tuple(tuple((g, b) for b in range(VOLATILE_BUCKETS)) for g in (0, 1))


class _Block:
    """Cameras of one block (their keys, in the order they came) and the piece of each of the
    families it holds; a family's piece missing: its lines changed since (made again when needed)."""

    __slots__ = ("cams", "pieces")

    def __init__(self) -> None:
        self.cams: dict[int, _Key] = {}
        self.pieces: dict[int, Piece] = {}

    def changed(self, families: tuple[int, ...]) -> None:
        for k in families:
            self.pieces.pop(k, None)


Where = tuple[int, int] | None  # a camera's block in one cut (None: in none)


class _Blocks:
    """One way of cutting the cameras into blocks, for some of the families. Which block a camera
    is in follows from its id and key (:func:`_wheres`): no map of camera to block is kept (two
    were ~0.1 KB a camera at 100k)."""

    __slots__ = ("families", "blocks")

    def __init__(self, families: tuple[int, ...]) -> None:
        self.families = families
        self.blocks: dict[tuple[int, int], _Block] = {}

    def place(self, cid: int, old: Where, where: Where, key: _Key | None, changed: tuple[int, ...]) -> None:
        """Move a camera from block *old* to block *where*; *changed*: the families whose lines differ."""
        if old is not None and old == where:  # same block: only the families whose lines changed
            b = self.blocks[old]
            b.changed(tuple(k for k in changed if k in self.families))
            b.cams[cid] = key  # type: ignore[assignment]  # (not None: where is)
            return
        if old is not None:
            b = self.blocks[old]
            del b.cams[cid]
            b.changed(self.families)
        if where is not None and key is not None:
            b = self.blocks.get(where) or self.blocks.setdefault(where, _Block())
            b.cams[cid] = key
            b.changed(self.families)

    def in_order(self) -> list[_Block]:
        return [self.blocks[k] for k in sorted(self.blocks)]


def _cuts(state: TextState) -> tuple[_Blocks, _Blocks]:
    if not state.blocks:
        state.blocks.update({"stable": _Blocks(_STABLE), "volatile": _Blocks(_VOLATILE)})
    return state.blocks["stable"], state.blocks["volatile"]


def _wheres(bucket: int, key: _Key | None, offline_only: bool) -> tuple[Where, Where]:
    """The blocks (stable cut, volatile cut) of a camera of phase *bucket* with *key* (None: gone)."""
    if key is None or (offline_only and _shown(key) not in _ATTENTION):
        return None, None
    return (_STABLE_AT[bucket],
            _VOLATILE_AT[0 if _shown(key) is State.ONLINE else 1][bucket * VOLATILE_BUCKETS // BUCKETS])


def _place(state: TextState, cid: int, old: _Key | None, key: _Key | None, changed: tuple[int, ...],
           offline_only: bool) -> None:
    """Move a camera from the blocks its *old* key put it in to those its *key* does (None: none)."""
    stable, volatile = _cuts(state)
    bucket = int(phase_of(cid, 1.0) * BUCKETS)
    s0, v0 = _wheres(bucket, old, offline_only)
    s1, v1 = _wheres(bucket, key, offline_only)
    stable.place(cid, s0, s1, key, changed)
    volatile.place(cid, v0, v1, key, changed)


def update(state: TextState, items: list[CameraSlot], offline_only: bool) -> None:
    """Note the cameras that changed (their blocks' pieces to make again), keep the live counts."""
    if state.offline_only is not offline_only:  # (a camera's blocks follow from it: all placed again)
        state.restart(offline_only)
    cache, live = state.cache, state.live
    get = cache.get
    for slot in items:
        cid = slot.cam.id
        hit = get(cid)
        if (hit is not None and hit[2] is slot.last and hit[1] is slot.status and hit[0] is slot.cam
                and hit[3] is slot.video_ok and hit[4] is slot.excluded):
            continue
        new = key_of(slot)
        cache[cid] = new
        if hit is None or hit[1] is not new[1] or hit[4] is not new[4] or hit[0] is not new[0]:
            if hit is not None:
                live.add(hit[0], _shown(hit), -1)
            live.add(slot.cam, _shown(new), 1)
        _place(state, cid, hit, new, _ALL if hit is None else changed_families(hit, new), offline_only)
    if len(cache) > len(items):  # cameras gone (retired, or their shard let go)
        ids = {slot.cam.id for slot in items}
        for cid in [c for c in cache if c not in ids]:
            gone = cache.pop(cid)
            live.add(gone[0], _shown(gone), -1)
            _place(state, cid, gone, None, _ALL, offline_only)


def _deflate(state: TextState) -> None:
    """Make the changed blocks' texts again and deflate them (the families' heads once), two
    threads compressing while this one makes the next texts. At most ~:data:`INFLIGHT_BYTES` of
    text waits for its thread at a time: a cold scrape at 100k cameras (~200 MB of text) never
    holds all of it at once, so the process's memory does not keep that peak."""
    if state.pool is None:
        state.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="metrics-gzip")
    if not state.heads:
        state.heads = tuple(Piece.of(_header(family).encode()) for family in f.CAMERA_FAMILIES)
    pending: deque[tuple[_Block, int, Future[Piece], int]] = deque()
    inflight = 0
    for cut in _cuts(state):
        for b in cut.blocks.values():
            dirty = [k for k in cut.families if k not in b.pieces]
            if not dirty:
                continue
            for k, text in zip(dirty, columns(b.cams.values(), dirty), strict=True):
                pending.append((b, k, state.pool.submit(Piece.of, text), len(text)))
                inflight += len(text)
            while inflight > INFLIGHT_BYTES:
                done, k, fut, size = pending.popleft()
                done.pieces[k] = fut.result()
                inflight -= size
    for done, k, fut, _ in pending:
        done.pieces[k] = fut.result()


def _plain(state: TextState) -> list[list[bytes]]:
    """Every per-camera family's text, block by block (a plain scrape: made whole)."""
    out: list[list[bytes]] = [[] for _ in range(_FAMILIES)]
    for cut in _cuts(state):
        for b in cut.in_order():
            for k, text in zip(cut.families, columns(b.cams.values(), cut.families), strict=True):
                out[k].append(text)
    return out


def _by_family(state: TextState) -> list[list[_Block]]:
    """The blocks holding each per-camera family, in order."""
    stable, volatile = _cuts(state)
    s, v = stable.in_order(), volatile.in_order()
    return [v if k in _VOLATILE else s for k in range(_FAMILIES)]


def prepare(collector: CamwatchCollector, items: list[CameraSlot], *, gzip: bool) -> None:
    """Between scrapes: bring the lines (and, for gzip scrapes, the pieces) up to date, so that the
    next scrape has only what changed since to do."""
    state = text_state(collector)
    with state.lock:
        update(state, items, collector.offline_only)
        if gzip:
            _deflate(state)
    release_free_memory()  # (the texts deflated; see render_async)


async def keep_ready(collector: CamwatchCollector, every: float = PREPARE_S, idle: float = IDLE_S) -> None:
    """A task of ``camwatch run``: every *every* s, while scrapes come (the last within *idle* s), do
    in a worker thread what the next scrape would (the cameras probed since, their blocks deflated):
    each block is deflated about once per probing interval, and a scrape does only the last seconds'."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        state = text_state(collector)
        last = state.scraped
        if last is not None and loop.time() - last[0] <= idle:
            try:
                await asyncio.to_thread(prepare, collector, list(collector.source.slots.values()), gzip=last[1])
            except Exception:  # noqa: BLE001 - the scrape itself renders everything (and reports)
                log.exception("preparing /metrics between scrapes failed")


def render(collector: CamwatchCollector, items: list[CameraSlot] | None = None,
           figures: RegionFigures | None = None, tail: bytes | None = None, *, gzip: bool = False) -> bytes:
    """The exposition of everything ``collector.collect()`` yields, gzipped when *gzip*.

    *items*, *figures*, *tail* (camwatch's own families, as text): read on the event loop by
    :func:`render_async`; left out, read here (a caller on the loop itself, or tests)."""
    if items is None:
        items = list(collector.source.slots.values())
    if figures is None:
        figures = collector.regions()
    if tail is None:
        tail = generate_latest(_Built(collector.self_metrics()))
    state = text_state(collector)
    with state.lock:
        update(state, items, collector.offline_only)
        rest = render_regions(figures, state.live) + tail
        if not gzip:
            parts: list[bytes] = []
            for family, texts in zip(f.CAMERA_FAMILIES, _plain(state), strict=True):
                parts.append(_header(family).encode())
                parts += texts
            parts.append(rest)
            return b"".join(parts)
        _deflate(state)
        pieces: list[Piece] = []
        for k, blocks in enumerate(_by_family(state)):
            pieces.append(state.heads[k])
            pieces += (b.pieces[k] for b in blocks)
        pieces.append(Piece.of(rest))
        return gzip_join(pieces)


def render_text(collector: CamwatchCollector) -> bytes:
    """The plain exposition text (on the calling thread)."""
    return render(collector)


async def render_async(collector: CamwatchCollector, *, gzip: bool) -> bytes:
    """:func:`render` in a worker thread; what changes on the event loop is read here first."""
    text_state(collector).scraped = (asyncio.get_running_loop().time(), gzip)
    items = list(collector.source.slots.values())  # (the slots only: no tuple a camera)
    figures = collector.regions()
    tail = generate_latest(_Built(collector.self_metrics()))
    return await asyncio.to_thread(_render_then_trim, collector, items, figures, tail, gzip)


def _render_then_trim(collector: CamwatchCollector, items: list[CameraSlot], figures: RegionFigures,
                      tail: bytes, gzip: bool) -> bytes:
    """:func:`render`, then the free memory its texts left in malloc's heap handed back (~1 ms):
    0.15 KB a camera less at 20k cameras, beyond what the fixed thresholds of
    :func:`collector.runtime.gc_tuning.tune_malloc` saved (``bench/memory_census.py --no-trace``)."""
    body = render(collector, items, figures, tail, gzip=gzip)
    release_free_memory()
    return body


def wants_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header takes gzip (``gzip`` listed without ``q=0``)."""
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip().lower().replace(" ", "")
            return q not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


__all__ = ["BUCKETS", "keep_ready", "prepare", "render", "render_async", "render_text", "update", "wants_gzip"]
