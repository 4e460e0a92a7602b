"""The process's memory knobs (collector.runtime.gc_tuning) on this machine's real glibc, in a child
process of their own: memory freed in the middle of the heap goes back to the system."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    from collector.runtime.gc_tuning import _libc, limit_malloc_arenas, release_free_memory

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    assert _libc() is not None, "glibc's malloc_trim/mallopt not found"
    limit_malloc_arenas()
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
