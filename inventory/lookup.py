"""Turning stored cameras into probe targets (with their credentials resolved)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from inventory.db import create_engine
from inventory.models import Camera
from inventory.secrets import SecretBox, load_key
from probes.base import ProbeTarget


class CameraNotFound(LookupError):
    def __init__(self, camera_id: int) -> None:
        super().__init__(f"no camera with id {camera_id}")
        self.camera_id = camera_id


def target_of(camera: Camera, box: SecretBox) -> ProbeTarget:
    return ProbeTarget(
        host=camera.host,
        rtsp_port=camera.rtsp_port,
        rtsp_path=camera.rtsp_path,
        onvif_port=camera.onvif_port,
        username=camera.username,
        password=box.reveal(camera.credential_ref),
        camera_id=camera.id,
    )


async def load_probe_target(engine: AsyncEngine, box: SecretBox, camera_id: int) -> ProbeTarget:
    async with AsyncSession(engine) as session:
        cam = (await session.execute(select(Camera).where(Camera.id == camera_id))).scalar_one_or_none()
    if cam is None:
        raise CameraNotFound(camera_id)
    return target_of(cam, box)


async def probe_target_async(ctx_obj: Any, camera_id: int) -> ProbeTarget:
    """The target of camera *camera_id*, from a CLI context (anything with ``.settings``)."""
    settings = ctx_obj.settings
    box = SecretBox(load_key(os.environ, settings.secrets.key_file))
    engine = create_engine(settings.database.url)
    try:
        return await load_probe_target(engine, box, camera_id)
    finally:
        await engine.dispose()


def probe_target(ctx_obj: Any, camera_id: int) -> ProbeTarget:
    """Synchronous form of :func:`probe_target_async` (runs its own event loop)."""
    return asyncio.run(probe_target_async(ctx_obj, camera_id))
