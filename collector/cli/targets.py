"""The probe target of a stored camera, for ``camwatch probe <id>``: the CLI's settings give
the database and the secret key; :func:`inventory.lookup.load_probe_target` does the reading."""

from __future__ import annotations

import asyncio

from collector.cli.context import CliContext
from collector.cli.exitcodes import DATA
from collector.cli.runtime import check_database, fail, secret_box
from inventory.db import create_engine
from inventory.lookup import CameraNoAddress, load_probe_target
from inventory.secrets import SecretError
from probes.base import ProbeTarget


async def probe_target(ctx: CliContext, camera_id: int) -> ProbeTarget:
    """The target of camera *camera_id* (:class:`inventory.lookup.CameraNotFound` if none)."""
    settings = ctx.settings
    # a missing or unmigrated database in one line (in a thread: the check runs a loop of its own)
    await asyncio.to_thread(check_database, settings, ctx.lang)
    engine = create_engine(settings.database.url)
    try:
        return await load_probe_target(engine, secret_box(settings), camera_id)
    except CameraNoAddress:
        fail(ctx.t(f"摄像机 {camera_id} 仅国标接入，没有地址，无法直接探测（其状态来自 GB/T 28181 信令）",
                   f"camera {camera_id} is reached only over GB/T 28181 and has no address: it cannot be probed "
                   "directly (its state comes from the signalling)"), DATA)
        raise
    except SecretError as exc:  # no login with a password camwatch cannot read (nor an empty one)
        fail(ctx.t(f"摄像机 {camera_id} 凭据不可用：{exc.words()}；未尝试登录",
                   f"camera {camera_id}: credential unavailable: {exc.words('en')}; no login attempted"), DATA)
        raise
    finally:
        await engine.dispose()
