"""The probe target of a stored camera, for ``camwatch probe <id>``: the CLI's settings give
the database and the secret key; :func:`inventory.lookup.load_probe_target` does the reading."""

from __future__ import annotations

from collector.cli.context import CliContext
from collector.cli.runtime import secret_box
from inventory.db import create_engine
from inventory.lookup import load_probe_target
from probes.base import ProbeTarget


async def probe_target(ctx: CliContext, camera_id: int) -> ProbeTarget:
    """The target of camera *camera_id* (:class:`inventory.lookup.CameraNotFound` if none)."""
    settings = ctx.settings
    engine = create_engine(settings.database.url)
    try:
        return await load_probe_target(engine, secret_box(settings), camera_id)
    finally:
        await engine.dispose()
