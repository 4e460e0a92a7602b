"""The process's memory tuned for a long-running prober: the cyclic GC (called once the inventory
is loaded) and glibc's allocator (arenas limited, free memory handed back after big jobs)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache
from typing import Any

GC_THRESHOLDS = (200_000, 20, 100)
M_ARENA_MAX = -8  # glibc's mallopt parameter
ARENAS = 2  # malloc arenas at most (glibc's default: 8 per core, each grown and kept by some thread)


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


def limit_malloc_arenas(arenas: int = ARENAS) -> None:
    """At most *arenas* malloc arenas. Call before threads start: each thread (database, gzip,
    DNS) otherwise gets an arena of its own, and memory it freed stays with that arena (an empty
    ``camwatch run`` with two probe workers: 34 MB less)."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, arenas)


def release_free_memory() -> None:
    """Hand memory that malloc holds free back to the system (after a big job: the inventory
    loaded, a reload rebuilt, the region figures read); glibc keeps it otherwise."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
