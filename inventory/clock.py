"""The wall clock every part stamps its times with (UTC, aware); no database import."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


__all__ = ["utcnow"]
