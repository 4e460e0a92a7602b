"""What camwatch's processes use, read from /proc (collector.runtime.procstat): the parse on a table
of lines, and real processes of this machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from collector.runtime.procstat import _PAGE, _TICK, ProcessUse, parse_stat, read, sample

# /proc/<pid>/stat: pid (comm) state ppid ... utime(14) stime(15) ... rss(24) ...
REST = "S 1 2 3 4 5 6 7 8 9 10 {ut} {st} 0 0 20 0 1 0 100 123456789 {rss} 0 0 0"


@pytest.mark.parametrize(("comm", "ut", "st", "rss"), [
    ("python3", 250, 50, 1000),
    ("camwatch (run) x", 0, 0, 1),  # a name with spaces and parentheses
    (")", 7, 3, 25600),
])
def test_parse_stat(comm: str, ut: int, st: int, rss: int) -> None:
    line = f"4242 ({comm}) " + REST.format(ut=ut, st=st, rss=rss)
    assert parse_stat("worker-1", line) == ProcessUse("worker-1", rss * _PAGE, (ut + st) / _TICK)


def test_a_real_process_and_one_gone() -> None:
    child = subprocess.Popen([sys.executable, "-c",
                              "x = bytearray(80_000_000)\nwhile sum(range(10**6)) >= 0: pass"])
    try:
        deadline = time.monotonic() + 20
        use = read("worker-0", child.pid)
        while (use is None or use.resident_bytes < 80e6 or use.cpu_seconds < 0.2) and time.monotonic() < deadline:
            time.sleep(0.1)
            use = read("worker-0", child.pid)
        assert use is not None and 80e6 < use.resident_bytes < 400e6 and use.cpu_seconds >= 0.2, use
        procs = sample([(0, child.pid)])
        assert [p.process for p in procs] == ["collector", "worker-0"]
        me = os.times()
        assert procs[0].cpu_seconds == pytest.approx(me.user + me.system, abs=0.5)
    finally:
        child.kill()
        child.wait()
    assert read("worker-0", child.pid) is None  # gone: left out, not an error
    assert [p.process for p in sample([(0, child.pid)])] == ["collector"]
