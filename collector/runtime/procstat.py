"""What camwatch's own processes use (the collector and its probe workers), read from /proc on a
timer and kept for /metrics (``camwatch_process_*``): collect() reads the last sample, no I/O."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from collector.runtime.mirror import MirrorScheduler
from collector.runtime.scheduler import Scheduler

SAMPLE_S = 15.0
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True, slots=True)
class ProcessUse:
    process: str  # "collector", "worker-0", ...
    resident_bytes: int
    cpu_seconds: float  # user + system since the process started


def parse_stat(process: str, stat: str) -> ProcessUse:
    """One ``/proc/<pid>/stat`` line (pure). The command name may hold spaces and parentheses:
    the fields are read after its last ``)``."""
    fields = stat.rsplit(")", 1)[1].split()
    # after the name: state (3rd field of the line) is fields[0]; utime 14th, stime 15th, rss 24th
    return ProcessUse(process, int(fields[21]) * _PAGE, (int(fields[11]) + int(fields[12])) / _TICK)


def read(process: str, pid: int) -> ProcessUse | None:
    """None when the process is gone or there is no /proc (not Linux)."""
    try:
        return parse_stat(process, Path(f"/proc/{pid}/stat").read_text())
    except (OSError, IndexError, ValueError):
        return None


def sample(workers: list[tuple[int, int]]) -> tuple[ProcessUse, ...]:
    """This process as ``collector`` and each (index, pid) of *workers* as ``worker-<index>``."""
    found = [read("collector", os.getpid()), *(read(f"worker-{i}", pid) for i, pid in workers)]
    return tuple(u for u in found if u is not None)


def workers_of(scheduler: Scheduler) -> list[tuple[int, int]]:
    """(index, pid) of the probe workers running now (none when probing in this process)."""
    if not isinstance(scheduler, MirrorScheduler) or scheduler.pool is None:
        return []
    return [(w.index, w.pid) for w in scheduler.pool.health() if w.pid is not None]


class Holder(Protocol):
    processes: tuple[ProcessUse, ...]


async def keep_sampled(holder: Holder, scheduler: Callable[[], Scheduler], every: float = SAMPLE_S) -> None:
    """A task of ``camwatch run``: :func:`sample` every *every* s into ``holder.processes``
    (the scheduler asked for each time: the collector swaps in its workers' mirror at the start)."""
    while True:
        holder.processes = sample(workers_of(scheduler()))
        await asyncio.sleep(every)


__all__ = ["SAMPLE_S", "Holder", "ProcessUse", "keep_sampled", "parse_stat", "read", "sample", "workers_of"]
