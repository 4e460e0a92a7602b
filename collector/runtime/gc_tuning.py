"""The process's memory tuned for a long-running prober: the cyclic GC (called once the inventory
is loaded) and glibc's allocator (arenas limited, big blocks mapped apart, free memory handed back
after big jobs)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache
from typing import Any

GC_THRESHOLDS = (200_000, 20, 100)
M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2  # malloc arenas at most (glibc's default: 8 per core, each grown and kept by some thread)
BIG_BLOCK = 128 * 1024  # blocks this big get pages of their own, handed back when freed


def settle_gc() -> None:
    """Tune the cyclic GC for a long-running prober, once its inventory is loaded.

    The inventory's objects live as long as the process: ``gc.freeze()`` keeps collections from
    scanning them (it made /metrics renders of 100k cameras vary 0.9-2 s). Every probe makes a few
    hundred short-lived objects, almost none in cycles, and a probe in flight holds ~40 of them: a
    young generation of 200,000 instead of 700 is not reached by the 2,000 probes in flight of a
    collector catching up. (At 50,000 it was: 43 collections in one minute took 3.5 s, 7 % of the
    CPU, and held probes back by up to 5 s at 100k cameras; a calm minute has none.)
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    release_free_memory()


@cache
def _libc() -> Any:
    """The C library when it is glibc (its allocator's knobs), else None (musl, macOS: left alone)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def tune_malloc(arenas: int = ARENAS) -> None:
    """Tune glibc's allocator for a long-running process. Call before threads start.

    - At most *arenas* malloc arenas: each thread (database, gzip, DNS) otherwise gets an arena of
      its own, and memory it freed stays with that arena (an empty ``camwatch run`` with two probe
      workers: 34 MB less).
    - Blocks of ``BIG_BLOCK`` bytes and more always get pages of their own, handed back when freed,
      and free memory at the heap's top goes back above that size too. glibc's default raises both
      thresholds after the first big block is freed (up to 32 MB), so a scrape's text, a worker's
      report and a reload's rows were carved from the heap and left holes in it: measured at 20k
      cameras (``bench/memory_census.py --no-trace``), the collector held 14-21 MB of free malloc
      memory, 0.7-1.1 KB a camera; with fixed thresholds 7.6 MB.
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, arenas)
        libc.mallopt(M_MMAP_THRESHOLD, BIG_BLOCK)
        libc.mallopt(M_TRIM_THRESHOLD, BIG_BLOCK)


def release_free_memory() -> None:
    """Hand memory that malloc holds free back to the system (after a big job: the inventory
    loaded, a reload rebuilt, the region figures read, a /metrics render); glibc keeps free pages
    in the middle of its heap otherwise. A few milliseconds for a heap of some 100 MB."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
