"""Where a collector keeps its files: the journal of unwritten state changes and the last pictures."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import make_url

from collector.settings import Settings


def journal_path(settings: Settings) -> Path:
    """Where this collector's state changes wait while the database is away: ``collector.journal_dir``,
    else beside the SQLite file, else the working directory."""
    c = settings.collector
    name = f"camwatch-{re.sub(r'[^0-9A-Za-z_.-]', '_', c.collector_id)}.journal"
    if c.journal_dir:
        return Path(c.journal_dir) / name
    u = make_url(settings.database.url)
    if u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:"):
        return Path(u.database).parent / name
    return Path(name)


def frames_dir(settings: Settings) -> Path:
    """Where each camera's last picture is kept (``collector.keep_frames``): ``frames/`` beside the journal."""
    return journal_path(settings).parent / "frames"
