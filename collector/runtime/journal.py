"""The interval writer's local journal: state changes kept on disk while the database is away.

An append-only file of one line per change (``camera<TAB>state<TAB>cause<TAB>start<TAB>uncertainty``;
lines of an older journal without the uncertainty read as 0), fsync'd
in batches (:meth:`Journal.sync`, once per flush interval), bounded by the disk, not by memory.
The writer replays it in order when the database returns; how far it got is kept in a small
side file (``<journal>.done``: a byte offset, replaced atomically after each committed batch),
so a restart resumes there. When everything is replayed both files are removed. A line cut by
a crash (no newline at the end) is ignored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True, slots=True)
class IntervalOpen:
    """A camera entered ``state`` at ``start``: close its open interval there, open a new one."""

    camera_id: int
    state: str
    cause: str | None
    start: dt.datetime
    uncertainty_s: float = 0.0  # half the probe gap the change was dated in (0: exact, or not a probe's)


def encode(ev: IntervalOpen) -> bytes:
    return f"{ev.camera_id}\t{ev.state}\t{ev.cause or ''}\t{ev.start.isoformat()}\t{ev.uncertainty_s!r}\n".encode()


def decode(line: bytes) -> IntervalOpen:
    parts = line.decode().rstrip("\n").split("\t")
    if len(parts) == 4:  # written before changes carried their uncertainty
        parts.append("0")
    cid, state, cause, start, unc = parts
    return IntervalOpen(int(cid), state, cause or None, dt.datetime.fromisoformat(start), float(unc))


class Journal:
    """One collector's journal file. Not thread-safe: used from the event loop only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done_path = path.with_name(path.name + ".done")
        self._out: IO[bytes] | None = None
        self._read_at = 0  # byte offset of the first change not yet in the database
        self._pending = 0  # changes in the file after _read_at
        self._unsynced = 0
        if path.exists():
            self._read_at = self._stored_offset()
            with path.open("rb") as f:
                f.seek(self._read_at)
                self._pending = sum(1 for line in f if line.endswith(b"\n"))

    def _stored_offset(self) -> int:
        try:
            return int(self.done_path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    @property
    def pending(self) -> int:
        """changes written to the journal and not yet to the database."""
        return self._pending

    def append(self, changes: Iterable[IntervalOpen]) -> int:
        """Append changes (buffered; durable at the next :meth:`sync`). Raises OSError."""
        if self._out is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._out = os.fdopen(fd, "ab")
            if self._out.tell() and not self._ends_with_newline():
                self._out.write(b"\n")  # a line cut by a crash: end it (it is skipped as malformed)
        n = 0
        for ev in changes:
            self._out.write(encode(ev))
            n += 1
        self._pending += n
        self._unsynced += n
        return n

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    async def sync(self) -> None:
        """Make the appended changes durable (flush, then fsync in a thread)."""
        out = self._out
        if out is None or not self._unsynced:
            return
        out.flush()
        self._unsynced = 0
        await asyncio.to_thread(os.fsync, out.fileno())

    def read(self, limit: int) -> tuple[list[IntervalOpen], int, int]:
        """Up to *limit* changes from the first not yet replayed, the offset after them and the
        lines read (cut lines included)."""
        if self._out is not None:
            self._out.flush()
        out: list[IntervalOpen] = []
        at, lines = self._read_at, 0
        with self.path.open("rb") as f:
            f.seek(at)
            while len(out) < limit:
                line = f.readline()
                if not line.endswith(b"\n"):
                    break  # end of file, or a line still being written
                at += len(line)
                lines += 1
                try:
                    out.append(decode(line))
                except ValueError:
                    continue  # a line cut by a crash
        return out, at, lines

    def commit(self, offset: int, lines: int) -> None:
        """The changes before *offset* (*lines* lines) are in the database."""
        self._read_at = offset
        self._pending = max(0, self._pending - lines)
        if self._pending == 0 and self.path.stat().st_size <= offset:
            self._remove()
            return
        tmp = self.done_path.with_name(self.done_path.name + ".tmp")
        tmp.write_text(str(offset))
        os.replace(tmp, self.done_path)

    def _remove(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        for p in (self.path, self.done_path):
            p.unlink(missing_ok=True)
        self._read_at = self._pending = self._unsynced = 0

    def close(self) -> None:
        if self._out is not None:
            self._out.flush()
            os.fsync(self._out.fileno())
            self._out.close()
            self._out = None


__all__ = ["IntervalOpen", "Journal"]
