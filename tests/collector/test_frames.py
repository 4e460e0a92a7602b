"""Each camera's last picture (collector.runtime.frames): the scheduler hands the video tier's
JPEG to ``on_frame`` (and never a fast-tier result's); the store keeps one file per camera,
replaced atomically, mode 0600, removed when the camera is retired."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import numpy as np

from collector.runtime.frames import FrameStore
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.settings import CollectorSettings
from probes.base import ProbeTarget
from probes.frame_grab import encode_jpeg
from probes.ladder import LadderOptions, LadderResult
from tests.collector.test_scheduler import Script, fake_cameras, stop
from tests.collector.virtual_time import VirtualTime

JPEG = encode_jpeg(np.full((360, 640, 3), 120, np.uint8))


class Pictures(Script):
    """The scripted ladder, its video-tier results carrying a picture."""

    async def __call__(self, target: ProbeTarget, opts: LadderOptions) -> LadderResult:
        r = await super().__call__(target, opts)
        return dataclasses.replace(r, jpeg=JPEG) if opts.video and r.state != "offline" else r


def test_encode_jpeg_shrinks_to_320_wide() -> None:
    assert JPEG is not None and JPEG[:2] == b"\xff\xd8" and len(JPEG) < 20_000
    import cv2  # lazy: only this check decodes

    assert cv2.imdecode(np.frombuffer(JPEG, np.uint8), cv2.IMREAD_COLOR).shape == (180, 320, 3)


def test_video_tier_hands_its_picture_to_on_frame() -> None:
    vt = VirtualTime()
    script = Pictures(vt)
    got: list[tuple[int, bytes]] = []
    cfg = SchedulerConfig.from_settings(CollectorSettings(video_interval_s=600.0, catchup_s=0))

    async def go() -> None:
        sched = Scheduler(cfg, None, ladder_fn=script, clock=vt.wall, timebase=vt)
        sched.on_frame = lambda cid, jpeg: got.append((cid, jpeg))
        sched.sync(fake_cameras(range(1, 3)), [])
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.run_for(700.0)
        finally:
            await stop(task)

    asyncio.run(go())
    videos = [c for _, c, video, _ in script.calls if video]
    assert sorted({cid for cid, _ in got}) == [1, 2] and len(got) == len(videos)
    assert all(jpeg == JPEG for _, jpeg in got)


def test_store_keeps_one_file_per_camera_and_removes_it_when_retired(tmp_path: Path) -> None:
    store = FrameStore(tmp_path / "frames")
    assert store.read(7) is None and store.taken_at(7) is None

    async def go() -> None:
        assert JPEG is not None
        store.submit(7, b"\xff\xd8old")
        store.submit(8, JPEG)
        await store.drain()
        store.submit(7, JPEG)  # overwritten at the next grab
        await store.drain()
        kept = store.read(7)
        assert kept is not None and kept.jpeg == JPEG and kept.at == store.taken_at(7)
        assert sorted(p.name for p in store.directory.iterdir()) == ["7.jpg", "8.jpg"]  # no temporary left
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in store.directory.iterdir())
        store.retire({8, 9})
        await store.drain()
        assert sorted(p.name for p in store.directory.iterdir()) == ["7.jpg"]

    asyncio.run(go())
