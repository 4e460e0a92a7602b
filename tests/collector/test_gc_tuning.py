"""The process's memory knobs (collector.runtime.gc_tuning) on this machine's real glibc, in a child
process of their own: memory freed in the middle of the heap goes back to the system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    from collector.runtime.gc_tuning import _libc, tune_malloc, release_free_memory

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    assert _libc() is not None, "glibc's malloc_trim/mallopt not found"
    tune_malloc()
    base = rss_mb()
    blocks = [bytes(2000) + i.to_bytes(4, "big") for i in range(60_000)]  # ~120 MB from malloc
    keep = blocks[::50]  # what stays pins the heap's top: free() alone cannot shrink it
    del blocks
    before = rss_mb()
    release_free_memory()
    after = rss_mb()
    print(base, before, after, len(keep))
""")


def test_free_memory_in_the_middle_of_the_heap_goes_back_to_the_system() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=True)
    base, before, after, _ = (float(x) for x in out.stdout.split())
    assert before - base > 80, (base, before, after)  # freed, but still the process's
    assert after - base < 30, (base, before, after)  # handed back


BIG_BLOCKS = textwrap.dedent("""
    import ctypes, sys
    from collector.runtime.gc_tuning import _libc, tune_malloc

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    libc = _libc()
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    if sys.argv[1] == "tuned":
        tune_malloc()
    libc.free(libc.malloc(4 << 20))  # a big block freed: glibc's default raises its thresholds past it
    base = rss_mb()
    blocks, pins = [], []
    for _ in range(60):  # 120 MB in blocks of 2 MB, each followed by a small block that stays
        b = libc.malloc(2 << 20)
        ctypes.memset(b, 1, 2 << 20)
        blocks.append(b)
        pins.append(libc.malloc(2000))
    for b in blocks:
        libc.free(b)
    print(base, rss_mb(), len(pins))
""")


def test_big_blocks_go_back_to_the_system_when_freed_without_a_trim() -> None:
    """A scrape's text or a worker's report (blocks of ~100 KB-20 MB), freed between blocks that
    stay: with the thresholds fixed they do not stay in the process (glibc's default keeps them)."""
    def grew(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", BIG_BLOCKS, mode], capture_output=True, text=True, timeout=60,
                             check=True)
        base, after, _ = (float(x) for x in out.stdout.split())
        return after - base

    assert grew("default") > 80  # glibc's own behaviour here: the freed blocks stay resident
    assert grew("tuned") < 20
