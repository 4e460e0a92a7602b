"""The last picture of each camera (``collector.keep_frames``): a small JPEG kept on disk.

The video tier's frame stage sends back the picture its checks ran on as a JPEG at most 320 px
wide (:func:`probes.frame_grab.encode_jpeg`, 10-20 KB). :class:`FrameStore` keeps the latest
one per camera in one directory (``frames/`` beside the journal): ``<camera id>.jpg``, mode
0600, replaced atomically (a temporary file renamed over it) at each video-tier grab and
removed when the camera is retired. One file per camera is the bound; the file's modification
time is the grab's time. The camera page shows it (``/cameras/{id}/frame.jpg``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import tempfile
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("camwatch.frames")


@dataclass(frozen=True, slots=True)
class KeptFrame:
    jpeg: bytes = field(repr=False)
    at: dt.datetime  # when it was grabbed (the file's modification time, UTC)


@dataclass
class FrameStore:
    directory: Path
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def path(self, camera_id: int) -> Path:
        return self.directory / f"{int(camera_id)}.jpg"

    # -- blocking (run in a thread) ---------------------------------------------------------------
    def write(self, camera_id: int, jpeg: bytes) -> None:
        """Replace the camera's picture atomically (a temporary file, mode 0600, renamed over it)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=f".{int(camera_id)}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:  # (mkstemp makes it 0600)
                f.write(jpeg)
            os.replace(tmp, self.path(camera_id))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def remove(self, camera_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(camera_id).unlink()

    def read(self, camera_id: int) -> KeptFrame | None:
        """The camera's picture and its time, or None when there is none."""
        try:
            with open(self.path(camera_id), "rb") as f:
                at = dt.datetime.fromtimestamp(os.fstat(f.fileno()).st_mtime, dt.UTC)
                return KeptFrame(f.read(), at)
        except FileNotFoundError:
            return None

    def taken_at(self, camera_id: int) -> dt.datetime | None:
        try:
            return dt.datetime.fromtimestamp(self.path(camera_id).stat().st_mtime, dt.UTC)
        except FileNotFoundError:
            return None

    # -- from the event loop (never blocking it) ---------------------------------------------------
    def submit(self, camera_id: int, jpeg: bytes) -> None:
        """Write the camera's picture in a thread (the scheduler's ``on_frame``)."""
        self._spawn(self._guarded(self.write, camera_id, jpeg))

    def retire(self, camera_ids: set[int]) -> None:
        """Remove the pictures of cameras that left the inventory, in a thread."""
        for cid in camera_ids:
            self._spawn(self._guarded(self.remove, cid))

    async def drain(self) -> None:
        """Wait for the writes and removals under way (at shutdown, in tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coro: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, fn: Callable[..., None], camera_id: int, *args: bytes) -> None:
        try:
            await asyncio.to_thread(fn, camera_id, *args)
        except OSError as exc:
            log.warning("cannot keep the picture of camera %d in %s: %s", camera_id, self.directory, exc)


__all__ = ["FrameStore", "KeptFrame"]
